/**
 * Malformed request frames: each must give a typed ProtocolError with the right
 * kind and errno (EINVAL, ENOSYS or EFBIG), never any other exception, and carry
 * the header (headerOf) whenever the header itself was readable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno, ProtocolError, type ProtocolErrorKind } from '../../src/errors.ts';
import { decodeNotification, decodeReply, encodeRequest } from '../../src/protocol/client.ts';
import { type DecodeOptions, decodeRequest, headerOf } from '../../src/protocol/decode.ts';
import { batchForgetRequest } from '../fixtures/batch-forget.ts';
import { createExtRequest } from '../fixtures/create.ts';
import { getattrReply } from '../fixtures/getattr.ts';
import { lookupRequest } from '../fixtures/lookup.ts';
import { notifyInvalEntry } from '../fixtures/notify.ts';
import { readRequest } from '../fixtures/read.ts';
import { writeRequest } from '../fixtures/write.ts';
import { requestFixtures } from '../fixtures/index.ts';

const H = { unique: 0xdeadbeefbaadf00dn, nodeid: 1n, uid: 0, gid: 0, pid: 1 };

function expectError(frame: Buffer, kind: ProtocolErrorKind, errno: number, opts?: DecodeOptions, withHeader = true): ProtocolError {
  let caught: unknown;
  try {
    decodeRequest(frame, opts);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${kind}, but the frame decoded`);
  assert.ok(caught instanceof ProtocolError, `expected ProtocolError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.equal(caught.errno, errno);
  if (withHeader) assert.ok(headerOf(caught) !== undefined, 'header not attached');
  return caught;
}

/** A copy of `bytes` with `edit` applied and the len field set to the new size. */
function frameOf(bytes: number[] | Buffer, edit: (b: Buffer) => Buffer = (b) => b): Buffer {
  const b = edit(Buffer.from(bytes));
  b.writeUInt32LE(b.length, 0);
  return b;
}

describe('bad input: header and length', () => {
  test('frames shorter than fuse_in_header', () => {
    for (let n = 0; n < 40; n++) expectError(Buffer.from(lookupRequest.bytes).subarray(0, n), 'short-header', Errno.EINVAL, {}, false);
  });
  test('len field larger than the frame (truncated frame)', () => {
    const f = Buffer.from(lookupRequest.bytes).subarray(0, 44);
    expectError(f, 'bad-length', Errno.EINVAL, {}, false);
  });
  test('len field smaller than the frame (too-long frame)', () => {
    const f = Buffer.concat([Buffer.from(lookupRequest.bytes), Buffer.alloc(8)]);
    expectError(f, 'bad-length', Errno.EINVAL, {}, false);
  });
  test('len field 0 and 0xffffffff', () => {
    for (const len of [0, 0xffffffff]) {
      const f = Buffer.from(readRequest.bytes);
      f.writeUInt32LE(len, 0);
      expectError(f, 'bad-length', Errno.EINVAL, {}, false);
    }
  });
  test('every fixture truncated at every body offset (len fixed up) fails cleanly', () => {
    for (const fx of requestFixtures) {
      for (let n = 40; n < fx.bytes.length; n++) {
        const f = frameOf(Buffer.from(fx.bytes).subarray(0, n));
        if (fx.expect.header.totalExtlen > 0) f.writeUInt16LE(0, 36); // keep the truncation in the body
        try {
          decodeRequest(f, fx.opts);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `${fx.name} cut at ${n}: ${String(e)}`);
          assert.equal(e.errno, Errno.EINVAL, `${fx.name} cut at ${n}: ${e.message}`);
        }
      }
    }
  });
});

describe('bad input: opcodes', () => {
  for (const opcode of [0, 7, 19, 54, 100, 4095, 4097, 0x7fffffff, 0xffffffff]) {
    test(`unknown opcode ${opcode} → ENOSYS`, () => {
      const f = Buffer.from(lookupRequest.bytes);
      f.writeUInt32LE(opcode, 4);
      const e = expectError(f, 'unknown-opcode', Errno.ENOSYS);
      assert.equal(headerOf(e)?.unique, 0xdeadbeefbaadf00dn);
    });
  }
  test('the byte-swapped INIT sentinels are unknown opcodes', () => {
    for (const opcode of [436207616, 1048576]) {
      const f = Buffer.from(lookupRequest.bytes);
      f.writeUInt32LE(opcode, 4);
      expectError(f, 'unknown-opcode', Errno.ENOSYS);
    }
  });
});

