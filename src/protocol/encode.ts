/**
 * Reply and notification encoding. Pure: builds byte arrays, never writes them.
 *
 * A frame is returned as an iovec (`Buffer[]`): the 16-byte fuse_out_header first,
 * then payload pieces, so large read data goes to the device without a copy.
 * Only `encodeError` negates an errno; everywhere else errnos are positive.
 */
import { OFFSET_MAX, NotifyCode, Size, direntAlign } from './abi.ts';
import type {
  Attr,
  AttrOut,
  CreateOut,
  EntryOut,
  FileLock,
  InitOut,
  IoctlOut,
  NodeId,
  OpenOut,
  StatfsOut,
  Statx,
  StatxOut,
  Unique,
} from './types.ts';

const TWO32 = 4294967296;

/** Write a non-negative integer number as u64 LE. */
export function writeU64n(b: Buffer, off: number, n: number): void {
  const v = n < 0 ? 0 : n;
  b.writeUInt32LE(v % TWO32 >>> 0, off);
  b.writeUInt32LE(Math.floor(v / TWO32) >>> 0, off + 4);
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Write a u64 bigint LE. Buffer#writeBigUInt64LE makes three intermediate bigints
 * (heap objects) per call; a value below 2^53 (node ids, inos, most offsets) goes
 * through one Number instead. Same bytes either way.
 */
export function writeU64b(b: Buffer, off: number, v: bigint): void {
  if (v >= 0n && v <= SAFE) writeU64n(b, off, Number(v));
  else b.writeBigUInt64LE(v, off);
}

/** Write a signed integer number as s64 LE. */
export function writeS64n(b: Buffer, off: number, n: number): void {
  if (n >= 0) writeU64n(b, off, n);
  else b.writeBigInt64LE(BigInt(Math.trunc(n)), off);
}

/** Total byte length of an iovec. */
export function iovLength(iov: readonly Buffer[]): number {
  let n = 0;
  for (const b of iov) n += b.length;
  return n;
}

/**
 * A success reply: header plus payload pieces. The header's len covers everything.
 * **Used by:** every opcode that replies.
 */
export function encodeReply(unique: Unique, payload: Buffer | readonly Buffer[] = []): Buffer[] {
  const pieces = Buffer.isBuffer(payload) ? [payload] : payload;
  const h = header(Size.OUT_HEADER + iovLength(pieces), 0, unique);
  if (pieces.length === 0) return [h];
  if (pieces.length === 1) return [h, pieces[0]!];
  return [h, ...pieces];
}

/**
 * An error reply: header only, error = −errno. errno must be in 1..999.
 * **Used by:** every opcode that replies.
 */
export function encodeError(unique: Unique, errno: number): Buffer {
  if (!Number.isInteger(errno) || errno <= 0 || errno >= 1000) {
    throw new RangeError(`errno must be in 1..999, got ${errno}`);
  }
  return header(Size.OUT_HEADER, -errno, unique);
}

/** A fuse_out_header {u32 len; s32 error; u64 unique}. */
function header(len: number, error: number, unique: Unique): Buffer {
  const h = wordBuffer(Size.OUT_HEADER);
  const i = wordAt(h, 0, Size.OUT_HEADER);
  const w = view;
  w[i] = len;
  w[i + 1] = error;
  putU64b(w, i + 2, unique);
  return h;
}

// ── Word writes ──────────────────────────────────────────────────────────────
//
// The structs every metadata reply carries (fuse_attr, fuse_entry_out, fuse_open_out) are
// written as 32-bit words through a Uint32Array over the buffer's ArrayBuffer. Sixteen
// Buffer#writeUInt32LE calls, each validating its arguments, cost three times as much as the
// rest of encoding an attribute reply. The view is cached per ArrayBuffer: small Buffers share
// Node's 8 KiB allocation pool, so consecutive replies hit the same one. A struct bound for an
// offset that is not 4-byte aligned (only possible in a caller's buffer) is built in a scratch
// buffer and copied. Little-endian
// hosts only, like every architecture this package has syscall numbers for.

let viewOf: ArrayBufferLike | undefined;
let view: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * The word index of `b[off]` in the cached Uint32Array `view`, or −1 when that is not 4-byte
 * aligned. A struct of `size` bytes at `off` that does not fit in `b` is a RangeError.
 */
function wordAt(b: Buffer, off: number, size: number): number {
  if (!(off >= 0 && off + size <= b.length)) throw new RangeError(`${size} bytes at offset ${off} do not fit in a buffer of ${b.length}`);
  const at = b.byteOffset + off;
  if ((at & 3) !== 0) return -1;
  const ab = b.buffer;
  if (ab !== viewOf) {
    viewOf = ab;
    view = new Uint32Array(ab, 0, ab.byteLength >>> 2);
  }
  return at >>> 2;
}

/**
 * A buffer for a struct we write in words. Node's pool hands out 8-byte aligned slices;
 * should one ever not be, the buffer gets its own (aligned) memory instead.
 */
function wordBuffer(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  return (b.byteOffset & 3) === 0 ? b : Buffer.allocUnsafeSlow(size);
}

/** Scratch space for a struct bound for an unaligned offset: built aligned here, then copied. */
const SCRATCH = Buffer.allocUnsafeSlow(Size.ENTRY_OUT);

/** u64 from a non-negative Number at word `i` (negatives write 0, as writeU64n). */
function putU64n(w: Uint32Array<ArrayBufferLike>, i: number, n: number): void {
  const v = n < 0 ? 0 : n;
  w[i] = v % TWO32;
  w[i + 1] = Math.floor(v / TWO32);
}

function putU64b(w: Uint32Array<ArrayBufferLike>, i: number, v: bigint): void {
  if (v >= 0n && v <= SAFE) putU64n(w, i, Number(v));
  else {
    w[i] = Number(v & 0xffffffffn);
    w[i + 1] = Number((v >> 32n) & 0xffffffffn);
  }
}

/** s64 from a Number (two's complement halves; the store takes each modulo 2^32). */
function putS64n(w: Uint32Array<ArrayBufferLike>, i: number, n: number): void {
  const t = Math.trunc(n);
  const hi = Math.floor(t / TWO32);
  w[i] = t - hi * TWO32;
  w[i + 1] = hi;
}

function putAttr(w: Uint32Array<ArrayBufferLike>, i: number, a: Attr): void {
  putU64b(w, i, a.ino);
  putU64n(w, i + 2, a.size);
  putU64n(w, i + 4, a.blocks);
  putS64n(w, i + 6, a.atime);
  putS64n(w, i + 8, a.mtime);
  putS64n(w, i + 10, a.ctime);
  w[i + 12] = a.atimensec;
  w[i + 13] = a.mtimensec;
  w[i + 14] = a.ctimensec;
  w[i + 15] = a.mode;
  w[i + 16] = a.nlink;
  w[i + 17] = a.uid;
  w[i + 18] = a.gid;
  w[i + 19] = a.rdev;
  w[i + 20] = a.blksize;
  w[i + 21] = a.flags;
}

/** fuse_attr into `b` at `off` (88 bytes). */
export function writeAttr(b: Buffer, off: number, a: Attr): void {
  const i = wordAt(b, off, Size.ATTR);
  if (i >= 0) return putAttr(view, i, a);
  const j = wordAt(SCRATCH, 0, Size.ATTR); // before reading `view`: this call may replace it
  putAttr(view, j, a);
  SCRATCH.copy(b, off, 0, Size.ATTR);
}

function putEntryOut(w: Uint32Array<ArrayBufferLike>, i: number, e: EntryOut): void {
  putU64b(w, i, e.nodeid);
  putU64b(w, i + 2, e.generation);
  putU64n(w, i + 4, e.entryValid);
  putU64n(w, i + 6, e.attrValid);
  w[i + 8] = e.entryValidNsec;
  w[i + 9] = e.attrValidNsec;
  putAttr(w, i + 10, e.attr);
}

/** fuse_entry_out into `b` at `off` (128 bytes). */
export function writeEntryOut(b: Buffer, off: number, e: EntryOut): void {
  const i = wordAt(b, off, Size.ENTRY_OUT);
  if (i >= 0) return putEntryOut(view, i, e);
  const j = wordAt(SCRATCH, 0, Size.ENTRY_OUT); // before reading `view`: this call may replace it
  putEntryOut(view, j, e);
  SCRATCH.copy(b, off, 0, Size.ENTRY_OUT);
}

/** **Used by:** LOOKUP, MKNOD, MKDIR, SYMLINK, LINK. */
export function encodeEntryOut(e: EntryOut): Buffer {
  const b = wordBuffer(Size.ENTRY_OUT);
  writeEntryOut(b, 0, e);
  return b;
}

/** **Used by:** GETATTR, SETATTR. */
export function encodeAttrOut(a: AttrOut): Buffer {
  const b = wordBuffer(Size.ATTR_OUT);
  const i = wordAt(b, 0, Size.ATTR_OUT);
  const w = view;
  putU64n(w, i, a.attrValid);
  w[i + 2] = a.attrValidNsec;
  w[i + 3] = 0;
  putAttr(w, i + 4, a.attr);
  return b;
}

/** fuse_open_out at an aligned `off` of a wordBuffer. */
function writeOpenOut(b: Buffer, off: number, o: OpenOut): void {
  const i = wordAt(b, off, Size.OPEN_OUT);
  const w = view;
  putU64b(w, i, o.fh);
  w[i + 2] = o.openFlags;
  w[i + 3] = o.backingId;
}

/** **Used by:** OPEN, OPENDIR. */
export function encodeOpenOut(o: OpenOut): Buffer {
  const b = wordBuffer(Size.OPEN_OUT);
  writeOpenOut(b, 0, o);
  return b;
}

/** fuse_entry_out + fuse_open_out. **Used by:** CREATE, TMPFILE. */
export function encodeCreateOut(c: CreateOut): Buffer {
  const b = wordBuffer(Size.ENTRY_OUT + Size.OPEN_OUT);
  writeEntryOut(b, 0, c.entry);
  writeOpenOut(b, Size.ENTRY_OUT, c.open);
  return b;
}

/** fuse_write_out {u32 size; u32 padding}. **Used by:** WRITE, COPY_FILE_RANGE. */
export function encodeWriteOut(size: number): Buffer {
  const b = Buffer.alloc(Size.WRITE_OUT);
  b.writeUInt32LE(size >>> 0, 0);
  return b;
}

/** fuse_copy_file_range_out {u64 bytes_copied}. **Used by:** COPY_FILE_RANGE_64. */
export function encodeCopyFileRangeOut(bytesCopied: number): Buffer {
  const b = Buffer.allocUnsafe(Size.COPY_FILE_RANGE_OUT);
  writeU64n(b, 0, bytesCopied);
  return b;
}

/** fuse_statfs_out (fuse_kstatfs, 80 bytes). **Used by:** STATFS. */
export function encodeStatfsOut(s: StatfsOut): Buffer {
  const b = Buffer.alloc(Size.STATFS_OUT);
  writeU64n(b, 0, s.blocks);
  writeU64n(b, 8, s.bfree);
  writeU64n(b, 16, s.bavail);
  writeU64n(b, 24, s.files);
  writeU64n(b, 32, s.ffree);
  b.writeUInt32LE(s.bsize >>> 0, 40);
  b.writeUInt32LE(s.namelen >>> 0, 44);
  b.writeUInt32LE(s.frsize >>> 0, 48);
  return b;
}

/** fuse_getxattr_out {u32 size; u32 padding}: the size probe answer. **Used by:** GETXATTR, LISTXATTR (with size 0). */
export function encodeGetxattrOut(size: number): Buffer {
  const b = Buffer.alloc(Size.GETXATTR_OUT);
  b.writeUInt32LE(size >>> 0, 0);
  return b;
}

/** fuse_lk_out. **Used by:** GETLK. */
export function encodeLkOut(lk: FileLock): Buffer {
  const b = Buffer.alloc(Size.LK_OUT);
  writeU64b(b, 0, lk.start);
  writeU64b(b, 8, lk.end > OFFSET_MAX ? OFFSET_MAX : lk.end);
  b.writeUInt32LE(lk.type >>> 0, 16);
  b.writeUInt32LE(lk.pid >>> 0, 20);
  return b;
}

/** fuse_init_out (64 bytes); flags split into flags and flags2. **Used by:** INIT. */
export function encodeInitOut(o: InitOut): Buffer {
  const b = Buffer.alloc(Size.INIT_OUT);
  b.writeUInt32LE(o.major, 0);
  b.writeUInt32LE(o.minor, 4);
  b.writeUInt32LE(o.maxReadahead >>> 0, 8);
  b.writeUInt32LE(Number(o.flags & 0xffffffffn), 12);
  b.writeUInt16LE(o.maxBackground & 0xffff, 16);
  b.writeUInt16LE(o.congestionThreshold & 0xffff, 18);
  b.writeUInt32LE(o.maxWrite >>> 0, 20);
  b.writeUInt32LE(o.timeGran >>> 0, 24);
  b.writeUInt16LE(o.maxPages & 0xffff, 28);
  b.writeUInt16LE(o.mapAlignment & 0xffff, 30);
  b.writeUInt32LE(Number((o.flags >> 32n) & 0xffffffffn), 32);
  b.writeUInt32LE(o.maxStackDepth >>> 0, 36);
  b.writeUInt16LE(o.requestTimeout & 0xffff, 40);
  return b;
}

/** fuse_bmap_out. **Used by:** BMAP. */
export function encodeBmapOut(block: bigint): Buffer {
  const b = Buffer.allocUnsafe(Size.BMAP_OUT);
  writeU64b(b, 0, block);
  return b;
}

/** fuse_ioctl_out, then iovecs (RETRY) or output data. **Used by:** IOCTL. */
export function encodeIoctlOut(o: IoctlOut): Buffer[] {
  const inIovs = o.inIovs ?? [];
  const outIovs = o.outIovs ?? [];
  const b = Buffer.alloc(Size.IOCTL_OUT);
  b.writeInt32LE(o.result | 0, 0);
  b.writeUInt32LE(o.flags >>> 0, 4);
  b.writeUInt32LE(inIovs.length, 8);
  b.writeUInt32LE(outIovs.length, 12);
  const pieces: Buffer[] = [b];
  if (inIovs.length + outIovs.length > 0) {
    const iov = Buffer.alloc((inIovs.length + outIovs.length) * Size.IOCTL_IOVEC);
    [...inIovs, ...outIovs].forEach((v, i) => {
      writeU64b(iov, i * 16, v.base);
      writeU64n(iov, i * 16 + 8, v.len);
    });
    pieces.push(iov);
  }
  if (o.data && o.data.length > 0) pieces.push(o.data);
  return pieces;
}

/** fuse_poll_out. **Used by:** POLL. */
export function encodePollOut(revents: number): Buffer {
  const b = Buffer.alloc(Size.POLL_OUT);
  b.writeUInt32LE(revents >>> 0, 0);
  return b;
}

/** fuse_lseek_out. **Used by:** LSEEK. */
export function encodeLseekOut(offset: number): Buffer {
  const b = Buffer.allocUnsafe(Size.LSEEK_OUT);
  writeS64n(b, 0, offset);
  return b;
}

function writeSxTime(b: Buffer, off: number, t: { tvSec: bigint; tvNsec: number }): void {
  b.writeBigInt64LE(t.tvSec, off);
  b.writeUInt32LE(t.tvNsec >>> 0, off + 8);
  b.writeInt32LE(0, off + 12);
}

/** fuse_statx (256 bytes) into `b` at `off`. */
export function writeStatx(b: Buffer, off: number, s: Statx): void {
  b.fill(0, off, off + Size.STATX);
  b.writeUInt32LE(s.mask >>> 0, off);
  b.writeUInt32LE(s.blksize >>> 0, off + 4);
  writeU64b(b, off + 8, s.attributes);
  b.writeUInt32LE(s.nlink >>> 0, off + 16);
  b.writeUInt32LE(s.uid >>> 0, off + 20);
  b.writeUInt32LE(s.gid >>> 0, off + 24);
  b.writeUInt16LE(s.mode & 0xffff, off + 28);
  writeU64b(b, off + 32, s.ino);
  writeU64n(b, off + 40, s.size);
  writeU64n(b, off + 48, s.blocks);
  writeU64b(b, off + 56, s.attributesMask);
  writeSxTime(b, off + 64, s.atime);
  writeSxTime(b, off + 80, s.btime);
  writeSxTime(b, off + 96, s.ctime);
  writeSxTime(b, off + 112, s.mtime);
  b.writeUInt32LE(s.rdevMajor >>> 0, off + 128);
  b.writeUInt32LE(s.rdevMinor >>> 0, off + 132);
  b.writeUInt32LE(s.devMajor >>> 0, off + 136);
  b.writeUInt32LE(s.devMinor >>> 0, off + 140);
}

/** fuse_statx_out (288 bytes). **Used by:** STATX. */
export function encodeStatxOut(o: StatxOut): Buffer {
  const b = Buffer.alloc(Size.STATX_OUT);
  writeU64n(b, 0, o.attrValid);
  b.writeUInt32LE(o.attrValidNsec >>> 0, 8);
  b.writeUInt32LE(o.flags >>> 0, 12);
  writeStatx(b, 32, o.statx);
  return b;
}

// ── Directory entries ────────────────────────────────────────────────────────

/**
 * Packs fuse_dirent / fuse_direntplus records, each padded to 8 bytes, into a
 * buffer no larger than the kernel's request size. `add` returns false when the
 * record does not fit; the caller stops there and the kernel asks again from the
 * last `off` it received.
 * **Used by:** READDIR (`add`), READDIRPLUS (`addPlus`).
 */
export class DirentPacker {
  #buf: Buffer;
  readonly #max: number;
  #pos = 0;
  #count = 0;

  constructor(maxSize: number) {
    // Not zeroed: every byte up to `size` is written by add/addPlus, padding included.
    // Starts small (from Buffer's shared pool) and grows up to maxSize: the kernel asks for
    // the caller's getdents size (32 KiB for ls/find) and most replies are far smaller
    // (the end-of-directory probe is empty), so a fresh maxSize buffer per request was waste.
    this.#max = maxSize;
    this.#buf = Buffer.allocUnsafe(Math.min(maxSize, 2048));
  }

  /** Make room for `n` more bytes; false if the reply would exceed maxSize. */
  #room(n: number): boolean {
    const need = this.#pos + n;
    if (need > this.#max) return false;
    if (need > this.#buf.length) {
      const b = Buffer.allocUnsafe(Math.min(this.#max, Math.max(need, this.#buf.length * 2)));
      this.#buf.copy(b, 0, 0, this.#pos);
      this.#buf = b;
    }
    return true;
  }

  get count(): number {
    return this.#count;
  }

  get size(): number {
    return this.#pos;
  }

  /** Append a READDIR record: {u64 ino; u64 off; u32 namelen; u32 type; name} padded to 8. */
  add(ino: bigint, off: bigint, type: number, name: string | Buffer): boolean {
    // A string name is encoded straight into the reply: no Buffer per entry.
    const len = typeof name === 'string' ? Buffer.byteLength(name) : name.length;
    const reclen = direntAlign(Size.DIRENT + len);
    if (!this.#room(reclen)) return false;
    const b = this.#buf;
    const p = this.#pos;
    writeU64b(b, p, ino);
    writeU64b(b, p + 8, off);
    b.writeUInt32LE(len, p + 16);
    b.writeUInt32LE(type >>> 0, p + 20);
    putName(b, p + Size.DIRENT, name);
    b.fill(0, p + Size.DIRENT + len, p + reclen);
    this.#pos += reclen;
    this.#count++;
    return true;
  }

  /** Append a READDIRPLUS record: fuse_entry_out then fuse_dirent, padded to 8. */
  addPlus(entry: EntryOut, off: bigint, type: number, name: string | Buffer): boolean {
    // A string name is encoded straight into the reply: no Buffer per entry.
    const len = typeof name === 'string' ? Buffer.byteLength(name) : name.length;
    const reclen = direntAlign(Size.DIRENTPLUS + len);
    if (!this.#room(reclen)) return false;
    const b = this.#buf;
    const p = this.#pos;
    writeEntryOut(b, p, entry);
    const d = p + Size.ENTRY_OUT;
    writeU64b(b, d, entry.attr.ino);
    writeU64b(b, d + 8, off);
    b.writeUInt32LE(len, d + 16);
    b.writeUInt32LE(type >>> 0, d + 20);
    putName(b, d + Size.DIRENT, name);
    b.fill(0, d + Size.DIRENT + len, p + reclen);
    this.#pos += reclen;
    this.#count++;
    return true;
  }

  /** The packed bytes (a view). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

function putName(b: Buffer, at: number, name: string | Buffer): void {
  if (typeof name === 'string') b.write(name, at, 'utf8');
  else name.copy(b, at);
}

/** Directory entry type (DT_*) from a mode's S_IFMT bits. */
export function modeToDirentType(mode: number): number {
  return (mode >>> 12) & 0xf;
}

// ── Notifications ────────────────────────────────────────────────────────────

function notifyFrame(code: number, payload: readonly Buffer[]): Buffer[] {
  const h = Buffer.allocUnsafe(Size.OUT_HEADER);
  h.writeUInt32LE(Size.OUT_HEADER + iovLength(payload), 0);
  h.writeInt32LE(code, 4);
  writeU64b(h, 8, 0n);
  return [h, ...payload];
}

function nameWithNul(name: string | Buffer): Buffer {
  const nb = typeof name === 'string' ? Buffer.from(name) : name;
  const out = Buffer.allocUnsafe(nb.length + 1);
  nb.copy(out, 0);
  out[nb.length] = 0;
  return out;
}

/** Wake pollers registered with kernel handle `kh`. */
export function encodeNotifyPoll(kh: bigint): Buffer[] {
  const b = Buffer.allocUnsafe(Size.NOTIFY_POLL_WAKEUP_OUT);
  writeU64b(b, 0, kh);
  return notifyFrame(NotifyCode.POLL, [b]);
}

/** Invalidate an inode's attributes (off < 0) or cached data in [off, off+len) (len ≤ 0: to EOF). */
export function encodeNotifyInvalInode(ino: NodeId, off: number, len: number): Buffer[] {
  const b = Buffer.allocUnsafe(Size.NOTIFY_INVAL_INODE_OUT);
  writeU64b(b, 0, ino);
  writeS64n(b, 8, off);
  writeS64n(b, 16, len);
  return notifyFrame(NotifyCode.INVAL_INODE, [b]);
}

/** Invalidate the dentry `name` in `parent`. flags: InvalEntryFlag.EXPIRE_ONLY (needs HAS_EXPIRE_ONLY). */
export function encodeNotifyInvalEntry(parent: NodeId, name: string | Buffer, flags = 0): Buffer[] {
  const nm = nameWithNul(name);
  const b = Buffer.allocUnsafe(Size.NOTIFY_INVAL_ENTRY_OUT);
  writeU64b(b, 0, parent);
  b.writeUInt32LE(nm.length - 1, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  return notifyFrame(NotifyCode.INVAL_ENTRY, [b, nm]);
}

/** Tell the kernel `name` in `parent` (node `child`) was deleted: INVAL_ENTRY plus fsnotify. */
export function encodeNotifyDelete(parent: NodeId, child: NodeId, name: string | Buffer): Buffer[] {
  const nm = nameWithNul(name);
  const b = Buffer.alloc(Size.NOTIFY_DELETE_OUT);
  writeU64b(b, 0, parent);
  writeU64b(b, 8, child);
  b.writeUInt32LE(nm.length - 1, 16);
  return notifyFrame(NotifyCode.DELETE, [b, nm]);
}

/** Push `data` into the page cache of `nodeid` at `offset` (may extend the cached size). */
export function encodeNotifyStore(nodeid: NodeId, offset: number, data: Buffer): Buffer[] {
  const b = Buffer.alloc(Size.NOTIFY_STORE_OUT);
  writeU64b(b, 0, nodeid);
  writeU64n(b, 8, offset);
  b.writeUInt32LE(data.length, 16);
  return notifyFrame(NotifyCode.STORE, [b, data]);
}

/** Ask for cached data of `nodeid`; the answer arrives as a NOTIFY_REPLY request with unique = notifyUnique. */
export function encodeNotifyRetrieve(notifyUnique: bigint, nodeid: NodeId, offset: number, size: number): Buffer[] {
  const b = Buffer.alloc(Size.NOTIFY_RETRIEVE_OUT);
  writeU64b(b, 0, notifyUnique);
  writeU64b(b, 8, nodeid);
  writeU64n(b, 16, offset);
  b.writeUInt32LE(size >>> 0, 24);
  return notifyFrame(NotifyCode.RETRIEVE, [b]);
}

/** Ask the kernel to re-send every request still in flight (unique |= UNIQUE_RESEND). // since 7.40 */
export function encodeNotifyResend(): Buffer[] {
  return notifyFrame(NotifyCode.RESEND, []);
}

/** Bump the dentry epoch: every cached dentry fails its next revalidation. // since 7.44 */
export function encodeNotifyIncEpoch(): Buffer[] {
  return notifyFrame(NotifyCode.INC_EPOCH, []);
}

/** Ask the kernel to drop (and FORGET) these node ids if unused. // since 7.45 */
export function encodeNotifyPrune(nodeids: readonly NodeId[]): Buffer[] {
  const b = Buffer.alloc(Size.NOTIFY_PRUNE_OUT + nodeids.length * 8);
  b.writeUInt32LE(nodeids.length, 0);
  nodeids.forEach((id, i) => b.writeBigUInt64LE(id, Size.NOTIFY_PRUNE_OUT + i * 8));
  return notifyFrame(NotifyCode.PRUNE, [b]);
}
