/**
 * The low-level filesystem API: one async method per kernel operation, on node ids.
 *
 * This is fusekit's counterpart of libfuse's `fuse_lowlevel_ops`. The session
 * decodes each request, calls the method named after the operation, and encodes
 * whatever it returns. Rules that hold for every method:
 *
 * - **Return, don't reply.** A method returns its result (or a promise of it) and
 *   never writes to the device. Throw a `FuseError` (or a Node system error with
 *   a `code` such as `ENOENT`) to answer an error; anything else thrown becomes
 *   EIO and is logged, and the mount stays up. Exactly one reply is sent per request.
 * - **Default.** A method that is absent answers ENOSYS, except where its doc says
 *   otherwise. The kernel remembers ENOSYS for many operations (OPEN, FLUSH,
 *   FSYNC, xattrs, ACCESS, CREATE, …) and stops asking, so an absent method costs
 *   one round trip at most.
 * - **Lookup counts.** Every successful reply that carries an entry (LOOKUP,
 *   MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE, and each READDIRPLUS entry with
 *   a non-zero node id other than `.` and `..`) makes the kernel hold one more
 *   reference on that node id. `forget` gives them back. A node must stay valid
 *   until its count is zero, even after unlink: the kernel may still send
 *   requests for it. At unmount the counts drop to zero without FORGETs.
 * - **Names** arrive as raw bytes (`Buffer`, a view valid until the reply): Linux
 *   names need not be UTF-8. They never contain `/` or NUL, and are never `.` or
 *   `..` except in READDIR output.
 * - **Interrupts.** `ctx.signal` aborts when the kernel sends INTERRUPT for the
 *   request. A method that can wait (a blocking lock, a stream read) should listen
 *   and throw EINTR; the session then answers EINTR.
 * - **Notifications** (cache invalidation) must never be sent synchronously from a
 *   method handling a related request: use `ctx.notifier`, which queues them and
 *   sends them off the request path.
 */
import type {
  AttrOut,
  CreateOut,
  EntryOut,
  FileHandle,
  FileLock,
  IoctlOut,
  LockOwner,
  NodeId,
  OpenOut,
  SetattrIn,
  StatfsOut,
  StatxOut,
  Unique,
} from '../protocol/types.ts';
import type { Notifier } from './notify.ts';

export type MaybePromise<T> = T | Promise<T>;

/** Who asked, and how to hear about an interrupt. */
export interface RequestContext {
  readonly unique: Unique;
  readonly opcode: number;
  readonly nodeid: NodeId;
  readonly uid: number;
  readonly gid: number;
  /** Thread-group id of the caller; 0 for requests the kernel makes itself (writeback, FORGET). */
  readonly pid: number;
  /** Supplementary groups, when CREATE_SUPP_GROUP was negotiated and the kernel sent them. */
  readonly groups?: readonly number[];
  /** Aborted when the kernel interrupts this request (the caller got a signal). */
  readonly signal: AbortSignal;
  /** Queue cache invalidations for this mount, safe to use from any handler. */
  readonly notifier: Notifier;
}

/**
 * Facts from INIT, and the knobs a filesystem may turn in `init`.
 * `want` starts with the defaults the session chose from what the kernel offered
 * and what the filesystem implements; `init` may add or clear InitFlag bits. The
 * session then sends `want & capable`: only flags the kernel offered.
 */
export interface ConnectionInfo {
  readonly major: number;
  readonly minor: number;
  /** Flags the kernel offered (flags | flags2 << 32). */
  readonly capable: bigint;
  want: bigint;
  maxReadahead: number;
  maxWrite: number;
  maxBackground: number;
  congestionThreshold: number;
  timeGran: number;
  maxPages: number;
  /** Passthrough stacking depth (1 or 2) when PASSTHROUGH is wanted. */
  maxStackDepth: number;
  /** Seconds after which the kernel aborts a request the server has not answered (0: never). */
  requestTimeout: number;
}

/** What an open may return; fields default to 0. */
export type OpenResult = Partial<OpenOut>;

/** Extra facts of a READ. */
export interface ReadInfo {
  flags: number;
  readFlags: number;
  lockOwner: LockOwner;
}

/** Extra facts of a WRITE. `writeFlags` has WriteFlag.CACHE for writeback-cache writes. */
export interface WriteInfo {
  flags: number;
  writeFlags: number;
  lockOwner: LockOwner;
}

