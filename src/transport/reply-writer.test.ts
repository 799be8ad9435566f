/** The reply thread, against a plain file standing in for /dev/fuse (no device needed). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ReplyWriter } from './reply-writer.ts';

/** A frame of `n` bytes: a 4-byte sequence number, then the number's low byte repeated. */
function frame(seq: number, n: number): Buffer[] {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(seq);
  return [head, Buffer.alloc(n - 4, seq & 0xff)];
}

/** A fresh file opened for appending (the writer's fd), removed after the test. */
function output(t: { after(fn: () => void): void }): { file: string; fd: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusekit-rw-'));
  const file = path.join(dir, 'out');
  const fd = fs.openSync(file, 'a');
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { file, fd };
}

async function started(w: ReplyWriter): Promise<void> {
  for (let i = 0; i < 2000 && !w.ready; i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(w.ready, 'the writer thread came up');
}

/** Split the file back into frames of `n` bytes and check each one's body. */
function framesIn(file: string, n: number): number[] {
  const all = fs.readFileSync(file);
  assert.equal(all.length % n, 0, `the file holds whole ${n}-byte frames`);
  const seqs: number[] = [];
  for (let off = 0; off < all.length; off += n) {
    const seq = all.readUInt32LE(off);
    for (let i = off + 4; i < off + n; i++) assert.equal(all[i], seq & 0xff, `frame ${seq} body intact`);
    seqs.push(seq);
  }
  return seqs;
}

test('queued frames are written whole and in order, through many wraps of a small ring', async (t) => {
  const { file, fd } = output(t);
  const w = new ReplyWriter({ slots: 8, slotSize: 256 });
  await started(w);
  w.spin(true);
  const inline: number[] = [];
  for (let seq = 0; seq < 2000; seq++) {
    if (!w.send(fd, frame(seq, 100))) {
      // Ring full: the transport writes inline; here we wait for room instead, to keep order testable.
      inline.push(seq);
      while (!w.send(fd, frame(seq, 100))) await new Promise((r) => setImmediate(r));
    }
  }
  await w.close();
  assert.deepEqual(framesIn(file, 100), Array.from({ length: 2000 }, (_, i) => i));
  assert.ok(inline.length > 0, 'an 8-slot ring filled up at least once (the full-ring path ran)');
});

test('a frame larger than a slot is refused, so the caller writes it inline', async (t) => {
  const { file, fd } = output(t);
  const w = new ReplyWriter({ slots: 4, slotSize: 128 });
  await started(w);
  assert.equal(w.send(fd, frame(1, 129)), false);
  assert.equal(w.send(fd, frame(2, 128)), true);
  await w.close();
  assert.deepEqual(framesIn(file, 128), [2]);
});

test('a sleeping writer is woken by a send, and close() waits for what was queued', async (t) => {
  const { file, fd } = output(t);
  const w = new ReplyWriter({ slots: 16, slotSize: 64 });
  await started(w);
  w.spin(false); // asleep on its futex
  await new Promise((r) => setTimeout(r, 20));
  for (let seq = 0; seq < 10; seq++) assert.ok(w.send(fd, frame(seq, 64)));
  await w.close();
  assert.deepEqual(framesIn(file, 64), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(w.send(fd, frame(99, 64)), false, 'a closed writer takes nothing');
});

test('a queued write that fails reports its errno to that frame\'s onFail, and only to it', async (t) => {
  const { file, fd: good } = output(t);
  const readOnly = fs.openSync(file, 'r'); // write(2) on it fails with EBADF
  t.after(() => fs.closeSync(readOnly));
  const w = new ReplyWriter({ slots: 8, slotSize: 64 });
  await started(w);
  w.spin(true);
  const failures: string[] = [];
  const failed = new Promise<void>((resolve) => {
    assert.ok(w.send(good, frame(1, 32), () => failures.push('good frame')));
    assert.ok(w.send(readOnly, frame(2, 32), (e) => {
      failures.push(e.code);
      resolve();
    }));
    assert.ok(w.send(good, frame(3, 32), () => failures.push('good frame')));
  });
  // The writer thread does not keep the process alive (a transport's fd does); here a timer must.
  const alive = setInterval(() => {}, 1000);
  await failed;
  clearInterval(alive);
  await w.close();
  assert.deepEqual(failures, ['EBADF']);
  assert.deepEqual(framesIn(file, 32), [1, 3]);
});

test('slots must be a power of two', () => {
  assert.throws(() => new ReplyWriter({ slots: 6 }), /power of two/);
});
