/**
 * File-descriptor–relative filesystem calls that Node lacks, for the share
 * server: confined opens (`openat2` + RESOLVE_*), the `*at` namespace calls,
 * and (re-exported from sibling modules) statx/statfs/getdents64, positional
 * I/O, file handles and per-thread credentials.
 *
 * Paths are `string | Buffer`: a Buffer carries raw name bytes (FUSE names need
 * not be UTF-8). Every call is synchronous and throws a Node-style error on
 * failure (see ffi.ts). Flags are plain numbers; the `O`, `AT`, `RESOLVE` and
 * `RENAME` objects hold the values.
 */
import { constants as fsc } from 'node:fs';
import koffi from 'koffi';
import { AT, SYS, check, cpath, libc, syscall, sysError, type PathLike } from './ffi.ts';

export { AT, close, type PathLike } from './ffi.ts';
export * from './fd-stat.ts';
export * from './fd-io.ts';
export * from './fd-cred.ts';

/**
 * open(2) flags. Architecture-dependent ones come from `fs.constants`; O_PATH,
 * O_CLOEXEC and O_TMPFILE have the same value on x86_64 and arm64.
 */
export const O = {
  RDONLY: fsc.O_RDONLY,
  WRONLY: fsc.O_WRONLY,
  RDWR: fsc.O_RDWR,
  CREAT: fsc.O_CREAT,
  EXCL: fsc.O_EXCL,
  NOCTTY: fsc.O_NOCTTY,
  TRUNC: fsc.O_TRUNC,
  APPEND: fsc.O_APPEND,
  NONBLOCK: fsc.O_NONBLOCK,
  DSYNC: fsc.O_DSYNC,
  SYNC: fsc.O_SYNC,
  DIRECT: fsc.O_DIRECT ?? 0,
  DIRECTORY: fsc.O_DIRECTORY,
  NOFOLLOW: fsc.O_NOFOLLOW,
  NOATIME: fsc.O_NOATIME ?? 0,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
  TMPFILE: 0o20000000 | fsc.O_DIRECTORY,
} as const;

/** `open_how.resolve` flags for openat2(2) (linux/openat2.h). */
export const RESOLVE = {
  /** Fail with EXDEV on crossing a mount point (bind mounts included). */
  NO_XDEV: 0x01,
  /** Fail with ELOOP on /proc/<pid>/fd-style magic links. */
  NO_MAGICLINKS: 0x02,
  /** Fail with ELOOP on any symlink in the path (implies NO_MAGICLINKS). */
  NO_SYMLINKS: 0x04,
  /** Fail with EXDEV if resolution would leave dirfd ("..", absolute symlinks). */
  BENEATH: 0x08,
  /** Treat dirfd as the root: ".." and absolute symlinks are clamped to it. */
  IN_ROOT: 0x10,
  /** Only use the dcache; EAGAIN if that is not enough (since 5.12). */
  CACHED: 0x20,
} as const;

/** renameat2(2) flags. */
export const RENAME = {
  NOREPLACE: 1,
  EXCHANGE: 2,
  WHITEOUT: 4,
} as const;

const openatFn = libc.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)');
const mkdiratFn = libc.func('int mkdirat(int dirfd, const char *path, uint32_t mode)');
const mknodatFn = libc.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)');
const unlinkatFn = libc.func('int unlinkat(int dirfd, const char *path, int flags)');
const renameat2Fn = libc.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)');
const linkatFn = libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
const symlinkatFn = libc.func('int symlinkat(const char *target, int newdirfd, const char *linkpath)');
const readlinkatFn = libc.func('long readlinkat(int dirfd, const char *path, void *buf, size_t size)');
const fchownatFn = libc.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)');
const fchmodatFn = libc.func('int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)');
const fchmodFn = libc.func('int fchmod(int fd, uint32_t mode)');
const utimensatFn = libc.func('int utimensat(int dirfd, const char *path, const void *times, int flags)');
const futimensFn = libc.func('int futimens(int fd, const void *times)');

/** What openat2 should do: `flags` and `mode` as for openat, plus RESOLVE_* bits. */
export interface OpenHow {
  flags: number;
  mode?: number;
  resolve?: number;
}

