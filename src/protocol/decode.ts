/**
 * Request decoding: one frame from the kernel → a typed request.
 *
 * Pure: no I/O, no state beyond the few negotiated facts passed in `DecodeOptions`.
 * Every malformed frame becomes a thrown ProtocolError; nothing else escapes.
 * Names and data are views into the frame (no copies): a consumer that keeps them
 * past the reply must copy them.
 */
import { ProtocolError } from '../errors.ts';
import { ExtType, Opcode, Size } from './abi.ts';
import { OPCODES, opSpec } from './opcodes.ts';
import { Reader } from './reader.ts';
import type {
  FileHandle,
  FileLock,
  InHeader,
  InitIn,
  LockOwner,
  NodeId,
  RequestExt,
  SetattrIn,
  Unique,
} from './types.ts';

/** Negotiated facts that change request layouts. */
export interface DecodeOptions {
  /** SETXATTR_EXT was negotiated: fuse_setxattr_in is 16 bytes, not 8. */
  setxattrExt?: boolean;
  /** Negotiated minor version (layouts of old kernels); default 45. */
  minor?: number;
}

export interface NameBody { name: Buffer }
export interface FhBody { fh: FileHandle }

/** Bodies of every request, by opcode name. */
export interface RequestBodies {
  lookup: NameBody;
  forget: { nlookup: bigint };
  getattr: { getattrFlags: number; fh: FileHandle };
  setattr: SetattrIn;
  readlink: Record<string, never>;
  symlink: { name: Buffer; target: Buffer };
  mknod: { mode: number; rdev: number; umask: number; name: Buffer };
  mkdir: { mode: number; umask: number; name: Buffer };
  unlink: NameBody;
  rmdir: NameBody;
  rename: { newdir: NodeId; flags: number; name: Buffer; newname: Buffer };
  link: { oldnodeid: NodeId; name: Buffer };
  open: { flags: number; openFlags: number };
  read: ReadBody;
  write: { fh: FileHandle; offset: number; size: number; writeFlags: number; lockOwner: LockOwner; flags: number; data: Buffer };
  statfs: Record<string, never>;
  release: ReleaseBody;
  fsync: { fh: FileHandle; fsyncFlags: number };
  setxattr: { size: number; flags: number; setxattrFlags: number; name: Buffer; value: Buffer };
  getxattr: { size: number; name: Buffer };
  listxattr: { size: number };
  removexattr: NameBody;
  flush: { fh: FileHandle; lockOwner: LockOwner };
  init: InitIn;
  opendir: { flags: number; openFlags: number };
  readdir: ReaddirBody;
  releasedir: ReleaseBody;
  fsyncdir: { fh: FileHandle; fsyncFlags: number };
  getlk: LkBody;
  setlk: LkBody;
  setlkw: LkBody;
  access: { mask: number };
  create: CreateBody;
  interrupt: { unique: Unique };
  bmap: { block: bigint; blocksize: number };
  destroy: Record<string, never>;
  ioctl: { fh: FileHandle; flags: number; cmd: number; arg: bigint; inSize: number; outSize: number; data: Buffer };
  poll: { fh: FileHandle; kh: bigint; flags: number; events: number };
  notify_reply: { offset: number; size: number; data: Buffer };
  batch_forget: { forgets: { nodeid: NodeId; nlookup: bigint }[] };
  fallocate: { fh: FileHandle; offset: number; length: number; mode: number };
  readdirplus: ReaddirBody;
  lseek: { fh: FileHandle; offset: number; whence: number };
  copy_file_range: CopyFileRangeBody;
  setupmapping: { fh: FileHandle; foffset: number; len: number; flags: number; moffset: number };
  removemapping: { mappings: { moffset: number; len: number }[] };
  syncfs: Record<string, never>;
  tmpfile: CreateBody;
  statx: { getattrFlags: number; fh: FileHandle; sxFlags: number; sxMask: number };
  copy_file_range_64: CopyFileRangeBody;
  cuse_init: InitIn;
}