describe('bad input: names and bodies', () => {
  test('LOOKUP name without NUL', () => {
    expectError(frameOf(encodeRequest(H, 'lookup', { name: 'hello' }), (b) => b.subarray(0, b.length - 1)), 'missing-nul', Errno.EINVAL);
  });
  test('LOOKUP with an empty body', () => {
    expectError(frameOf(encodeRequest(H, 'lookup', { name: '' }), (b) => b.subarray(0, 40)), 'missing-nul', Errno.EINVAL);
  });
  test('SYMLINK without the target NUL', () => {
    const f = frameOf(encodeRequest(H, 'symlink', { name: 'l', target: 't' }), (b) => b.subarray(0, b.length - 1));
    expectError(f, 'missing-nul', Errno.EINVAL);
  });
  test('RENAME with one name only', () => {
    const f = frameOf(encodeRequest(H, 'rename', { newdir: 1n, flags: 0, name: 'a', newname: '' }), (b) => b.subarray(0, b.length - 1));
    expectError(f, 'missing-nul', Errno.EINVAL);
  });
  test('RENAME2 with an 8-byte (RENAME) struct', () => {
    const f = Buffer.from(encodeRequest(H, 'rename', { newdir: 1n, flags: 0, name: '', newname: '' }));
    f.writeUInt32LE(45, 4); // 50 bytes: a 10-byte body cannot hold fuse_rename2_in
    expectError(f, 'short-body', Errno.EINVAL);
  });
  test('WRITE size larger than the data', () => {
    const f = Buffer.from(writeRequest.bytes);
    f.writeUInt32LE(5, 56);
    expectError(f, 'bad-length', Errno.EINVAL);
  });
  test('WRITE size smaller than the data', () => {
    const f = Buffer.from(writeRequest.bytes);
    f.writeUInt32LE(3, 56);
    expectError(f, 'bad-length', Errno.EINVAL);
  });
  test('WRITE with a huge size', () => {
    const f = Buffer.from(writeRequest.bytes);
    f.writeUInt32LE(0xffffffff, 56);
    expectError(f, 'bad-length', Errno.EINVAL);
  });
  test('SETXATTR value size beyond the frame', () => {
    const f = encodeRequest(H, 'setxattr', { size: 1000, flags: 0, setxattrFlags: 0, name: 'user.x', value: 'v' });
    expectError(f, 'short-body', Errno.EINVAL);
  });
  test('SETXATTR_EXT frame decoded without SETXATTR_EXT keeps going; the reverse is short', () => {
    const compat = encodeRequest(H, 'setxattr', { size: 0, flags: 0, setxattrFlags: 0, name: '', value: '' });
    expectError(compat, 'short-body', Errno.EINVAL, { setxattrExt: true });
  });
  test('BATCH_FORGET count overflow', () => {
    for (const count of [3, 1000, 0x10000000, 0xffffffff]) {
      const f = Buffer.from(batchForgetRequest.bytes);
      f.writeUInt32LE(count, 40);
      expectError(f, 'short-body', Errno.EINVAL);
    }
  });
  test('REMOVEMAPPING count overflow', () => {
    const f = encodeRequest(H, 'removemapping', { mappings: [{ moffset: 0, len: 4096 }] });
    f.writeUInt32LE(0xffffffff, 40);
    expectError(f, 'short-body', Errno.EINVAL);
  });
  test('INIT shorter than the 16-byte 7.x fuse_init_in', () => {
    const f = frameOf(encodeRequest(H, 'init', { major: 7, minor: 45, maxReadahead: 0, flags: 0n }), (b) => b.subarray(0, 52));
    expectError(f, 'short-body', Errno.EINVAL);
  });
  for (const op of ['getattr', 'setattr', 'read', 'write', 'release', 'flush', 'getlk', 'ioctl', 'poll', 'statx', 'copy_file_range', 'notify_reply'] as const) {
    test(`${op} with a header only`, () => {
      const f = Buffer.from(lookupRequest.bytes).subarray(0, 40);
      f.writeUInt32LE(40, 0);
      f.writeUInt32LE(requestFixtures.find((x) => x.op === op)!.expect.header.opcode, 4);
      expectError(Buffer.from(f), 'short-body', Errno.EINVAL);
    });
  }
});

describe('bad input: request extensions', () => {
  const base = Buffer.from(createExtRequest.bytes);
  const extStart = base.length - 56;
  test('total_extlen larger than the frame', () => {
    const f = Buffer.from(base);
    f.writeUInt16LE(0xffff, 36);
    expectError(f, 'bad-extension', Errno.EINVAL);
  });
  test('total_extlen cutting into the body', () => {
    const f = Buffer.from(base);
    f.writeUInt16LE(8, 36); // 64 bytes: leaves 10 bytes for the 16-byte fuse_create_in
    expectError(f, 'short-body', Errno.EINVAL);
  });
  test('total_extlen one unit too small (extension area starts mid-record)', () => {
    const f = Buffer.from(base);
    f.writeUInt16LE(6, 36); // the name's NUL is now followed by bytes of the secctx record
    assert.throws(() => decodeRequest(f), (e: unknown) => e instanceof ProtocolError && e.errno === Errno.EINVAL);
  });
  test('extension size 0, unaligned, or past the area', () => {
    for (const size of [0, 4, 12, 41, 48, 0xfffffff8]) {
      const f = Buffer.from(base);
      f.writeUInt32LE(size, extStart);
      expectError(f, 'bad-extension', Errno.EINVAL);
    }
  });
  test('supplementary-groups count overflow', () => {
    const f = Buffer.from(base);
    f.writeUInt32LE(0x40000000, extStart + 48);
    expectError(f, 'bad-extension', Errno.EINVAL);
  });
  test('security context value past its extension', () => {
    const f = Buffer.from(base);
    f.writeUInt32LE(100, extStart + 8);
    expectError(f, 'bad-extension', Errno.EINVAL);
  });
  test('security context count past its extension', () => {
    const f = Buffer.from(base);
    f.writeUInt32LE(5, extStart + 4);
    expectError(f, 'bad-extension', Errno.EINVAL);
  });
  test('truncated extension header', () => {
    const f = encodeRequest(H, 'mkdir', { mode: 0o755, umask: 0, name: 'd' }, { ext: { groups: [] } });
    // Last 8 bytes: a valid empty area would be one 16-byte extension; claim a 1-unit area with a 16-byte header.
    f.writeUInt16LE(1, 36);
    expectError(f, 'bad-extension', Errno.EINVAL);
  });
});

