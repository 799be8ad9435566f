/**
 * Locks through `fusekit share`: python fcntl.lockf / fcntl.flock in two
 * processes, one on the host and one on the mount, both directions; two
 * mounts of one directory; GETLK's range and type; SETLKW cancelled by a
 * signal (INTERRUPT → EINTR) without wedging the server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SKIP_MOUNT, sleep, startServer, withServer } from '../helpers/mount.ts';
import { tmp } from '../helpers/tmp.ts';
import { ok, sh } from './share-sh.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);

/** Hold a lock on `file` for `ms`, printing "locked" once taken. */
function holder(file: string, kind: 'lockf' | 'flock', ms: number): string {
  const take = kind === 'lockf' ? `fcntl.lockf(f, fcntl.LOCK_EX, 10, 5)` : `fcntl.flock(f, fcntl.LOCK_EX)`;
  return `python3 -c "
import fcntl, time, sys
f = open('${file}', 'r+'); ${take}; print('locked', flush=True); time.sleep(${ms / 1000})
"`;
}

/** Try a conflicting non-blocking lock; prints EAGAIN or granted. */
function tryer(file: string, kind: 'lockf' | 'flock'): string {
  const take = kind === 'lockf' ? `fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 12)` : `fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)`;
  return `python3 -c "
import fcntl
f = open('${file}', 'r+')
try:
    ${take}; print('granted')
except OSError as e:
    print('EAGAIN' if e.errno in (11,) else e.errno)
"`;
}

async function waitLocked(p: Promise<unknown>, out: () => string): Promise<void> {
  for (let i = 0; i < 200 && !out().includes('locked'); i++) await sleep(10);
  void p;
}

async function conflict(holdPath: string, tryPath: string, kind: 'lockf' | 'flock'): Promise<[string, string]> {
  let out = '';
  const { spawn } = await import('node:child_process');
  const h = spawn('bash', ['-c', holder(holdPath, kind, 1500)], { stdio: ['ignore', 'pipe', 'inherit'] });
  h.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise((r) => h.on('close', r));
  await waitLocked(done, () => out);
  assert.match(out, /locked/, 'holder took its lock');
  const during = (await ok(tryer(tryPath, kind))).trim();
  await done;
  const after = (await ok(tryer(tryPath, kind))).trim();
  return [during, after];
}

/** A private source directory holding `f` (100 bytes), removed when the test ends. */
function lockTree(t: { after(fn: () => void): void }): string {
  const src = path.join(tmp(t, 'fusekit-lk-'), 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'f'), 'x'.repeat(100));
  return src;
}

test('lockf and flock conflict between the host and the mount, both directions', { skip, timeout: 60_000 }, async (t) => {
  const src = lockTree(t);
  await withServer(['share', src, '{mnt}'], async (s) => {
    const host = path.join(src, 'f');
    const mnt = path.join(s.mountpoint, 'f');
    for (const kind of ['lockf', 'flock'] as const) {
      assert.deepEqual(await conflict(host, mnt, kind), ['EAGAIN', 'granted'], `${kind}: host holds, mount tries`);
      assert.deepEqual(await conflict(mnt, host, kind), ['EAGAIN', 'granted'], `${kind}: mount holds, host tries`);
    }
  });
});

test('two mounts of one directory see each other\'s locks', { skip, timeout: 60_000 }, async (t) => {
  const src = lockTree(t);
  const a = await startServer(['share', src, '{mnt}']);
  try {
    const b = await startServer(['share', src, '{mnt}']);
    try {
      for (const kind of ['lockf', 'flock'] as const) {
        assert.deepEqual(await conflict(path.join(a.mountpoint, 'f'), path.join(b.mountpoint, 'f'), kind), ['EAGAIN', 'granted'], kind);
      }
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
  }
});

test('GETLK reports the conflicting range and type; SETLKW is cancelled by a signal', { skip, timeout: 60_000 }, async (t) => {
  const src = lockTree(t);
  await withServer(['share', src, '{mnt}'], async (s) => {
    const host = path.join(src, 'f');
    const mnt = path.join(s.mountpoint, 'f');
    const { spawn } = await import('node:child_process');
    // Host holds a read lock on [10, 15).
    let out = '';
    const h = spawn('python3', ['-c', `
import fcntl, time
f = open('${host}', 'r+'); fcntl.lockf(f, fcntl.LOCK_SH, 5, 10); print('locked', flush=True); time.sleep(3)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    h.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise((r) => h.on('close', r));
    await waitLocked(done, () => out);
    const got = await ok(`python3 -c "
import fcntl, struct
f = open('${mnt}', 'r+')
r = fcntl.fcntl(f, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0))
t, w, start, ln, pid = struct.unpack('hhqqi', r[:28])
print(t == fcntl.F_RDLCK, start, ln)
r = fcntl.fcntl(f, fcntl.F_GETLK, struct.pack('hhqqi', fcntl.F_RDLCK, 0, 0, 0, 0))
print(struct.unpack('hhqqi', r[:28])[0] == fcntl.F_UNLCK)
"`);
    assert.equal(got, 'True 10 5\nTrue\n');
    // A blocking write lock on the mount waits; SIGALRM interrupts it. The kernel holds the
    // syscall until the server answers the INTERRUPT, so returning before the holder
    // lets go (3 s) shows the server answered EINTR.
    const t0 = Date.now();
    const r = await sh(`python3 -c "
import fcntl, signal, errno
def stop(*a): raise InterruptedError(errno.EINTR, 'interrupted')
signal.signal(signal.SIGALRM, stop); signal.setitimer(signal.ITIMER_REAL, 0.3)
f = open('${mnt}', 'r+')
try:
  fcntl.lockf(f, fcntl.LOCK_EX, 5, 10); print('granted')
except OSError as e:
  print(errno.errorcode[e.errno])
"`, { timeoutMs: 10_000 });
    assert.equal(r.stdout.trim(), 'EINTR');
    assert.ok(Date.now() - t0 < 2500, 'the wait ended with the signal, not with the holder');
    // The server is still responsive, and a blocking lock is granted once the holder goes.
    await done;
    assert.equal((await ok(`python3 -c "
import fcntl
f = open('${mnt}', 'r+'); fcntl.lockf(f, fcntl.LOCK_EX, 5, 10); print('granted')"`)).trim(), 'granted');
  });
});
