/**
 * File operations of the share server: open, create, tmpfile, read, write,
 * flush, release, fsync, fallocate, lseek, copy_file_range and ioctl.
 *
 * Bulk data moves through Node's async fs (io_uring when UV_USE_IO_URING=1,
 * else the libuv pool) on real fds; everything else is a synchronous call.
 * With kernel passthrough, opens of regular files carry FOPEN_PASSTHROUGH and
 * one backing id per inode, so reads, writes and mmap never reach us.
 */
import fs from 'node:fs';
import { fuseError } from '../errors.ts';
import { FopenFlag, WriteFlag } from '../protocol/abi.ts';
import type { CreateOut, FileHandle, OpenOut } from '../protocol/types.ts';
import type { LowLevelFs, OpenResult, RequestContext } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import { backingClose, backingOpen } from '../sys/mount.ts';
import { RESOLVE_CONFINED, STAT_MASK, type Handle, type ShareCore } from './core.ts';
import { S_IFDIR, S_IFREG, safeClose, type Node } from './inodes.ts';
import type { Locks } from './locks.ts';

const ACCMODE = 3;
/**
 * Open flags that would change I/O for every open sharing a backing file if the kernel took
 * them from the backing file (measured on 6.18 it does not for O_APPEND: the share-basic test
 * passes either way; kept so no kernel can make one caller's flags another's).
 */
const BACKING_UNSAFE = sys.O.APPEND | sys.O.SYNC | sys.O.DSYNC | sys.O.DIRECT | sys.O.NOATIME;
/** Flags the kernel passes that must not reach the host open. */
const STRIP = sys.O.CREAT | sys.O.EXCL | sys.O.NOCTTY | sys.O.DIRECT;

type FileOps = Pick<
  LowLevelFs,
  'open' | 'create' | 'tmpfile' | 'read' | 'write' | 'flush' | 'release' | 'fsync' | 'fallocate' | 'lseek' | 'copyFileRange' | 'ioctl'
>;

function readAsync(fd: number, size: number, offset: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, size, offset, (err, n) => (err ? reject(err) : resolve(n === size ? buf : buf.subarray(0, n))));
  });
}

