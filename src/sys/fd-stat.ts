/**
 * statx(2), statvfs(3) and getdents64(2), decoded into plain objects.
 * Re-exported by fd.ts; import from there.
 *
 * Inode numbers, attributes and directory offsets are `bigint` (they use all
 * 64 bits); sizes, counts and times are numbers.
 */
import { check, checkUnless, cpath, libc, type PathLike } from './ffi.ts';

/** statx(2) `mask` bits (linux/stat.h). */
export const STATX = {
  TYPE: 0x1,
  MODE: 0x2,
  NLINK: 0x4,
  UID: 0x8,
  GID: 0x10,
  ATIME: 0x20,
  MTIME: 0x40,
  CTIME: 0x80,
  INO: 0x100,
  SIZE: 0x200,
  BLOCKS: 0x400,
  BASIC_STATS: 0x7ff,
  BTIME: 0x800,
  MNT_ID: 0x1000,
  DIOALIGN: 0x2000,
  MNT_ID_UNIQUE: 0x4000,
  SUBVOL: 0x8000,
  WRITE_ATOMIC: 0x10000,
  DIO_READ_ALIGN: 0x20000,
  ALL: 0xfff,
} as const;

/** A statx timestamp. `sec` is seconds since the epoch (may be negative). */
export interface StatxTimestamp {
  sec: number;
  nsec: number;
}

/** Every field of `struct statx` (256 bytes, linux/stat.h as of 6.18), decoded. */
export interface Statx {
  mask: number;
  blksize: number;
  attributes: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: bigint;
  size: number;
  blocks: number;
  attributes_mask: bigint;
  atime: StatxTimestamp;
  btime: StatxTimestamp;
  ctime: StatxTimestamp;
  mtime: StatxTimestamp;
  rdev_major: number;
  rdev_minor: number;
  dev_major: number;
  dev_minor: number;
  mnt_id: bigint;
  dio_mem_align: number;
  dio_offset_align: number;
  subvol: bigint;
  atomic_write_unit_min: number;
  atomic_write_unit_max: number;
  atomic_write_segments_max: number;
  dio_read_offset_align: number;
  atomic_write_unit_max_opt: number;
}

const statxFn = libc.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)');

function ts(b: Buffer, off: number): StatxTimestamp {
  return { sec: Number(b.readBigInt64LE(off)), nsec: b.readUInt32LE(off + 8) };
}

/** Decode a 256-byte `struct statx`. */
export function decodeStatx(b: Buffer): Statx {
  return {
    mask: b.readUInt32LE(0),
    blksize: b.readUInt32LE(4),
    attributes: b.readBigUInt64LE(8),
    nlink: b.readUInt32LE(16),
    uid: b.readUInt32LE(20),
    gid: b.readUInt32LE(24),
    mode: b.readUInt16LE(28),
    ino: b.readBigUInt64LE(32),
    size: Number(b.readBigUInt64LE(40)),
    blocks: Number(b.readBigUInt64LE(48)),
    attributes_mask: b.readBigUInt64LE(56),
    atime: ts(b, 64),
    btime: ts(b, 80),
    ctime: ts(b, 96),
    mtime: ts(b, 112),
    rdev_major: b.readUInt32LE(128),
    rdev_minor: b.readUInt32LE(132),
    dev_major: b.readUInt32LE(136),
    dev_minor: b.readUInt32LE(140),
    mnt_id: b.readBigUInt64LE(144),
    dio_mem_align: b.readUInt32LE(152),
    dio_offset_align: b.readUInt32LE(156),
    subvol: b.readBigUInt64LE(160),
    atomic_write_unit_min: b.readUInt32LE(168),
    atomic_write_unit_max: b.readUInt32LE(172),
    atomic_write_segments_max: b.readUInt32LE(176),
    dio_read_offset_align: b.readUInt32LE(180),
    atomic_write_unit_max_opt: b.readUInt32LE(184),
  };
}

/**
 * statx(2). `flags` are AT_* (AT.EMPTY_PATH with '' stats dirfd itself, also
 * for O_PATH fds; AT.SYMLINK_NOFOLLOW), `mask` is STATX_* (default BASIC_STATS
 * | BTIME). Fields the filesystem did not fill have their bit clear in `mask`.
 */
export function statx(dirfd: number, path: PathLike, flags = 0, mask: number = STATX.BASIC_STATS | STATX.BTIME): Statx {
  check(statxFn(dirfd, cpath(path), flags, mask >>> 0, STATX_BUF) as number, 'statx', path);
  return decodeStatx(STATX_BUF);
}

