// The encoder writes fuse_attr, fuse_entry_out, fuse_open_out and fuse_out_header as 32-bit
// words when the target is 4-byte aligned, and with Buffer methods otherwise. Both paths must
// produce the same bytes, for the values that stress them: 64-bit fields above 2^53, times
// before the epoch, all-ones u32s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAttrOut, encodeCreateOut, encodeError, encodeReply, writeAttr, writeEntryOut } from '../../src/protocol/encode.ts';
import type { Attr, EntryOut } from '../../src/protocol/types.ts';

const attr: Attr = {
  ino: 0xfedc_ba98_7654_3210n,
  size: 2 ** 53 - 1,
  blocks: 2 ** 40 + 3,
  atime: -1,
  mtime: -(2 ** 40) - 7,
  ctime: 2 ** 33 + 1,
  atimensec: 999_999_999,
  mtimensec: 0,
  ctimensec: 1,
  mode: 0o104755,
  nlink: 0xffff_ffff,
  uid: 0xffff_fffe,
  gid: 65534,
  rdev: 0x1234_5678,
  blksize: 4096,
  flags: 1,
};
const entry: EntryOut = { nodeid: 2n ** 60n + 5n, generation: 3n, entryValid: 86400, attrValid: 2 ** 33, entryValidNsec: 5, attrValidNsec: 6, attr };

/** fuse_attr the slow, obvious way (Buffer methods and bigints), as the reference. */
function refAttr(b: Buffer, off: number, a: Attr): void {
  b.writeBigUInt64LE(a.ino, off);
  b.writeBigUInt64LE(BigInt(a.size), off + 8);
  b.writeBigUInt64LE(BigInt(a.blocks), off + 16);
  b.writeBigInt64LE(BigInt(a.atime), off + 24);
  b.writeBigInt64LE(BigInt(a.mtime), off + 32);
  b.writeBigInt64LE(BigInt(a.ctime), off + 40);
  [a.atimensec, a.mtimensec, a.ctimensec, a.mode, a.nlink, a.uid, a.gid, a.rdev, a.blksize, a.flags].forEach((v, k) => b.writeUInt32LE(v, off + 48 + 4 * k));
}

function refEntry(b: Buffer, off: number, e: EntryOut): void {
  b.writeBigUInt64LE(e.nodeid, off);
  b.writeBigUInt64LE(e.generation, off + 8);
  b.writeBigUInt64LE(BigInt(e.entryValid), off + 16);
  b.writeBigUInt64LE(BigInt(e.attrValid), off + 24);
  b.writeUInt32LE(e.entryValidNsec, off + 32);
  b.writeUInt32LE(e.attrValidNsec, off + 36);
  refAttr(b, off + 40, e.attr);
}

/** `write` into a buffer at offset `off` of a larger one, with guard bytes around it. */
function at(off: number, size: number, write: (b: Buffer, off: number) => void): Buffer {
  const b = Buffer.alloc(off + size + 8, 0xee);
  write(b, off);
  assert.ok(b.subarray(0, off).every((x) => x === 0xee) && b.subarray(off + size).every((x) => x === 0xee), 'nothing written outside the struct');
  return b.subarray(off, off + size);
}

test('fuse_attr and fuse_entry_out, at aligned and unaligned offsets, equal the reference bytes', () => {
  const want = at(0, 88, (b, off) => refAttr(b, off, attr));
  for (const off of [0, 1, 2, 3, 4, 8]) assert.deepEqual(at(off, 88, (b, o) => writeAttr(b, o, attr)), want, `fuse_attr at ${off}`);
  const wantE = at(0, 128, (b, off) => refEntry(b, off, entry));
  for (const off of [0, 1, 3, 8]) assert.deepEqual(at(off, 128, (b, o) => writeEntryOut(b, o, entry)), wantE, `fuse_entry_out at ${off}`);
  // Alternating aligned and unaligned writes into different buffers (the cached view changes).
  const x = Buffer.alloc(88);
  const y = Buffer.alloc(89);
  writeAttr(x, 0, attr);
  writeAttr(y, 1, attr);
  writeAttr(x, 0, attr);
  assert.deepEqual(x, want);
  assert.deepEqual(y.subarray(1), want);
});

test('attr, create and header replies carry the same bytes as the method path', () => {
  const out = encodeAttrOut({ attrValid: 1.5, attrValidNsec: 7, attr });
  const ref = Buffer.alloc(104);
  ref.writeBigUInt64LE(1n, 0);
  ref.writeUInt32LE(7, 8);
  refAttr(ref, 16, attr);
  assert.deepEqual(out, ref);
  const c = encodeCreateOut({ entry, open: { fh: 2n ** 63n + 1n, openFlags: 0x8000_0001, backingId: -1 } });
  assert.deepEqual(c.subarray(0, 128), at(0, 128, (b, off) => refEntry(b, off, entry)));
  assert.equal(c.readBigUInt64LE(128), 2n ** 63n + 1n);
  assert.equal(c.readUInt32LE(136), 0x8000_0001);
  assert.equal(c.readInt32LE(140), -1);
  const [h] = encodeReply(2n ** 64n - 1n, [Buffer.alloc(3)]);
  assert.deepEqual(h, Buffer.from([19, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]));
  const err = encodeError(9n, 61);
  assert.equal(err.readInt32LE(4), -61);
  assert.equal(err.readBigUInt64LE(8), 9n);
});

test('a struct that does not fit its buffer is a RangeError, never a write past the end', () => {
  const pool = Buffer.alloc(256, 0xee);
  const small = pool.subarray(0, 64);
  assert.throws(() => writeAttr(small, 0, attr), RangeError);
  assert.throws(() => writeEntryOut(pool.subarray(0, 200), 80, entry), RangeError);
  assert.ok(pool.subarray(200).every((x) => x === 0xee), 'nothing written past the view');
});