function writeAsync(fd: number, data: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, data, 0, data.length, offset, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function fsyncAsync(fd: number, datasync: boolean): Promise<void> {
  return new Promise((resolve, reject) => (datasync ? fs.fdatasync : fs.fsync)(fd, (err) => (err ? reject(err) : resolve())));
}

export function fileOps(c: ShareCore, locks: Locks): FileOps {
  const { table } = c;

  /** Decide cache flags or passthrough for a freshly opened regular file (`fd` open for `fdAccess`). */
  function openFlags(node: Node, h: { passthrough?: boolean }, flags: number, fd: number, fdAccess: number): { openFlags: number; backingId: number } {
    if (node.type === S_IFREG && c.passthroughActive && c.devFd !== undefined) {
      // The open's own fd can be the backing file only if it is read-write and carries no flag
      // that might then apply to every open sharing the backing file (O_APPEND, O_SYNC, …).
      const plain = fdAccess === sys.O.RDWR && (flags & BACKING_UNSAFE) === 0;
      const b = backing(node, (flags & ACCMODE) !== sys.O.RDONLY, fd, plain);
      if (b) {
        h.passthrough = true;
        return { openFlags: FopenFlag.PASSTHROUGH, backingId: b.id };
      }
    }
    if (c.o.cache === 'never') return { openFlags: FopenFlag.DIRECT_IO, backingId: 0 };
    let of = 0;
    if ((c.o.cache === 'auto' || c.o.cache === 'always') && node.cacheVersion === node.version) of |= FopenFlag.KEEP_CACHE;
    node.cacheVersion = node.version;
    return { openFlags: of, backingId: 0 };
  }

  /**
   * The inode's backing file (one per inode, kept while any open uses it): the open's
   * own fd when that is read-write (the kernel takes its own reference), else a
   * read-write reopen through `/proc/self/fd/<fd>`: the same inode, whatever that
   * open's own mode, and no need to reach the node through its handle.
   */
  function backing(node: Node, wantWrite: boolean, fd: number, fdIsReadWrite: boolean): Node['backing'] {
    if (node.backing) {
      if (wantWrite && !node.backing.writable) throw fuseError('ETXTBSY', 'passthrough backing file is read-only');
      node.backing.refs++;
      return node.backing;
    }
    const proc = `/proc/self/fd/${fd}`;
    let bfd = fd;
    let writable = true;
    if (!fdIsReadWrite) {
      try {
        bfd = sys.openat(sys.AT.FDCWD, proc, sys.O.RDWR | sys.O.CLOEXEC);
      } catch {
        if (wantWrite) throw fuseError('EACCES', 'cannot open a writable backing file');
        bfd = sys.openat(sys.AT.FDCWD, proc, sys.O.RDONLY | sys.O.CLOEXEC);
        writable = false;
      }
    }
    try {
      const id = backingOpen(c.devFd!, bfd);
      node.backing = { id, refs: 1, writable };
      return node.backing;
    } catch (e) {
      c.o.log(`kernel passthrough refused (${(e as Error).message}); serving I/O through the server`);
      if (c.o.passthrough === 'auto' || c.o.passthrough === 'on') c.passthroughActive = false;
      return undefined;
    } finally {
      if (bfd !== fd) safeClose(bfd);
    }
  }

  function dropBacking(node: Node): void {
    const b = node.backing;
    if (!b) return;
    if (--b.refs > 0) return;
    node.backing = undefined;
    try {
      backingClose(c.devFd!, b.id);
    } catch (e) {
      c.o.log(`backing close ${b.id} failed: ${(e as Error).message}`);
    }
    table.dropIfUnused(node);
  }

  /** Register the handle for `fd` (opened for the kernel's `flags`; for `fdAccess`, if wider). */
  function finishOpen(node: Node, fd: number, flags: number, fdAccess = flags & ACCMODE): OpenOut {
    const h: { passthrough?: boolean } = {};
    let of: { openFlags: number; backingId: number };
    try {
      of = openFlags(node, h, flags, fd, fdAccess);
    } catch (e) {
      safeClose(fd);
      throw e;
    }
    const fh = c.addHandle({ fd, node, flags, dir: false, passthrough: h.passthrough === true });
    return { fh, openFlags: of.openFlags, backingId: of.backingId };
  }

  function openAccess(ctx: RequestContext, node: Node, flags: number): void {
    const acc = flags & ACCMODE;
    if (acc !== sys.O.RDONLY || (flags & sys.O.TRUNC) !== 0) c.writable();
    let mask = 0;
    if (acc === sys.O.RDONLY || acc === sys.O.RDWR) mask |= 4;
    if (acc === sys.O.WRONLY || acc === sys.O.RDWR || (flags & sys.O.TRUNC) !== 0) mask |= 2;
    c.checkAccess(ctx, node, mask);
  }

  const ops: FileOps = {
    open(ctx, id, flags): OpenResult {
      const node = table.get(id);
      if (node.type === S_IFDIR) throw fuseError('EISDIR');
      openAccess(ctx, node, flags);
      const proc = c.procPath(node);
      const fd = c.caller.run(ctx, () => sys.openat(sys.AT.FDCWD, proc, (flags & ~STRIP) | sys.O.CLOEXEC));
      if ((flags & sys.O.TRUNC) !== 0) node.version++;
      const out = finishOpen(node, fd, flags);
      // Passthrough writes never reach us, so an unprivileged writer's suid/sgid kill happens at
      // open for writing (natively: at the first write).
      if ((out.openFlags & FopenFlag.PASSTHROUGH) !== 0 && (flags & ACCMODE) !== sys.O.RDONLY && c.caller.hostUid(ctx) !== 0) c.killPriv(node);
      return out;
    },

    create(ctx, parent, rawName, mode, flags, umask): CreateOut {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.checkAccess(ctx, p, 3);
      c.selfChange(parent, name);
      const pfd = table.fd(p);
      // O_EXCL makes the file new, and a new file's open is not permission-checked: open it
      // read-write, so kernel passthrough can use this fd as the backing file instead of
      // reopening it (tar, cp and editors create with O_EXCL; the kernel still enforces the
      // caller's own O_WRONLY on its file).
      const widen = (flags & sys.O.EXCL) !== 0 && (flags & ACCMODE) === sys.O.WRONLY;
      const hostFlags = widen ? (flags & ~ACCMODE) | sys.O.RDWR : flags;
      const fd = c.caller.run(
        ctx,
        () => sys.openat2(pfd, name, { flags: ((hostFlags & ~(sys.O.DIRECT | sys.O.NOCTTY)) | sys.O.CREAT | sys.O.NOFOLLOW | sys.O.CLOEXEC) >>> 0, mode: mode & 0o7777, resolve: RESOLVE_CONFINED }),
        umask,
      );
      let entry;
      let node: Node;
      try {
        // Identify the new file from the fd we hold: no second resolve of the name.
        const st = sys.statx(fd, '', sys.AT.EMPTY_PATH, STAT_MASK);
        node = table.intern(fd, st, true);
        c.observe(node, st);
        c.hold(node, p, name);
        entry = c.entry(node, st);
      } catch (e) {
        safeClose(fd);
        throw e;
      }
      node.version++;
      const open = finishOpen(node, fd, flags, hostFlags & ACCMODE);
      if ((open.openFlags & FopenFlag.PASSTHROUGH) !== 0 && (flags & ACCMODE) !== sys.O.RDONLY && c.caller.hostUid(ctx) !== 0) {
        c.killPriv(node);
        entry.attr.mode = c.stat(node).mode;
      }
      return { entry, open };
    },

    tmpfile(ctx, parent, mode, flags, umask): CreateOut {
      c.writable();
      const p = table.get(parent);
      const pproc = c.procPath(p);
      const fd = c.caller.run(ctx, () => sys.openat(sys.AT.FDCWD, pproc, ((flags & ~(sys.O.DIRECT | sys.O.NOCTTY | sys.O.CREAT)) | sys.O.TMPFILE | sys.O.CLOEXEC) >>> 0, mode & 0o7777), umask);
      let node: Node;
      let st: sys.Statx;
      try {
        const pathFd = sys.openat(sys.AT.FDCWD, `/proc/self/fd/${fd}`, sys.O.PATH | sys.O.CLOEXEC);
        st = sys.statx(pathFd, '', sys.AT.EMPTY_PATH, STAT_MASK);
        node = table.intern(pathFd, st);
      } catch (e) {
        safeClose(fd);
        throw e;
      }
      node.nlookup++;
      c.onHeld(node);
      return { entry: c.entry(node, st), open: finishOpen(node, fd, flags) };
    },

    async read(_ctx, _id, fh, offset, size) {
      return readAsync(c.handle(fh).fd, size, offset);
    },

    async write(_ctx, id, fh, offset, data, info) {
      const h = c.handle(fh);
      if ((info.writeFlags & WriteFlag.KILL_SUIDGID) !== 0) c.killPriv(h.node);
      const n = await writeAsync(h.fd, data, offset);
      h.node.version++;
      c.selfNode(h.node, 'm');
      void id;
      return n;
    },

    flush(_ctx, id, fh, owner) {
      c.handle(fh);
      locks.closeOwner(id, owner);
    },

    release(_ctx, id, fh, _flags, _releaseFlags, owner) {
      const h = c.handles.get(fh);
      if (!h) return;
      c.handles.delete(fh);
      locks.closeOwner(id, owner);
      h.node.openFds.delete(h.fd);
      // The close makes IN_CLOSE_WRITE (and passthrough writes IN_MODIFY): ours, not news.
      if ((h.flags & ACCMODE) !== sys.O.RDONLY) c.selfNode(h.node, 'm');
      safeClose(h.fd);
      if (h.passthrough) dropBacking(h.node);
      table.dropIfUnused(h.node);
    },

    async fsync(_ctx, _id, fh, datasync) {
      await fsyncAsync(c.handle(fh).fd, datasync);
    },

    fallocate(_ctx, _id, fh, mode, offset, length) {
      c.writable();
      const h = c.handle(fh);
      sys.fallocate(h.fd, mode, offset, length);
      h.node.version++;
    },

    lseek(_ctx, _id, fh, offset, whence) {
      return sys.lseek(c.handle(fh).fd, offset, whence);
    },

    copyFileRange(_ctx, _idIn, fhIn, offIn, _idOut, fhOut, offOut, len, flags) {
      c.writable();
      const a = c.handle(fhIn);
      const b = c.handle(fhOut);
      const n = sys.copyFileRange(a.fd, offIn, b.fd, offOut, len, Number(flags));
      b.node.version++;
      return n;
    },

    ioctl(ctx, _id, fh, cmd, _arg, input, outSize) {
      const h: Handle = c.handle(fh);
      const op = cmd >>> 0;
      // FS_IOC_GETFLAGS/SETFLAGS and their 32-bit forms (size 4 instead of 8).
      if (op === sys.FS_IOC.GETFLAGS || op === 0x80046601) {
        const v = sys.ioctlInt(h.fd, sys.FS_IOC.GETFLAGS);
        const out = Buffer.alloc(Math.max(4, Math.min(outSize, 8)));
        out.writeInt32LE(v, 0);
        return { result: 0, flags: 0, data: out.subarray(0, outSize) };
      }
      if (op === sys.FS_IOC.SETFLAGS || op === 0x40046602) {
        c.writable();
        if (input.length < 4) throw fuseError('EINVAL');
        const v = input.readInt32LE(0);
        c.caller.run(ctx, () => sys.ioctlInt(h.fd, sys.FS_IOC.SETFLAGS, v));
        h.node.version++;
        return { result: 0, flags: 0 };
      }
      throw fuseError('ENOTTY', `ioctl 0x${op.toString(16)} is not passed through`);
    },
  };
  return ops;
}

export type { FileHandle };
