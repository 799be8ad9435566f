/**
 * memfs without a mount: the method calls the session would make, checking what
 * a mount cannot show — when nodes are freed (rule 2), lookup counting through
 * readdirplus, cookie stability under batching, lock waits and interrupts, and
 * the sparse data map.
 */
import assert from 'node:assert/strict';
import { constants as C } from 'node:fs';
import { test } from 'node:test';
import type { DirentPlusSink, DirentSink, LowLevelFs, RequestContext } from '../session/lowlevel.ts';
import type { Notifier } from '../session/notify.ts';
import { CHUNK, FileData } from './memfs-data.ts';
import { memFs } from './memfs.ts';

type Fs = Required<LowLevelFs>;

function ctx(o: { uid?: number; gid?: number; signal?: AbortSignal } = {}): RequestContext {
  return {
    unique: 2n, opcode: 0, nodeid: 1n, uid: o.uid ?? 0, gid: o.gid ?? 0, pid: 1,
    signal: o.signal ?? new AbortController().signal, notifier: {} as Notifier,
  };
}
const name = (s: string): Buffer => Buffer.from(s);
const fresh = (): Fs => memFs({ capacity: 1 << 24 }) as Fs;

/** The error code `f` fails with (synchronously or not), or 'OK'. */
async function code(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'OK';
}

test('an unlinked node lives until its last lookup is forgotten', async () => {
  const fs = fresh();
  const c = ctx();
  const e = await fs.mknod(c, 1n, name('f'), C.S_IFREG | 0o644, 0, 0);
  await fs.lookup(c, 1n, name('f'));
  await fs.lookup(c, 1n, name('f')); // three references now
  await fs.unlink(c, 1n, name('f'));
  assert.equal((await fs.getattr(c, e.nodeid, undefined)).attr.nlink, 0);
  fs.forget(e.nodeid, 2n);
  assert.equal((await fs.getattr(c, e.nodeid, undefined)).attr.ino, e.nodeid);
  fs.forget(e.nodeid, 1n);
  assert.equal(await code(() => fs.getattr(c, e.nodeid, undefined)), 'ESTALE');
});

test('an open handle keeps an unlinked, forgotten file readable until release', async () => {
  const fs = fresh();
  const c = ctx();
  const cr = await fs.create(c, 1n, name('f'), 0o644, C.O_RDWR, 0);
  await fs.write(c, cr.entry.nodeid, cr.open.fh, 0, Buffer.from('still here'), { flags: C.O_RDWR, writeFlags: 0, lockOwner: 0n });
  await fs.unlink(c, 1n, name('f'));
  fs.forget(cr.entry.nodeid, 1n);
  assert.equal((await fs.read(c, cr.entry.nodeid, cr.open.fh, 0, 100, { flags: 0, readFlags: 0, lockOwner: 0n })).toString(), 'still here');
  await fs.release(c, cr.entry.nodeid, cr.open.fh, 0, 0, 0n);
  assert.equal(await code(() => fs.getattr(c, cr.entry.nodeid, undefined)), 'ESTALE');
  assert.equal((await fs.statfs(c, 1n)).ffree, (1 << 20) - 1, 'only the root is left');
});

test('node ids are never reused; (nodeid, generation) is unique', async () => {
  const fs = fresh();
  const c = ctx();
  const ids = new Set<bigint>();
  for (let i = 0; i < 50; i++) {
    const e = await fs.mknod(c, 1n, name('x'), C.S_IFREG | 0o644, 0, 0);
    assert.ok(!ids.has(e.nodeid) && e.nodeid > 1n);
    assert.equal(e.generation, 1n);
    ids.add(e.nodeid);
    await fs.unlink(c, 1n, name('x'));
    fs.forget(e.nodeid, 1n);
  }
});

test('readdirplus takes one reference per accepted entry, none for . and .., none when refused', async () => {
  const fs = fresh();
  const c = ctx();
  const made = await fs.mknod(c, 1n, name('a'), C.S_IFREG | 0o644, 0, 0);
  fs.forget(made.nodeid, 1n); // the kernel dropped the create's reference; the name keeps the node
  const seen: string[] = [];
  const sink = (room: number): DirentPlusSink => ({
    add: (_e, _off, n) => {
      if (seen.length >= room) return false;
      seen.push(n.toString());
      return true;
    },
  });
  await fs.readdirplus(c, 1n, 0n, 0n, sink(2)); // '.', '..', then 'a' is refused
  assert.deepEqual(seen, ['.', '..']);
  await fs.readdirplus(c, 1n, 0n, 2n, sink(3));
  assert.deepEqual(seen, ['.', '..', 'a']);
  await fs.unlink(c, 1n, name('a'));
  // Exactly one reference was taken: one forget frees it.
  assert.equal((await fs.getattr(c, made.nodeid, undefined)).attr.nlink, 0);
  fs.forget(made.nodeid, 1n);
  assert.equal(await code(() => fs.getattr(c, made.nodeid, undefined)), 'ESTALE');
});

