/**
 * The privileged corner of fd.ts: per-thread filesystem credentials, umask,
 * and file handles (name_to_handle_at / open_by_handle_at). Re-exported by
 * fd.ts; import from there.
 *
 * Credentials: glibc's setgroups() (like setuid()) is broadcast to every
 * thread of the process through a signal (POSIX semantics), which is wrong for
 * a server that impersonates one caller for one operation. The raw syscalls
 * change only the calling thread, so these go through `syscall(2)`. In Node the
 * calling thread is the JS thread running the call: set, do the work
 * synchronously, restore, with nothing asynchronous in between (libuv pool
 * threads keep their own credentials).
 */
import { SYS, check, cpath, libc, syscall, sysError, type PathLike } from './ffi.ts';

const umaskFn = libc.func('uint32_t umask(uint32_t mask)');
const nameToHandleAtFn = libc.func('int name_to_handle_at(int dirfd, const char *path, void *handle, void *mountId, int flags)');
const openByHandleAtFn = libc.func('int open_by_handle_at(int mountFd, void *handle, int flags)');

const NO_ID = 0xffffffff;

function setfs(nr: number, name: string, id: number): number {
  const prev = Number(syscall(nr, 'uint32_t', id >>> 0)) >>> 0;
  // setfsuid/setfsgid never fail with -1: they return the previous id either
  // way. Asking again with an invalid id (-1) reports the current one.
  const now = Number(syscall(nr, 'uint32_t', NO_ID)) >>> 0;
  if (now !== id >>> 0) throw sysError(name, null, 1 /* EPERM */);
  return prev;
}

/**
 * setfsuid(2) for the calling thread only. Returns the previous fsuid. Throws
 * EPERM if the kernel refused (the id is checked by asking again).
 */
export function setfsuid(uid: number): number {
  return setfs(SYS.setfsuid, 'setfsuid', uid);
}

/** setfsgid(2) for the calling thread only. Returns the previous fsgid. */
export function setfsgid(gid: number): number {
  return setfs(SYS.setfsgid, 'setfsgid', gid);
}

/**
 * The raw setgroups(2) syscall: replaces the supplementary groups of the
 * calling thread only (glibc's setgroups() would change every thread).
 * Needs CAP_SETGID.
 */
export function setgroupsThread(gids: readonly number[]): void {
  const b = Buffer.alloc(Math.max(4, gids.length * 4));
  gids.forEach((g, i) => b.writeUInt32LE(g >>> 0, i * 4));
  check(Number(syscall(SYS.setgroups, 'size_t', gids.length, 'void *', b)), 'setgroups');
}

/** umask(2): set the process umask, return the previous one. Process-wide. */
export function umask(mask: number): number {
  return (umaskFn(mask & 0o777) as number) >>> 0;
}

/** A file handle from name_to_handle_at. */
export interface FileHandleResult {
  /** The whole `struct file_handle` (u32 handle_bytes, s32 handle_type, bytes): pass it back as is. */
  handle: Buffer;
  /** The mount id (as in /proc/self/mountinfo; the 64-bit unique id with AT.HANDLE_MNT_ID_UNIQUE). */
  mountId: number;
}

const MAX_HANDLE_SZ = 128;
/** Reused result buffers of name_to_handle_at (synchronous; the handle is copied out). */
const HANDLE_BUF = Buffer.allocUnsafeSlow(8 + MAX_HANDLE_SZ);
const MOUNT_ID_BUF = Buffer.allocUnsafeSlow(8);
const AT_HANDLE_MNT_ID_UNIQUE = 0x001;

/**
 * name_to_handle_at(2). `flags`: AT.EMPTY_PATH ('' = dirfd itself),
 * AT.SYMLINK_FOLLOW, AT.HANDLE_FID, AT.HANDLE_MNT_ID_UNIQUE. EOPNOTSUPP if the
 * filesystem cannot export handles.
 */
export function nameToHandleAt(dirfd: number, path: PathLike, flags = 0): FileHandleResult {
  const p = cpath(path);
  for (let size = MAX_HANDLE_SZ; ; ) {
    // The usual handle fits the reused buffers; only a larger one (EOVERFLOW) gets its own.
    const h = size === MAX_HANDLE_SZ ? HANDLE_BUF : Buffer.alloc(8 + size);
    h.writeUInt32LE(size, 0);
    const mnt = MOUNT_ID_BUF;
    mnt.writeBigUInt64LE(0n, 0);
    const ret = nameToHandleAtFn(dirfd, p, h, mnt, flags) as number;
    if (ret === -1) {
      const err = sysError('name_to_handle_at', path);
      const needed = h.readUInt32LE(0);
      // EOVERFLOW reports the size it needs in handle_bytes.
      if (err.code === 'EOVERFLOW' && needed > size) {
        size = needed;
        continue;
      }
      throw err;
    }
    const used = h.readUInt32LE(0);
    const mountId = flags & AT_HANDLE_MNT_ID_UNIQUE ? Number(mnt.readBigUInt64LE(0)) : mnt.readInt32LE(0);
    return { handle: Buffer.from(h.subarray(0, 8 + used)), mountId };
  }
}

/**
 * open_by_handle_at(2): open a handle from nameToHandleAt, given any fd on the
 * same mount. Needs CAP_DAC_READ_SEARCH; ESTALE if the file is gone.
 */
export function openByHandleAt(mountFd: number, handle: Buffer, flags: number): number {
  return check(openByHandleAtFn(mountFd, handle, flags) as number, 'open_by_handle_at');
}
