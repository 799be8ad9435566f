/**
 * DirentPacker grows its buffer on demand (it starts at 2 KiB): records across the growth
 * points are intact, and it stops exactly at the kernel's size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DirentPacker } from '../../src/protocol/encode.ts';

function parse(b: Buffer): { ino: bigint; off: bigint; type: number; name: string }[] {
  const out = [];
  for (let p = 0; p < b.length; ) {
    const namelen = b.readUInt32LE(p + 16);
    out.push({ ino: b.readBigUInt64LE(p), off: b.readBigUInt64LE(p + 8), type: b.readUInt32LE(p + 20), name: b.toString('utf8', p + 24, p + 24 + namelen) });
    p += (24 + namelen + 7) & ~7;
  }
  return out;
}

test('DirentPacker: grows past its initial buffer, keeps every record, stops at maxSize', () => {
  const max = 10_000;
  const p = new DirentPacker(max);
  const added: string[] = [];
  for (let i = 0; ; i++) {
    const name = `entry-${i}-${'x'.repeat(i % 40)}`;
    if (!p.add(BigInt(1000 + i), BigInt(i + 1), 8, name)) break;
    added.push(name);
  }
  const b = p.finish();
  assert.ok(b.length <= max && b.length > max - (24 + 60), `filled to ${b.length} of ${max}`);
  assert.equal(p.size, b.length);
  const recs = parse(b);
  assert.deepEqual(recs.map((r) => r.name), added);
  recs.forEach((r, i) => {
    assert.equal(r.ino, BigInt(1000 + i));
    assert.equal(r.off, BigInt(i + 1));
    assert.equal(r.type, 8);
  });
});

test('DirentPacker: an empty listing is an empty reply; a record larger than maxSize is refused', () => {
  assert.equal(new DirentPacker(32768).finish().length, 0);
  const p = new DirentPacker(32);
  assert.equal(p.add(1n, 1n, 8, 'a'.repeat(20)), false);
  assert.equal(p.add(1n, 1n, 8, 'abc'), true);
  assert.equal(p.finish().length, 32);
});
