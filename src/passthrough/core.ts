/**
 * State shared by the share server's operation modules: the inode table, the
 * open-handle table, credentials, attribute conversion and the confined
 * lookup every name operation goes through.
 */
import { fuseError } from '../errors.ts';
import type { Attr, EntryOut, FileHandle, NodeId, Statx as WireStatx } from '../protocol/types.ts';
import type { Notifier } from '../session/notify.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import type { Statx } from '../sys/fd.ts';
import { Caller } from './caller.ts';
import { InodeTable, S_IFDIR, updateSig, type Node } from './inodes.ts';
import { mapId, timeoutsFor, type ShareOptions, type Timeouts } from './options.ts';

/** openat2 resolve flags for every name: no escape by "..", symlinks or magic links. */
export const RESOLVE_CONFINED = sys.RESOLVE.BENEATH | sys.RESOLVE.NO_MAGICLINKS | sys.RESOLVE.NO_SYMLINKS;
export const STAT_MASK = sys.STATX.BASIC_STATS | sys.STATX.BTIME;
const NOFOLLOW_EMPTY = sys.AT.EMPTY_PATH | sys.AT.SYMLINK_NOFOLLOW;

/** An open file or directory. */
export interface Handle {
  readonly fd: number;
  readonly node: Node;
  readonly flags: number;
  readonly dir: boolean;
  /** Directory stream position (host d_off of the last entry returned) and read-ahead. */
  pos: bigint;
  pending: sys.Dirent64[];
  passthrough: boolean;
}

export class ShareCore {
  readonly o: ShareOptions;
  readonly table: InodeTable;
  readonly caller: Caller;
  readonly t: Timeouts;
  readonly handles = new Map<FileHandle, Handle>();
  #nextFh = 1n;
  notifier: Notifier | undefined;
  /** The /dev/fuse fd, for kernel passthrough (set by the mount). */
  devFd: number | undefined;
  passthroughActive = false;
  /** Hook for the watcher: a node became held (watch it) or a name changed through us (suppress the echo). */
  onHeld: (n: Node) => void = () => {};
  selfChange: (parent: NodeId, name: Buffer | string) => void = () => {};
  /** Hook for the watcher: `node`'s attributes ('a') or data ('m') changed through us (suppress the echo). */
  selfNode: (node: Node, kind: 'a' | 'm') => void = () => {};

  constructor(o: ShareOptions, onRemove: (n: Node) => void) {
    this.o = o;
    this.caller = new Caller(o);
    this.t = timeoutsFor(o.cache);
    this.table = new InodeTable(o.source, {
      fdCache: o.fdCache,
      useHandles: this.caller.isRoot,
      log: o.log,
      onRemove,
    });
  }

  addHandle(h: Omit<Handle, 'pos' | 'pending' | 'passthrough'> & { passthrough?: boolean }): FileHandle {
    const fh = this.#nextFh++;
    this.handles.set(fh, { pos: 0n, pending: [], passthrough: false, ...h });
    h.node.openFds.add(h.fd);
    return fh;
  }

  handle(fh: FileHandle): Handle {
    const h = this.handles.get(fh);
    if (!h) throw fuseError('EBADF', `unknown file handle ${fh}`);
    return h;
  }

  /** Refuse a change on a read-only share. */
  writable(): void {
    if (this.o.readonly) throw fuseError('EROFS', 'the share is read-only');
  }

  /** A name from the kernel, checked: never empty, ".", "..", or with "/" or NUL. */
  name(b: Buffer): Buffer {
    if (b.length === 0 || b.includes(0x2f) || b.includes(0) || (b[0] === 0x2e && (b.length === 1 || (b.length === 2 && b[1] === 0x2e)))) {
      throw fuseError('EINVAL', 'bad name');
    }
    return b;
  }

  stat(node: Node): Statx {
    const st = sys.statx(this.table.fd(node), '', NOFOLLOW_EMPTY, STAT_MASK);
    this.observe(node, st);
    return st;
  }

  /** Note attributes seen on the host; a change we did not see happen bumps the version. */
  observe(node: Node, st: Statx): void {
    if (updateSig(node.sig, st)) node.version++;
  }