export interface ReadBody { fh: FileHandle; offset: number; size: number; readFlags: number; lockOwner: LockOwner; flags: number }
/** `cookie` is READDIR's offset: the opaque `off` of the last entry already returned, 0 at the start. */
export interface ReaddirBody { fh: FileHandle; cookie: bigint; size: number; readFlags: number; lockOwner: LockOwner; flags: number }
export interface ReleaseBody { fh: FileHandle; flags: number; releaseFlags: number; lockOwner: LockOwner }
export interface LkBody { fh: FileHandle; owner: LockOwner; lk: FileLock; lkFlags: number }
export interface CreateBody { flags: number; mode: number; umask: number; openFlags: number; name: Buffer }
export interface CopyFileRangeBody {
  fhIn: FileHandle; offIn: number; nodeidOut: NodeId; fhOut: FileHandle; offOut: number; len: number; flags: bigint;
}

export type OpName = keyof RequestBodies;

/** A decoded request. `body` is typed by `op`. */
export type Request = { [K in OpName]: { op: K; header: InHeader; body: RequestBodies[K]; ext?: RequestExt } }[OpName];
export type RequestOf<K extends OpName> = Extract<Request, { op: K }>;

/** Opcode number → op name, for every opcode this codec knows (derived from the opcode table). */
export const OP_NAMES: Readonly<Record<number, OpName>> = Object.freeze(
  Object.fromEntries(Object.entries(OPCODES).map(([k, spec]) => [Number(k), spec.op])) as Record<number, OpName>,
);

/**
 * Decode the 40-byte header only. Throws ProtocolError if the frame is shorter
 * than a header or the length field disagrees with the frame's size.
 */
export function decodeHeader(frame: Buffer): InHeader {
  if (frame.length < Size.IN_HEADER) {
    throw new ProtocolError('short-header', `frame of ${frame.length} bytes is shorter than fuse_in_header (40)`);
  }
  const len = frame.readUInt32LE(0);
  const header: InHeader = {
    len,
    opcode: frame.readUInt32LE(4),
    unique: frame.readBigUInt64LE(8),
    nodeid: frame.readBigUInt64LE(16),
    uid: frame.readUInt32LE(24),
    gid: frame.readUInt32LE(28),
    pid: frame.readUInt32LE(32),
    totalExtlen: frame.readUInt16LE(36),
  };
  if (len !== frame.length) {
    throw new ProtocolError('bad-length', `header says ${len} bytes, frame has ${frame.length}`);
  }
  return header;
}

/**
 * Decode one request frame. Throws ProtocolError (with the header attached when
 * it could be read, so the session can still answer the request) on bad input.
 */
export function decodeRequest(frame: Buffer, opts: DecodeOptions = {}): Request {
  const header = decodeHeader(frame);
  const spec = opSpec(header.opcode);
  try {
    if (spec === undefined) throw new ProtocolError('unknown-opcode', `opcode ${header.opcode}`);
    const op = spec.op;
    const extBytes = header.totalExtlen * 8;
    if (Size.IN_HEADER + extBytes > frame.length) {
      throw new ProtocolError('bad-extension', `total_extlen ${header.totalExtlen} exceeds the frame`);
    }
    const r = new Reader(frame, Size.IN_HEADER, frame.length - extBytes);
    r.need(spec.inSize, spec.in);
    const body = decodeBody(op, r, opts);
    const req = { op, header, body } as Request;
    if (extBytes > 0) req.ext = decodeExtensions(frame.subarray(frame.length - extBytes));
    return req;
  } catch (e) {
    if (e instanceof ProtocolError) (e as ProtocolError & { header?: InHeader }).header = header;
    if (e instanceof RangeError) {
      const pe = new ProtocolError('short-body', e.message) as ProtocolError & { header?: InHeader };
      pe.header = header;
      throw pe;
    }
    throw e;
  }
}

