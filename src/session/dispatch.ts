/**
 * Dispatch: a decoded request → the LowLevelFs method → reply payload.
 *
 * One function per opcode family, all returning a `Reply` (payload pieces plus
 * the node ids whose lookup count the reply raises). Defaults for absent methods
 * live here and are documented in lowlevel.ts. Nothing here touches the device.
 */
import { FuseError, fuseError } from '../errors.ts';
import { LkFlag, Opcode, FsyncFlag, GetattrFlag } from '../protocol/abi.ts';
import type { Request, RequestOf } from '../protocol/decode.ts';
import {
  DirentPacker,
  encodeAttrOut,
  encodeBmapOut,
  encodeCopyFileRangeOut,
  encodeCreateOut,
  encodeEntryOut,
  encodeGetxattrOut,
  encodeIoctlOut,
  encodeLkOut,
  encodeLseekOut,
  encodeOpenOut,
  encodePollOut,
  encodeStatfsOut,
  encodeStatxOut,
  encodeWriteOut,
} from '../protocol/encode.ts';
import type { EntryOut, NodeId, OpenOut } from '../protocol/types.ts';
import type { LowLevelFs, OpenResult, RequestContext } from './lowlevel.ts';

/** What a handled request answers with. */
export interface Reply {
  payload: Buffer[];
  /** Node ids that gain one lookup reference if this reply reaches the kernel. */
  entries?: NodeId[];
  /** A handle this reply opens: released on the filesystem's behalf if the reply never reaches the kernel. */
  opened?: { nodeid: NodeId; fh: bigint; dir: boolean; flags: number };
}

const EMPTY: Reply = Object.freeze({ payload: [] }) as Reply;

function one(b: Buffer): Reply {
  return { payload: [b] };
}

function entryReply(e: EntryOut, creates: boolean): Reply {
  if (creates && (e.nodeid === 0n || e.nodeid === 1n)) {
    throw new FuseError(5, `a create-type reply must not carry node id ${e.nodeid}`);
  }
  return { payload: [encodeEntryOut(e)], entries: e.nodeid === 0n ? undefined : [e.nodeid] };
}

function openOut(r: OpenResult | undefined | void): OpenOut {
  return { fh: r?.fh ?? 0n, openFlags: r?.openFlags ?? 0, backingId: r?.backingId ?? 0 };
}

function enosys(op: string): never {
  throw fuseError('ENOSYS', `${op} is not implemented`);
}

function xattrName(b: Buffer): string {
  return b.toString('utf8');
}

const DEFAULT_STATFS = { blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 512, namelen: 255, frsize: 512 };

/** What dispatch returns: the reply itself when the handler answered synchronously. */
export type ReplyOrPromise = Reply | Promise<Reply>;