  attr(node: Node, st: Statx): Attr {
    return {
      ino: node.ino,
      size: st.size,
      blocks: st.blocks,
      atime: st.atime.sec,
      mtime: st.mtime.sec,
      ctime: st.ctime.sec,
      atimensec: st.atime.nsec,
      mtimensec: st.mtime.nsec,
      ctimensec: st.ctime.nsec,
      mode: st.mode,
      nlink: st.nlink,
      uid: mapId(this.o.uidMap.toClient, st.uid),
      gid: mapId(this.o.gidMap.toClient, st.gid),
      rdev: encodeDev(st.rdev_major, st.rdev_minor),
      blksize: st.blksize,
      flags: 0,
    };
  }

  wireStatx(node: Node, st: Statx): WireStatx {
    return {
      mask: st.mask,
      blksize: st.blksize,
      attributes: st.attributes,
      nlink: st.nlink,
      uid: mapId(this.o.uidMap.toClient, st.uid),
      gid: mapId(this.o.gidMap.toClient, st.gid),
      mode: st.mode,
      ino: node.ino,
      size: st.size,
      blocks: st.blocks,
      attributesMask: st.attributes_mask,
      atime: { tvSec: BigInt(st.atime.sec), tvNsec: st.atime.nsec },
      btime: { tvSec: BigInt(st.btime.sec), tvNsec: st.btime.nsec },
      ctime: { tvSec: BigInt(st.ctime.sec), tvNsec: st.ctime.nsec },
      mtime: { tvSec: BigInt(st.mtime.sec), tvNsec: st.mtime.nsec },
      rdevMajor: st.rdev_major,
      rdevMinor: st.rdev_minor,
      devMajor: 0,
      devMinor: 0,
    };
  }

  entry(node: Node, st: Statx): EntryOut {
    return {
      nodeid: node.id,
      generation: node.gen,
      entryValid: this.t.entry,
      attrValid: this.t.attr,
      entryValidNsec: 0,
      attrValidNsec: 0,
      attr: this.attr(node, st),
    };
  }

  negative(): EntryOut {
    if (this.t.negative === 0) throw fuseError('ENOENT');
    // The same reply every time (encoders only read it): no allocation per failed lookup.
    if (!this.#negative) {
      const n = this.negative0(this.t.negative);
      Object.freeze(n.attr);
      this.#negative = Object.freeze(n);
    }
    return this.#negative;
  }

  #negative: EntryOut | undefined;

  /** An entry with node id 0 (no lookup reference): negative dentries, and "." / ".." in READDIRPLUS. */
  negative0(entryValid = 0): EntryOut {
    return {
      nodeid: 0n,
      generation: 0n,
      entryValid,
      attrValid: 0,
      entryValidNsec: 0,
      attrValidNsec: 0,
      attr: { ino: 0n, size: 0, blocks: 0, atime: 0, mtime: 0, ctime: 0, atimensec: 0, mtimensec: 0, ctimensec: 0, mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, blksize: 0, flags: 0 },
    };
  }

  /**
   * Resolve `name` in `parent` without following anything, confined beneath
   * the parent's fd; returns the node (lookup count unchanged) and its stat.
   */
  resolve(parent: Node, name: Buffer): { node: Node; st: Statx } {
    const r = this.resolveIfExists(parent, name);
    if (!r) throw fuseError('ENOENT');
    return r;
  }

