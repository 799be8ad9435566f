/**
 * Typed shapes of FUSE wire structs, in the kernel's field order.
 *
 * Naming: `fuse_entry_out` → `EntryOut`; `attr_valid_nsec` → `attrValidNsec`.
 * Identity fields (node ids, file handles, uniques, lock owners, readdir cookies,
 * lock ranges) are `bigint`; byte offsets, sizes and times are `number`
 * (exact up to 2^53 bytes, 8 PiB; larger offsets are refused with EFBIG by the decoder).
 */

/**
 * A node id: the kernel's handle for an inode, chosen by the filesystem in an
 * entry reply. The kernel holds a *lookup count* on it: +1 per entry reply
 * (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE, and each READDIRPLUS
 * entry but `.` and `..`), −n per FORGET. The id must stay valid until the count
 * reaches zero, and (id, generation) must never be reused. 1 is the root.
 */
export type NodeId = bigint & { readonly __brand?: 'NodeId' };
/**
 * A file handle chosen by the filesystem in an OPEN/CREATE/OPENDIR reply. Every
 * open is followed by exactly one RELEASE (RELEASEDIR), after zero or more FLUSHes
 * (one per close(2) of a descriptor sharing the open file description).
 */
export type FileHandle = bigint & { readonly __brand?: 'FileHandle' };
/** Request identifier; odd values belong to INTERRUPT requests. */
export type Unique = bigint & { readonly __brand?: 'Unique' };
/** Opaque lock-owner id (the kernel's `fl_owner_t`), for POSIX locks and FLUSH. */
export type LockOwner = bigint & { readonly __brand?: 'LockOwner' };

/** fuse_in_header (40 bytes). */
export interface InHeader {
  len: number;
  opcode: number;
  unique: Unique;
  nodeid: NodeId;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

/** fuse_attr (88 bytes). */
export interface Attr {
  ino: bigint;
  size: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  flags: number;
}

/** fuse_entry_out (128 bytes). `nodeid` 0 with a success reply is a negative entry, cached for entryValid. */
export interface EntryOut {
  nodeid: NodeId;
  generation: bigint;
  entryValid: number;
  attrValid: number;
  entryValidNsec: number;
  attrValidNsec: number;
  attr: Attr;
}

/** fuse_attr_out (104 bytes). */
export interface AttrOut {
  attrValid: number;
  attrValidNsec: number;
  attr: Attr;
}

/** fuse_open_out (16 bytes). */
export interface OpenOut {
  fh: FileHandle;
  openFlags: number;
  backingId: number;
}

/** fuse_entry_out followed by fuse_open_out: the CREATE and TMPFILE reply. */
export interface CreateOut {
  entry: EntryOut;
  open: OpenOut;
}

/** fuse_kstatfs inside fuse_statfs_out (80 bytes). */
export interface StatfsOut {
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  bsize: number;
  namelen: number;
  frsize: number;
}

/** fuse_file_lock (24 bytes). `end` is inclusive; OFFSET_MAX means to end of file. */
export interface FileLock {
  start: bigint;
  end: bigint;
  type: number;
  pid: number;
}

/** fuse_sx_time */
export interface SxTime {
  tvSec: bigint;
  tvNsec: number;
}

/** fuse_statx (256 bytes). */
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
  attributesMask: bigint;
  atime: SxTime;
  btime: SxTime;
  ctime: SxTime;
  mtime: SxTime;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

/** fuse_statx_out (288 bytes). */
export interface StatxOut {
  attrValid: number;
  attrValidNsec: number;
  flags: number;
  statx: Statx;
}

/** fuse_init_in (64 bytes; 16 bytes from kernels before 7.36). flags2 is merged into the 64-bit `flags`. */
export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: bigint;
}

/** fuse_init_out (64 bytes). `flags` is 64-bit; the encoder splits it into flags/flags2. */
export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  mapAlignment: number;
  maxStackDepth: number;
  requestTimeout: number;
}

/** fuse_setattr_in (88 bytes). Fields are meaningful only where `valid` (Fattr bits) says. */
export interface SetattrIn {
  valid: number;
  fh: FileHandle;
  size: number;
  lockOwner: LockOwner;
  atime: number;
  mtime: number;
  ctime: number;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  uid: number;
  gid: number;
}

/** fuse_ioctl_iovec */
export interface IoctlIovec {
  base: bigint;
  len: number;
}

/** fuse_ioctl_out header plus payload. Set `flags` RETRY with iovecs for unrestricted ioctls. */
export interface IoctlOut {
  result: number;
  flags: number;
  inIovs?: IoctlIovec[];
  outIovs?: IoctlIovec[];
  data?: Buffer;
}

/** A supplementary-groups or security-context request extension. */
export interface SecCtx {
  name: string;
  value: Buffer;
}

/** Request extensions (`total_extlen` > 0). */
export interface RequestExt {
  secctx?: SecCtx[];
  groups?: number[];
}

/** One directory entry for READDIR. `off` is the cookie the kernel passes back to continue after this entry. */
export interface Dirent {
  ino: bigint;
  off: bigint;
  type: number;
  name: string | Buffer;
}

/** One directory entry for READDIRPLUS. `entry.nodeid` 0 skips the lookup (no count taken). */
export interface DirentPlus extends Dirent {
  entry: EntryOut;
}
