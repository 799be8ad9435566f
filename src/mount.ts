/**
 * Mount a LowLevelFs: the composition root that ties sys (mount), transport
 * (/dev/fuse) and session together. The vfs framework, the share server and the
 * CLI all mount through here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Session, type SessionEnd } from './session/session.ts';
import type { LowLevelFs } from './session/lowlevel.ts';
import { DevFuseTransport, type ReadStrategy } from './transport/dev-fuse.ts';
import { cloneFuseFd, fusermountMount, mountFuse, openFuseDevice, unmount as sysUnmount } from './sys/mount.ts';

export interface MountOptions {
  /** Shown as the source in /proc/mounts (default "fusekit"). */
  fsname?: string;
  /** Filesystem type becomes `fuse.<subtype>`. */
  subtype?: string;
  /** Let other users access the mount (non-root needs user_allow_other in /etc/fuse.conf). */
  allowOther?: boolean;
  /** Let the kernel check permissions from the mode bits (recommended for most filesystems). */
  defaultPermissions?: boolean;
  readOnly?: boolean;
  /** Largest READ the kernel sends (bytes). */
  maxRead?: number;
  /** Largest WRITE to negotiate (bytes, ≤ 1 MiB). */
  maxWrite?: number;
  /** Mount through fusermount3 even as root ('auto': only when not root). */
  unprivileged?: boolean | 'auto';
  /** How the transport waits for requests: 'poll' (default), 'uring' or 'threadpool'. */
  read?: ReadStrategy;
  /** Reads kept in flight per fd with the uring and threadpool strategies (default 1). */
  readers?: number;
  /** Longest busy-poll window after a request, µs (`-o spin=N`; 0 = off; default DEFAULT_SPIN_US). */
  spin?: number;
  /**
   * Write replies from a second thread during busy-poll windows (`-o reply_thread=0` turns it
   * off; default on), and steer it to the client's CPU (`-o steer=0` turns that off).
   */
  replyThread?: boolean;
  steer?: boolean;
  /** Extra cloned /dev/fuse fds. */
  clones?: number;
  /** Trace every request and reply. */
  debug?: boolean;
  log?: (line: string) => void;
  /** Other `-o` options passed through verbatim (mount(2) data or fusermount3 -o). */
  extra?: string[];
  /**
   * Called with the /dev/fuse session fd before the session starts (before INIT), for
   * filesystems that need device ioctls such as FUSE_DEV_IOC_BACKING_OPEN (kernel passthrough).
   * The fd stays owned by the mount: don't close it.
   */
  onDevice?: (fd: number) => void;
}

export interface MountHandle {
  readonly mountpoint: string;
  readonly session: Session;
  /** Resolves when the session ends (unmount, abort or error). */
  readonly closed: Promise<SessionEnd>;
  /** Unmount and wait for the session to end. Idempotent. */
  unmount(o?: { lazy?: boolean }): Promise<SessionEnd>;
}

/** Parse `-o a,b=c` style options into MountOptions (unknown ones go to `extra`). */
export function parseMountOptions(list: readonly string[], into: MountOptions = {}): MountOptions {
  for (const raw of list.flatMap((s) => s.split(','))) {
    const opt = raw.trim();
    if (!opt) continue;
    const [k, v] = opt.split('=', 2) as [string, string | undefined];
    switch (k) {
      case 'allow_other': into.allowOther = true; break;
      case 'default_permissions': into.defaultPermissions = true; break;
      case 'ro': into.readOnly = true; break;
      case 'rw': into.readOnly = false; break;
      case 'fsname': into.fsname = v; break;
      case 'subtype': into.subtype = v; break;
      case 'max_read': into.maxRead = num(k, v); break;
      case 'max_write': into.maxWrite = num(k, v); break;
      case 'readers': into.readers = num(k, v); break;
      case 'spin': into.spin = num(k, v); break;
      case 'reply_thread': into.replyThread = flag(k, v); break;
      case 'steer': into.steer = flag(k, v); break;
      case 'read':
        if (v !== 'poll' && v !== 'uring' && v !== 'threadpool') throw new Error(`mount option read= takes poll, uring or threadpool, got ${v ?? 'nothing'}`);
        into.read = v;
        break;
      case 'clones': into.clones = num(k, v); break;
      case 'debug': into.debug = true; break;
      default: (into.extra ??= []).push(opt);
    }
  }
  return into;
}

