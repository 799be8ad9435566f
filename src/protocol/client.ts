/**
 * The kernel side of the codec, for in-process test clients (`FuseTestClient`):
 * build request frames as the kernel would (`encodeRequest`, the inverse of
 * `decodeRequest`), and read the server's replies and notifications
 * (`decodeReply`, `decodeNotification`). Pure: no I/O.
 *
 * The encoder writes exactly the fields it is given (WRITE's `size` is not
 * recomputed from `data`), so tests can build malformed frames with it too.
 * The reply decoder is strict, like the kernel (fs/fuse/dev.c): the length field
 * must equal the frame's size, error replies are header-only, and fixed-size
 * replies must have exactly their size. Violations throw ProtocolError('bad-reply').
 */
import { ProtocolError } from '../errors.ts';
import { ExtType, IoctlFlag, NotifyCode, Opcode, Size, direntAlign } from './abi.ts';
import type { OpName, RequestBodies } from './decode.ts';
import { OPCODES } from './opcodes.ts';
import type {
  Attr,
  AttrOut,
  CreateOut,
  Dirent,
  DirentPlus,
  EntryOut,
  FileLock,
  InitOut,
  IoctlIovec,
  IoctlOut,
  NodeId,
  OpenOut,
  RequestExt,
  StatfsOut,
  Statx,
  StatxOut,
  Unique,
} from './types.ts';

// ── Requests ─────────────────────────────────────────────────────────────────

/** Header fields of a request; `len` and `total_extlen` are computed. */
export interface RequestHeaderFields {
  unique: Unique;
  nodeid: NodeId;
  uid?: number;
  gid?: number;
  pid?: number;
  /** Only needed to pick RENAME2 for a `rename` body with flags 0; otherwise derived from `op`. */
  opcode?: number;
}

/** A request body as `decodeRequest` returns it, except that names may also be strings. */
export type EncodableBody<K extends OpName> = {
  [F in keyof RequestBodies[K]]: RequestBodies[K][F] extends Buffer ? Buffer | string : RequestBodies[K][F];
};

export interface EncodeRequestOptions {
  /** SETXATTR_EXT negotiated: write the 16-byte fuse_setxattr_in. */
  setxattrExt?: boolean;
  /** Request extensions (security contexts first, then supplementary groups, as the kernel orders them). */
  ext?: RequestExt;
}

const OPCODE_OF: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    Object.entries(OPCODES)
      .filter(([k]) => Number(k) !== Opcode.RENAME2)
      .map(([k, spec]) => [spec.op, Number(k)]),
  ),
);