/** The header carried by a ProtocolError from decodeRequest, if the header itself was readable. */
export function headerOf(e: unknown): InHeader | undefined {
  return (e as { header?: InHeader } | null)?.header;
}

function fixed(r: Reader, size: number, what: string): void {
  r.need(size, what);
}

function decodeReadBody(r: Reader): ReadBody {
  fixed(r, Size.READ_IN, 'fuse_read_in');
  const fh = r.u64();
  const offset = r.u64n();
  const size = r.u32();
  const readFlags = r.u32();
  const lockOwner = r.u64();
  const flags = r.u32();
  r.skip(4);
  return { fh, offset, size, readFlags, lockOwner, flags };
}

function decodeReaddirBody(r: Reader): ReaddirBody {
  fixed(r, Size.READ_IN, 'fuse_read_in');
  const fh = r.u64();
  const cookie = r.u64();
  const size = r.u32();
  const readFlags = r.u32();
  const lockOwner = r.u64();
  const flags = r.u32();
  r.skip(4);
  return { fh, cookie, size, readFlags, lockOwner, flags };
}

function decodeRelease(r: Reader): ReleaseBody {
  fixed(r, Size.RELEASE_IN, 'fuse_release_in');
  const fh = r.u64();
  const flags = r.u32();
  const releaseFlags = r.u32();
  const lockOwner = r.u64();
  return { fh, flags, releaseFlags, lockOwner };
}

function decodeLk(r: Reader): LkBody {
  fixed(r, Size.LK_IN, 'fuse_lk_in');
  const fh = r.u64();
  const owner = r.u64();
  const start = r.u64();
  const end = r.u64();
  const type = r.u32();
  const pid = r.u32();
  const lkFlags = r.u32();
  r.skip(4);
  return { fh, owner, lk: { start, end, type, pid }, lkFlags };
}

function decodeCreate(r: Reader): CreateBody {
  fixed(r, Size.CREATE_IN, 'fuse_create_in');
  const flags = r.u32();
  const mode = r.u32();
  const umask = r.u32();
  const openFlags = r.u32();
  return { flags, mode, umask, openFlags, name: r.cstr('name') };
}

function decodeCopyFileRange(r: Reader): CopyFileRangeBody {
  fixed(r, Size.COPY_FILE_RANGE_IN, 'fuse_copy_file_range_in');
  return {
    fhIn: r.u64(),
    offIn: r.u64n(),
    nodeidOut: r.u64(),
    fhOut: r.u64(),
    offOut: r.u64n(),
    len: r.u64n(),
    flags: r.u64(),
  };
}

