/**
 * `memfs`: a complete in-memory POSIX filesystem on the low-level API — files
 * (sparse), directories, symlinks, hard links, special files, xattrs, fallocate,
 * SEEK_DATA/SEEK_HOLE, copy_file_range, O_TMPFILE, POSIX and flock locks.
 *
 * Decisions (see src/demo/README.md): entry and attribute timeouts of 1 s and
 * KEEP_CACHE, since every change goes through the kernel; the kernel applies
 * the umask (DONT_MASK is not requested, so `umask` arguments are ignored);
 * the demo mounts with default_permissions, and `access` checks mode bits for
 * mounts without it.
 */
import { constants as C } from 'node:fs';
import os from 'node:os';
import { fuseError } from '../errors.ts';
import { Fattr, FopenFlag, ReleaseFlag, WriteFlag } from '../protocol/abi.ts';
import type { AttrOut, FileHandle, NodeId } from '../protocol/types.ts';
import type { LowLevelFs, RequestContext } from '../session/lowlevel.ts';
import { CHUNK } from './memfs-data.ts';
import { LockTable, LockWaits } from './memfs-locks.ts';
import { inGroup, killSuidSgid, Node, now, permits, S_ISGID, S_ISUID, TTL } from './memfs-node.ts';
import { MemTree, nameOf, scanDir, type Handle } from './memfs-tree.ts';

export interface MemFsOptions {
  /** Capacity in bytes (default: half the machine's memory). Writes beyond it fail with ENOSPC. */
  capacity?: number;
  /** Most inodes alive at once (default 1 Mi). */
  maxInodes?: number;
}

const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.'];
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
const SEEK_SET = 0;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const SYMLINK_MAX = 4095;
/** Largest file offset served (the decoder refuses more than 2^53). */
const MAX_FILE_SIZE = 2 ** 52;
/** Largest single copy_file_range (callers loop on short copies; bounds the temporary buffer). */
const MAX_RW = 16 << 20;


function checkXattrName(name: string): void {
  if (Buffer.byteLength(name) > XATTR_NAME_MAX) throw fuseError('ERANGE', 'xattr name too long');
  const ns = XATTR_NAMESPACES.find((p) => name.startsWith(p));
  if (!ns) throw fuseError('EOPNOTSUPP', `xattr namespace of ${name}`);
  if (name.length === ns.length) throw fuseError('EINVAL', 'empty xattr name');
}

