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

const TWO32 = 4294967296;

/** A u64 from its 32-bit halves: a Number (sizes and block counts stay below 2^53). */
function u64n(lo: number, hi: number): number {
  return hi * TWO32 + lo;
}

/** A u64 from its halves as a bigint; zero (most attribute words) allocates nothing. */
function u64b(lo: number, hi: number): bigint {
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
  return hi < 0x200000 ? BigInt(hi * TWO32 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** The struct statx_timestamp { s64 tv_sec; u32 tv_nsec; s32 __reserved } at word `w`. */
function stamp(u: Uint32Array, i: Int32Array, w: number): StatxTimestamp {
  return { sec: i[w + 1]! * TWO32 + u[w]!, nsec: u[w + 2]! };
}

/**
 * Decode a 256-byte `struct statx`. Read through 32-bit views when the buffer is
 * 4-byte aligned (every buffer this module fills is): Buffer's read methods and
 * their bigints cost more than the statx call itself. Little-endian hosts only
 * (x86_64 and arm64, the architectures ffi.ts has syscall numbers for).
 */
export function decodeStatx(b: Buffer): Statx {
  if (b.length < 256) throw new RangeError(`struct statx is 256 bytes, got ${b.length}`);
  if ((b.byteOffset & 3) !== 0) return decodeStatx(Buffer.from(b.subarray(0, 256))); // a pooled copy is aligned
  const u = b === STATX_BUF ? STATX_U32 : new Uint32Array(b.buffer, b.byteOffset, 64);
  const i = b === STATX_BUF ? STATX_I32 : new Int32Array(b.buffer, b.byteOffset, 64);
  return {
    mask: u[0]!,
    blksize: u[1]!,
    attributes: u64b(u[2]!, u[3]!),
    nlink: u[4]!,
    uid: u[5]!,
    gid: u[6]!,
    mode: u[7]! & 0xffff,
    ino: u64b(u[8]!, u[9]!),
    size: u64n(u[10]!, u[11]!),
    blocks: u64n(u[12]!, u[13]!),
    attributes_mask: u64b(u[14]!, u[15]!),
    atime: stamp(u, i, 16),
    btime: stamp(u, i, 20),
    ctime: stamp(u, i, 24),
    mtime: stamp(u, i, 28),
    rdev_major: u[32]!,
    rdev_minor: u[33]!,
    dev_major: u[34]!,
    dev_minor: u[35]!,
    mnt_id: u64b(u[36]!, u[37]!),
    dio_mem_align: u[38]!,
    dio_offset_align: u[39]!,
    subvol: u64b(u[40]!, u[41]!),
    atomic_write_unit_min: u[42]!,
    atomic_write_unit_max: u[43]!,
    atomic_write_segments_max: u[44]!,
    dio_read_offset_align: u[45]!,
    atomic_write_unit_max_opt: u[46]!,
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
const STATX_U32 = new Uint32Array(STATX_BUF.buffer, STATX_BUF.byteOffset, 64);
const STATX_I32 = new Int32Array(STATX_BUF.buffer, STATX_BUF.byteOffset, 64);

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
