/**
 * Positional and space-management I/O on fds: pread/pwrite, lseek with
 * SEEK_DATA/SEEK_HOLE, fallocate, copy_file_range, truncate and the sync
 * family, plus an int-pointer ioctl. Re-exported by fd.ts; import from there.
 *
 * Offsets are 64-bit (`int64_t`) on the C side and numbers in JS; a number
 * holds offsets up to 2^53, far beyond any real file. Directory cookies are the
 * exception: they use all 63 bits, so `lseekBig` takes and returns bigints.
 */
import { check, libc } from './ffi.ts';

/** lseek(2) whence values. */
export const SEEK = {
  SET: 0,
  CUR: 1,
  END: 2,
  /** Next offset ≥ off that holds data (ENXIO past the last data). */
  DATA: 3,
  /** Next offset ≥ off in a hole; EOF counts as a hole. */
  HOLE: 4,
} as const;

/** fallocate(2) modes (linux/falloc.h). */
export const FALLOC = {
  KEEP_SIZE: 0x01,
  PUNCH_HOLE: 0x02,
  NO_HIDE_STALE: 0x04,
  COLLAPSE_RANGE: 0x08,
  ZERO_RANGE: 0x10,
  INSERT_RANGE: 0x20,
  UNSHARE_RANGE: 0x40,
} as const;

/** Inode flag ioctls (linux/fs.h, x86_64/arm64 values). Their argument is an int pointer. */
export const FS_IOC = {
  GETFLAGS: 0x80086601,
  SETFLAGS: 0x40086602,
} as const;

const preadFn = libc.func('long pread64(int fd, void *buf, size_t count, int64_t offset)');
const pwriteFn = libc.func('long pwrite64(int fd, const void *buf, size_t count, int64_t offset)');
const lseekFn = libc.func('int64_t lseek64(int fd, int64_t offset, int whence)');
const fallocateFn = libc.func('int fallocate64(int fd, int mode, int64_t offset, int64_t len)');
const copyFileRangeFn = libc.func('long copy_file_range(int fdIn, void *offIn, int fdOut, void *offOut, size_t len, unsigned int flags)');
const ftruncateFn = libc.func('int ftruncate64(int fd, int64_t length)');
const fsyncFn = libc.func('int fsync(int fd)');
const fdatasyncFn = libc.func('int fdatasync(int fd)');
const syncfsFn = libc.func('int syncfs(int fd)');
const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, void *arg)');

function bytes(buf: Buffer, length: number | undefined): number {
  const n = length ?? buf.length;
  if (n < 0 || n > buf.length) throw new RangeError(`length ${n} outside buffer of ${buf.length}`);
  return n;
}

/** pread(2) into `buf` (first `length` bytes, default all). Returns bytes read; 0 at EOF. */
export function pread(fd: number, buf: Buffer, offset: number, length?: number): number {
  return check(preadFn(fd, buf, bytes(buf, length), offset) as number, 'pread');
}

/** pwrite(2) from `buf` (first `length` bytes, default all). Returns bytes written. */
export function pwrite(fd: number, buf: Buffer, offset: number, length?: number): number {
  return check(pwriteFn(fd, buf, bytes(buf, length), offset) as number, 'pwrite');
}

/** lseek(2), including SEEK.DATA / SEEK.HOLE (ENXIO when there is no such offset). */
export function lseek(fd: number, offset: number, whence: number): number {
  return Number(check(lseekFn(fd, offset, whence) as number | bigint, 'lseek'));
}

/** lseek(2) with bigint offsets, for directory cookies (getdents64 `off`). */
export function lseekBig(fd: number, offset: bigint, whence: number): bigint {
  return BigInt(check(lseekFn(fd, offset, whence) as number | bigint, 'lseek'));
}

/** fallocate(2) with FALLOC.* mode bits (0 = allocate and extend). */
export function fallocate(fd: number, mode: number, offset: number, len: number): void {
  check(fallocateFn(fd, mode, offset, len) as number, 'fallocate');
}

function offPtr(off: number | null): Buffer | null {
  if (off === null) return null;
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(off));
  return b;
}

/**
 * copy_file_range(2). A null offset uses (and advances) the fd's file offset;
 * a number is used as is and the fd offset is left alone. Returns bytes
 * copied, possibly fewer than `len`; 0 at EOF of `fdIn`. EXDEV across
 * filesystems the kernel cannot bridge; fall back to read/write then.
 */
export function copyFileRange(fdIn: number, offIn: number | null, fdOut: number, offOut: number | null, len: number, flags = 0): number {
  return check(copyFileRangeFn(fdIn, offPtr(offIn), fdOut, offPtr(offOut), len, flags) as number, 'copy_file_range');
}

/** ftruncate(2). */
export function ftruncate(fd: number, length: number): void {
  check(ftruncateFn(fd, length) as number, 'ftruncate');
}

/** fsync(2). */
export function fsync(fd: number): void {
  check(fsyncFn(fd) as number, 'fsync');
}

/** fdatasync(2). */
export function fdatasync(fd: number): void {
  check(fdatasyncFn(fd) as number, 'fdatasync');
}

/** syncfs(2): flush the whole filesystem `fd` is on. */
export function syncfs(fd: number): void {
  check(syncfsFn(fd) as number, 'syncfs');
}

/**
 * ioctl(2) whose argument is a pointer to an int (FS_IOC.GETFLAGS/SETFLAGS and
 * the like): the int starts as `value` (default 0) and its value after the call
 * is returned. FS_IOC_* are declared with `long` but the kernel reads and writes
 * an int; the 8-byte buffer covers both.
 */
export function ioctlInt(fd: number, request: number, value = 0): number {
  const b = Buffer.alloc(8);
  b.writeInt32LE(value | 0);
  check(ioctlFn(fd, request, b) as number, 'ioctl');
  return b.readInt32LE(0);
}
