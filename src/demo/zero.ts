/**
 * `zero`: one large read-only file `/zero` whose reads answer zeros at any
 * offset, for throughput measurements (the counterpart of libfuse's `null`).
 * Reads return views of one preallocated zero buffer: no allocation per read.
 */
import { constants } from 'node:fs';
import { fuseError } from '../errors.ts';
import type { Attr, NodeId } from '../protocol/types.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';

/** Reported size of /zero: 1 TiB. */
export const ZERO_SIZE = 2 ** 40;
const FILE_ID = 2n;

export function zeroFs(size = ZERO_SIZE): LowLevelFs {
  const start = Math.floor(Date.now() / 1000);
  const zeros = Buffer.alloc(1 << 20);
  const attr = (id: NodeId): Attr => ({
    ino: id,
    size: id === 1n ? 0 : size,
    blocks: 0,
    atime: start, mtime: start, ctime: start, atimensec: 0, mtimensec: 0, ctimensec: 0,
    mode: id === 1n ? constants.S_IFDIR | 0o755 : constants.S_IFREG | 0o444,
    nlink: id === 1n ? 2 : 1,
    uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, rdev: 0, blksize: 4096, flags: 0,
  });
  return {
    lookup(_ctx, parent, name) {
      if (parent !== 1n || name.toString() !== 'zero') throw fuseError('ENOENT');
      return { nodeid: FILE_ID, generation: 1n, entryValid: 3600, attrValid: 3600, entryValidNsec: 0, attrValidNsec: 0, attr: attr(FILE_ID) };
    },
    getattr(_ctx, id) {
      if (id !== 1n && id !== FILE_ID) throw fuseError('ENOENT');
      return { attrValid: 3600, attrValidNsec: 0, attr: attr(id) };
    },
    open(_ctx, id, flags) {
      if (id !== FILE_ID) throw fuseError('EISDIR');
      if ((flags & 3) !== constants.O_RDONLY) throw fuseError('EACCES', 'zero is read-only');
      return {};
    },
    read(_ctx, _id, _fh, offset, len) {
      const n = Math.max(0, Math.min(len, size - offset));
      if (n <= zeros.length) return zeros.subarray(0, n);
      const pieces: Buffer[] = [];
      for (let left = n; left > 0; left -= zeros.length) pieces.push(zeros.subarray(0, Math.min(left, zeros.length)));
      return pieces;
    },
    readdir(_ctx, id, _fh, cookie, out) {
      if (id !== 1n) throw fuseError('ENOTDIR');
      const all: [bigint, number, string][] = [[1n, 4, '.'], [1n, 4, '..'], [FILE_ID, 8, 'zero']];
      for (let i = Number(cookie); i < all.length; i++) {
        const [ino, type, name] = all[i]!;
        if (!out.add(ino, BigInt(i + 1), type, name)) break;
      }
    },
  };
}
