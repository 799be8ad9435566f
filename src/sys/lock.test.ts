import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AT, O, close, openat } from './fd.ts';
import { F, LOCK, flock, ofdGetlk, ofdSetlk, ofdSetlkWait } from './lock.ts';
import { tmp } from '../../test/helpers/tmp.ts';

const open = (f: string): number => openat(AT.FDCWD, f, O.RDWR | O.CLOEXEC);

test('OFD locks conflict between two descriptions of one file', async (t) => {
  const f = path.join(tmp(t), 'f');
  fs.writeFileSync(f, 'x'.repeat(100));
  const a = open(f);
  const b = open(f);
  try {
    ofdSetlk(a, { type: F.WRLCK, start: 10, len: 10 });
    // Same description: no conflict with itself.
    assert.equal(ofdGetlk(a, { type: F.WRLCK, start: 0, len: 0 }).type, F.UNLCK);
    const c = ofdGetlk(b, { type: F.RDLCK, start: 0, len: 0 });
    assert.deepEqual(c, { type: F.WRLCK, start: 10, len: 10, pid: -1 });
    assert.throws(() => ofdSetlk(b, { type: F.RDLCK, start: 15, len: 1 }), { code: 'EAGAIN' });
    ofdSetlk(b, { type: F.WRLCK, start: 20, len: 5 }); // adjacent range is free
    // A waiter gets the lock once the holder lets go.
    const t0 = Date.now();
    const waiting = ofdSetlkWait(b, { type: F.WRLCK, start: 0, len: 0 });
    setTimeout(() => ofdSetlk(a, { type: F.UNLCK, start: 0, len: 0 }), 50);
    await waiting;
    const waited = Date.now() - t0;
    assert.ok(waited >= 45 && waited < 2000, `waited ${waited} ms`);
    assert.deepEqual(ofdGetlk(a, { type: F.RDLCK, start: 0, len: 0 }), { type: F.WRLCK, start: 0, len: 0, pid: -1 });
    // Abort rejects with EINTR and leaves no lock behind.
    const ac = new AbortController();
    const p = ofdSetlkWait(a, { type: F.RDLCK, start: 0, len: 1 }, ac.signal);
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(p, { code: 'EINTR', errno: -os.constants.errno.EINTR });
    await assert.rejects(ofdSetlkWait(a, { type: F.RDLCK, start: 0, len: 1 }, AbortSignal.abort()), { code: 'EINTR' });
    assert.throws(() => ofdSetlk(a, { type: 99, start: 0, len: 1 }), { code: 'EINVAL' });
  } finally {
    close(a);
    close(b);
  }
  // Closing a description releases its locks.
  const d = open(f);
  try {
    assert.equal(ofdGetlk(d, { type: F.WRLCK, start: 0, len: 0 }).type, F.UNLCK);
  } finally {
    close(d);
  }
});

async function pythonLocker(t: { after(fn: () => void): void }, file: string): Promise<ChildProcess> {
  const script = [
    'import fcntl, os, sys',
    `f = open(${JSON.stringify(file)}, "r+")`,
    'fcntl.lockf(f, fcntl.LOCK_EX, 10, 5)', // bytes 5..14
    'print("locked", os.getpid(), flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let line = '';
  child.stdout!.setEncoding('utf8');
  while (!line.includes('\n')) line += ((await once(child.stdout!, 'data')) as [string])[0];
  assert.match(line, /^locked \d+\n/);
  return child;
}

test('OFD locks conflict with a POSIX lock held by another process (python fcntl.lockf)', { timeout: 20_000 }, async (t) => {
  const f = path.join(tmp(t), 'f');
  fs.writeFileSync(f, 'x'.repeat(100));
  const child = await pythonLocker(t, f);
  const fd = open(f);
  try {
    const c = ofdGetlk(fd, { type: F.RDLCK, start: 0, len: 0 });
    assert.deepEqual(c, { type: F.WRLCK, start: 5, len: 10, pid: child.pid });
    assert.throws(() => ofdSetlk(fd, { type: F.WRLCK, start: 14, len: 1 }), { code: 'EAGAIN' });
    ofdSetlk(fd, { type: F.WRLCK, start: 15, len: 10 });
    const got = ofdSetlkWait(fd, { type: F.WRLCK, start: 0, len: 10 });
    child.stdin!.end(); // python exits and drops its lock
    await got;
    // Now the other way round: python cannot lock what we hold.
    const r = spawn('python3', ['-c', `import fcntl\nf=open(${JSON.stringify(f)},"r+")\ntry:\n fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB, 1, 3)\n print("got")\nexcept OSError as e:\n print("busy", e.errno)`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    r.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    await once(r, 'close');
    assert.equal(out.trim(), `busy ${os.constants.errno.EAGAIN}`);
  } finally {
    close(fd);
  }
});

test('flock: exclusive vs shared across descriptions', (t) => {
  const f = path.join(tmp(t), 'f');
  fs.writeFileSync(f, '');
  const a = open(f);
  const b = open(f);
  try {
    flock(a, LOCK.SH | LOCK.NB);
    flock(b, LOCK.SH | LOCK.NB);
    assert.throws(() => flock(b, LOCK.EX | LOCK.NB), { code: 'EAGAIN', syscall: 'flock' });
    flock(a, LOCK.UN);
    flock(b, LOCK.EX | LOCK.NB);
    assert.throws(() => flock(a, LOCK.SH | LOCK.NB), { code: 'EAGAIN' });
  } finally {
    close(a);
    close(b);
  }
});