/** Build a memfs instance. Each call is an independent, empty filesystem. */
export function memFs(o: MemFsOptions = {}): LowLevelFs {
  const capacityChunks = Math.floor((o.capacity ?? os.totalmem() / 2) / CHUNK);
  const tree = new MemTree({ maxInodes: o.maxInodes ?? 1 << 20 });
  const handles = new Map<FileHandle, Handle>();
  let nextFh = 1n;
  let usedChunks = 0;
  tree.onFree = (n) => {
    if (n.data) usedChunks -= n.data.chunkCount;
  };

  const attrOut = (n: Node): AttrOut => ({ attrValid: TTL, attrValidNsec: 0, attr: n.attr() });
  const reg = (id: NodeId): Node => {
    const n = tree.get(id);
    if (n.isDir) throw fuseError('EISDIR');
    if (!n.isReg) throw fuseError('EINVAL', 'not a regular file');
    return n;
  };
  const reserve = (chunks: number): void => {
    if (usedChunks + chunks > capacityChunks) throw fuseError('ENOSPC', 'memfs is full');
  };
  const openHandle = (n: Node, flags: number): FileHandle => {
    const fh = nextFh++;
    handles.set(fh, { node: n, flags });
    n.opens++;
    return fh;
  };
  const closeHandle = (fh: FileHandle): Node | undefined => {
    const h = handles.get(fh);
    if (!h) return undefined;
    handles.delete(fh);
    h.node.opens--;
    tree.maybeFree(h.node);
    return h.node;
  };
  const waits = new LockWaits();
  const locks = (n: Node): LockTable => (n.locks ??= new LockTable(waits));
  const writeData = (ctx: RequestContext, n: Node, off: number, data: Buffer, killPriv: boolean): number => {
    if (off + data.length > MAX_FILE_SIZE) throw fuseError('EFBIG');
    reserve(n.data!.wouldAllocate(off, data.length));
    usedChunks += n.data!.write(off, data);
    if (killPriv || (ctx.uid !== 0 && (n.mode & (S_ISUID | S_ISGID)) !== 0)) n.mode = killSuidSgid(n.mode);
    n.touchMC();
    return data.length;
  };
  const regMode = (mode: number): number => C.S_IFREG | (mode & 0o7777);

  return {
    lookup(_ctx, parent, name) {
      return tree.ref(tree.child(parent, name));
    },

    forget(nodeid, nlookup) {
      const n = tree.peek(nodeid);
      if (!n) return;
      n.lookups = n.lookups > nlookup ? n.lookups - nlookup : 0n;
      tree.maybeFree(n);
    },

    getattr(_ctx, nodeid) {
      return attrOut(tree.get(nodeid));
    },

    setattr(ctx, nodeid, a) {
      const n = tree.get(nodeid);
      const v = a.valid;
      const t = now();
      const root = ctx.uid === 0;
      if (v & Fattr.MODE) {
        let m = a.mode & 0o7777;
        const old = n.mode & 0o7777;
        // The kernel clears S_ISUID/S_ISGID on behalf of a non-owner who writes or
        // truncates (file_remove_privs → SETATTR MODE in the writer's name): allow that.
        const onlyKills = (m & ~old) === 0 && (old & ~m & ~(S_ISUID | S_ISGID)) === 0;
        if (!root && ctx.uid !== n.uid && !onlyKills) throw fuseError('EPERM', 'chmod by non-owner');
        if (!root && !inGroup(ctx, n.gid)) m &= ~S_ISGID;
        n.mode = (n.mode & C.S_IFMT) | m;
      }
      if (v & (Fattr.UID | Fattr.GID)) {
        const uid = v & Fattr.UID ? a.uid : n.uid;
        const gid = v & Fattr.GID ? a.gid : n.gid;
        if (!root) {
          if (uid !== n.uid) throw fuseError('EPERM', 'only root may give a file away');
          if (gid !== n.gid && (ctx.uid !== n.uid || !inGroup(ctx, gid))) throw fuseError('EPERM', 'chgrp to a group the caller is not in');
        }
        n.uid = uid;
        n.gid = gid;
        if (!n.isDir) n.mode = killSuidSgid(n.mode);
      }
      if (v & Fattr.SIZE) {
        if (n.isDir) throw fuseError('EISDIR');
        if (!n.isReg) throw fuseError('EINVAL', 'truncate of a special file');
        if (a.size > MAX_FILE_SIZE) throw fuseError('EFBIG');
        usedChunks -= n.data!.truncate(a.size);
        n.mtime = t;
      }
      if (v & Fattr.KILL_SUIDGID) n.mode = killSuidSgid(n.mode);
      if (v & Fattr.ATIME_NOW) n.atime = t;
      else if (v & Fattr.ATIME) n.atime = { sec: a.atime, nsec: a.atimensec };
      if (v & Fattr.MTIME_NOW) n.mtime = t;
      else if (v & Fattr.MTIME) n.mtime = { sec: a.mtime, nsec: a.mtimensec };
      n.ctime = v & Fattr.CTIME ? { sec: a.ctime, nsec: a.ctimensec } : t;
      return attrOut(n);
    },

    readlink(_ctx, nodeid) {
      const n = tree.get(nodeid);
      if (!n.target) throw fuseError('EINVAL', 'not a symlink');
      return n.target;
    },

    mknod(ctx, parent, name, mode, rdev) {
      const type = mode & C.S_IFMT || C.S_IFREG;
      if (![C.S_IFREG, C.S_IFIFO, C.S_IFSOCK, C.S_IFCHR, C.S_IFBLK].includes(type)) throw fuseError('EINVAL', `mknod type ${type.toString(8)}`);
      const n = tree.create(ctx, parent, name, type | (mode & 0o7777), (x) => {
        if (type === C.S_IFCHR || type === C.S_IFBLK) x.rdev = rdev;
      });
      return tree.ref(n);
    },

    mkdir(ctx, parent, name, mode) {
      return tree.ref(tree.create(ctx, parent, name, C.S_IFDIR | (mode & 0o1777)));
    },

    symlink(ctx, parent, name, target) {
      if (target.length > SYMLINK_MAX) throw fuseError('ENAMETOOLONG', 'symlink target');
      const copy = Buffer.from(target);
      return tree.ref(tree.create(ctx, parent, name, C.S_IFLNK | 0o777, (x) => (x.target = copy)));
    },

    link(_ctx, nodeid, newparent, newname) {
      const n = tree.get(nodeid);
      tree.link(n, newparent, newname);
      return tree.ref(n);
    },

    unlink(_ctx, parent, name) {
      tree.unlink(parent, name);
    },

    rmdir(_ctx, parent, name) {
      tree.rmdir(parent, name);
    },

    rename(_ctx, parent, name, newparent, newname, flags) {
      tree.rename(parent, name, newparent, newname, flags);
    },

    open(_ctx, nodeid, flags) {
      const n = tree.get(nodeid);
      if (n.isDir) throw fuseError('EISDIR');
      if (n.isReg && (flags & C.O_TRUNC) !== 0 && (flags & 3) !== C.O_RDONLY) {
        usedChunks -= n.data!.truncate(0);
        n.touchMC();
      }
      return { fh: openHandle(n, flags), openFlags: FopenFlag.KEEP_CACHE };
    },

    create(ctx, parent, name, mode, flags) {
      let n: Node;
      try {
        n = tree.create(ctx, parent, name, regMode(mode));
      } catch (e) {
        // Raced with another creator: O_EXCL fails, plain O_CREAT opens what is there.
        if ((e as { code?: string }).code !== 'EEXIST' || (flags & C.O_EXCL) !== 0) throw e;
        n = tree.child(parent, name);
        if (n.isDir) throw fuseError('EISDIR');
        if (n.isReg && (flags & C.O_TRUNC) !== 0) usedChunks -= n.data!.truncate(0);
      }
      const fh = openHandle(n, flags);
      return { entry: tree.ref(n), open: { fh, openFlags: FopenFlag.KEEP_CACHE, backingId: 0 } };
    },

    tmpfile(ctx, parent, mode, flags) {
      const dir = tree.dir(parent);
      const n = tree.alloc(ctx, dir, regMode(mode));
      n.nlink = 0;
      n.linkable = (flags & C.O_EXCL) === 0;
      const fh = openHandle(n, flags);
      return { entry: tree.ref(n), open: { fh, openFlags: FopenFlag.KEEP_CACHE, backingId: 0 } };
    },

    read(_ctx, nodeid, _fh, offset, size) {
      const n = reg(nodeid);
      const b = n.data!.read(offset, size);
      n.touchA();
      return b;
    },

    write(ctx, nodeid, _fh, offset, data, info) {
      const n = reg(nodeid);
      // O_APPEND: write at our end of file. The kernel's offset is i_size already, but
      // ours is the truth; writeback-cache writes (CACHE) carry exact page offsets.
      const off = (info.flags & C.O_APPEND) !== 0 && (info.writeFlags & WriteFlag.CACHE) === 0 ? n.data!.size : offset;
      return writeData(ctx, n, off, data, (info.writeFlags & WriteFlag.KILL_SUIDGID) !== 0);
    },

    flush(_ctx, nodeid, _fh, lockOwner) {
      // close(2) drops the closing process's POSIX locks on this file.
      tree.get(nodeid).locks?.releasePosix(lockOwner);
    },

    release(_ctx, nodeid, fh, _flags, releaseFlags, lockOwner) {
      const n = tree.get(nodeid);
      if ((releaseFlags & ReleaseFlag.FLOCK_UNLOCK) !== 0) n.locks?.releaseFlock(lockOwner);
      if (n.locks?.idle) n.locks = undefined;
      closeHandle(fh);
    },

    fsync() {},
    fsyncdir() {},
    syncfs() {},

    opendir(_ctx, nodeid) {
      return { fh: openHandle(tree.dir(nodeid), 0) };
    },

    releasedir(_ctx, _nodeid, fh) {
      closeHandle(fh);
    },

    readdir(_ctx, nodeid, fh, cookie, out) {
      const d = tree.dir(nodeid);
      if (cookie < 1n && !out.add(d.id, 1n, C.S_IFDIR >>> 12, '.')) return;
      if (cookie < 2n && !out.add(d.parent!.id, 2n, C.S_IFDIR >>> 12, '..')) return;
      scanDir(handles.get(fh), d, cookie, (k, e) => out.add(e.node.id, e.cookie, e.node.dtype, nameOf(k)));
      d.touchA();
    },

    readdirplus(_ctx, nodeid, fh, cookie, out) {
      const d = tree.dir(nodeid);
      if (cookie < 1n && !out.add(d.entry(), 1n, '.')) return;
      if (cookie < 2n && !out.add(d.parent!.entry(), 2n, '..')) return;
      scanDir(handles.get(fh), d, cookie, (k, e) => {
        if (!out.add(e.node.entry(), e.cookie, nameOf(k))) return false;
        e.node.lookups++; // the kernel now holds a reference, as after LOOKUP
        return true;
      });
      d.touchA();
    },

    statfs() {
      return {
        blocks: capacityChunks,
        bfree: Math.max(0, capacityChunks - usedChunks),
        bavail: Math.max(0, capacityChunks - usedChunks),
        files: o.maxInodes ?? 1 << 20,
        ffree: Math.max(0, (o.maxInodes ?? 1 << 20) - tree.inodeCount),
        bsize: CHUNK,
        namelen: 255,
        frsize: CHUNK,
      };
    },

    setxattr(_ctx, nodeid, name, value, flags) {
      checkXattrName(name);
      if (value.length > XATTR_SIZE_MAX) throw fuseError('E2BIG', 'xattr value over 64 KiB');
      const n = tree.get(nodeid);
      const has = n.xattrs.has(name);
      if ((flags & XATTR_CREATE) !== 0 && has) throw fuseError('EEXIST');
      if ((flags & XATTR_REPLACE) !== 0 && !has) throw fuseError('ENODATA');
      n.xattrs.set(name, Buffer.from(value));
      n.touchC();
    },

    getxattr(_ctx, nodeid, name) {
      checkXattrName(name);
      const v = tree.get(nodeid).xattrs.get(name);
      if (!v) throw fuseError('ENODATA');
      return v;
    },

    listxattr(_ctx, nodeid) {
      return [...tree.get(nodeid).xattrs.keys()];
    },

    removexattr(_ctx, nodeid, name) {
      checkXattrName(name);
      const n = tree.get(nodeid);
      if (!n.xattrs.delete(name)) throw fuseError('ENODATA');
      n.touchC();
    },

    access(ctx, nodeid, mask) {
      if (!permits(ctx, tree.get(nodeid), mask)) throw fuseError('EACCES');
    },

    getlk(_ctx, nodeid, _fh, owner, lk) {
      return tree.get(nodeid).locks?.test(owner, lk) ?? { start: lk.start, end: lk.end, type: 2, pid: 0 };
    },

    async setlk(ctx, nodeid, _fh, owner, lk, sleep, flock) {
      const n = tree.get(nodeid);
      await locks(n).set(owner, lk, sleep, flock, ctx.signal);
    },

    fallocate(_ctx, nodeid, _fh, mode, offset, length) {
      const n = reg(nodeid);
      const d = n.data!;
      if (offset < 0 || length <= 0) throw fuseError('EINVAL');
      if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) !== 0) throw fuseError('EOPNOTSUPP', `fallocate mode ${mode}`);
      const end = offset + length;
      if (end > MAX_FILE_SIZE) throw fuseError('EFBIG');
      const keep = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
      if (mode & FALLOC_FL_PUNCH_HOLE) {
        if (!keep || (mode & FALLOC_FL_ZERO_RANGE)) throw fuseError('EOPNOTSUPP', 'PUNCH_HOLE needs KEEP_SIZE alone');
        usedChunks -= d.punch(offset, length);
        n.touchMC();
        return;
      }
      const zero = (mode & FALLOC_FL_ZERO_RANGE) !== 0;
      reserve(d.wouldAllocate(offset, length));
      usedChunks += zero ? d.zero(offset, length) : d.allocate(offset, length);
      const grows = !keep && end > d.size;
      if (grows) d.size = end;
      if (zero || grows) n.touchMC();
      else n.touchC();
    },

    lseek(_ctx, nodeid, _fh, offset, whence) {
      const d = reg(nodeid).data!;
      let r: number | undefined;
      switch (whence) {
        case SEEK_SET: return offset;
        case SEEK_END: return d.size + offset;
        case SEEK_DATA: r = d.seekData(offset); break;
        case SEEK_HOLE: r = d.seekHole(offset); break;
        default: throw fuseError('EINVAL', `whence ${whence}`);
      }
      if (r === undefined) throw fuseError('ENXIO');
      return r;
    },

    copyFileRange(ctx, nodeIn, _fhIn, offIn, nodeOut, _fhOut, offOut, len, flags) {
      if (flags !== 0n) throw fuseError('EINVAL', 'copy_file_range flags');
      const src = reg(nodeIn);
      const dst = reg(nodeOut);
      // read() copies, so overlapping ranges of one file come out right.
      const data = src.data!.read(offIn, Math.min(len, MAX_RW));
      if (data.length === 0) return 0;
      src.touchA();
      // Keep holes: pieces that are holes in the source are punched in the destination, not written.
      const pieces = src.data!.pieces(offIn, data.length);
      const d = dst.data!;
      const end = offOut + data.length;
      if (end > MAX_FILE_SIZE) throw fuseError('EFBIG');
      reserve(pieces.filter((p) => !p.hole).reduce((n, p) => n + d.wouldAllocate(offOut + p.at, p.len), 0));
      for (const p of pieces) {
        if (p.hole) usedChunks -= d.punch(offOut + p.at, p.len);
        else usedChunks += d.write(offOut + p.at, data.subarray(p.at, p.at + p.len));
      }
      if (end > d.size) d.size = end;
      if (ctx.uid !== 0 && (dst.mode & (S_ISUID | S_ISGID)) !== 0) dst.mode = killSuidSgid(dst.mode);
      dst.touchMC();
      return data.length;
    },
  };
}