for (const viaHandle of [false, true]) {
  test(`readdir in small batches neither skips nor repeats while entries come and go (${viaHandle ? 'resumed cursor of an opendir handle' : 'no handle: cookie scan'})`, async () => {
  const fs = fresh();
  const c = ctx();
  const fh = viaHandle ? (await fs.opendir(c, 1n, 0)).fh! : 0n;
  for (let i = 0; i < 100; i++) await fs.mknod(c, 1n, name(`f${i}`), C.S_IFREG | 0o644, 0, 0);
  const seen: string[] = [];
  let cookie = 0n;
  for (let round = 0; ; round++) {
    let got = 0;
    const sink: DirentSink = {
      add: (_ino, off, _type, n) => {
        if (got === 7) return false;
        got++;
        seen.push(n.toString());
        cookie = off;
        return true;
      },
    };
    await fs.readdir(c, 1n, fh, cookie, sink);
    if (got === 0) break;
    if (round === 3) {
      // remove some seen and some unseen names (f26 is the entry refused last time), add new ones,
      // and rename an unseen entry (it moves to the end with a new cookie: seen once, under its new name)
      for (const n of ['f0', 'f1', 'f26', 'f50', 'f51']) await fs.unlink(c, 1n, name(n));
      for (const n of ['g0', 'g1']) await fs.mknod(c, 1n, name(n), C.S_IFREG | 0o644, 0, 0);
      await fs.rename(c, 1n, name('f60'), 1n, name('h60'), 0);
    }
  }
  assert.equal(new Set(seen).size, seen.length, 'no duplicates');
  const gone = new Set(['f26', 'f50', 'f51', 'f60']);
  const want = ['.', '..', ...Array.from({ length: 100 }, (_, i) => `f${i}`).filter((n) => !gone.has(n)), 'g0', 'g1', 'h60'];
  assert.deepEqual([...seen].sort(), want.sort());
  });
}

test('rename onto an existing name frees the replaced node once forgotten', async () => {
  const fs = fresh();
  const c = ctx();
  const a = await fs.mknod(c, 1n, name('a'), C.S_IFREG | 0o644, 0, 0);
  const b = await fs.mknod(c, 1n, name('b'), C.S_IFREG | 0o644, 0, 0);
  await fs.rename(c, 1n, name('a'), 1n, name('b'), 0);
  assert.equal((await fs.lookup(c, 1n, name('b'))).nodeid, a.nodeid);
  assert.equal(await code(() => fs.lookup(c, 1n, name('a'))), 'ENOENT');
  fs.forget(b.nodeid, 1n);
  assert.equal(await code(() => fs.getattr(c, b.nodeid, undefined)), 'ESTALE');
});

test('an unlinked O_TMPFILE is freed at release; a linked one stays', async () => {
  const fs = fresh();
  const c = ctx();
  const t1 = await fs.tmpfile(c, 1n, C.S_IFREG | 0o600, C.O_RDWR, 0);
  assert.equal(t1.entry.attr.nlink, 0);
  fs.forget(t1.entry.nodeid, 1n);
  await fs.release(c, t1.entry.nodeid, t1.open.fh, 0, 0, 0n);
  assert.equal(await code(() => fs.getattr(c, t1.entry.nodeid, undefined)), 'ESTALE');
  const t2 = await fs.tmpfile(c, 1n, C.S_IFREG | 0o600, C.O_RDWR, 0);
  const l = await fs.link(c, t2.entry.nodeid, 1n, name('kept'));
  assert.equal(l.attr.nlink, 1);
  assert.equal(await code(() => fs.link(c, t2.entry.nodeid, 1n, name('kept'))), 'EEXIST');
});