/**
 * openat2(2) through `syscall(2)` (glibc 2.36 has no wrapper). The kernel
 * rejects unknown `resolve` bits and a `mode` without O_CREAT/O_TMPFILE with
 * EINVAL, unlike openat which ignores them. O_CLOEXEC is not added for you.
 */
export function openat2(dirfd: number, path: PathLike, how: OpenHow): number {
  const b = OPEN_HOW; // every field written: struct open_how { u64 flags, mode, resolve }
  b.writeUInt32LE(how.flags >>> 0, 0);
  b.writeUInt32LE(0, 4);
  b.writeUInt32LE((how.mode ?? 0) >>> 0, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt32LE((how.resolve ?? 0) >>> 0, 16);
  b.writeUInt32LE(0, 20);
  const ret = syscall(SYS.openat2, 'int', dirfd, 'const char *', cpath(path), 'void *', b, 'size_t', 24) as number;
  return check(ret, 'openat2', path);
}

/** openat2's argument, reused (the call is synchronous; the kernel copies it in). */
const OPEN_HOW = Buffer.allocUnsafeSlow(24);

/** openat(2). `mode` only matters with O_CREAT or O_TMPFILE. */
export function openat(dirfd: number, path: PathLike, flags: number, mode = 0): number {
  return check(openatFn(dirfd, cpath(path), flags, mode) as number, 'openat', path);
}

/** mkdirat(2). */
export function mkdirat(dirfd: number, path: PathLike, mode: number): void {
  check(mkdiratFn(dirfd, cpath(path), mode) as number, 'mkdirat', path);
}

/** mknodat(2): `mode` carries the file type (S_IFREG, S_IFIFO, S_IFCHR…); `dev` is a makedev() value. */
export function mknodat(dirfd: number, path: PathLike, mode: number, dev: number | bigint = 0): void {
  check(mknodatFn(dirfd, cpath(path), mode, BigInt(dev)) as number, 'mknodat', path);
}

/** unlinkat(2); pass AT.REMOVEDIR to remove a directory. */
export function unlinkat(dirfd: number, path: PathLike, flags = 0): void {
  check(unlinkatFn(dirfd, cpath(path), flags) as number, 'unlinkat', path);
}

/** renameat2(2) with RENAME.NOREPLACE / EXCHANGE / WHITEOUT. */
export function renameat2(olddirfd: number, oldpath: PathLike, newdirfd: number, newpath: PathLike, flags = 0): void {
  check(renameat2Fn(olddirfd, cpath(oldpath), newdirfd, cpath(newpath), flags) as number, 'renameat2', oldpath);
}

/** linkat(2); AT.EMPTY_PATH with '' links an fd (needs CAP_DAC_READ_SEARCH), AT.SYMLINK_FOLLOW follows. */
export function linkat(olddirfd: number, oldpath: PathLike, newdirfd: number, newpath: PathLike, flags = 0): void {
  check(linkatFn(olddirfd, cpath(oldpath), newdirfd, cpath(newpath), flags) as number, 'linkat', oldpath);
}

/** symlinkat(2): create `linkpath` (relative to newdirfd) pointing at `target`. */
export function symlinkat(target: PathLike, newdirfd: number, linkpath: PathLike): void {
  check(symlinkatFn(cpath(target), newdirfd, cpath(linkpath)) as number, 'symlinkat', linkpath);
}

/**
 * readlinkat(2), returning the raw target bytes. Grows the buffer until the
 * target fits. With path '' it reads the symlink an O_PATH|O_NOFOLLOW fd is on.
 */
export function readlinkat(dirfd: number, path: PathLike): Buffer {
  const p = cpath(path);
  for (let size = 256; ; size *= 4) {
    const buf = Buffer.allocUnsafe(size);
    const n = check(readlinkatFn(dirfd, p, buf, size) as number, 'readlinkat', path);
    if (n < size) return buf.subarray(0, n);
  }
}

/** fchownat(2). −1 leaves uid or gid unchanged. */
export function fchownat(dirfd: number, path: PathLike, uid: number, gid: number, flags = 0): void {
  check(fchownatFn(dirfd, cpath(path), uid >>> 0, gid >>> 0, flags) as number, 'fchownat', path);
}

/**
 * fchmodat(2). With AT.SYMLINK_NOFOLLOW glibc 2.36 goes through O_PATH and
 * /proc and fails with EOPNOTSUPP on a symlink (Linux symlinks have no mode).
 */
export function fchmodat(dirfd: number, path: PathLike, mode: number, flags = 0): void {
  check(fchmodatFn(dirfd, cpath(path), mode, flags) as number, 'fchmodat', path);
}

/** fchmod(2). Fails with EBADF on an O_PATH fd; use fchmodFd for those. */
export function fchmod(fd: number, mode: number): void {
  check(fchmodFn(fd, mode) as number, 'fchmod');
}

/** fchmodat2(2) (Linux 6.6): the one chmod that takes AT_EMPTY_PATH, so it works on an O_PATH fd. */
const SYS_FCHMODAT2 = 452; // the same number on every architecture (a syscall added after the tables were unified)
let haveFchmodat2 = true;

/**
 * chmod the file any fd names, O_PATH fds included (not a symlink: Linux
 * symlinks have no mode, EOPNOTSUPP). fchmodat2 with AT_EMPTY_PATH where the
 * kernel has it (a third of the cost of the alternative); on older kernels
 * fchmodat on `/proc/self/fd/N`, which resolves a magic link each call.
 */
export function fchmodFd(fd: number, mode: number): void {
  if (haveFchmodat2) {
    const ret = syscall(SYS_FCHMODAT2, 'int', fd, 'const char *', '', 'uint32_t', mode >>> 0, 'int', AT.EMPTY_PATH) as number;
    if (ret !== -1) return;
    const errno = koffi.errno();
    // ENOSYS: no fchmodat2; EINVAL: a kernel that has it without AT_EMPTY_PATH support.
    if (errno !== ENOSYS && errno !== EINVAL) throw sysError('fchmodat2', undefined, errno);
    haveFchmodat2 = false;
  }
  fchmodat(AT.FDCWD, `/proc/self/fd/${fd}`, mode);
}

const ENOSYS = 38;
const EINVAL = 22;

/** UTIME_NOW / UTIME_OMIT (sys/stat.h), as `tv_nsec` values. */
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

/** A time for utimensat: an explicit time, the current time, or "leave it". */
export type TimeSpec = { sec: number; nsec: number } | 'now' | 'omit';

/**
 * The two timespecs, in one buffer every call reuses (the calls are synchronous and the kernel
 * copies the times in). A fresh zeroed Buffer and four BigInts per call cost more than the syscall.
 */
const TIMES = Buffer.allocUnsafeSlow(32);
const TIMES32 = new Int32Array(TIMES.buffer, TIMES.byteOffset, 8);
const TWO32 = 4294967296;

function putTime(t: TimeSpec, i: number): void {
  // struct timespec { s64 tv_sec; long tv_nsec }, little-endian: [sec lo, sec hi, nsec lo, nsec hi]
  if (t === 'now' || t === 'omit') {
    TIMES32[i] = 0;
    TIMES32[i + 1] = 0;
    TIMES32[i + 2] = t === 'now' ? UTIME_NOW : UTIME_OMIT;
  } else {
    const sec = Math.trunc(t.sec);
    const hi = Math.floor(sec / TWO32);
    TIMES32[i] = sec - hi * TWO32; // the low 32 bits (stored as their two's-complement pattern)
    TIMES32[i + 1] = hi;
    TIMES32[i + 2] = Math.trunc(t.nsec);
  }
  TIMES32[i + 3] = 0;
}

function encodeTimes(atime: TimeSpec, mtime: TimeSpec): Buffer {
  putTime(atime, 0);
  putTime(mtime, 4);
  return TIMES;
}

/**
 * utimensat(2). `path === null` sets the times of `dirfd` itself (futimens,
 * which needs a real fd, not O_PATH; for O_PATH fds pass '' with AT.EMPTY_PATH).
 * Setting both to 'omit' is a successful no-op, as in the kernel.
 */
export function utimensat(dirfd: number, path: PathLike | null, atime: TimeSpec, mtime: TimeSpec, flags = 0): void {
  const times = encodeTimes(atime, mtime);
  if (path === null) {
    if (flags !== 0) throw Object.assign(new TypeError('utimensat: flags need a path'), { code: 'ERR_INVALID_ARG_VALUE' });
    check(futimensFn(dirfd, times) as number, 'futimens');
  } else {
    check(utimensatFn(dirfd, cpath(path), times, flags) as number, 'utimensat', path);
  }
}