/** statx(2), or undefined if `path` does not exist (ENOENT, without building an error). */
export function statxIfExists(dirfd: number, path: PathLike, flags = 0, mask: number = STATX.BASIC_STATS | STATX.BTIME): Statx | undefined {
  if (checkUnless(statxFn(dirfd, cpath(path), flags, mask >>> 0, STATX_BUF) as number, ENOENT, 'statx', path) === undefined) return undefined;
  return decodeStatx(STATX_BUF);
}

const ENOENT = 2;

/**
 * The one `struct statx` every call fills (the kernel writes all 256 bytes) and decodeStatx
 * copies out before returning. A fresh zeroed Buffer per call cost more than the syscall; the
 * calls are synchronous on this thread, so the buffer is never in use twice at once.
 */
const STATX_BUF = Buffer.allocUnsafeSlow(256);

/** What statvfs reports, in the shape of `fuse_kstatfs`. */
export interface StatVfs {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  bsize: number;
  frsize: number;
  namelen: number;
  fsid: bigint;
  flag: number;
}

const fstatvfsFn = libc.func('int fstatvfs(int fd, void *buf)');
const statvfsFn = libc.func('int statvfs(const char *path, void *buf)');

// struct statvfs on LP64 glibc: 11 unsigned longs, then int __f_spare[6] (112 bytes).
function decodeStatvfs(b: Buffer): StatVfs {
  const u = (i: number): number => Number(b.readBigUInt64LE(i * 8));
  return {
    bsize: u(0),
    frsize: u(1),
    blocks: u(2),
    bfree: u(3),
    bavail: u(4),
    files: u(5),
    ffree: u(6),
    favail: u(7),
    fsid: b.readBigUInt64LE(64),
    flag: u(9),
    namelen: u(10),
  };
}

/** fstatvfs(3) on an fd (works on O_PATH fds: glibc uses fstatfs). */
export function fstatvfs(fd: number): StatVfs {
  const b = Buffer.alloc(128);
  check(fstatvfsFn(fd, b) as number, 'fstatvfs');
  return decodeStatvfs(b);
}

/** statvfs(3) on a path (named after the FUSE op it serves). */
export function statfs(path: PathLike): StatVfs {
  const b = Buffer.alloc(128);
  check(statvfsFn(cpath(path), b) as number, 'statvfs', path);
  return decodeStatvfs(b);
}

/** d_type values (dirent.h); equal to (st_mode & S_IFMT) >> 12. */
export const DT = {
  UNKNOWN: 0,
  FIFO: 1,
  CHR: 2,
  DIR: 4,
  BLK: 6,
  REG: 8,
  LNK: 10,
  SOCK: 12,
  WHT: 14,
} as const;

/** One `struct linux_dirent64`. `off` is the cookie to lseek to for the entry after this one. */
export interface Dirent64 {
  ino: bigint;
  off: bigint;
  type: number;
  name: Buffer;
}

const getdents64Fn = libc.func('long getdents64(int fd, void *buf, size_t count)');

/** Decode `n` bytes of linux_dirent64 records. Names are copied out of `buf`. */
export function parseDirents(buf: Buffer, n: number): Dirent64[] {
  const out: Dirent64[] = [];
  for (let p = 0; p + 19 <= n; ) {
    const reclen = buf.readUInt16LE(p + 16);
    if (reclen === 0) break;
    const nameStart = p + 19;
    let end = buf.indexOf(0, nameStart);
    if (end === -1 || end > p + reclen) end = p + reclen;
    out.push({
      ino: buf.readBigUInt64LE(p),
      off: buf.readBigInt64LE(p + 8),
      type: buf[p + 18]!,
      name: Buffer.from(buf.subarray(nameStart, end)),
    });
    p += reclen;
  }
  return out;
}

/**
 * getdents64(2): read the next batch of entries from a directory fd into
 * `buf` (≥ 280 bytes; 32 KiB is a good size) and decode them. An empty array
 * means end of directory. Position with `lseekBig(fd, off, SEEK.SET)` (ext4
 * cookies use all 63 bits, more than a number holds);
 * host d_off values are stable cookies for this directory (hashes on ext4).
 * `.` and `..` are included.
 */
export function getdents64(fd: number, buf: Buffer): Dirent64[] {
  const n = check(getdents64Fn(fd, buf, buf.length) as number, 'getdents64');
  return parseDirents(buf, n);
}