test('SETLKW waits for the holder and gives up with EINTR when interrupted', async () => {
  const fs = fresh();
  const c = ctx();
  const cr = await fs.create(c, 1n, name('f'), 0o644, C.O_RDWR, 0);
  const id = cr.entry.nodeid;
  const W = 1;
  await fs.setlk(c, id, 1n, 100n, { start: 0n, end: 99n, type: W, pid: 10 }, false, false);
  assert.equal(await code(() => fs.setlk(c, id, 1n, 200n, { start: 50n, end: 60n, type: W, pid: 20 }, false, false)), 'EAGAIN');
  // Waiter 1 is interrupted; waiter 2 gets the lock once the holder unlocks.
  const ac = new AbortController();
  const w1 = code(() => fs.setlk(ctx({ signal: ac.signal }), id, 1n, 200n, { start: 50n, end: 60n, type: W, pid: 20 }, true, false));
  let got2 = false;
  const w2 = Promise.resolve(fs.setlk(c, id, 1n, 300n, { start: 10n, end: 20n, type: W, pid: 30 }, true, false)).then(() => (got2 = true));
  ac.abort();
  assert.equal(await w1, 'EINTR');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(got2, false);
  // Unlocking the middle splits the holder's range: 10..20 frees up, 0..9 and 21..99 stay.
  await fs.setlk(c, id, 1n, 100n, { start: 5n, end: 30n, type: 2, pid: 10 }, false, false);
  await w2;
  const probe = await fs.getlk(c, id, 1n, 400n, { start: 0n, end: 200n, type: W, pid: 40 });
  assert.deepEqual([probe.start, probe.end, probe.type, probe.pid], [0n, 4n, W, 10]);
  // FLUSH of the holder drops its remaining locks; 300 still holds 10..20.
  await fs.flush(c, id, 1n, 100n);
  const after = await fs.getlk(c, id, 1n, 400n, { start: 0n, end: 200n, type: W, pid: 40 });
  assert.deepEqual([after.start, after.end, after.pid], [10n, 20n, 30]);
});

test('FileData: sparse writes, punch, zero range, SEEK_DATA/SEEK_HOLE, truncate', () => {
  const d = new FileData();
  d.write(3 * CHUNK + 10, Buffer.from('abc'));
  assert.equal(d.size, 3 * CHUNK + 13);
  assert.equal(d.chunkCount, 1);
  assert.equal(d.seekData(0), 3 * CHUNK);
  assert.equal(d.seekHole(0), 0);
  assert.equal(d.seekHole(3 * CHUNK), d.size);
  assert.equal(d.seekData(d.size), undefined);
  assert.equal(d.read(3 * CHUNK + 9, 10).toString('latin1'), '\0abc');
  d.write(0, Buffer.alloc(2 * CHUNK, 1));
  assert.equal(d.punch(100, 2 * CHUNK), 1); // chunk 1 goes whole, chunks 0 and 2 are trimmed
  assert.deepEqual([...d.read(98, 4)], [1, 1, 0, 0]);
  assert.equal(d.seekHole(0), CHUNK);
  assert.equal(d.seekData(CHUNK), 3 * CHUNK); // chunk 2 was never written
  d.zero(0, 50);
  assert.deepEqual([...d.read(48, 4)], [0, 0, 1, 1]);
  d.truncate(CHUNK + 1);
  assert.equal(d.chunkCount, 1);
  d.truncate(4 * CHUNK);
  assert.equal(d.read(3 * CHUNK + 10, 3).toString('latin1'), '\0\0\0', 'truncate must forget old data');
});

test('chown by a non-owner fails; chown clears setuid; sgid directories pass their group on', async () => {
  const fs = fresh();
  const root = ctx();
  const d = await fs.mkdir(root, 1n, name('d'), 0o775, 0);
  await fs.setattr(root, d.nodeid, { valid: 1 | 4 /* MODE | GID */, mode: 0o2775, gid: 77 } as never);
  const f = await fs.mknod(ctx({ uid: 5, gid: 5 }), d.nodeid, name('f'), C.S_IFREG | 0o4755, 0, 0);
  assert.equal(f.attr.gid, 77);
  const sub = await fs.mkdir(ctx({ uid: 5, gid: 5 }), d.nodeid, name('s'), 0o755, 0);
  assert.equal(sub.attr.mode & 0o7777, 0o2755);
  assert.equal(await code(() => fs.setattr(ctx({ uid: 6, gid: 6 }), f.nodeid, { valid: 1, mode: 0o777 } as never)), 'EPERM');
  assert.equal(await code(() => fs.setattr(ctx({ uid: 5, gid: 5 }), f.nodeid, { valid: 2, uid: 6 } as never)), 'EPERM');
  const a = await fs.setattr(root, f.nodeid, { valid: 2 | 4, uid: 6, gid: 6 } as never);
  assert.equal(a.attr.mode & 0o7777, 0o755);
});

