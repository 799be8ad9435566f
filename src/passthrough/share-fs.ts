/**
 * `shareFs`: a host directory as a LowLevelFs. Assembles the operation modules
 * around one ShareCore and negotiates INIT.
 */
import { InitFlag } from '../protocol/abi.ts';
import type { ConnectionInfo, LowLevelFs } from '../session/lowlevel.ts';
import type { Notifier } from '../session/notify.ts';
import { ShareCore } from './core.ts';
import { dirOps } from './dirs.ts';
import { fileOps } from './files.ts';
import { Locks } from './locks.ts';
import { nameOps } from './names.ts';
import type { ShareOptions } from './options.ts';
import { Watcher } from './watcher.ts';
import { xattrOps } from './xattrs.ts';

export interface ShareFs extends LowLevelFs {
  /** Give the server the /dev/fuse fd (for kernel passthrough); called by the mount before INIT. */
  setDevice(fd: number): void;
  /** Counters for tests and logs. */
  stats(): { nodes: number; fds: number; handles: number; lockFds: number; passthrough: boolean; watches: number };
  readonly core: ShareCore;
}

export function shareFs(o: ShareOptions): ShareFs {
  let watcher: Watcher | undefined;
  const core = new ShareCore(o, (n) => watcher?.unwatch(n));
  if (o.watch) {
    watcher = new Watcher(core);
    core.onHeld = (n) => watcher!.watch(n);
    core.selfChange = (p, name) => watcher!.self(p, name);
    core.selfNode = (n, kind) => watcher!.selfNode(n, kind);
  }
  const locks = new Locks(core);

  const fsImpl: ShareFs = {
    core,
    setDevice(fd) {
      core.devFd = fd;
    },
    stats() {
      return {
        nodes: core.table.size,
        fds: core.table.fdCount,
        handles: core.handles.size,
        lockFds: locks.count,
        passthrough: core.passthroughActive,
        watches: watcher?.stats.watches ?? 0,
      };
    },

    init(conn: ConnectionInfo, notifier: Notifier) {
      // The session's queue: bounded, coalescing, written by the transport's notification thread.
      core.notifier = notifier;
      conn.want |= InitFlag.DONT_MASK | InitFlag.EXPORT_SUPPORT | InitFlag.HAS_EXPIRE_ONLY | InitFlag.DIRECT_IO_ALLOW_MMAP;
      // POSIX_ACL makes the kernel check ACLs (needed for correct access under default_permissions),
      // but it also switches default_permissions on, so only ask for it when that is wanted.
      if (o.defaultPermissions) conn.want |= InitFlag.POSIX_ACL;
      conn.want &= ~InitFlag.WRITEBACK_CACHE;
      // Always READDIRPLUS: a listing then brings every entry's attributes in a few requests,
      // instead of READDIR plus one LOOKUP per name when the kernel's heuristic says "plain".
      // FUSEKIT_SHARE_RDP_AUTO=1 keeps the kernel's heuristic (for measurements).
      if (process.env.FUSEKIT_SHARE_RDP_AUTO !== '1') conn.want &= ~InitFlag.READDIRPLUS_AUTO;
      if (o.cache === 'always') conn.want |= InitFlag.CACHE_SYMLINKS;
      const offered = (conn.capable & InitFlag.PASSTHROUGH) !== 0n;
      const canPass = offered && core.caller.isRoot && core.devFd !== undefined;
      if (o.passthrough !== 'off' && canPass) {
        conn.want |= InitFlag.PASSTHROUGH;
        conn.maxStackDepth = 1;
        core.passthroughActive = true;
      } else if (o.passthrough === 'on') {
        o.log(`kernel passthrough unavailable (${!offered ? 'not offered by the kernel' : !core.caller.isRoot ? 'needs root' : 'no device fd'}); serving I/O through the server`);
      }
      // HANDLE_KILLPRIV_V2: we clear suid/sgid ourselves (core.killPriv), so the kernel stops asking
      // GETXATTR security.capability before every write(2) — one round trip per passthrough write.
      if (process.env.FUSEKIT_SHARE_KILLPRIV2 !== '0') conn.want |= InitFlag.HANDLE_KILLPRIV_V2;
      conn.timeGran = 1;
      if (watcher) watcher.watch(core.table.root);
    },

    destroy() {
      if (watcher) o.log(`watcher: ${JSON.stringify(watcher.stats)}; notifications: ${JSON.stringify(core.notifier?.stats ?? {})}`);
      watcher?.close();
    },

    forget(id, n) {
      core.table.forget(id, n);
    },

    ...nameOps(core),
    ...fileOps(core, locks),
    ...dirOps(core),
    ...xattrOps(core),
    ...locks.ops(),
  };
  return fsImpl;
}
