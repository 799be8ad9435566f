/**
 * Golden-byte tests: every fixture in test/fixtures drives three tests —
 * decode (fields equal the expected object), encode (our encoder, or the client
 * encoder for requests, produces the same bytes) and round trip (decode, then
 * encode, gives the bytes back). Bytes are compared as hex, 8 bytes per line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotifyCode } from '../../src/protocol/abi.ts';
import { decodeNotification, decodeReply, encodeRequest } from '../../src/protocol/client.ts';
import { decodeRequest } from '../../src/protocol/decode.ts';
import { ALL_OPCODES } from '../../src/protocol/opcodes.ts';
import { notifyFixtures, replyFixtures, requestFixtures } from '../fixtures/index.ts';
import { hex, norm, reencodeNotification, reencodeReply } from './helpers.ts';

describe('golden requests', () => {
  for (const f of requestFixtures) {
    const frame = Buffer.from(f.bytes);
    const encOpts = { setxattrExt: f.opts?.setxattrExt === true, ...(f.expect.ext ? { ext: f.expect.ext } : {}) };
    test(`${f.name}: decode`, () => {
      const req = decodeRequest(frame, f.opts);
      assert.deepEqual(norm(req), norm({ op: f.op, ...f.expect }));
    });
    test(`${f.name}: encode`, () => {
      const out = encodeRequest(f.expect.header, f.op, f.expect.body as never, encOpts);
      assert.equal(hex(out), hex(f.bytes));
    });
    test(`${f.name}: round trip`, () => {
      const req = decodeRequest(frame, f.opts);
      const out = encodeRequest(req.header, req.op, req.body as never, { ...encOpts, ...(req.ext ? { ext: req.ext } : {}) });
      assert.equal(hex(out), hex(f.bytes));
    });
  }
});

describe('golden replies', () => {
  for (const f of replyFixtures) {
    const frame = Buffer.from(f.bytes);
    const opts = f.requestSize !== undefined ? { requestSize: f.requestSize } : {};
    test(`${f.name}: decode`, () => {
      assert.deepEqual(norm(decodeReply(f.op, frame, opts)), norm({ ...f.expect, len: f.bytes.length }));
    });
    test(`${f.name}: encode`, () => {
      assert.equal(hex([f.encode()].flat()), hex(f.bytes));
    });
    test(`${f.name}: round trip`, () => {
      assert.equal(hex([reencodeReply(f.op, decodeReply(f.op, frame, opts))].flat()), hex(f.bytes));
    });
  }
});

describe('golden notifications', () => {
  for (const f of notifyFixtures) {
    const frame = Buffer.from(f.bytes);
    test(`${f.name}: decode`, () => {
      assert.deepEqual(norm(decodeNotification(frame)), norm(f.expect));
    });
    test(`${f.name}: encode`, () => {
      assert.equal(hex(f.encode()), hex(f.bytes));
    });
    test(`${f.name}: round trip`, () => {
      assert.equal(hex(reencodeNotification(decodeNotification(frame))), hex(f.bytes));
    });
  }
});

describe('golden requests: layouts the encoder does not produce', () => {
  test('INIT from a pre-7.36 kernel: 16-byte fuse_init_in, no flags2', () => {
    const frame = Buffer.from([
      0x38, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, // len 56, opcode INIT (26)
      0x0d, 0xf0, 0xad, 0xba, 0xef, 0xbe, 0xad, 0xde, // unique
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // nodeid 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // uid 0, gid 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // pid 0, total_extlen 0, padding
      0x07, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, // major 7, minor 31
      0x00, 0x00, 0x02, 0x00, 0xfb, 0xff, 0xff, 0x03, // max_readahead 0x20000, flags 0x03fffffb
    ]);
    const req = decodeRequest(frame);
    assert.deepEqual(req.body, { major: 7, minor: 31, maxReadahead: 0x20000, flags: 0x03fffffbn });
  });
});

describe('golden replies: structs without an encoder', () => {
  test('CUSE_INIT reply: cuse_init_out (72 bytes) + device info', () => {
    const frame = Buffer.from([
      0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // len 101, error 0
      0x0d, 0xf0, 0xad, 0xba, 0xef, 0xbe, 0xad, 0xde, // unique
      0x07, 0x00, 0x00, 0x00, 0x2d, 0x00, 0x00, 0x00, // major 7, minor 45
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // unused, flags CUSE_UNRESTRICTED_IOCTL
      0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, // max_read 0x20000, max_write 0x20000
      0xf0, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // dev_major 240, dev_minor 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // spare[0..1]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // spare[2..3]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // spare[4..5]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // spare[6..7]
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // spare[8..9]
      0x44, 0x45, 0x56, 0x4e, 0x41, 0x4d, 0x45, 0x3d, // "DEVNAME=…
      0x63, 0x75, 0x73, 0x65, 0x00, //                   …cuse\0"
    ]);
    assert.deepEqual(norm(decodeReply('cuse_init', frame)), norm({
      unique: 0xdeadbeefbaadf00dn, error: 0, len: 101,
      body: { major: 7, minor: 45, flags: 1, maxRead: 0x20000, maxWrite: 0x20000, devMajor: 240, devMinor: 1, devInfo: Buffer.from('DEVNAME=cuse\0') },
    }));
  });
  test('no-reply ops refuse a reply', () => {
    const f = Buffer.from([0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    for (const op of ['forget', 'batch_forget', 'notify_reply'] as const) assert.throws(() => decodeReply(op, f), /gets no reply/);
  });
});

describe('fixture coverage', () => {
  test('every opcode has a request fixture', () => {
    const seen = new Set(requestFixtures.map((f) => f.expect.header.opcode));
    const missing = ALL_OPCODES.filter((op) => !seen.has(op));
    assert.deepEqual(missing, []);
    assert.equal(ALL_OPCODES.length, 52); // opcodes 1..53 without the unused 7 and 19, + CUSE_INIT
  });
  test('every notification code has a fixture', () => {
    const seen = new Set(notifyFixtures.map((f) => f.expect.code));
    assert.deepEqual(Object.values(NotifyCode).filter((c) => !seen.has(c)), []);
  });
  test('every reply struct has a fixture', () => {
    const ops = new Set(replyFixtures.map((f) => f.op));
    for (const op of ['lookup', 'getattr', 'open', 'create', 'write', 'statfs', 'getxattr', 'getlk', 'init', 'bmap',
      'ioctl', 'poll', 'lseek', 'statx', 'copy_file_range', 'copy_file_range_64', 'readdir', 'readdirplus'] as const) {
      assert.ok(ops.has(op), `no reply fixture for ${op}`);
    }
  });
  test('every frame is as long as its len field says', () => {
    for (const f of [...requestFixtures, ...replyFixtures, ...notifyFixtures]) {
      assert.equal(Buffer.from(f.bytes).readUInt32LE(0), f.bytes.length, f.name);
    }
  });
});
