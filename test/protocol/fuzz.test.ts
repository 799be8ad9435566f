/**
 * Fuzz: ≥ 200,000 random and mutated frames into decodeRequest. Only
 * ProtocolError (with errno EINVAL, ENOSYS or EFBIG) may escape; frames that do
 * decode must also trace (formatRequest) without throwing. Mutations start from
 * the golden fixtures: bit flips, byte overwrites, truncation, extension,
 * length-field edits, total_extlen edits, random opcodes, spliced fixtures.
 * Deterministic: the seed is printed; set FUSEKIT_FUZZ_SEED to replay one.
 * Replies and notifications get a smaller run through the client decoders.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errno, ProtocolError } from '../../src/errors.ts';
import { decodeNotification, decodeReply } from '../../src/protocol/client.ts';
import { formatRequest } from '../../src/protocol/debug.ts';
import { decodeRequest } from '../../src/protocol/decode.ts';
import { ALL_OPCODES } from '../../src/protocol/opcodes.ts';
import { notifyFixtures, replyFixtures, requestFixtures } from '../fixtures/index.ts';
import { prng } from './helpers.ts';

const SEED = Number(process.env.FUSEKIT_FUZZ_SEED ?? 0x5eed2026) >>> 0;
const REQUEST_FRAMES = 220_000;
const REPLY_FRAMES = 40_000;
const ALLOWED = new Set([Errno.EINVAL, Errno.ENOSYS, Errno.EFBIG]);

function mutate(rand: () => number, seeds: Buffer[]): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  let f = Buffer.from(seeds[int(seeds.length)]!);
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (int(10)) {
      case 0: { // bit flips
        for (let i = 0, n = 1 + int(4); i < n && f.length > 0; i++) f[int(f.length)]! ^= 1 << int(8);
        break;
      }
      case 1: { // byte overwrites with interesting values
        const vals = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x2f];
        for (let i = 0, n = 1 + int(4); i < n && f.length > 0; i++) f[int(f.length)] = vals[int(vals.length)]!;
        break;
      }
      case 2: f = f.subarray(0, int(f.length + 1)); break; // truncation
      case 3: f = Buffer.concat([f, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]); break; // extension
      case 4: if (f.length >= 8) f.writeUInt32LE(ALL_OPCODES[int(ALL_OPCODES.length)]!, 4); break; // another op's body
      case 5: if (f.length >= 8) f.writeUInt32LE(int(2) === 0 ? int(70) : int(0x100000000), 4); break; // random opcode
      case 6: if (f.length >= 38) f.writeUInt16LE(int(2) === 0 ? int(16) : int(0x10000), 36); break; // total_extlen
      case 7: { // 32/64-bit field at a random aligned offset set to an edge value
        if (f.length < 48) break;
        const at = 40 + 4 * int((f.length - 44) / 4);
        const edges = [0, 1, 0xffffffff, 0x7fffffff, 0x200000, 0x1fffff];
        f.writeUInt32LE(edges[int(edges.length)]!, at);
        break;
      }
      case 8: { // splice the tail of another fixture
        const o = seeds[int(seeds.length)]!;
        f = Buffer.concat([f.subarray(0, int(f.length + 1)), o.subarray(int(o.length + 1))]);
        break;
      }
      case 9: if (f.length >= 4) f.writeUInt32LE(int(0x100000000), 0); break; // random len
    }
  }
  // Mostly fix the len field up, so the frame gets past the header check.
  if (f.length >= 4 && rand() < 0.85) f.writeUInt32LE(f.length, 0);
  return f;
}

function randomFrame(rand: () => number): Buffer {
  const n = Math.floor(rand() * 200);
  const f = Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
  if (n >= 8) {
    f.writeUInt32LE(n, 0);
    f.writeUInt32LE(ALL_OPCODES[Math.floor(rand() * ALL_OPCODES.length)]!, 4);
  }
  if (n >= 38 && rand() < 0.7) f.writeUInt16LE(0, 36);
  return f;
}

test(`fuzz decodeRequest: ${REQUEST_FRAMES} frames (seed ${SEED}; replay with FUSEKIT_FUZZ_SEED=${SEED})`, (t) => {
  t.diagnostic(`seed ${SEED}`);
  console.log(`fuzz seed ${SEED}`);
  const rand = prng(SEED);
  const seeds = requestFixtures.map((f) => Buffer.from(f.bytes));
  const outcomes = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < REQUEST_FRAMES; i++) {
    const frame = i % 10 === 0 ? randomFrame(rand) : mutate(rand, seeds);
    const opts = { setxattrExt: rand() < 0.5 };
    let outcome: string;
    try {
      const req = decodeRequest(frame, opts);
      formatRequest(req);
      outcome = 'decoded';
    } catch (e) {
      if (!(e instanceof ProtocolError)) {
        assert.fail(`frame #${i} (seed ${SEED}) threw ${String(e)}\n${frame.toString('hex')}`);
      }
      if (!ALLOWED.has(e.errno)) assert.fail(`frame #${i}: errno ${e.errno} for ${e.message}`);
      outcome = e.kind;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  const ms = performance.now() - start;
  const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  t.diagnostic(`${REQUEST_FRAMES} frames in ${ms.toFixed(0)} ms: ${summary}`);
  assert.ok((outcomes.get('decoded') ?? 0) > REQUEST_FRAMES / 20, `too few frames decoded: ${summary}`);
});

test(`fuzz decodeReply/decodeNotification: ${REPLY_FRAMES} frames (seed ${SEED})`, () => {
  const rand = prng(SEED ^ 0x9e3779b9);
  const fx = [...replyFixtures, ...notifyFixtures];
  const seeds = fx.map((f) => Buffer.from(f.bytes));
  const ops = replyFixtures.map((f) => f.op);
  for (let i = 0; i < REPLY_FRAMES; i++) {
    const frame = mutate(rand, seeds);
    try {
      if (frame.length >= 16 && frame.readBigUInt64LE(8) === 0n) decodeNotification(frame);
      else decodeReply(ops[Math.floor(rand() * ops.length)]!, frame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) assert.fail(`reply frame #${i} threw ${String(e)}\n${frame.toString('hex')}`);
    }
  }
});