/**
 * Collects READDIR entries. `add` returns false once the reply is full: stop and
 * return; the kernel asks again with the `off` of the last entry it received.
 * `off` must identify the position *after* this entry, must never be 0, and
 * should survive concurrent insertions and removals (a name hash works well).
 */
export interface DirentSink {
  add(ino: bigint, off: bigint, type: number, name: string | Buffer): boolean;
}

/**
 * Collects READDIRPLUS entries. Each accepted entry with `entry.nodeid` ≠ 0 whose
 * name is not `.` or `..` takes one lookup reference, exactly like a LOOKUP reply:
 * count it when `add` returns true, and not when it returns false.
 */
export interface DirentPlusSink {
  add(entry: EntryOut, off: bigint, name: string | Buffer): boolean;
}

/**
 * A filesystem as the kernel sees it. Every method is optional.
 * Methods receive a RequestContext first, except `init`, `destroy` and `forget`.
 */
export interface LowLevelFs {
  /**
   * Called once, with INIT's facts, before any other request. Adjust `conn.want`
   * and limits here. **Default:** the session's defaults.
   * **Side effects:** none on lookup counts.
   */
  init?(conn: ConnectionInfo, notifier: Notifier): MaybePromise<void>;

  /** The connection is shutting down (DESTROY, or the device closed). **Default:** nothing. */
  destroy?(): MaybePromise<void>;

  /**
   * Look up `name` in directory `parent`.
   * **Replies:** an EntryOut (nodeid 0 caches a negative entry for entryValid), or ENOENT.
   * **Side effects:** +1 lookup on the returned node id (unless it is 0).
   * **Default:** ENOSYS.
   */
  lookup?(ctx: RequestContext, parent: NodeId, name: Buffer): MaybePromise<EntryOut>;

  /**
   * The kernel drops `nlookup` references on `nodeid`. No reply is sent; BATCH_FORGET
   * arrives here one node at a time. Free the node when its count reaches zero.
   * **Default:** nothing (nodes leak, which is fine for static trees).
   */
  forget?(nodeid: NodeId, nlookup: bigint): void;

