/** parseMountOptions: the `-o` list every CLI command shares. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMountOptions } from './mount.ts';

test('known options are parsed, unknown ones pass through verbatim', () => {
  const o = parseMountOptions(['allow_other,ro', 'fsname=x,spin=0', 'read=threadpool,readers=2', 'noatime']);
  assert.equal(o.allowOther, true);
  assert.equal(o.readOnly, true);
  assert.equal(o.fsname, 'x');
  assert.equal(o.spin, 0);
  assert.equal(o.read, 'threadpool');
  assert.equal(o.readers, 2);
  assert.deepEqual(o.extra, ['noatime']);
});

test('spin takes a whole number of microseconds', () => {
  assert.equal(parseMountOptions(['spin=500']).spin, 500);
  assert.equal(parseMountOptions([]).spin, undefined);
  assert.throws(() => parseMountOptions(['spin=fast']), /spin needs a whole number, got fast/);
  assert.throws(() => parseMountOptions(['spin=-1']), /spin needs a whole number/);
});

test('read= accepts only the three strategies', () => {
  assert.throws(() => parseMountOptions(['read=mmap']), /read= takes poll, uring or threadpool, got mmap/);
});