  /** `resolve`, or undefined when the name does not exist (a lookup's common answer, built without an error). */
  resolveIfExists(parent: Node, name: Buffer): { node: Node; st: Statx } | undefined {
    const pfd = this.table.fd(parent);
    if (this.table.byName) {
      // Two syscalls and no fd: statx and name_to_handle_at of the one name, neither
      // following a symlink or triggering an automount (the name has no "/" and is not
      // "." or ".."), so nothing outside the parent is reached. READDIRPLUS does this for
      // every entry, most of which are never opened; opening an O_PATH fd for each cost
      // an openat2, a close and fd-cache churn.
      const st = sys.statxIfExists(pfd, name, sys.AT.SYMLINK_NOFOLLOW | sys.AT.NO_AUTOMOUNT, STAT_MASK);
      if (!st) return undefined;
      let h: { handle: Buffer; mountId: number } | undefined;
      try {
        h = sys.nameToHandleAt(pfd, name, 0);
      } catch {
        h = undefined;
      }
      const known = this.table.internByName(st, h);
      if (known) {
        this.observe(known, st);
        return { node: known, st };
      }
    }
    const fd = sys.openat2(pfd, name, { flags: sys.O.PATH | sys.O.NOFOLLOW | sys.O.CLOEXEC, resolve: RESOLVE_CONFINED });
    let st: Statx;
    try {
      st = sys.statx(fd, '', NOFOLLOW_EMPTY, STAT_MASK);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
    const node = this.table.intern(fd, st);
    this.observe(node, st);
    return { node, st };
  }

  /** Count one kernel reference to `node`, found as `name` in `parent`. */
  hold(node: Node, parent: Node, name: Buffer): void {
    node.nlookup++;
    const key = name.toString('latin1');
    node.dentry = { parent: parent.id, name: key };
    if (parent.type === S_IFDIR) (parent.kids ??= new Map()).set(key, node.id);
    if (node.nlookup === 1n) this.onHeld(node);
  }

  /** lookup + hold + entry reply: the tail of every create-type op. */
  enter(parent: Node, name: Buffer): EntryOut {
    const e = this.enterIfExists(parent, name);
    if (!e) throw fuseError('ENOENT');
    return e;
  }

  /** `enter`, or undefined when the name does not exist (a lookup's answer, built without an error). */
  enterIfExists(parent: Node, name: Buffer): EntryOut | undefined {
    const r = this.resolveIfExists(parent, name);
    if (!r) return undefined;
    this.hold(r.node, parent, name);
    return this.entry(r.node, r.st);
  }

  /** `/proc/self/fd/N` for a node: reopen and path-based calls on a held fd. */
  procPath(node: Node): string {
    return `/proc/self/fd/${this.table.fd(node)}`;
  }

  /**
   * Clear set-user-ID, and set-group-ID when group-executable, as a write or truncate by an
   * unprivileged caller does natively (HANDLE_KILLPRIV_V2 makes this the server's job).
   */
  killPriv(node: Node): void {
    const st = this.stat(node);
    let mode = st.mode & 0o7777;
    const before = mode;
    mode &= ~0o4000;
    if ((mode & 0o2010) === 0o2010) mode &= ~0o2000;
    if (mode === before) return;
    sys.fchmodFd(this.table.fd(node), mode);
    node.version++;
    this.selfNode(node, 'a');
  }

  /** Own permission check (only when the mount runs without default_permissions). */
  checkAccess(ctx: RequestContext, node: Node, mask: number, st?: Statx): void {
    if (this.o.defaultPermissions || mask === 0) return;
    const uid = this.caller.hostUid(ctx);
    if (uid === 0) {
      // root: everything but executing a file with no x bit at all (a directory's type is
      // known without asking the host, and types never change)
      if ((mask & 1) === 0 || node.type === S_IFDIR) return;
      const s = st ?? this.stat(node);
      if ((s.mode & S_IFDIR_MASK) !== S_IFDIR && (s.mode & 0o111) === 0) throw fuseError('EACCES');
      return;
    }
    const s = st ?? this.stat(node);
    let bits: number;
    if (s.uid === uid) bits = (s.mode >> 6) & 7;
    else if (s.gid === this.caller.hostGid(ctx) || this.caller.groups(ctx).includes(s.gid)) bits = (s.mode >> 3) & 7;
    else bits = s.mode & 7;
    if ((bits & mask) !== mask) throw fuseError('EACCES');
  }
}

const S_IFDIR_MASK = 0o170000;

/** The kernel's new_encode_dev (what fuse_attr.rdev carries). */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** new_decode_dev → glibc makedev, for mknodat. */
export function decodeDevToMakedev(dev: number): bigint {
  const major = BigInt((dev & 0xfff00) >>> 8);
  const minor = BigInt((dev & 0xff) | ((dev >>> 12) & 0xfff00));
  return ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
}

/** Map any thrown value's ESTALE (a node gone from the host) to ENOENT for callers. */
export function isCode(e: unknown, code: string): boolean {
  return (e as { code?: string } | null)?.code === code;
}