function decodeBody(op: OpName, r: Reader, opts: DecodeOptions): unknown {
  switch (op) {
    case 'lookup':
    case 'unlink':
    case 'rmdir':
    case 'removexattr':
      return { name: r.cstr('name') };
    case 'forget':
      fixed(r, Size.FORGET_IN, 'fuse_forget_in');
      return { nlookup: r.u64() };
    case 'getattr': {
      fixed(r, Size.GETATTR_IN, 'fuse_getattr_in');
      const getattrFlags = r.u32();
      r.skip(4);
      return { getattrFlags, fh: r.u64() };
    }
    case 'setattr': {
      fixed(r, Size.SETATTR_IN, 'fuse_setattr_in');
      const valid = r.u32();
      r.skip(4);
      const fh = r.u64();
      const size = r.u64n();
      const lockOwner = r.u64();
      const atime = Number(r.s64());
      const mtime = Number(r.s64());
      const ctime = Number(r.s64());
      const atimensec = r.u32();
      const mtimensec = r.u32();
      const ctimensec = r.u32();
      const mode = r.u32();
      r.skip(4);
      const uid = r.u32();
      const gid = r.u32();
      r.skip(4);
      return { valid, fh, size, lockOwner, atime, mtime, ctime, atimensec, mtimensec, ctimensec, mode, uid, gid } satisfies SetattrIn;
    }
    case 'readlink':
    case 'statfs':
    case 'destroy':
    case 'syncfs':
      if (op === 'syncfs') fixed(r, Size.SYNCFS_IN, 'fuse_syncfs_in');
      return {};
    case 'symlink': {
      const name = r.cstr('name');
      return { name, target: r.cstr('link target') };
    }
    case 'mknod': {
      fixed(r, Size.MKNOD_IN, 'fuse_mknod_in');
      const mode = r.u32();
      const rdev = r.u32();
      const umask = r.u32();
      r.skip(4);
      return { mode, rdev, umask, name: r.cstr('name') };
    }
    case 'mkdir': {
      fixed(r, Size.MKDIR_IN, 'fuse_mkdir_in');
      const mode = r.u32();
      const umask = r.u32();
      return { mode, umask, name: r.cstr('name') };
    }
    case 'rename': {
      // RENAME (12) has an 8-byte fuse_rename_in; RENAME2 (45) a 16-byte fuse_rename2_in. Told apart by opcode.
      const isRename2 = r.buf.readUInt32LE(4) === Opcode.RENAME2;
      fixed(r, isRename2 ? Size.RENAME2_IN : Size.RENAME_IN, isRename2 ? 'fuse_rename2_in' : 'fuse_rename_in');
      const newdir = r.u64();
      let flags = 0;
      if (isRename2) {
        flags = r.u32();
        r.skip(4);
      }
      const name = r.cstr('old name');
      return { newdir, flags, name, newname: r.cstr('new name') };
    }
    case 'link': {
      fixed(r, Size.LINK_IN, 'fuse_link_in');
      const oldnodeid = r.u64();
      return { oldnodeid, name: r.cstr('name') };
    }
    case 'open':
    case 'opendir': {
      fixed(r, Size.OPEN_IN, 'fuse_open_in');
      return { flags: r.u32(), openFlags: r.u32() };
    }
    case 'read':
      return decodeReadBody(r);
    case 'readdir':
    case 'readdirplus':
      return decodeReaddirBody(r);
    case 'write': {
      fixed(r, Size.WRITE_IN, 'fuse_write_in');
      const fh = r.u64();
      const offset = r.u64n();
      const size = r.u32();
      const writeFlags = r.u32();
      const lockOwner = r.u64();
      const flags = r.u32();
      r.skip(4);
      if (r.remaining !== size) {
        throw new ProtocolError('bad-length', `WRITE says ${size} bytes of data, frame carries ${r.remaining}`);
      }
      return { fh, offset, size, writeFlags, lockOwner, flags, data: r.rest() };
    }
    case 'release':
    case 'releasedir':
      return decodeRelease(r);
    case 'fsync':
    case 'fsyncdir': {
      fixed(r, Size.FSYNC_IN, 'fuse_fsync_in');
      const fh = r.u64();
      const fsyncFlags = r.u32();
      r.skip(4);
      return { fh, fsyncFlags };
    }
    case 'setxattr': {
      const ext = opts.setxattrExt === true;
      fixed(r, ext ? Size.SETXATTR_IN : Size.SETXATTR_IN_COMPAT, 'fuse_setxattr_in');
      const size = r.u32();
      const flags = r.u32();
      let setxattrFlags = 0;
      if (ext) {
        setxattrFlags = r.u32();
        r.skip(4);
      }
      const name = r.cstr('xattr name');
      return { size, flags, setxattrFlags, name, value: r.bytes(size, 'xattr value') };
    }
    case 'getxattr': {
      fixed(r, Size.GETXATTR_IN, 'fuse_getxattr_in');
      const size = r.u32();
      r.skip(4);
      return { size, name: r.cstr('xattr name') };
    }
    case 'listxattr': {
      fixed(r, Size.GETXATTR_IN, 'fuse_getxattr_in');
      const size = r.u32();
      r.skip(4);
      return { size };
    }
    case 'flush': {
      fixed(r, Size.FLUSH_IN, 'fuse_flush_in');
      const fh = r.u64();
      r.skip(8); // unused, padding
      return { fh, lockOwner: r.u64() };
    }
    case 'init':
    case 'cuse_init':
      return decodeInitIn(r);
    case 'getlk':
    case 'setlk':
    case 'setlkw':
      return decodeLk(r);
    case 'access': {
      fixed(r, Size.ACCESS_IN, 'fuse_access_in');
      const mask = r.u32();
      r.skip(4);
      return { mask };
    }
    case 'create':
    case 'tmpfile':
      return decodeCreate(r);
    case 'interrupt':
      fixed(r, Size.INTERRUPT_IN, 'fuse_interrupt_in');
      return { unique: r.u64() };
    case 'bmap': {
      fixed(r, Size.BMAP_IN, 'fuse_bmap_in');
      const block = r.u64();
      const blocksize = r.u32();
      r.skip(4);
      return { block, blocksize };
    }
    case 'ioctl': {
      fixed(r, Size.IOCTL_IN, 'fuse_ioctl_in');
      const fh = r.u64();
      const flags = r.u32();
      const cmd = r.u32();
      const arg = r.u64();
      const inSize = r.u32();
      const outSize = r.u32();
      return { fh, flags, cmd, arg, inSize, outSize, data: r.bytes(Math.min(inSize, r.remaining), 'ioctl data') };
    }
    case 'poll': {
      fixed(r, Size.POLL_IN, 'fuse_poll_in');
      const fh = r.u64();
      const kh = r.u64();
      const flags = r.u32();
      const events = r.u32();
      return { fh, kh, flags, events };
    }
    case 'notify_reply': {
      fixed(r, Size.NOTIFY_RETRIEVE_IN, 'fuse_notify_retrieve_in');
      r.skip(8);
      const offset = r.u64n();
      const size = r.u32();
      r.skip(4 + 8 + 8);
      return { offset, size, data: r.bytes(Math.min(size, r.remaining), 'retrieved data') };
    }
    case 'batch_forget': {
      fixed(r, Size.BATCH_FORGET_IN, 'fuse_batch_forget_in');
      const count = r.u32();
      r.skip(4);
      if (count * Size.FORGET_ONE > r.remaining) {
        throw new ProtocolError('short-body', `BATCH_FORGET count ${count} exceeds the frame`);
      }
      const forgets: { nodeid: NodeId; nlookup: bigint }[] = new Array(count);
      for (let i = 0; i < count; i++) forgets[i] = { nodeid: r.u64(), nlookup: r.u64() };
      return { forgets };
    }
    case 'fallocate': {
      fixed(r, Size.FALLOCATE_IN, 'fuse_fallocate_in');
      const fh = r.u64();
      const offset = r.u64n();
      const length = r.u64n();
      const mode = r.u32();
      r.skip(4);
      return { fh, offset, length, mode };
    }
    case 'lseek': {
      fixed(r, Size.LSEEK_IN, 'fuse_lseek_in');
      const fh = r.u64();
      const offset = r.s64n();
      const whence = r.u32();
      r.skip(4);
      return { fh, offset, whence };
    }
    case 'copy_file_range':
    case 'copy_file_range_64':
      return decodeCopyFileRange(r);
    case 'setupmapping': {
      fixed(r, Size.SETUPMAPPING_IN, 'fuse_setupmapping_in');
      return { fh: r.u64(), foffset: r.u64n(), len: r.u64n(), flags: Number(r.u64()), moffset: r.u64n() };
    }
    case 'removemapping': {
      fixed(r, Size.REMOVEMAPPING_IN, 'fuse_removemapping_in');
      const count = r.u32();
      if (count * Size.REMOVEMAPPING_ONE > r.remaining) {
        throw new ProtocolError('short-body', `REMOVEMAPPING count ${count} exceeds the frame`);
      }
      const mappings: { moffset: number; len: number }[] = [];
      for (let i = 0; i < count; i++) mappings.push({ moffset: r.u64n(), len: r.u64n() });
      return { mappings };
    }
    case 'statx': {
      fixed(r, Size.STATX_IN, 'fuse_statx_in');
      const getattrFlags = r.u32();
      r.skip(4);
      const fh = r.u64();
      const sxFlags = r.u32();
      const sxMask = r.u32();
      return { getattrFlags, fh, sxFlags, sxMask };
    }
  }
}

