/**
 * Wire constants of the FUSE protocol, 7.45 (Linux 6.18, include/uapi/linux/fuse.h).
 *
 * Names keep the kernel spelling without the `FUSE_` prefix so that a grep maps
 * one-to-one onto `fuse_kernel.h`. Everything here is `as const` data: no enums,
 * so the module runs under Node's type stripping.
 */

/** Protocol version this codec speaks. */
export const KERNEL_VERSION = 7;
export const KERNEL_MINOR_VERSION = 45;
/** Oldest minor version we accept from the kernel (7.31: 64-byte fuse_init_out with flags2 reserved). */
export const MIN_KERNEL_MINOR_VERSION = 31;

/** The root node id; its generation is always 0. */
export const ROOT_ID = 1n;
/** Smallest buffer the kernel accepts for a read of /dev/fuse. */
export const MIN_READ_BUFFER = 8192;
/** Size of the fuse_entry_out the kernel expects from peers older than 7.9. */
export const COMPAT_ENTRY_OUT_SIZE = 120;
export const INVALID_UIDGID = 0xffffffff;
/** Set in `unique` of requests the kernel re-sent after NOTIFY_RESEND. // since 7.40 */
export const UNIQUE_RESEND = 1n << 63n;
/** OFFSET_MAX as used in fuse_file_lock.end: lock to end of file. */
export const OFFSET_MAX = 0x7fffffffffffffffn;

export const Opcode = {
  LOOKUP: 1,
  FORGET: 2, // no reply
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41, // no reply; answers NOTIFY_RETRIEVE
  BATCH_FORGET: 42, // no reply
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50, // since 7.34
  TMPFILE: 51, // since 7.37
  STATX: 52, // since 7.39
  COPY_FILE_RANGE_64: 53, // since 7.45
  CUSE_INIT: 4096,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Sentinels that reveal a peer of the other endianness. */
export const CUSE_INIT_BSWAP_RESERVED = 1048576;
export const INIT_BSWAP_RESERVED = 436207616;

/**
 * INIT flags as 64-bit values: bits 0..31 travel in `flags`, bits 32..63 in
 * `flags2` (bit - 32). The kernel reads `flags2` only when the reply sets INIT_EXT.
 */
export const InitFlag = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  FILE_OPS: 1n << 2n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n,
  SPLICE_READ: 1n << 9n,
  FLOCK_LOCKS: 1n << 10n,
  HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n,
  WRITEBACK_CACHE: 1n << 16n,
  NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n,
  HANDLE_KILLPRIV: 1n << 19n,
  POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n,
  EXPLICIT_INVAL_DATA: 1n << 25n,
  MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n,
  HANDLE_KILLPRIV_V2: 1n << 28n,
  SETXATTR_EXT: 1n << 29n,
  INIT_EXT: 1n << 30n,
  INIT_RESERVED: 1n << 31n,
  SECURITY_CTX: 1n << 32n, // since 7.36
  HAS_INODE_DAX: 1n << 33n, // since 7.36
  CREATE_SUPP_GROUP: 1n << 34n, // since 7.38
  HAS_EXPIRE_ONLY: 1n << 35n, // since 7.38
  DIRECT_IO_ALLOW_MMAP: 1n << 36n, // since 7.39
  PASSTHROUGH: 1n << 37n, // since 7.40
  NO_EXPORT_SUPPORT: 1n << 38n, // since 7.40
  HAS_RESEND: 1n << 39n, // since 7.40
  ALLOW_IDMAP: 1n << 40n, // since 7.40
  OVER_IO_URING: 1n << 41n, // since 7.42
  REQUEST_TIMEOUT: 1n << 42n, // since 7.43
} as const;
export type InitFlag = (typeof InitFlag)[keyof typeof InitFlag];

/** fuse_open_out.open_flags */
export const FopenFlag = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  NONSEEKABLE: 1 << 2,
  CACHE_DIR: 1 << 3, // since 7.28
  STREAM: 1 << 4, // since 7.31
  NOFLUSH: 1 << 5, // since 7.32
  PARALLEL_DIRECT_WRITES: 1 << 6, // since 7.36
  PASSTHROUGH: 1 << 7, // since 7.40
} as const;

/** fuse_setattr_in.valid */
export const Fattr = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  LOCKOWNER: 1 << 9,
  CTIME: 1 << 10,
  KILL_SUIDGID: 1 << 11, // since 7.32
} as const;

/** fuse_attr.flags */
export const AttrFlag = {
  SUBMOUNT: 1 << 0,
  DAX: 1 << 1,
} as const;

export const GetattrFlag = { FH: 1 << 0 } as const;
export const ReleaseFlag = { FLUSH: 1 << 0, FLOCK_UNLOCK: 1 << 1 } as const;
export const WriteFlag = { CACHE: 1 << 0, LOCKOWNER: 1 << 1, KILL_SUIDGID: 1 << 2 } as const;
export const ReadFlag = { LOCKOWNER: 1 << 1 } as const;
export const FsyncFlag = { FDATASYNC: 1 << 0 } as const;
export const LkFlag = { FLOCK: 1 << 0 } as const;
export const OpenInFlag = { KILL_SUIDGID: 1 << 0 } as const; // fuse_open_in.open_flags, since 7.32
export const SetxattrFlag = { ACL_KILL_SGID: 1 << 0 } as const; // fuse_setxattr_in.setxattr_flags
export const IoctlFlag = {
  COMPAT: 1 << 0,
  UNRESTRICTED: 1 << 1,
  RETRY: 1 << 2,
  IOCTL_32BIT: 1 << 3,
  DIR: 1 << 4,
  COMPAT_X32: 1 << 5,
} as const;
export const IOCTL_MAX_IOV = 256;
export const PollFlag = { SCHEDULE_NOTIFY: 1 << 0 } as const;
export const FsyncdirFlag = FsyncFlag;
export const SetupMappingFlag = { WRITE: 1 << 0, READ: 1 << 1 } as const;