test('a removed directory accepts no new names (create, link, rename into it: ENOENT)', async () => {
  const fs = fresh();
  const c = ctx();
  const d = await fs.mkdir(c, 1n, name('d'), 0o755, 0);
  const f = await fs.mknod(c, 1n, name('f'), C.S_IFREG | 0o644, 0, 0);
  await fs.rmdir(c, 1n, name('d'));
  assert.equal((await fs.getattr(c, d.nodeid, undefined)).attr.nlink, 0);
  assert.equal((await fs.getattr(c, 1n, undefined)).attr.nlink, 2);
  assert.equal(await code(() => fs.mknod(c, d.nodeid, name('x'), C.S_IFREG | 0o644, 0, 0)), 'ENOENT');
  assert.equal(await code(() => fs.link(c, f.nodeid, d.nodeid, name('x'))), 'ENOENT');
  assert.equal(await code(() => fs.rename(c, 1n, name('f'), d.nodeid, name('x'), 0)), 'ENOENT');
  assert.equal(await code(() => fs.lookup(c, d.nodeid, name('x'))), 'ENOENT');
});

test('FileData: punch edges and huge ranges; fallocate beyond capacity is ENOSPC, quickly', async () => {
  const d = new FileData();
  d.write(0, Buffer.alloc(3 * CHUNK, 7));
  assert.equal(d.punch(10, 20), 0); // inside chunk 0
  assert.deepEqual([...d.read(9, 22)].map((b) => (b ? 1 : 0)).join(''), '1' + '0'.repeat(20) + '1');
  assert.equal(d.punch(CHUNK - 1, CHUNK + 2), 1); // tail of 0, all of 1, head of 2
  assert.deepEqual([...d.read(CHUNK - 2, CHUNK + 4)].map((b) => (b ? 1 : 0)).join(''), '1' + '0'.repeat(CHUNK + 2) + '1');
  const t0 = Date.now();
  assert.equal(d.punch(0, 2 ** 50), 2); // chunks 0 and 2, without walking 2^38 chunk indexes
  assert.equal(d.chunkCount, 0);
  assert.equal(d.wouldAllocate(0, 2 ** 50), 2 ** 38);
  const fs = fresh();
  const c = ctx();
  const cr = await fs.create(c, 1n, name('f'), 0o644, C.O_RDWR, 0);
  assert.equal(await code(() => fs.fallocate(c, cr.entry.nodeid, cr.open.fh, 0, 0, 2 ** 50)), 'ENOSPC');
  assert.equal(await code(() => fs.fallocate(c, cr.entry.nodeid, cr.open.fh, 3, 0, 2 ** 50)), 'OK');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('SETLKW that would close a cycle of owners fails with EDEADLK (across two files)', async () => {
  const fs = fresh();
  const c = ctx();
  const f = (await fs.mknod(c, 1n, name('f'), C.S_IFREG | 0o644, 0, 0)).nodeid;
  const g = (await fs.mknod(c, 1n, name('g'), C.S_IFREG | 0o644, 0, 0)).nodeid;
  const W = 1;
  const lk = { start: 0n, end: 9n, type: W, pid: 1 };
  await fs.setlk(c, f, 1n, 100n, lk, false, false); // A holds f
  await fs.setlk(c, g, 2n, 200n, lk, false, false); // B holds g
  const ac = new AbortController();
  const aWaits = code(() => fs.setlk(ctx({ signal: ac.signal }), g, 3n, 100n, lk, true, false)); // A waits for B
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(await code(() => fs.setlk(c, f, 4n, 200n, lk, true, false)), 'EDEADLK'); // B would wait for A
  // A third owner waiting is no cycle.
  const cWaits = code(() => fs.setlk(c, f, 5n, 300n, lk, true, false));
  await fs.setlk(c, g, 2n, 200n, { ...lk, type: 2 }, false, false); // B unlocks: A gets g
  assert.equal(await aWaits, 'OK');
  await fs.setlk(c, f, 1n, 100n, { ...lk, type: 2 }, false, false); // A unlocks f: C gets it
  assert.equal(await cWaits, 'OK');
  ac.abort();
});
