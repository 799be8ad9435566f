/**
 * Lifetimes, lookup counts, inode numbers, removal and publication, through the
 * mount-free client (a real Session over the memory transport).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute, callbackFile, dir, file, lazyDir } from './api.ts';
import { createTree } from './tree.ts';
import { VfsTestClient } from './testing.ts';
import type { VDir } from './dir.ts';
import type { RequestContext } from '../session/lowlevel.ts';

const ENODEV = 19;
const ENOENT = 2;

function lazyNumbers(made: { n: number }): VDir {
  return lazyDir({
    lookup: (name) => (/^\d+$/.test(name) && Number(name) < 1_000_000 ? (made.n++, file(`${name}\n`)) : undefined),
    list: () => ['1', '2', '3', '4', '5'],
  });
}

test('a million possible children cost nothing until accessed; forgotten ones are dropped', async () => {
  const made = { n: 0 };
  const nums = lazyNumbers(made);
  const c = await VfsTestClient.start(createTree(dir({ nums })));
  assert.equal(made.n, 0);
  const e = await c.lookup(await c.resolve('nums'), '999999');
  assert.equal(made.n, 1);
  assert.equal(nums.live.size, 1);
  assert.equal(await c.readFile('nums/999999'), '999999\n');
  await c.forgetAll();
  assert.equal(nums.live.size, 0, 'the child object is dropped once the kernel forgets it');
  assert.equal(c.bridge.kernelNodes.size, 0);
  // …and it comes back with the same inode number.
  const again = await c.lookup(await c.resolve('nums'), '999999');
  assert.equal(again.attr.ino, e.attr.ino);
  assert.equal(again.nodeid, e.nodeid);
  await c.close();
});

test('lookup counts are exact, READDIRPLUS included (and agree with the session)', async () => {
  const c = await VfsTestClient.start(createTree(dir({ a: file('a'), b: file('b'), d: dir({ x: file('x') }), nums: lazyNumbers({ n: 0 }) })));
  const root = 1n;
  const fh = await c.opendir(root);
  // A tiny buffer forces several calls; only accepted entries may take references.
  for (let cookie = 0n; ; ) {
    const es = await c.readdirplusOnce(root, fh, cookie, 200);
    if (es.length === 0) break;
    cookie = es[es.length - 1]!.off;
  }
  await c.releasedir(root, fh);
  await c.lookup(root, 'a');
  const aId = (await c.lookup(root, 'a')).nodeid;
  const nums = await c.lookup(root, 'nums');
  const fh2 = await c.opendir(nums.nodeid);
  await c.readdirplusOnce(nums.nodeid, fh2, 0n);
  await c.releasedir(nums.nodeid, fh2);
  const want = new Map([...c.lookupCounts].map(([k, v]) => [k, Number(v)]));
  const got = new Map([...c.bridge.kernelNodes].map(([k, v]) => [k, v.count]));
  assert.deepEqual(got, want);
  assert.deepEqual(new Map([...c.session.lookupCounts].map(([k, v]) => [k, Number(v)])), want);
  assert.equal(want.get(aId), 3, 'a: one from READDIRPLUS + two lookups');
  assert.equal(want.size, 3 + 1 + 5, 'a, b, d, nums, and the five listed numbers');
  await c.forgetAll();
  assert.equal(c.bridge.kernelNodes.size, 0);
  await c.close();
});

test('inode numbers are stable across forget; chmod/chown survive it (static and lazy)', async () => {
  const nums = lazyNumbers({ n: 0 });
  const c = await VfsTestClient.start(createTree(dir({ s: file('s'), nums })));
  const s1 = await c.stat('s');
  const l1 = await c.lookup(await c.resolve('nums'), '42');
  await c.setattr(l1.nodeid, { mode: 0o600, uid: 1234, gid: 99 });
  await c.forgetAll();
  assert.equal(nums.live.size, 0);
  const s2 = await c.stat('s');
  const l2 = await c.lookup(await c.resolve('nums'), '42');
  assert.equal(s2.ino, s1.ino);
  assert.equal(l2.attr.ino, l1.attr.ino);
  assert.equal(l2.attr.mode & 0o7777, 0o600);
  assert.equal(l2.attr.uid, 1234);
  assert.equal(l2.attr.gid, 99);
  await c.close();
});

test('no (ino, generation) pair repeats across removal and recreation', async () => {
  const root = dir({});
  const nums = lazyNumbers({ n: 0 });
  root.add('nums', nums);
  const c = await VfsTestClient.start(createTree(root));
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    root.add('x', dir({ y: file('y') }));
    const x = await c.lookup(1n, 'x');
    const y = await c.lookup(x.nodeid, 'y');
    const n = await c.lookup(await c.resolve('nums'), '7');
    for (const e of [x, y, n]) {
      const key = `${e.attr.ino}/${e.generation}`;
      assert.ok(!seen.has(key), `pair ${key} was reused`);
      seen.add(key);
      assert.equal(e.nodeid, e.attr.ino, 'node id = inode number');
    }
    await root.get('x')!.remove();
    await nums.forgetChild('7'); // the object behind "7" is gone; a new one takes the name
    await c.forgetAll();
  }
  await c.close();
});

test('removal while a file is open: reads answer ENODEV, lookups ENOENT, the kernel is told', async () => {
  const root = dir({ d: dir({ f: file('content') }) });
  const c = await VfsTestClient.start(createTree(root));
  const d = await c.resolve('d');
  const f = await c.lookup(d, 'f');
  const { fh } = await c.open(f.nodeid);
  assert.equal((await c.read(f.nodeid, fh, 0, 100)).toString(), 'content');
  await root.get('d')!.remove();
  await assert.rejects(c.read(f.nodeid, fh, 0, 100), { errno: ENODEV });
  await assert.rejects(c.lookup(1n, 'd'), { errno: ENOENT });
  await assert.rejects(c.lookup(d, 'f'), { errno: ENOENT });
  await assert.rejects(c.open(f.nodeid), { errno: ENODEV });
  assert.equal((await c.getattr(f.nodeid)).nlink, 0, 'a removed node still answers getattr until forgotten');
  await c.release(f.nodeid, fh);
  const ns = await c.notifications();
  assert.ok(ns.some((n) => n.name === 'DELETE' && n.body.parent === 1n && n.body.child === d && n.body.name.toString() === 'd'), JSON.stringify(ns.map((n) => n.name)));
  assert.ok(ns.some((n) => n.name === 'INVAL_INODE' && n.body.ino === f.nodeid));
  await c.close();
});

test('removal waits for handlers in flight', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const root = dir({
    slow: callbackFile({
      read: async () => {
        entered();
        await gate;
        return 'late';
      },
    }),
  });
  const c = await VfsTestClient.start(createTree(root));
  const id = await c.resolve('slow');
  const { fh } = await c.open(id);
  const reading = c.read(id, fh, 0, 10).then(() => 'ok', (e: { errno: number }) => e.errno);
  await inside;
  let removed = false;
  const removing = root.get('slow')!.remove().then(() => (removed = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(removed, false, 'remove() resolved while a read was still running');
  release();
  await removing;
  assert.equal(removed, true);
  assert.equal(await reading, ENODEV, 'the read finished after revocation: its result is ENODEV');
  await c.close();
});

/** A directory whose `kill` attribute removes the directory from inside its own store(). */
async function assertSelfRemovalFinishes(store: (victim: VDir, ctx: RequestContext) => Promise<void>): Promise<void> {
  const root = dir({});
  const victim = dir({});
  victim.add('kill', attribute({ show: () => '', store: (_v, ctx) => store(victim, ctx) }));
  root.add('victim', victim);
  const c = await VfsTestClient.start(createTree(root));
  const result = await Promise.race([
    c.writeFile('victim/kill', '1').then(() => 'done', (e: { errno: number }) => `errno ${e.errno}`),
    new Promise((r) => setTimeout(() => r('deadlock'), 2000)),
  ]);
  assert.equal(result, 'done');
  await assert.rejects(c.lookup(1n, 'victim'), { errno: ENOENT });
  await c.close();
}

