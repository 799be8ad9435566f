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

/**
 * Run the filesystem method for `req`. Returns the reply, or throws (FuseError or
 * anything else, which the session maps). Never called for INIT, FORGET,
 * BATCH_FORGET, INTERRUPT, NOTIFY_REPLY or DESTROY: the session owns those.
 */
export async function dispatch(fs: LowLevelFs, ctx: RequestContext, req: Request): Promise<Reply> {
  const id = req.header.nodeid;
  switch (req.op) {
    case 'lookup': {
      if (!fs.lookup) enosys('lookup');
      const e = await fs.lookup(ctx, id, req.body.name);
      if (e.nodeid === 1n) throw new FuseError(5, 'lookup must not return the root node id for a name');
      return entryReply(e, false);
    }
    case 'getattr': {
      if (!fs.getattr) enosys('getattr');
      const b = req.body;
      const fh = (b.getattrFlags & GetattrFlag.FH) !== 0 ? b.fh : undefined;
      return one(encodeAttrOut(await fs.getattr(ctx, id, fh)));
    }
    case 'setattr':
      if (!fs.setattr) enosys('setattr');
      return one(encodeAttrOut(await fs.setattr(ctx, id, req.body)));
    case 'readlink': {
      if (!fs.readlink) enosys('readlink');
      const t = await fs.readlink(ctx, id);
      return one(typeof t === 'string' ? Buffer.from(t) : t);
    }
    case 'symlink':
      if (!fs.symlink) enosys('symlink');
      return entryReply(await fs.symlink(ctx, id, req.body.name, req.body.target), true);
    case 'mknod':
      if (!fs.mknod) enosys('mknod');
      return entryReply(await fs.mknod(ctx, id, req.body.name, req.body.mode, req.body.rdev, req.body.umask), true);
    case 'mkdir':
      if (!fs.mkdir) enosys('mkdir');
      return entryReply(await fs.mkdir(ctx, id, req.body.name, req.body.mode, req.body.umask), true);
    case 'unlink':
      if (!fs.unlink) enosys('unlink');
      await fs.unlink(ctx, id, req.body.name);
      return EMPTY;
    case 'rmdir':
      if (!fs.rmdir) enosys('rmdir');
      await fs.rmdir(ctx, id, req.body.name);
      return EMPTY;
    case 'rename':
      if (!fs.rename) enosys('rename');
      await fs.rename(ctx, id, req.body.name, req.body.newdir, req.body.newname, req.body.flags);
      return EMPTY;
    case 'link':
      if (!fs.link) enosys('link');
      return entryReply(await fs.link(ctx, req.body.oldnodeid, id, req.body.name), true);
    case 'open': {
      const o = openOut(fs.open ? await fs.open(ctx, id, req.body.flags) : undefined);
      return { payload: [encodeOpenOut(o)], opened: { nodeid: id, fh: o.fh, dir: false, flags: req.body.flags } };
    }
    case 'opendir': {
      const o = openOut(fs.opendir ? await fs.opendir(ctx, id, req.body.flags) : undefined);
      return { payload: [encodeOpenOut(o)], opened: { nodeid: id, fh: o.fh, dir: true, flags: req.body.flags } };
    }
    case 'read': {
      if (!fs.read) enosys('read');
      const b = req.body;
      const data = await fs.read(ctx, id, b.fh, b.offset, b.size, b);
      const pieces = Buffer.isBuffer(data) ? [data] : data;
      let n = 0;
      for (const p of pieces) n += p.length;
      if (n > b.size) throw new FuseError(5, `read returned ${n} bytes for a ${b.size}-byte request`);
      return { payload: pieces };
    }
    case 'write': {
      if (!fs.write) enosys('write');
      const b = req.body;
      const n = await fs.write(ctx, id, b.fh, b.offset, b.data, b);
      if (!Number.isInteger(n) || n < 0 || n > b.size) throw new FuseError(5, `write returned ${n} for ${b.size} bytes`);
      return one(encodeWriteOut(n));
    }
    case 'statfs':
      return one(encodeStatfsOut(fs.statfs ? await fs.statfs(ctx, id) : DEFAULT_STATFS));
    case 'release':
      if (fs.release) await fs.release(ctx, id, req.body.fh, req.body.flags, req.body.releaseFlags, req.body.lockOwner);
      return EMPTY;
    case 'releasedir':
      if (fs.releasedir) await fs.releasedir(ctx, id, req.body.fh, req.body.flags);
      return EMPTY;
    case 'flush':
      // Absent: ENOSYS, which the kernel remembers (no more FLUSH round trips) and treats as success.
      if (!fs.flush) enosys('flush');
      await fs.flush(ctx, id, req.body.fh, req.body.lockOwner);
      return EMPTY;
    case 'fsync':
      if (!fs.fsync) enosys('fsync');
      await fs.fsync(ctx, id, req.body.fh, (req.body.fsyncFlags & FsyncFlag.FDATASYNC) !== 0);
      return EMPTY;
    case 'fsyncdir':
      if (!fs.fsyncdir) enosys('fsyncdir');
      await fs.fsyncdir(ctx, id, req.body.fh, (req.body.fsyncFlags & FsyncFlag.FDATASYNC) !== 0);
      return EMPTY;
    case 'setxattr':
      if (!fs.setxattr) enosys('setxattr');
      await fs.setxattr(ctx, id, xattrName(req.body.name), req.body.value, req.body.flags, req.body.setxattrFlags);
      return EMPTY;
    case 'getxattr': {
      if (!fs.getxattr) enosys('getxattr');
      const v = await fs.getxattr(ctx, id, xattrName(req.body.name));
      return sized(v, req.body.size);
    }
    case 'listxattr': {
      if (!fs.listxattr) enosys('listxattr');
      const names = await fs.listxattr(ctx, id);
      const packed = Buffer.concat(names.map((n) => Buffer.from(`${n}\0`)));
      return sized(packed, req.body.size);
    }
    case 'removexattr':
      if (!fs.removexattr) enosys('removexattr');
      await fs.removexattr(ctx, id, xattrName(req.body.name));
      return EMPTY;
    case 'access':
      if (!fs.access) enosys('access');
      await fs.access(ctx, id, req.body.mask);
      return EMPTY;
    case 'create':
    case 'tmpfile': {
      const b = req.body;
      const c =
        req.op === 'create'
          ? await (fs.create ?? enosys('create')).call(fs, ctx, id, b.name, b.mode, b.flags, b.umask)
          : await (fs.tmpfile ?? enosys('tmpfile')).call(fs, ctx, id, b.mode, b.flags, b.umask);
      if (c.entry.nodeid === 0n || c.entry.nodeid === 1n) throw new FuseError(5, `${req.op} must not return node id ${c.entry.nodeid}`);
      const o = openOut(c.open);
      return {
        payload: [encodeCreateOut({ entry: c.entry, open: o })],
        entries: [c.entry.nodeid],
        opened: { nodeid: c.entry.nodeid, fh: o.fh, dir: false, flags: b.flags },
      };
    }
    case 'getlk': {
      if (!fs.getlk) enosys('getlk');
      const b = req.body;
      return one(encodeLkOut(await fs.getlk(ctx, id, b.fh, b.owner, b.lk)));
    }
    case 'setlk':
    case 'setlkw': {
      if (!fs.setlk) enosys('setlk');
      const b = req.body;
      await fs.setlk(ctx, id, b.fh, b.owner, b.lk, req.op === 'setlkw', (b.lkFlags & LkFlag.FLOCK) !== 0);
      return EMPTY;
    }
    case 'bmap':
      if (!fs.bmap) enosys('bmap');
      return one(encodeBmapOut(await fs.bmap(ctx, id, req.body.blocksize, req.body.block)));
    case 'ioctl': {
      if (!fs.ioctl) enosys('ioctl');
      const b = req.body;
      return { payload: encodeIoctlOut(await fs.ioctl(ctx, id, b.fh, b.cmd, b.arg, b.data, b.outSize, b.flags)) };
    }
    case 'poll': {
      if (!fs.poll) enosys('poll');
      const b = req.body;
      const kh = (b.flags & 1) !== 0 ? b.kh : undefined;
      return one(encodePollOut(await fs.poll(ctx, id, b.fh, kh, b.events)));
    }
    case 'fallocate':
      if (!fs.fallocate) enosys('fallocate');
      await fs.fallocate(ctx, id, req.body.fh, req.body.mode, req.body.offset, req.body.length);
      return EMPTY;
    case 'lseek':
      if (!fs.lseek) enosys('lseek');
      return one(encodeLseekOut(await fs.lseek(ctx, id, req.body.fh, req.body.offset, req.body.whence)));
    case 'copy_file_range':
    case 'copy_file_range_64': {
      if (!fs.copyFileRange) enosys('copy_file_range');
      const b = req.body;
      const n = await fs.copyFileRange(ctx, id, b.fhIn, b.offIn, b.nodeidOut, b.fhOut, b.offOut, b.len, b.flags);
      if (req.op === 'copy_file_range_64') return one(encodeCopyFileRangeOut(n));
      return one(encodeWriteOut(Math.min(n, 0xffffffff)));
    }
    case 'statx':
      if (!fs.statx) enosys('statx');
      return one(encodeStatxOut(await fs.statx(ctx, id, (req.body.getattrFlags & GetattrFlag.FH) !== 0 ? req.body.fh : undefined, req.body.sxFlags, req.body.sxMask)));
    case 'syncfs':
      if (!fs.syncfs) enosys('syncfs');
      await fs.syncfs(ctx, id);
      return EMPTY;
    case 'setupmapping': {
      if (!fs.setupmapping) enosys('setupmapping');
      const b = req.body;
      await fs.setupmapping(ctx, id, b.fh, b.foffset, b.len, b.flags, b.moffset);
      return EMPTY;
    }
    case 'removemapping':
      if (!fs.removemapping) enosys('removemapping');
      await fs.removemapping(ctx, id, req.body.mappings);
      return EMPTY;
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

async function readdir(fs: LowLevelFs, ctx: RequestContext, req: RequestOf<'readdir'>): Promise<Reply> {
  if (!fs.readdir) enosys('readdir');
  const b = req.body;
  const packer = new DirentPacker(b.size);
  await fs.readdir(ctx, req.header.nodeid, b.fh, b.cookie, {
    add: (ino, off, type, name) => packer.add(ino, off, type, name),
  });
  return one(packer.finish());
}

async function readdirplus(fs: LowLevelFs, ctx: RequestContext, req: RequestOf<'readdirplus'>): Promise<Reply> {
  const b = req.body;
  const packer = new DirentPacker(b.size);
  const entries: NodeId[] = [];
  // The session asks for READDIRPLUS only when the filesystem implements it.
  if (!fs.readdirplus) enosys('readdirplus');
  await fs.readdirplus(ctx, req.header.nodeid, b.fh, b.cookie, {
    add: (entry, off, name) => {
      if (!packer.addPlus(entry, off, entry.attr.mode >>> 12, name)) return false;
      if (entry.nodeid !== 0n && !isDot(name)) entries.push(entry.nodeid);
      return true;
    },
  });
  return { payload: [packer.finish()], entries };
}

function isDot(name: string | Buffer): boolean {
  if (typeof name === 'string') return name === '.' || name === '..';
  return (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
}

/** Opcodes that never get a reply. */
export const NO_REPLY: ReadonlySet<number> = new Set([Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.NOTIFY_REPLY]);