/** A little-endian writer that grows as needed. */
class Out {
  buf = Buffer.alloc(256);
  pos = 0;
  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  u16(v: number): this { this.#room(2); this.buf.writeUInt16LE(v & 0xffff, this.pos); this.pos += 2; return this; }
  u32(v: number): this { this.#room(4); this.buf.writeUInt32LE(v >>> 0, this.pos); this.pos += 4; return this; }
  s32(v: number): this { this.#room(4); this.buf.writeInt32LE(v | 0, this.pos); this.pos += 4; return this; }
  u64(v: bigint | number): this {
    this.#room(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), this.pos);
    this.pos += 8;
    return this;
  }
  s64(v: bigint | number): this {
    this.#room(8);
    this.buf.writeBigInt64LE(BigInt.asIntN(64, BigInt(typeof v === 'number' ? Math.trunc(v) : v)), this.pos);
    this.pos += 8;
    return this;
  }
  bytes(b: Buffer | string): this {
    const bb = typeof b === 'string' ? Buffer.from(b) : b;
    this.#room(bb.length);
    bb.copy(this.buf, this.pos);
    this.pos += bb.length;
    return this;
  }
  cstr(b: Buffer | string): this { return this.bytes(b).bytes(Buffer.of(0)); }
  zero(n: number): this { this.#room(n); this.buf.fill(0, this.pos, this.pos + n); this.pos += n; return this; }
  align8(): this { return this.zero(direntAlign(this.pos) - this.pos); }
  done(): Buffer { return this.buf.subarray(0, this.pos); }
}

/** Encode the request-extension area (a multiple of 8 bytes). */
export function encodeExtensions(ext: RequestExt): Buffer {
  const o = new Out();
  if (ext.secctx !== undefined) {
    // fuse_secctx_header doubles as the extension header: its nr_secctx is the type (0..31).
    const start = o.pos;
    o.u32(0).u32(ext.secctx.length);
    for (const c of ext.secctx) {
      o.u32(c.value.length).u32(0).cstr(c.name).bytes(c.value).align8();
    }
    o.buf.writeUInt32LE(o.pos - start, start);
  }
  if (ext.groups !== undefined) {
    const start = o.pos;
    o.u32(0).u32(ExtType.SUPP_GROUPS).u32(ext.groups.length);
    for (const g of ext.groups) o.u32(g);
    o.align8();
    o.buf.writeUInt32LE(o.pos - start, start);
  }
  return Buffer.from(o.done());
}

/**
 * Build one request frame as the kernel sends it. For `rename`, RENAME2 is used
 * when `h.opcode` says so or the flags are non-zero.
 */
export function encodeRequest<K extends OpName>(
  h: RequestHeaderFields,
  op: K,
  body: EncodableBody<K>,
  opts: EncodeRequestOptions = {},
): Buffer {
  const b = body as Record<string, any>;
  let opcode = OPCODE_OF[op];
  if (opcode === undefined) throw new RangeError(`unknown op ${op}`);
  if (op === 'rename' && (h.opcode === Opcode.RENAME2 || (h.opcode === undefined && b.flags !== 0))) opcode = Opcode.RENAME2;
  const o = new Out();
  o.zero(Size.IN_HEADER);
  encodeBody(o, op, opcode, b, opts);
  const ext = opts.ext !== undefined ? encodeExtensions(opts.ext) : Buffer.alloc(0);
  o.bytes(ext);
  const frame = Buffer.from(o.done());
  frame.writeUInt32LE(frame.length, 0);
  frame.writeUInt32LE(opcode, 4);
  frame.writeBigUInt64LE(h.unique, 8);
  frame.writeBigUInt64LE(h.nodeid, 16);
  frame.writeUInt32LE((h.uid ?? 0) >>> 0, 24);
  frame.writeUInt32LE((h.gid ?? 0) >>> 0, 28);
  frame.writeUInt32LE((h.pid ?? 0) >>> 0, 32);
  frame.writeUInt16LE(ext.length / 8, 36);
  frame.writeUInt16LE(0, 38);
  return frame;
}

function encodeBody(o: Out, op: OpName, opcode: number, b: Record<string, any>, opts: EncodeRequestOptions): void {
  switch (op) {
    case 'lookup': case 'unlink': case 'rmdir': case 'removexattr':
      o.cstr(b.name); return;
    case 'forget': o.u64(b.nlookup); return;
    case 'getattr': o.u32(b.getattrFlags).u32(0).u64(b.fh); return;
    case 'setattr':
      o.u32(b.valid).u32(0).u64(b.fh).u64(b.size).u64(b.lockOwner).s64(b.atime).s64(b.mtime).s64(b.ctime);
      o.u32(b.atimensec).u32(b.mtimensec).u32(b.ctimensec).u32(b.mode).u32(0).u32(b.uid).u32(b.gid).u32(0);
      return;
    case 'readlink': case 'statfs': case 'destroy': return;
    case 'syncfs': o.u64(0); return;
    case 'symlink': o.cstr(b.name).cstr(b.target); return;
    case 'mknod': o.u32(b.mode).u32(b.rdev).u32(b.umask).u32(0).cstr(b.name); return;
    case 'mkdir': o.u32(b.mode).u32(b.umask).cstr(b.name); return;
    case 'rename':
      o.u64(b.newdir);
      if (opcode === Opcode.RENAME2) o.u32(b.flags).u32(0);
      o.cstr(b.name).cstr(b.newname);
      return;
    case 'link': o.u64(b.oldnodeid).cstr(b.name); return;
    case 'open': case 'opendir': o.u32(b.flags).u32(b.openFlags); return;
    case 'read': o.u64(b.fh).u64(b.offset).u32(b.size).u32(b.readFlags).u64(b.lockOwner).u32(b.flags).u32(0); return;
    case 'readdir': case 'readdirplus':
      o.u64(b.fh).u64(b.cookie).u32(b.size).u32(b.readFlags).u64(b.lockOwner).u32(b.flags).u32(0); return;
    case 'write':
      o.u64(b.fh).u64(b.offset).u32(b.size).u32(b.writeFlags).u64(b.lockOwner).u32(b.flags).u32(0).bytes(b.data); return;
    case 'release': case 'releasedir': o.u64(b.fh).u32(b.flags).u32(b.releaseFlags).u64(b.lockOwner); return;
    case 'fsync': case 'fsyncdir': o.u64(b.fh).u32(b.fsyncFlags).u32(0); return;
    case 'setxattr':
      o.u32(b.size).u32(b.flags);
      if (opts.setxattrExt === true) o.u32(b.setxattrFlags).u32(0);
      o.cstr(b.name).bytes(b.value);
      return;
    case 'getxattr': o.u32(b.size).u32(0).cstr(b.name); return;
    case 'listxattr': o.u32(b.size).u32(0); return;
    case 'flush': o.u64(b.fh).u32(0).u32(0).u64(b.lockOwner); return;
    case 'init': {
      const flags = b.flags as bigint;
      o.u32(b.major).u32(b.minor).u32(b.maxReadahead).u32(Number(flags & 0xffffffffn)).u32(Number((flags >> 32n) & 0xffffffffn));
      o.zero(44); // unused[11]
      return;
    }
    case 'cuse_init': o.u32(b.major).u32(b.minor).u32(b.maxReadahead).u32(Number((b.flags as bigint) & 0xffffffffn)); return;
    case 'getlk': case 'setlk': case 'setlkw':
      o.u64(b.fh).u64(b.owner).u64(b.lk.start).u64(b.lk.end).u32(b.lk.type).u32(b.lk.pid).u32(b.lkFlags).u32(0); return;
    case 'access': o.u32(b.mask).u32(0); return;
    case 'create': case 'tmpfile': o.u32(b.flags).u32(b.mode).u32(b.umask).u32(b.openFlags).cstr(b.name); return;
    case 'interrupt': o.u64(b.unique); return;
    case 'bmap': o.u64(b.block).u32(b.blocksize).u32(0); return;
    case 'ioctl': o.u64(b.fh).u32(b.flags).u32(b.cmd).u64(b.arg).u32(b.inSize).u32(b.outSize).bytes(b.data); return;
    case 'poll': o.u64(b.fh).u64(b.kh).u32(b.flags).u32(b.events); return;
    case 'notify_reply': o.u64(0).u64(b.offset).u32(b.size).u32(0).u64(0).u64(0).bytes(b.data); return;
    case 'batch_forget':
      o.u32(b.forgets.length).u32(0);
      for (const f of b.forgets) o.u64(f.nodeid).u64(f.nlookup);
      return;
    case 'fallocate': o.u64(b.fh).u64(b.offset).u64(b.length).u32(b.mode).u32(0); return;
    case 'lseek': o.u64(b.fh).s64(b.offset).u32(b.whence).u32(0); return;
    case 'copy_file_range': case 'copy_file_range_64':
      o.u64(b.fhIn).u64(b.offIn).u64(b.nodeidOut).u64(b.fhOut).u64(b.offOut).u64(b.len).u64(b.flags); return;
    case 'setupmapping': o.u64(b.fh).u64(b.foffset).u64(b.len).u64(b.flags).u64(b.moffset); return;
    case 'removemapping':
      o.u32(b.mappings.length);
      for (const m of b.mappings) o.u64(m.moffset).u64(m.len);
      return;
    case 'statx': o.u32(b.getattrFlags).u32(0).u64(b.fh).u32(b.sxFlags).u32(b.sxMask); return;
  }
}

// ── Replies ──────────────────────────────────────────────────────────────────

/** fuse_getxattr_out (size probe) or the value/list itself. */
export type XattrReply = { size: number } | { data: Buffer };

/** cuse_init_out (72 bytes) followed by the device info strings ("DEVNAME=…\0"). */
export interface CuseInitOut {
  major: number;
  minor: number;
  flags: number;
  maxRead: number;
  maxWrite: number;
  devMajor: number;
  devMinor: number;
  devInfo: Buffer;
}

/** Success bodies of every reply, by op name. Ops without a reply body decode to `{}`. */
export interface ReplyBodies {
  lookup: EntryOut; mknod: EntryOut; mkdir: EntryOut; symlink: EntryOut; link: EntryOut;
  getattr: AttrOut; setattr: AttrOut;
  readlink: { data: Buffer }; read: { data: Buffer };
  open: OpenOut; opendir: OpenOut;
  create: CreateOut; tmpfile: CreateOut;
  write: { size: number }; copy_file_range: { size: number };
  copy_file_range_64: { bytesCopied: number };
  statfs: StatfsOut;
  getxattr: XattrReply; listxattr: XattrReply;
  init: InitOut; cuse_init: CuseInitOut;
  readdir: { entries: Dirent[] }; readdirplus: { entries: DirentPlus[] };
  getlk: FileLock;
  bmap: { block: bigint };
  ioctl: IoctlOut;
  poll: { revents: number };
  lseek: { offset: number };
  statx: StatxOut;
}
export type ReplyBody<K extends OpName> = K extends keyof ReplyBodies ? ReplyBodies[K] : Record<string, never>;

/** A decoded reply. `error` is the positive errno (0 on success); `body` is set only on success. */
export interface Reply<K extends OpName = OpName> {
  unique: Unique;
  error: number;
  len: number;
  body?: ReplyBody<K>;
}

export interface DecodeReplyOptions {
  /** GETXATTR/LISTXATTR: the request's size; 0 means the reply is fuse_getxattr_out. Default: 8-byte payload = probe. */
  requestSize?: number;
  /** IOCTL: the request's out_size (informational; data is returned as sent). */
  ioctlOutSize?: number;
}

function badReply(msg: string): ProtocolError {
  return new ProtocolError('bad-reply', msg);
}

/** A u64 on the wire as a number (lossy above 2^53, which replies never need for the fields read this way). */
function u64n(b: Buffer, off: number): number {
  return Number(b.readBigUInt64LE(off));
}
function s64n(b: Buffer, off: number): number {
  return Number(b.readBigInt64LE(off));
}

export function readAttr(b: Buffer, off: number): Attr {
  return {
    ino: b.readBigUInt64LE(off),
    size: u64n(b, off + 8),
    blocks: u64n(b, off + 16),
    atime: s64n(b, off + 24),
    mtime: s64n(b, off + 32),
    ctime: s64n(b, off + 40),
    atimensec: b.readUInt32LE(off + 48),
    mtimensec: b.readUInt32LE(off + 52),
    ctimensec: b.readUInt32LE(off + 56),
    mode: b.readUInt32LE(off + 60),
    nlink: b.readUInt32LE(off + 64),
    uid: b.readUInt32LE(off + 68),
    gid: b.readUInt32LE(off + 72),
    rdev: b.readUInt32LE(off + 76),
    blksize: b.readUInt32LE(off + 80),
    flags: b.readUInt32LE(off + 84),
  };
}

export function readEntryOut(b: Buffer, off: number): EntryOut {
  return {
    nodeid: b.readBigUInt64LE(off),
    generation: b.readBigUInt64LE(off + 8),
    entryValid: u64n(b, off + 16),
    attrValid: u64n(b, off + 24),
    entryValidNsec: b.readUInt32LE(off + 32),
    attrValidNsec: b.readUInt32LE(off + 36),
    attr: readAttr(b, off + 40),
  };
}

function readOpenOut(b: Buffer, off: number): OpenOut {
  return { fh: b.readBigUInt64LE(off), openFlags: b.readUInt32LE(off + 8), backingId: b.readInt32LE(off + 12) };
}

function readSxTime(b: Buffer, off: number): { tvSec: bigint; tvNsec: number } {
  return { tvSec: b.readBigInt64LE(off), tvNsec: b.readUInt32LE(off + 8) };
}

function readStatx(b: Buffer, off: number): Statx {
  return {
    mask: b.readUInt32LE(off),
    blksize: b.readUInt32LE(off + 4),
    attributes: b.readBigUInt64LE(off + 8),
    nlink: b.readUInt32LE(off + 16),
    uid: b.readUInt32LE(off + 20),
    gid: b.readUInt32LE(off + 24),
    mode: b.readUInt16LE(off + 28),
    ino: b.readBigUInt64LE(off + 32),
    size: u64n(b, off + 40),
    blocks: u64n(b, off + 48),
    attributesMask: b.readBigUInt64LE(off + 56),
    atime: readSxTime(b, off + 64),
    btime: readSxTime(b, off + 80),
    ctime: readSxTime(b, off + 96),
    mtime: readSxTime(b, off + 112),
    rdevMajor: b.readUInt32LE(off + 128),
    rdevMinor: b.readUInt32LE(off + 132),
    devMajor: b.readUInt32LE(off + 136),
    devMinor: b.readUInt32LE(off + 140),
  };
}

/** Parse a READDIR payload: fuse_dirent records, each padded to 8 bytes. */
export function decodeDirents(p: Buffer): Dirent[] {
  const out: Dirent[] = [];
  let pos = 0;
  while (pos < p.length) {
    if (p.length - pos < Size.DIRENT) throw badReply(`truncated fuse_dirent at ${pos}`);
    const namelen = p.readUInt32LE(pos + 16);
    // Check before aligning: direntAlign works on 32-bit ints and wraps for huge lengths.
    const reclen = namelen > p.length ? Infinity : direntAlign(Size.DIRENT + namelen);
    if (namelen === 0 || pos + reclen > p.length) throw badReply(`fuse_dirent at ${pos} (namelen ${namelen}) does not fit`);
    out.push({
      ino: p.readBigUInt64LE(pos),
      off: p.readBigUInt64LE(pos + 8),
      type: p.readUInt32LE(pos + 20),
      name: p.subarray(pos + Size.DIRENT, pos + Size.DIRENT + namelen),
    });
    pos += reclen;
  }
  return out;
}

/** Parse a READDIRPLUS payload: fuse_direntplus records (entry_out + dirent), each padded to 8 bytes. */
export function decodeDirentsPlus(p: Buffer): DirentPlus[] {
  const out: DirentPlus[] = [];
  let pos = 0;
  while (pos < p.length) {
    if (p.length - pos < Size.DIRENTPLUS) throw badReply(`truncated fuse_direntplus at ${pos}`);
    const d = pos + Size.ENTRY_OUT;
    const namelen = p.readUInt32LE(d + 16);
    const reclen = namelen > p.length ? Infinity : direntAlign(Size.DIRENTPLUS + namelen);
    if (namelen === 0 || pos + reclen > p.length) throw badReply(`fuse_direntplus at ${pos} (namelen ${namelen}) does not fit`);
    out.push({
      entry: readEntryOut(p, pos),
      ino: p.readBigUInt64LE(d),
      off: p.readBigUInt64LE(d + 8),
      type: p.readUInt32LE(d + 20),
      name: p.subarray(d + Size.DIRENT, d + Size.DIRENT + namelen),
    });
    pos += reclen;
  }
  return out;
}

function exact(p: Buffer, size: number, what: string): void {
  if (p.length !== size) throw badReply(`${what} must be ${size} bytes, got ${p.length}`);
}

function decodeIoctlOut(p: Buffer): IoctlOut {
  if (p.length < Size.IOCTL_OUT) throw badReply(`fuse_ioctl_out must be at least 16 bytes, got ${p.length}`);
  const result = p.readInt32LE(0);
  const flags = p.readUInt32LE(4);
  const nIn = p.readUInt32LE(8);
  const nOut = p.readUInt32LE(12);
  if ((flags & IoctlFlag.RETRY) === 0) {
    return { result, flags, data: p.subarray(Size.IOCTL_OUT) };
  }
  if (nIn + nOut > 256 || p.length !== Size.IOCTL_OUT + (nIn + nOut) * Size.IOCTL_IOVEC) {
    throw badReply(`ioctl retry with ${nIn}+${nOut} iovecs does not match ${p.length} bytes`);
  }
  const iov = (i: number): IoctlIovec => ({ base: p.readBigUInt64LE(16 + i * 16), len: u64n(p, 24 + i * 16) });
  const inIovs: IoctlIovec[] = [];
  const outIovs: IoctlIovec[] = [];
  for (let i = 0; i < nIn; i++) inIovs.push(iov(i));
  for (let i = 0; i < nOut; i++) outIovs.push(iov(nIn + i));
  return { result, flags, inIovs, outIovs };
}

/**
 * Decode a reply frame (the bytes the server wrote) for a request of `op`.
 * Throws ProtocolError('bad-reply') where the kernel would reject the reply.
 */
export function decodeReply<K extends OpName>(op: K, frame: Buffer, opts: DecodeReplyOptions = {}): Reply<K> {
  if (frame.length < Size.OUT_HEADER) throw badReply(`reply of ${frame.length} bytes is shorter than fuse_out_header`);
  const len = frame.readUInt32LE(0);
  const err = frame.readInt32LE(4);
  const unique = frame.readBigUInt64LE(8);
  if (len !== frame.length) throw badReply(`header says ${len} bytes, frame has ${frame.length}`);
  if (unique === 0n) throw badReply('unique 0 is a notification, not a reply');
  if (err > 0 || err <= -1000) throw badReply(`error ${err} is outside (-1000, 0]`);
  if (err !== 0) {
    if (len !== Size.OUT_HEADER) throw badReply(`error reply carries ${len - Size.OUT_HEADER} bytes of payload`);
    return { unique, error: -err, len };
  }
  const p = frame.subarray(Size.OUT_HEADER);
  return { unique, error: 0, len, body: decodeReplyBody(op, p, opts) as ReplyBody<K> };
}

function decodeReplyBody(op: OpName, p: Buffer, opts: DecodeReplyOptions): unknown {
  switch (op) {
    case 'lookup': case 'mknod': case 'mkdir': case 'symlink': case 'link':
      exact(p, Size.ENTRY_OUT, 'fuse_entry_out');
      return readEntryOut(p, 0);
    case 'getattr': case 'setattr':
      exact(p, Size.ATTR_OUT, 'fuse_attr_out');
      return { attrValid: u64n(p, 0), attrValidNsec: p.readUInt32LE(8), attr: readAttr(p, 16) } satisfies AttrOut;
    case 'readlink': case 'read':
      return { data: p };
    case 'open': case 'opendir':
      exact(p, Size.OPEN_OUT, 'fuse_open_out');
      return readOpenOut(p, 0);
    case 'create': case 'tmpfile':
      exact(p, Size.ENTRY_OUT + Size.OPEN_OUT, 'fuse_entry_out + fuse_open_out');
      return { entry: readEntryOut(p, 0), open: readOpenOut(p, Size.ENTRY_OUT) } satisfies CreateOut;
    case 'write': case 'copy_file_range':
      exact(p, Size.WRITE_OUT, 'fuse_write_out');
      return { size: p.readUInt32LE(0) };
    case 'copy_file_range_64':
      exact(p, Size.COPY_FILE_RANGE_OUT, 'fuse_copy_file_range_out');
      return { bytesCopied: u64n(p, 0) };
    case 'statfs':
      exact(p, Size.STATFS_OUT, 'fuse_statfs_out');
      return {
        blocks: u64n(p, 0), bfree: u64n(p, 8), bavail: u64n(p, 16), files: u64n(p, 24), ffree: u64n(p, 32),
        bsize: p.readUInt32LE(40), namelen: p.readUInt32LE(44), frsize: p.readUInt32LE(48),
      } satisfies StatfsOut;
    case 'getxattr': case 'listxattr': {
      const probe = opts.requestSize !== undefined ? opts.requestSize === 0 : p.length === Size.GETXATTR_OUT;
      if (!probe) return { data: p };
      exact(p, Size.GETXATTR_OUT, 'fuse_getxattr_out');
      return { size: p.readUInt32LE(0) };
    }
    case 'init':
      exact(p, Size.INIT_OUT, 'fuse_init_out');
      return {
        major: p.readUInt32LE(0), minor: p.readUInt32LE(4), maxReadahead: p.readUInt32LE(8),
        flags: (BigInt(p.readUInt32LE(32)) << 32n) | BigInt(p.readUInt32LE(12)),
        maxBackground: p.readUInt16LE(16), congestionThreshold: p.readUInt16LE(18), maxWrite: p.readUInt32LE(20),
        timeGran: p.readUInt32LE(24), maxPages: p.readUInt16LE(28), mapAlignment: p.readUInt16LE(30),
        maxStackDepth: p.readUInt32LE(36), requestTimeout: p.readUInt16LE(40),
      } satisfies InitOut;
    case 'cuse_init':
      if (p.length < 72) throw badReply(`cuse_init_out must be at least 72 bytes, got ${p.length}`);
      return {
        major: p.readUInt32LE(0), minor: p.readUInt32LE(4), flags: p.readUInt32LE(12), maxRead: p.readUInt32LE(16),
        maxWrite: p.readUInt32LE(20), devMajor: p.readUInt32LE(24), devMinor: p.readUInt32LE(28), devInfo: p.subarray(72),
      } satisfies CuseInitOut;
    case 'readdir':
      return { entries: decodeDirents(p) };
    case 'readdirplus':
      return { entries: decodeDirentsPlus(p) };
    case 'getlk':
      exact(p, Size.LK_OUT, 'fuse_lk_out');
      return { start: p.readBigUInt64LE(0), end: p.readBigUInt64LE(8), type: p.readUInt32LE(16), pid: p.readUInt32LE(20) } satisfies FileLock;
    case 'bmap':
      exact(p, Size.BMAP_OUT, 'fuse_bmap_out');
      return { block: p.readBigUInt64LE(0) };
    case 'ioctl':
      return decodeIoctlOut(p);
    case 'poll':
      exact(p, Size.POLL_OUT, 'fuse_poll_out');
      return { revents: p.readUInt32LE(0) };
    case 'lseek':
      exact(p, Size.LSEEK_OUT, 'fuse_lseek_out');
      return { offset: s64n(p, 0) };
    case 'statx':
      exact(p, Size.STATX_OUT, 'fuse_statx_out');
      return { attrValid: u64n(p, 0), attrValidNsec: p.readUInt32LE(8), flags: p.readUInt32LE(12), statx: readStatx(p, 32) } satisfies StatxOut;
    case 'forget': case 'batch_forget': case 'notify_reply':
      throw badReply(`${op} gets no reply`);
    default:
      exact(p, 0, `${op} reply`);
      return {};
  }
}

// ── Notifications ────────────────────────────────────────────────────────────

export interface NotificationBodies {
  POLL: { kh: bigint };
  INVAL_INODE: { ino: NodeId; off: number; len: number };
  INVAL_ENTRY: { parent: NodeId; flags: number; name: Buffer };
  STORE: { nodeid: NodeId; offset: number; data: Buffer };
  RETRIEVE: { notifyUnique: bigint; nodeid: NodeId; offset: number; size: number };
  DELETE: { parent: NodeId; child: NodeId; name: Buffer };
  RESEND: Record<string, never>;
  INC_EPOCH: Record<string, never>;
  PRUNE: { nodeids: NodeId[] };
}
export type NotificationName = keyof NotificationBodies;
export type Notification = { [K in NotificationName]: { code: number; name: K; body: NotificationBodies[K] } }[NotificationName];

const NOTIFY_NAMES: Readonly<Record<number, NotificationName>> = Object.freeze(
  Object.fromEntries(Object.entries(NotifyCode).map(([k, v]) => [v, k as NotificationName])),
);

function nameAt(p: Buffer, off: number, namelen: number): Buffer {
  if (off + namelen + 1 !== p.length) throw badReply(`name of ${namelen} bytes + NUL does not match the payload`);
  if (p[off + namelen] !== 0) throw badReply('name is not NUL-terminated');
  return p.subarray(off, off + namelen);
}

/** Decode a notification frame (unique 0, error = notify code) as the kernel reads it. */
export function decodeNotification(frame: Buffer): Notification {
  if (frame.length < Size.OUT_HEADER) throw badReply(`notification of ${frame.length} bytes is shorter than fuse_out_header`);
  const len = frame.readUInt32LE(0);
  const code = frame.readInt32LE(4);
  const unique = frame.readBigUInt64LE(8);
  if (len !== frame.length) throw badReply(`header says ${len} bytes, frame has ${frame.length}`);
  if (unique !== 0n) throw badReply(`notification with unique ${unique}`);
  const name = NOTIFY_NAMES[code];
  if (name === undefined) throw badReply(`unknown notification code ${code}`);
  const p = frame.subarray(Size.OUT_HEADER);
  const n = (body: unknown): Notification => ({ code, name, body }) as Notification;
  switch (name) {
    case 'POLL':
      exact(p, Size.NOTIFY_POLL_WAKEUP_OUT, 'fuse_notify_poll_wakeup_out');
      return n({ kh: p.readBigUInt64LE(0) });
    case 'INVAL_INODE':
      exact(p, Size.NOTIFY_INVAL_INODE_OUT, 'fuse_notify_inval_inode_out');
      return n({ ino: p.readBigUInt64LE(0), off: s64n(p, 8), len: s64n(p, 16) });
    case 'INVAL_ENTRY': {
      if (p.length < Size.NOTIFY_INVAL_ENTRY_OUT) throw badReply('short fuse_notify_inval_entry_out');
      return n({ parent: p.readBigUInt64LE(0), flags: p.readUInt32LE(12), name: nameAt(p, 16, p.readUInt32LE(8)) });
    }
    case 'STORE': {
      if (p.length < Size.NOTIFY_STORE_OUT) throw badReply('short fuse_notify_store_out');
      const size = p.readUInt32LE(16);
      exact(p, Size.NOTIFY_STORE_OUT + size, 'fuse_notify_store_out + data');
      return n({ nodeid: p.readBigUInt64LE(0), offset: u64n(p, 8), data: p.subarray(Size.NOTIFY_STORE_OUT) });
    }
    case 'RETRIEVE':
      exact(p, Size.NOTIFY_RETRIEVE_OUT, 'fuse_notify_retrieve_out');
      return n({ notifyUnique: p.readBigUInt64LE(0), nodeid: p.readBigUInt64LE(8), offset: u64n(p, 16), size: p.readUInt32LE(24) });
    case 'DELETE': {
      if (p.length < Size.NOTIFY_DELETE_OUT) throw badReply('short fuse_notify_delete_out');
      return n({ parent: p.readBigUInt64LE(0), child: p.readBigUInt64LE(8), name: nameAt(p, 24, p.readUInt32LE(16)) });
    }
    case 'RESEND':
    case 'INC_EPOCH':
      exact(p, 0, name);
      return n({});
    case 'PRUNE': {
      if (p.length < Size.NOTIFY_PRUNE_OUT) throw badReply('short fuse_notify_prune_out');
      const count = p.readUInt32LE(0);
      exact(p, Size.NOTIFY_PRUNE_OUT + count * 8, 'fuse_notify_prune_out + node ids');
      const nodeids: NodeId[] = [];
      for (let i = 0; i < count; i++) nodeids.push(p.readBigUInt64LE(Size.NOTIFY_PRUNE_OUT + i * 8));
      return n({ nodeids });
    }
  }
}