function decodeInitIn(r: Reader): InitIn {
  // Kernels before 7.36 send the 16-byte fuse_init_in; flags2 then reads as 0.
  r.need(16, 'fuse_init_in');
  const major = r.u32();
  const minor = r.u32();
  const maxReadahead = r.u32();
  const flags = r.u32();
  let flags2 = 0;
  if (r.remaining >= 4) flags2 = r.u32();
  return { major, minor, maxReadahead, flags: (BigInt(flags2) << 32n) | BigInt(flags) };
}

/**
 * Decode the extension area at the end of a request (total_extlen × 8 bytes):
 * a chain of fuse_ext_header {u32 size; u32 type}, each padded to 8 bytes.
 */
export function decodeExtensions(area: Buffer): RequestExt {
  const ext: RequestExt = {};
  let pos = 0;
  while (pos < area.length) {
    if (area.length - pos < Size.EXT_HEADER) throw new ProtocolError('bad-extension', 'truncated extension header');
    const size = area.readUInt32LE(pos);
    const type = area.readUInt32LE(pos + 4);
    if (size < Size.EXT_HEADER || size % 8 !== 0 || pos + size > area.length) {
      throw new ProtocolError('bad-extension', `extension of size ${size} at ${pos} does not fit`);
    }
    const body = area.subarray(pos + Size.EXT_HEADER, pos + size);
    if (type === ExtType.SUPP_GROUPS) {
      if (body.length < 4) throw new ProtocolError('bad-extension', 'short supplementary-groups extension');
      const n = body.readUInt32LE(0);
      if (4 + n * 4 > body.length) throw new ProtocolError('bad-extension', `${n} groups do not fit`);
      const groups: number[] = [];
      for (let i = 0; i < n; i++) groups.push(body.readUInt32LE(4 + i * 4));
      ext.groups = groups;
    } else if (type <= ExtType.SECURITY_CTX) {
      // fuse_secctx_header {u32 size; u32 nr_secctx} *is* the extension header: types 0..31
      // (FUSE_MAX_NR_SECCTX) are its nr_secctx, so the contexts start right after it.
      ext.secctx = decodeSecctx(body, type);
    }
    // Unknown extension types are skipped: the kernel only sends what was negotiated.
    pos += size;
  }
  return ext;
}

/** After fuse_secctx_header: nr × (fuse_secctx {u32 size; u32 padding} + name\0 + value), each padded to 8. */
function decodeSecctx(body: Buffer, nr: number): { name: string; value: Buffer }[] {
  const out: { name: string; value: Buffer }[] = [];
  let pos = 0;
  for (let i = 0; i < nr; i++) {
    if (body.length - pos < Size.SECCTX) throw new ProtocolError('bad-extension', 'truncated security context');
    const vsize = body.readUInt32LE(pos);
    pos += Size.SECCTX;
    const nul = body.indexOf(0, pos);
    if (nul < 0) throw new ProtocolError('bad-extension', 'security context name without NUL');
    const name = body.toString('utf8', pos, nul);
    const vstart = nul + 1;
    if (vstart + vsize > body.length) throw new ProtocolError('bad-extension', 'security context value does not fit');
    out.push({ name, value: body.subarray(vstart, vstart + vsize) });
    pos = (vstart + vsize + 7) & ~7;
  }
  return out;
}