function flag(k: string, v: string | undefined): boolean {
  if (v === undefined || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`mount option ${k} takes 0 or 1, got ${v}`);
}

function num(k: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`mount option ${k} needs a whole number, got ${v ?? 'nothing'}`);
  return n;
}

/** Mount `fsImpl` at `mountpoint`; resolves once the kernel has finished INIT. */
export async function mount(fsImpl: LowLevelFs, mountpoint: string, o: MountOptions = {}): Promise<MountHandle> {
  const mp = path.resolve(mountpoint);
  const st = fs.statSync(mp);
  if (!st.isDirectory()) throw new Error(`mountpoint ${mp} is not a directory`);
  const root = process.getuid?.() === 0;
  const viaFusermount = o.unprivileged === true || ((o.unprivileged ?? 'auto') === 'auto' && !root);
  const log = o.log ?? ((l: string) => process.stderr.write(`fusekit: ${l}\n`));

  let fd: number;
  if (viaFusermount) {
    const opts = [`fsname=${o.fsname ?? 'fusekit'}`];
    if (o.subtype) opts.push(`subtype=${o.subtype}`);
    if (o.allowOther) opts.push('allow_other');
    if (o.defaultPermissions) opts.push('default_permissions');
    if (o.readOnly) opts.push('ro');
    if (o.maxRead) opts.push(`max_read=${o.maxRead}`);
    opts.push(...(o.extra ?? []));
    fd = await fusermountMount(mp, opts);
  } else {
    fd = openFuseDevice();
    try {
      mountFuse({
        fd,
        mountpoint: mp,
        fsname: o.fsname ?? 'fusekit',
        subtype: o.subtype,
        allowOther: o.allowOther,
        defaultPermissions: o.defaultPermissions,
        readOnly: o.readOnly,
        maxRead: o.maxRead,
        userId: process.getuid?.() ?? 0,
        groupId: process.getgid?.() ?? 0,
        extra: o.extra,
      });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  o.onDevice?.(fd);
  const transport = new DevFuseTransport({ fd, strategy: o.read, readers: o.readers, spinUs: o.spin, replyThread: o.replyThread, steer: o.steer, clones: o.clones, cloneFd: cloneFuseFd, log });
  const session = new Session(fsImpl, transport, { debug: o.debug, log, maxWrite: o.maxWrite });
  if (o.debug) log(`transport: ${transport.description}`);
  const closed = session.run().then((end) => {
    try {
      fs.closeSync(fd);
    } catch {
      /* closed already */
    }
    return end;
  });

  let unmounting: Promise<SessionEnd> | undefined;
  const handle: MountHandle = {
    mountpoint: mp,
    session,
    closed,
    unmount(uo = {}) {
      unmounting ??= (async () => {
        try {
          sysUnmount(mp, { lazy: uo.lazy, fusermount: viaFusermount });
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'EBUSY') {
            log(`${mp} is busy; detaching it lazily (it goes away when the last user leaves)`);
            sysUnmount(mp, { lazy: true, fusermount: viaFusermount });
          } else if (code !== 'EINVAL' && code !== 'ENOENT') {
            throw e;
          }
        }
        return closed;
      })();
      return unmounting;
    },
  };

  // Wait for INIT, or for the session to end before it (a failed mount).
  const first = await Promise.race([session.initialized().then(() => 'init' as const), closed.then(() => 'closed' as const)]);
  if (first === 'closed') {
    const end = await closed;
    throw new Error(`the kernel closed the connection before INIT${end.error ? `: ${end.error.message}` : ''}`);
  }
  return handle;
}