/** Notification codes (fuse_out_header.error with unique = 0). */
export const NotifyCode = {
  POLL: 1,
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  STORE: 4,
  RETRIEVE: 5,
  DELETE: 6,
  RESEND: 7, // since 7.40
  INC_EPOCH: 8, // since 7.44
  PRUNE: 9, // since 7.45
} as const;
export type NotifyCode = (typeof NotifyCode)[keyof typeof NotifyCode];

/** fuse_notify_inval_entry_out.flags */
export const InvalEntryFlag = { EXPIRE_ONLY: 1 << 0 } as const; // needs HAS_EXPIRE_ONLY

/** Request extension types (fuse_ext_header.type). */
export const ExtType = {
  SECURITY_CTX: 31, // FUSE_MAX_NR_SECCTX
  SUPP_GROUPS: 32,
} as const;

/** renameat2 flags carried by RENAME2. */
export const RenameFlag = { NOREPLACE: 1 << 0, EXCHANGE: 1 << 1, WHITEOUT: 1 << 2 } as const;

/** Struct sizes on the wire (x86_64, protocol 7.45). */
export const Size = {
  IN_HEADER: 40,
  OUT_HEADER: 16,
  ATTR: 88,
  ENTRY_OUT: 128,
  ATTR_OUT: 104,
  OPEN_OUT: 16,
  OPEN_IN: 8,
  CREATE_IN: 16,
  MKNOD_IN: 16,
  MKDIR_IN: 8,
  RENAME_IN: 8,
  RENAME2_IN: 16,
  LINK_IN: 8,
  SETATTR_IN: 88,
  GETATTR_IN: 16,
  READ_IN: 40,
  WRITE_IN: 40,
  WRITE_OUT: 8,
  RELEASE_IN: 24,
  FLUSH_IN: 24,
  FSYNC_IN: 16,
  SETXATTR_IN: 16,
  SETXATTR_IN_COMPAT: 8,
  GETXATTR_IN: 8,
  GETXATTR_OUT: 8,
  LK_IN: 48,
  LK_OUT: 24,
  FILE_LOCK: 24,
  ACCESS_IN: 8,
  INIT_IN: 64,
  INIT_OUT: 64,
  INTERRUPT_IN: 8,
  BMAP_IN: 16,
  BMAP_OUT: 8,
  IOCTL_IN: 32,
  IOCTL_OUT: 16,
  IOCTL_IOVEC: 16,
  POLL_IN: 24,
  POLL_OUT: 8,
  FORGET_IN: 8,
  FORGET_ONE: 16,
  BATCH_FORGET_IN: 8,
  FALLOCATE_IN: 32,
  LSEEK_IN: 24,
  LSEEK_OUT: 8,
  COPY_FILE_RANGE_IN: 56,
  COPY_FILE_RANGE_OUT: 8,
  SETUPMAPPING_IN: 40,
  REMOVEMAPPING_IN: 4,
  REMOVEMAPPING_ONE: 16,
  SYNCFS_IN: 8,
  STATFS_OUT: 80,
  KSTATFS: 80,
  STATX_IN: 24,
  STATX_OUT: 288,
  STATX: 256,
  DIRENT: 24,
  DIRENTPLUS: 152,
  NOTIFY_RETRIEVE_IN: 40,
  NOTIFY_POLL_WAKEUP_OUT: 8,
  NOTIFY_INVAL_INODE_OUT: 24,
  NOTIFY_INVAL_ENTRY_OUT: 16,
  NOTIFY_DELETE_OUT: 24,
  NOTIFY_STORE_OUT: 24,
  NOTIFY_RETRIEVE_OUT: 32,
  NOTIFY_PRUNE_OUT: 16,
  EXT_HEADER: 8,
  SUPP_GROUPS: 4,
  SECCTX_HEADER: 8,
  SECCTX: 8,
  BACKING_MAP: 16,
} as const;

/** Ioctls on the /dev/fuse fd (x86_64 values). */
export const DevIoctl = {
  CLONE: 0x8004e500, // _IOR(229, 0, u32)
  BACKING_OPEN: 0x4010e501, // _IOW(229, 1, fuse_backing_map)
  BACKING_CLOSE: 0x4004e502, // _IOW(229, 2, u32)
  SYNC_INIT: 0xe503, // _IO(229, 3), Linux 6.18
} as const;

/** Largest passthrough stack depth the kernel allows (FILESYSTEM_MAX_STACK_DEPTH). */
export const FILESYSTEM_MAX_STACK_DEPTH = 2;

/** Round `n` up to the 8-byte alignment of dirent records. */
export function direntAlign(n: number): number {
  return (n + 7) & ~7;
}