describe('bad input: offsets at or beyond 2^53 → EFBIG', () => {
  const TWO53 = 2n ** 53n;
  test('READ offset 2^53 and 2^64-1', () => {
    for (const off of [TWO53, 2n ** 64n - 1n]) {
      const f = Buffer.from(readRequest.bytes);
      f.writeBigUInt64LE(off, 48);
      expectError(f, 'offset-range', Errno.EFBIG);
    }
  });
  test('READ offset 2^53 - 1 is fine', () => {
    const f = Buffer.from(readRequest.bytes);
    f.writeBigUInt64LE(TWO53 - 1n, 48);
    assert.equal((decodeRequest(f).body as { offset: number }).offset, Number.MAX_SAFE_INTEGER);
  });
  test('WRITE offset', () => {
    const f = Buffer.from(writeRequest.bytes);
    f.writeBigUInt64LE(TWO53, 48);
    expectError(f, 'offset-range', Errno.EFBIG);
  });
  test('FALLOCATE length, COPY_FILE_RANGE off_out/len, SETUPMAPPING moffset, NOTIFY_REPLY offset', () => {
    const cases: [Buffer, number][] = [
      [encodeRequest(H, 'fallocate', { fh: 1n, offset: 0, length: 0, mode: 0 }), 56],
      [encodeRequest(H, 'copy_file_range', { fhIn: 1n, offIn: 0, nodeidOut: 2n, fhOut: 3n, offOut: 0, len: 0, flags: 0n }), 72],
      [encodeRequest(H, 'copy_file_range_64', { fhIn: 1n, offIn: 0, nodeidOut: 2n, fhOut: 3n, offOut: 0, len: 0, flags: 0n }), 80],
      [encodeRequest(H, 'setupmapping', { fh: 1n, foffset: 0, len: 0, flags: 0, moffset: 0 }), 72],
      [encodeRequest(H, 'notify_reply', { offset: 0, size: 0, data: Buffer.alloc(0) }), 48],
      [encodeRequest(H, 'setattr', {
        valid: 8, fh: 0n, size: 0, lockOwner: 0n, atime: 0, mtime: 0, ctime: 0, atimensec: 0, mtimensec: 0, ctimensec: 0,
        mode: 0, uid: 0, gid: 0,
      }), 56],
    ];
    for (const [f, at] of cases) {
      f.writeBigUInt64LE(TWO53 + 5n, at);
      expectError(f, 'offset-range', Errno.EFBIG);
    }
  });
  test('LSEEK offset beyond ±2^53', () => {
    for (const off of [TWO53, -TWO53 - 1n]) {
      const f = encodeRequest(H, 'lseek', { fh: 1n, offset: 0, whence: 0 });
      f.writeBigInt64LE(off, 48);
      expectError(f, 'offset-range', Errno.EFBIG);
    }
  });
});

describe('bad replies (client side)', () => {
  test('wrong fixed size, len mismatch, error with payload, positive error', () => {
    const good = Buffer.from(getattrReply.bytes);
    const bad: Buffer[] = [];
    const short = Buffer.from(good.subarray(0, good.length - 8));
    short.writeUInt32LE(short.length, 0);
    bad.push(short);
    bad.push(Buffer.concat([good, Buffer.alloc(8)]));
    const errWithBody = Buffer.from(good);
    errWithBody.writeInt32LE(-2, 4);
    bad.push(errWithBody);
    const positive = Buffer.from(good.subarray(0, 16));
    positive.writeUInt32LE(16, 0);
    positive.writeInt32LE(5, 4);
    bad.push(positive);
    const tooNegative = Buffer.from(positive);
    tooNegative.writeInt32LE(-1000, 4);
    bad.push(tooNegative);
    for (const f of bad) {
      assert.throws(() => decodeReply('getattr', f), (e: unknown) => e instanceof ProtocolError && e.kind === 'bad-reply');
    }
  });
  test('notification with a bad name length', () => {
    const f = Buffer.from(notifyInvalEntry.bytes);
    f.writeUInt32LE(9, 24);
    assert.throws(() => decodeNotification(f), (e: unknown) => e instanceof ProtocolError && e.kind === 'bad-reply');
  });
});