test('a handler that removes its own node does not deadlock', () =>
  assertSelfRemovalFinishes(async (victim) => {
    await victim.remove(); // waits for in-flight handlers: not for this one
  }));

test('a handler that removes its own node after an await, naming its request (ctx), does not deadlock', () =>
  assertSelfRemovalFinishes(async (victim, ctx) => {
    await new Promise((r) => setTimeout(r, 5)); // the synchronous part of the handler is over
    await victim.remove(ctx);
  }));

test('atomic publication: a hidden subtree is invisible until activate()', async () => {
  const root = dir({});
  const c = await VfsTestClient.start(createTree(root));
  const sub = root.add('sub', dir({ a: file('a'), b: dir({ c: file('c') }) }), { hidden: true });
  await assert.rejects(c.lookup(1n, 'sub'), { errno: ENOENT });
  assert.deepEqual(await c.ls(''), []);
  assert.ok(sub.ino > 1n, 'hidden nodes already have their numbers');
  sub.activate();
  assert.deepEqual(await c.ls(''), ['sub']);
  assert.equal(await c.readFile('sub/b/c'), 'c');
  const ns = await c.notifications();
  assert.ok(ns.some((n) => n.name === 'INVAL_ENTRY' && n.body.name.toString() === 'sub'));
  await c.close();
});

test('one tree, many mounts: shared objects, per-mount tables, cross-mount invalidation', async () => {
  const f = file('one', { writable: true });
  const tree = createTree(dir({ f }));
  const a = await VfsTestClient.start(tree);
  const b = await VfsTestClient.start(tree);
  const ea = await a.lookup(1n, 'f');
  const eb = await b.lookup(1n, 'f');
  assert.equal(ea.attr.ino, eb.attr.ino);
  assert.equal(a.bridge.kernelNodes.size, 1);
  assert.equal(b.bridge.kernelNodes.size, 1);
  assert.equal(f.kref, 2);
  const { fh } = await a.open(ea.nodeid, 2);
  await a.write(ea.nodeid, fh, 0, 'ONE');
  await a.release(ea.nodeid, fh);
  const nb = await b.notifications();
  const na = await a.notifications();
  assert.ok(nb.some((n) => n.name === 'INVAL_INODE' && n.body.ino === ea.nodeid && n.body.off === 0), 'the other mount is told');
  assert.ok(!na.some((n) => n.name === 'INVAL_INODE' && n.body.ino === ea.nodeid), 'the writing mount already has the bytes');
  assert.equal(await b.readFile('f'), 'ONE');
  await a.close();
  assert.equal(f.kref, 2 - 1 + 1, 'b holds it twice now (lookup + readFile), a let go at unmount');
  await b.close();
  assert.equal(f.kref, 0);
});
