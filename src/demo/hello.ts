/**
 * `hello`: the smallest useful filesystem, one read-only file `/hello`.
 * The counterpart of libfuse's hello_ll, written on the low-level API.
 */
import { constants } from 'node:fs';
import { fuseError } from '../errors.ts';
import type { Attr, EntryOut, NodeId } from '../protocol/types.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';

const CONTENT = Buffer.from('Hello, world!\n');
const NAME = 'hello';
const FILE_ID = 2n;

function attr(id: NodeId, start: number): Attr {
  const dir = id === 1n;
  return {
    ino: id,
    size: dir ? 0 : CONTENT.length,
    blocks: dir ? 0 : 1,
    atime: start, mtime: start, ctime: start,
    atimensec: 0, mtimensec: 0, ctimensec: 0,
    mode: dir ? constants.S_IFDIR | 0o755 : constants.S_IFREG | 0o444,
    nlink: dir ? 2 : 1,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    rdev: 0, blksize: 4096, flags: 0,
  };
}

/** Build the hello filesystem. Timeouts are long: nothing ever changes. */
export function helloFs(): LowLevelFs {
  const start = Math.floor(Date.now() / 1000);
  const entry = (id: NodeId): EntryOut => ({
    nodeid: id, generation: 1n, entryValid: 3600, attrValid: 3600, entryValidNsec: 0, attrValidNsec: 0, attr: attr(id, start),
  });
  return {
    lookup(_ctx, parent, name) {
      if (parent !== 1n || name.toString() !== NAME) throw fuseError('ENOENT');
      return entry(FILE_ID);
    },
    getattr(_ctx, id) {
      if (id !== 1n && id !== FILE_ID) throw fuseError('ENOENT');
      return { attrValid: 3600, attrValidNsec: 0, attr: attr(id, start) };
    },
    open(_ctx, id, flags) {
      if (id !== FILE_ID) throw fuseError('EISDIR');
      if ((flags & 3) !== constants.O_RDONLY) throw fuseError('EACCES', 'hello is read-only');
      return { fh: 0n, openFlags: 0 };
    },
    read(_ctx, _id, _fh, offset, size) {
      return CONTENT.subarray(Math.min(offset, CONTENT.length), Math.min(offset + size, CONTENT.length));
    },
    readdir(_ctx, id, _fh, cookie, out) {
      if (id !== 1n) throw fuseError('ENOTDIR');
      const all: [bigint, number, string][] = [[1n, 4, '.'], [1n, 4, '..'], [FILE_ID, 8, NAME]];
      for (let i = Number(cookie); i < all.length; i++) {
        const [ino, type, name] = all[i]!;
        if (!out.add(ino, BigInt(i + 1), type, name)) break;
      }
    },
  };
}