  /**
   * Attributes of `nodeid`. `fh` is set when the kernel asks through an open file (fstat).
   * **Replies:** AttrOut. **Default:** ENOSYS (then `stat` fails).
   */
  getattr?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined): MaybePromise<AttrOut>;

  /**
   * Change attributes: only fields whose Fattr bit is in `attr.valid`. Covers chmod,
   * chown, truncate (SIZE), utimensat (ATIME/MTIME, *_NOW) and KILL_SUIDGID.
   * **Replies:** the new AttrOut. **Default:** ENOSYS.
   */
  setattr?(ctx: RequestContext, nodeid: NodeId, attr: SetattrIn): MaybePromise<AttrOut>;

  /** Target of a symlink. **Replies:** bytes or a string. **Default:** ENOSYS. */
  readlink?(ctx: RequestContext, nodeid: NodeId): MaybePromise<Buffer | string>;

  /**
   * Create a non-directory node (regular file, fifo, socket, device).
   * `umask` is the caller's umask; the mode has it applied already unless DONT_MASK is wanted.
   * **Replies:** EntryOut with a fresh node id (never 0 or 1). **Side effects:** +1 lookup.
   */
  mknod?(ctx: RequestContext, parent: NodeId, name: Buffer, mode: number, rdev: number, umask: number): MaybePromise<EntryOut>;

  /** Create a directory. **Replies:** EntryOut. **Side effects:** +1 lookup. **Default:** ENOSYS. */
  mkdir?(ctx: RequestContext, parent: NodeId, name: Buffer, mode: number, umask: number): MaybePromise<EntryOut>;

  /** Remove a non-directory name. The node lives on until forgotten. **Default:** ENOSYS. */
  unlink?(ctx: RequestContext, parent: NodeId, name: Buffer): MaybePromise<void>;

  /** Remove an empty directory (ENOTEMPTY otherwise). **Default:** ENOSYS. */
  rmdir?(ctx: RequestContext, parent: NodeId, name: Buffer): MaybePromise<void>;

  /** Create a symlink `name` → `target`. **Replies:** EntryOut. **Side effects:** +1 lookup. */
  symlink?(ctx: RequestContext, parent: NodeId, name: Buffer, target: Buffer): MaybePromise<EntryOut>;

  /**
   * Rename, with renameat2 `flags` (RenameFlag.NOREPLACE, EXCHANGE, WHITEOUT; 0 for plain RENAME).
   * Unsupported flags: EINVAL. **Default:** ENOSYS.
   */
  rename?(ctx: RequestContext, parent: NodeId, name: Buffer, newparent: NodeId, newname: Buffer, flags: number): MaybePromise<void>;

  /** Hard link `nodeid` as `newname` in `newparent`. **Replies:** EntryOut for nodeid. **Side effects:** +1 lookup. */
  link?(ctx: RequestContext, nodeid: NodeId, newparent: NodeId, newname: Buffer): MaybePromise<EntryOut>;

  /**
   * Open a file. `flags` are open(2) flags (O_CREAT, O_EXCL, O_NOCTTY are stripped by the kernel).
   * **Replies:** fh and FopenFlag bits (DIRECT_IO for content of unknown size, KEEP_CACHE, PASSTHROUGH + backingId).
   * **Default:** success with fh 0 (the kernel also accepts ENOSYS as "no open needed").
   */
  open?(ctx: RequestContext, nodeid: NodeId, flags: number): MaybePromise<OpenResult>;

  /**
   * Read up to `size` bytes at `offset`. Return fewer only at end of file (or always,
   * with DIRECT_IO). **Replies:** bytes (a Buffer or pieces). **Default:** ENOSYS.
   */
  read?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, size: number, info: ReadInfo): MaybePromise<Buffer | Buffer[]>;

  /**
   * Write `data` at `offset`. `data` is a view into the request frame, valid until the
   * method settles: copy it to keep it. **Replies:** bytes written. **Default:** ENOSYS.
   */
  write?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, data: Buffer, info: WriteInfo): MaybePromise<number>;

  /**
   * close(2) of one descriptor of an open file; may come several times per open.
   * **Default:** ENOSYS, which the kernel treats as success and remembers: no more FLUSHes.
   */
  flush?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, lockOwner: LockOwner): MaybePromise<void>;

  /**
   * The last reference to an open file is gone: exactly once per successful open.
   * `releaseFlags` may carry ReleaseFlag.FLOCK_UNLOCK with `lockOwner`. **Default:** success.
   */
  release?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, flags: number, releaseFlags: number, lockOwner: LockOwner): MaybePromise<void>;

  /** fsync/fdatasync. **Default:** ENOSYS (the kernel then treats fsync as success). */
  fsync?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, datasync: boolean): MaybePromise<void>;

  /** Open a directory. **Replies:** fh and flags (CACHE_DIR, KEEP_CACHE). **Default:** success with fh 0. */
  opendir?(ctx: RequestContext, nodeid: NodeId, flags: number): MaybePromise<OpenResult>;

  /**
   * List entries after `cookie` (0 = from the start) into `out`.
   * **Default:** ENOSYS. **Side effects:** none on lookup counts.
   */
  readdir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, cookie: bigint, out: DirentSink): MaybePromise<void>;

  /**
   * Like readdir, with each entry's EntryOut. Implementing it makes the session ask for
   * DO_READDIRPLUS and READDIRPLUS_AUTO. **Side effects:** +1 lookup per accepted entry
   * with nodeid ≠ 0 other than `.` and `..` (see DirentPlusSink).
   */
  readdirplus?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, cookie: bigint, out: DirentPlusSink): MaybePromise<void>;

  /** Close a directory handle, once per opendir. **Default:** success. */
  releasedir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, flags: number): MaybePromise<void>;

  /** fsync on a directory. **Default:** ENOSYS. */
  fsyncdir?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, datasync: boolean): MaybePromise<void>;

  /** Filesystem statistics. **Default:** a zeroed statfs with namelen 255 and bsize 512. */
  statfs?(ctx: RequestContext, nodeid: NodeId): MaybePromise<StatfsOut>;

  /**
   * Set an xattr. `flags` are XATTR_CREATE/XATTR_REPLACE; `setxattrFlags` may carry ACL_KILL_SGID.
   * **Default:** ENOSYS (the kernel then answers EOPNOTSUPP for every later setxattr).
   */
  setxattr?(ctx: RequestContext, nodeid: NodeId, name: string, value: Buffer, flags: number, setxattrFlags: number): MaybePromise<void>;

  /**
   * Get an xattr's whole value. The session answers the kernel's size probe and ERANGE
   * itself. **Replies:** the value, or ENODATA. **Default:** ENOSYS.
   */
  getxattr?(ctx: RequestContext, nodeid: NodeId, name: string): MaybePromise<Buffer>;

  /** Names of all xattrs. The session packs and size-checks them. **Default:** ENOSYS. */
  listxattr?(ctx: RequestContext, nodeid: NodeId): MaybePromise<string[]>;

  /** Remove an xattr (ENODATA if absent). **Default:** ENOSYS. */
  removexattr?(ctx: RequestContext, nodeid: NodeId, name: string): MaybePromise<void>;

  /**
   * access(2) check for `mask` (R_OK|W_OK|X_OK, or F_OK = 0). Only sent without
   * `default_permissions`. **Default:** ENOSYS (the kernel then allows everything).
   */
  access?(ctx: RequestContext, nodeid: NodeId, mask: number): MaybePromise<void>;

  /**
   * Atomically create and open a regular file. **Replies:** CreateOut.
   * **Side effects:** +1 lookup. **Default:** ENOSYS (the kernel falls back to MKNOD + OPEN).
   */
  create?(ctx: RequestContext, parent: NodeId, name: Buffer, mode: number, flags: number, umask: number): MaybePromise<CreateOut>;

  /** O_TMPFILE: an unnamed file in `parent`. **Replies:** CreateOut. **Side effects:** +1 lookup. */
  tmpfile?(ctx: RequestContext, parent: NodeId, mode: number, flags: number, umask: number): MaybePromise<CreateOut>;

  /** Test for a conflicting POSIX lock. **Replies:** the conflicting lock, or one with type F_UNLCK. */
  getlk?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: LockOwner, lk: FileLock): MaybePromise<FileLock>;

  /**
   * Acquire or release a POSIX lock (`flock` false) or a BSD flock (`flock` true).
   * `sleep` true for SETLKW: wait (honour ctx.signal → EINTR); false: EAGAIN on conflict.
   * Implementing getlk/setlk makes the session ask for POSIX_LOCKS and FLOCK_LOCKS.
   */
  setlk?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, owner: LockOwner, lk: FileLock, sleep: boolean, flock: boolean): MaybePromise<void>;

  /** Map a file block to a device block (block devices only). **Default:** ENOSYS. */
  bmap?(ctx: RequestContext, nodeid: NodeId, blocksize: number, block: bigint): MaybePromise<bigint>;

  /** An ioctl on an open file. `input` holds `inSize` bytes. **Default:** ENOSYS (ENOTTY to callers). */
  ioctl?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, cmd: number, arg: bigint, input: Buffer, outSize: number, flags: number): MaybePromise<IoctlOut>;

  /**
   * poll(2) readiness. `kh` is set when the kernel wants a NOTIFY_POLL wake-up later
   * (notifier.poll(kh)) once the file becomes ready. **Replies:** revents.
   * **Default:** ENOSYS (the kernel then reports the file always ready).
   */
  poll?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, kh: bigint | undefined, events: number): MaybePromise<number>;

  /** fallocate(2) with its mode bits. **Default:** ENOSYS (EOPNOTSUPP to callers). */
  fallocate?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, mode: number, offset: number, length: number): MaybePromise<void>;

  /** lseek(2) for SEEK_DATA/SEEK_HOLE (the kernel handles SET/CUR/END). **Replies:** the new offset. */
  lseek?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, offset: number, whence: number): MaybePromise<number>;

  /** Server-side copy. **Replies:** bytes copied. **Default:** ENOSYS (the kernel falls back to read/write). */
  copyFileRange?(
    ctx: RequestContext, nodeidIn: NodeId, fhIn: FileHandle, offIn: number,
    nodeidOut: NodeId, fhOut: FileHandle, offOut: number, len: number, flags: bigint,
  ): MaybePromise<number>;

  /** statx with a mask. **Replies:** StatxOut. **Default:** ENOSYS (the kernel falls back to GETATTR). */
  statx?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle | undefined, sxFlags: number, sxMask: number): MaybePromise<StatxOut>;

  /** syncfs(2) on the mount. **Default:** ENOSYS (treated as success). */
  syncfs?(ctx: RequestContext, nodeid: NodeId): MaybePromise<void>;

  /** DAX window mapping (virtio-fs). **Default:** ENOSYS. */
  setupmapping?(ctx: RequestContext, nodeid: NodeId, fh: FileHandle, foffset: number, len: number, flags: number, moffset: number): MaybePromise<void>;

  /** DAX window unmapping (virtio-fs). **Default:** ENOSYS. */
  removemapping?(ctx: RequestContext, nodeid: NodeId, mappings: { moffset: number; len: number }[]): MaybePromise<void>;
}

/** Every method name of LowLevelFs that handles a request. */
export type LowLevelOp = Exclude<keyof LowLevelFs, 'init' | 'destroy'>;
