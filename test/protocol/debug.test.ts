/** The libfuse `-d`-style trace lines, and the opcode table they draw names from. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Opcode, Size } from '../../src/protocol/abi.ts';
import { encodeRequest } from '../../src/protocol/client.ts';
import { formatReply, formatRequest, quoteName } from '../../src/protocol/debug.ts';
import { OP_NAMES, decodeRequest } from '../../src/protocol/decode.ts';
import { encodeEntryOut, encodeReply } from '../../src/protocol/encode.ts';
import { ALL_OPCODES, OPCODES, opcodeName } from '../../src/protocol/opcodes.ts';
import { requestFixtures } from '../fixtures/index.ts';
import { ENTRY_V } from '../fixtures/common.ts';

const H = { unique: 12n, nodeid: 1n, uid: 0, gid: 0, pid: 330 };

describe('formatRequest', () => {
  test('LOOKUP', () => {
    const req = decodeRequest(encodeRequest(H, 'lookup', { name: 'hello' }));
    assert.equal(formatRequest(req), 'unique: 12, opcode: LOOKUP (1), nodeid: 1, insize: 46, pid: 330  name="hello"');
  });
  test('READ shows offset, size and flags in hex', () => {
    const req = decodeRequest(encodeRequest(H, 'read', { fh: 3n, offset: 4096, size: 131072, readFlags: 0, lockOwner: 0n, flags: 0x8002 }));
    assert.equal(formatRequest(req), 'unique: 12, opcode: READ (15), nodeid: 1, insize: 80, pid: 330  fh=3 offset=4096 size=131072 flags=0x8002');
  });
  test('WRITE', () => {
    const req = decodeRequest(encodeRequest(H, 'write', { fh: 3n, offset: 10, size: 2, writeFlags: 1, lockOwner: 0n, flags: 2, data: 'hi' }));
    assert.match(formatRequest(req), /opcode: WRITE \(16\).*fh=3 offset=10 size=2 write_flags=0x1 flags=0x2$/);
  });
  test('RENAME2 is named by its opcode', () => {
    const req = decodeRequest(encodeRequest(H, 'rename', { newdir: 1n, flags: 1, name: 'a', newname: 'b' }));
    assert.match(formatRequest(req), /opcode: RENAME2 \(45\).*name="a" newdir=1 newname="b" flags=0x1/);
  });
  test('INIT shows version and 64-bit flags', () => {
    const req = decodeRequest(encodeRequest(H, 'init', { major: 7, minor: 45, maxReadahead: 0x20000, flags: 0x4ad60002001n }));
    assert.match(formatRequest(req), /opcode: INIT \(26\).*version=7\.45 max_readahead=0x20000 flags=0x4ad60002001$/);
  });
  test('extensions are shown', () => {
    const req = decodeRequest(encodeRequest(H, 'mkdir', { mode: 0o755, umask: 0o22, name: 'd' }, { ext: { groups: [5, 6] } }));
    assert.match(formatRequest(req), /name="d" mode=0755 umask=022 groups=\[5,6\]$/);
  });
  test('every fixture formats to one line', () => {
    for (const f of requestFixtures) {
      const line = formatRequest(decodeRequest(Buffer.from(f.bytes), f.opts));
      assert.ok(!line.includes('\n'), f.name);
      assert.ok(line.startsWith(`unique: ${0xdeadbeefbaadf00dn}, opcode: ${opcodeName(f.expect.header.opcode)} (`), line);
    }
  });
});

describe('quoteName', () => {
  test('printable UTF-8 passes through', () => {
    assert.equal(quoteName(Buffer.from('héllo wörld ✓ 日本')), '"héllo wörld ✓ 日本"');
  });
  test('control bytes, quotes, backslashes and invalid UTF-8 are escaped', () => {
    assert.equal(quoteName(Buffer.from([0x61, 0x0a, 0x09, 0x00, 0x1b, 0x7f, 0x22, 0x5c, 0x62])), '"a\\n\\t\\x00\\x1b\\x7f\\"\\\\b"');
    assert.equal(quoteName(Buffer.from([0xff, 0xfe, 0x61, 0xc3])), '"\\xff\\xfea\\xc3"');
    assert.equal(quoteName(Buffer.from([0xed, 0xa0, 0x80])), '"\\xed\\xa0\\x80"'); // UTF-16 surrogate in UTF-8: invalid
    assert.equal(quoteName(Buffer.from([0xc0, 0xaf])), '"\\xc0\\xaf"'); // overlong
  });
  test('invisible code points are escaped', () => {
    assert.equal(quoteName('a\u200bb\u202ec'), '"a\\u200bb\\u202ec"');
    assert.equal(quoteName('\u0085'), '"\\u0085"');
  });
});

describe('formatReply', () => {
  test('success with an iovec, with { outsize }', () => {
    const iov = encodeReply(12n, encodeEntryOut(ENTRY_V));
    assert.equal(formatReply(12n, 'lookup', iov), '   unique: 12, success, outsize: 144');
    assert.equal(formatReply(12n, 'lookup', { outsize: 144 }), '   unique: 12, success, outsize: 144');
  });
  test('errors, positive or negative errno', () => {
    assert.equal(formatReply(13n, 'lookup', 2), '   unique: 13, error: -2 (No such file or directory), outsize: 16');
    assert.equal(formatReply(13n, 'lookup', -38), '   unique: 13, error: -38 (Function not implemented), outsize: 16');
  });
});

describe('opcode table', () => {
  test('OP_NAMES is derived from OPCODES and keeps its shape', () => {
    assert.equal(Object.keys(OP_NAMES).length, ALL_OPCODES.length);
    for (const op of ALL_OPCODES) assert.equal(OP_NAMES[op], OPCODES[op].op);
    assert.equal(OP_NAMES[Opcode.RENAME2], 'rename');
    assert.equal(OP_NAMES[7], undefined);
    assert.ok(Object.isFrozen(OP_NAMES));
  });
  test('every Opcode value has a record whose name is the kernel spelling', () => {
    for (const [name, value] of Object.entries(Opcode)) assert.equal(OPCODES[value].name, name);
  });
  test('no-reply opcodes', () => {
    assert.deepEqual(ALL_OPCODES.filter((o) => OPCODES[o].noReply), [Opcode.FORGET, Opcode.NOTIFY_REPLY, Opcode.BATCH_FORGET]);
  });
  test('fixed reply sizes agree with abi.ts', () => {
    assert.equal(OPCODES[Opcode.LOOKUP].outSize, Size.ENTRY_OUT);
    assert.equal(OPCODES[Opcode.CREATE].outSize, Size.ENTRY_OUT + Size.OPEN_OUT);
    assert.equal(OPCODES[Opcode.STATX].outSize, 288);
    assert.equal(OPCODES[Opcode.COPY_FILE_RANGE_64].outSize, 8);
  });
  test('each request fixture is at least the table minimum', () => {
    for (const f of requestFixtures) {
      assert.ok(f.bytes.length - Size.IN_HEADER >= OPCODES[f.expect.header.opcode as Opcode].inSize, f.name);
    }
  });
});