/** True for a promise (or any thenable) a handler returned. */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Apply `f` to a handler's result: at once when it is a plain value, after it
 * settles when it is a promise. Synchronous handlers thus cost no promise, no
 * microtask and no rejection tracking (a throw is caught by the session's try).
 */
function map<T>(v: T | PromiseLike<T>, f: (t: T) => Reply): ReplyOrPromise {
  return isThenable(v) ? Promise.resolve(v).then(f) : f(v as T);
}

const toEmpty = (): Reply => EMPTY;
const toAttr = (a: Parameters<typeof encodeAttrOut>[0]): Reply => one(encodeAttrOut(a));
const toCreated = (e: EntryOut): Reply => entryReply(e, true);

function toLookup(e: EntryOut): Reply {
  if (e.nodeid === 1n) throw new FuseError(5, 'lookup must not return the root node id for a name');
  return entryReply(e, false);
}

/**
 * Run the filesystem method for `req`. Returns the reply (synchronously when the
 * method did), a promise of it, or throws (FuseError or anything else, which the
 * session maps). Never called for INIT, FORGET, BATCH_FORGET, INTERRUPT,
 * NOTIFY_REPLY or DESTROY: the session owns those.
 */
export function dispatch(fs: LowLevelFs, ctx: RequestContext, req: Request): ReplyOrPromise {
  const id = req.header.nodeid;
  switch (req.op) {
    case 'lookup':
      if (!fs.lookup) enosys('lookup');
      return map(fs.lookup(ctx, id, req.body.name), toLookup);
    case 'getattr': {
      if (!fs.getattr) enosys('getattr');
      const b = req.body;
      const fh = (b.getattrFlags & GetattrFlag.FH) !== 0 ? b.fh : undefined;
      return map(fs.getattr(ctx, id, fh), toAttr);
    }
    case 'setattr':
      if (!fs.setattr) enosys('setattr');
      return map(fs.setattr(ctx, id, req.body), toAttr);
    case 'readlink':
      if (!fs.readlink) enosys('readlink');
      return map(fs.readlink(ctx, id), (t) => one(typeof t === 'string' ? Buffer.from(t) : t));
    case 'symlink':
      if (!fs.symlink) enosys('symlink');
      return map(fs.symlink(ctx, id, req.body.name, req.body.target), toCreated);
    case 'mknod':
      if (!fs.mknod) enosys('mknod');
      return map(fs.mknod(ctx, id, req.body.name, req.body.mode, req.body.rdev, req.body.umask), toCreated);
    case 'mkdir':
      if (!fs.mkdir) enosys('mkdir');
      return map(fs.mkdir(ctx, id, req.body.name, req.body.mode, req.body.umask), toCreated);
    case 'unlink':
      if (!fs.unlink) enosys('unlink');
      return map(fs.unlink(ctx, id, req.body.name), toEmpty);
    case 'rmdir':
      if (!fs.rmdir) enosys('rmdir');
      return map(fs.rmdir(ctx, id, req.body.name), toEmpty);
    case 'rename':
      if (!fs.rename) enosys('rename');
      return map(fs.rename(ctx, id, req.body.name, req.body.newdir, req.body.newname, req.body.flags), toEmpty);
    case 'link':
      if (!fs.link) enosys('link');
      return map(fs.link(ctx, req.body.oldnodeid, id, req.body.name), toCreated);
    case 'open':
    case 'opendir': {
      const dir = req.op === 'opendir';
      const flags = req.body.flags;
      const r = dir ? fs.opendir?.(ctx, id, flags) : fs.open?.(ctx, id, flags);
      return map(r, (v) => {
        const o = openOut(v);
        return { payload: [encodeOpenOut(o)], opened: { nodeid: id, fh: o.fh, dir, flags } };
      });
    }
    case 'read': {
      if (!fs.read) enosys('read');
      const b = req.body;
      return map(fs.read(ctx, id, b.fh, b.offset, b.size, b), (data) => {
        const pieces = Buffer.isBuffer(data) ? [data] : data;
        let n = 0;
        for (const p of pieces) n += p.length;
        if (n > b.size) throw new FuseError(5, `read returned ${n} bytes for a ${b.size}-byte request`);
        return { payload: pieces };
      });
    }
    case 'write': {
      if (!fs.write) enosys('write');
      const b = req.body;
      return map(fs.write(ctx, id, b.fh, b.offset, b.data, b), (n) => {
        if (!Number.isInteger(n) || n < 0 || n > b.size) throw new FuseError(5, `write returned ${n} for ${b.size} bytes`);
        return one(encodeWriteOut(n));
      });
    }
    case 'statfs':
      return map(fs.statfs ? fs.statfs(ctx, id) : DEFAULT_STATFS, (s) => one(encodeStatfsOut(s)));
    case 'release':
      return fs.release ? map(fs.release(ctx, id, req.body.fh, req.body.flags, req.body.releaseFlags, req.body.lockOwner), toEmpty) : EMPTY;
    case 'releasedir':
      return fs.releasedir ? map(fs.releasedir(ctx, id, req.body.fh, req.body.flags), toEmpty) : EMPTY;
    case 'flush':
      // Absent: ENOSYS, which the kernel remembers (no more FLUSH round trips) and treats as success.
      if (!fs.flush) enosys('flush');
      return map(fs.flush(ctx, id, req.body.fh, req.body.lockOwner), toEmpty);
    case 'fsync':
      if (!fs.fsync) enosys('fsync');
      return map(fs.fsync(ctx, id, req.body.fh, (req.body.fsyncFlags & FsyncFlag.FDATASYNC) !== 0), toEmpty);
    case 'fsyncdir':
      if (!fs.fsyncdir) enosys('fsyncdir');
      return map(fs.fsyncdir(ctx, id, req.body.fh, (req.body.fsyncFlags & FsyncFlag.FDATASYNC) !== 0), toEmpty);
    case 'setxattr':
      if (!fs.setxattr) enosys('setxattr');
      return map(fs.setxattr(ctx, id, xattrName(req.body.name), req.body.value, req.body.flags, req.body.setxattrFlags), toEmpty);
    case 'getxattr': {
      if (!fs.getxattr) enosys('getxattr');
      const size = req.body.size;
      return map(fs.getxattr(ctx, id, xattrName(req.body.name)), (v) => sized(v, size));
    }
    case 'listxattr': {
      if (!fs.listxattr) enosys('listxattr');
      const size = req.body.size;
      return map(fs.listxattr(ctx, id), (names) => sized(Buffer.concat(names.map((n) => Buffer.from(`${n}\0`))), size));
    }
    case 'removexattr':
      if (!fs.removexattr) enosys('removexattr');
      return map(fs.removexattr(ctx, id, xattrName(req.body.name)), toEmpty);
    case 'access':
      if (!fs.access) enosys('access');
      return map(fs.access(ctx, id, req.body.mask), toEmpty);
    case 'create':
    case 'tmpfile': {
      const b = req.body;
      const c =
        req.op === 'create'
          ? (fs.create ?? enosys('create')).call(fs, ctx, id, b.name, b.mode, b.flags, b.umask)
          : (fs.tmpfile ?? enosys('tmpfile')).call(fs, ctx, id, b.mode, b.flags, b.umask);
      return map(c, (r) => {
        if (r.entry.nodeid === 0n || r.entry.nodeid === 1n) throw new FuseError(5, `${req.op} must not return node id ${r.entry.nodeid}`);
        const o = openOut(r.open);
        return {
          payload: [encodeCreateOut({ entry: r.entry, open: o })],
          entries: [r.entry.nodeid],
          opened: { nodeid: r.entry.nodeid, fh: o.fh, dir: false, flags: b.flags },
        };
      });
    }
    case 'getlk': {
      if (!fs.getlk) enosys('getlk');
      const b = req.body;
      return map(fs.getlk(ctx, id, b.fh, b.owner, b.lk), (l) => one(encodeLkOut(l)));
    }
    case 'setlk':
    case 'setlkw': {
      if (!fs.setlk) enosys('setlk');
      const b = req.body;
      return map(fs.setlk(ctx, id, b.fh, b.owner, b.lk, req.op === 'setlkw', (b.lkFlags & LkFlag.FLOCK) !== 0), toEmpty);
    }
    case 'bmap':
      if (!fs.bmap) enosys('bmap');
      return map(fs.bmap(ctx, id, req.body.blocksize, req.body.block), (n) => one(encodeBmapOut(n)));
    case 'ioctl': {
      if (!fs.ioctl) enosys('ioctl');
      const b = req.body;
      return map(fs.ioctl(ctx, id, b.fh, b.cmd, b.arg, b.data, b.outSize, b.flags), (r) => ({ payload: encodeIoctlOut(r) }));
    }
    case 'poll': {
      if (!fs.poll) enosys('poll');
      const b = req.body;
      const kh = (b.flags & 1) !== 0 ? b.kh : undefined;
      return map(fs.poll(ctx, id, b.fh, kh, b.events), (ev) => one(encodePollOut(ev)));
    }
    case 'fallocate':
      if (!fs.fallocate) enosys('fallocate');
      return map(fs.fallocate(ctx, id, req.body.fh, req.body.mode, req.body.offset, req.body.length), toEmpty);
    case 'lseek':
      if (!fs.lseek) enosys('lseek');
      return map(fs.lseek(ctx, id, req.body.fh, req.body.offset, req.body.whence), (o) => one(encodeLseekOut(o)));
    case 'copy_file_range':
    case 'copy_file_range_64': {
      if (!fs.copyFileRange) enosys('copy_file_range');
      const b = req.body;
      const wide = req.op === 'copy_file_range_64';
      return map(fs.copyFileRange(ctx, id, b.fhIn, b.offIn, b.nodeidOut, b.fhOut, b.offOut, b.len, b.flags), (n) =>
        wide ? one(encodeCopyFileRangeOut(n)) : one(encodeWriteOut(Math.min(n, 0xffffffff))),
      );
    }
    case 'statx':
      if (!fs.statx) enosys('statx');
      return map(fs.statx(ctx, id, (req.body.getattrFlags & GetattrFlag.FH) !== 0 ? req.body.fh : undefined, req.body.sxFlags, req.body.sxMask), (x) => one(encodeStatxOut(x)));
    case 'syncfs':
      if (!fs.syncfs) enosys('syncfs');
      return map(fs.syncfs(ctx, id), toEmpty);
    case 'setupmapping': {
      if (!fs.setupmapping) enosys('setupmapping');
      const b = req.body;
      return map(fs.setupmapping(ctx, id, b.fh, b.foffset, b.len, b.flags, b.moffset), toEmpty);
    }
    case 'removemapping':
      if (!fs.removemapping) enosys('removemapping');
      return map(fs.removemapping(ctx, id, req.body.mappings), toEmpty);
    case 'readdir':
      return readdir(fs, ctx, req);
    case 'readdirplus':
      return readdirplus(fs, ctx, req);
    case 'cuse_init':
      throw fuseError('ENOSYS', 'CUSE is not supported');
    default:
      throw new FuseError(5, `opcode ${req.header.opcode} must be handled by the session`);
  }
}

/** getxattr/listxattr: size 0 asks for the length; a too-small buffer gets ERANGE. */
function sized(v: Buffer, size: number): Reply {
  if (size === 0) return one(encodeGetxattrOut(v.length));
  if (v.length > size) throw fuseError('ERANGE', `value of ${v.length} bytes does not fit ${size}`);
  return one(v);
}

function readdir(fs: LowLevelFs, ctx: RequestContext, req: RequestOf<'readdir'>): ReplyOrPromise {
  if (!fs.readdir) enosys('readdir');
  const b = req.body;
  const packer = new DirentPacker(b.size);
  const r = fs.readdir(ctx, req.header.nodeid, b.fh, b.cookie, {
    add: (ino, off, type, name) => packer.add(ino, off, type, name),
  });
  return map(r, () => one(packer.finish()));
}

function readdirplus(fs: LowLevelFs, ctx: RequestContext, req: RequestOf<'readdirplus'>): ReplyOrPromise {
  const b = req.body;
  const packer = new DirentPacker(b.size);
  const entries: NodeId[] = [];
  // The session asks for READDIRPLUS only when the filesystem implements it.
  if (!fs.readdirplus) enosys('readdirplus');
  const r = fs.readdirplus(ctx, req.header.nodeid, b.fh, b.cookie, {
    add: (entry, off, name) => {
      if (!packer.addPlus(entry, off, entry.attr.mode >>> 12, name)) return false;
      if (entry.nodeid !== 0n && !isDot(name)) entries.push(entry.nodeid);
      return true;
    },
  });
  return map(r, () => ({ payload: [packer.finish()], entries }));
}

function isDot(name: string | Buffer): boolean {
  if (typeof name === 'string') return name === '.' || name === '..';
  return (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
}

/** Opcodes that never get a reply. */
export const NO_REPLY: ReadonlySet<number> = new Set([Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.NOTIFY_REPLY]);
