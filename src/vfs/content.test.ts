/**
 * Content, sizes, versions and caching, readdir consistency, streams and poll,
 * attributes, ioctl and symlinks, through the mount-free client.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute, dir, file, generated, lazyDir, stream, symlink } from './api.ts';
import { invalid } from './files.ts';
import { createTree } from './tree.ts';
import { VfsTestClient } from './testing.ts';

const KEEP_CACHE = 0x2;
const DIRECT_IO = 0x1;
const O_NONBLOCK = 0o4000;

test('versions grow on every change, decide KEEP_CACHE, and are readable as user.fusekit.version', async () => {
  const f = file('v1');
  const c = await VfsTestClient.start(createTree(dir({ f })));
  const id = await c.resolve('f');
  const v0 = Number(await c.getxattr(id, 'user.fusekit.version'));
  const o1 = await c.open(id);
  const o2 = await c.open(id);
  assert.equal(o1.openFlags & KEEP_CACHE, 0, 'first open: nothing cached yet to keep');
  assert.equal(o2.openFlags & KEEP_CACHE, KEEP_CACHE, 'unchanged: keep the page cache');
  f.set('version two');
  const v1 = Number(await c.getxattr(id, 'user.fusekit.version'));
  assert.ok(v1 > v0, `${v1} > ${v0}`);
  const o3 = await c.open(id);
  assert.equal(o3.openFlags & KEEP_CACHE, 0, 'changed: the page cache must go');
  assert.equal((await c.getattr(id)).size, 'version two'.length);
  const ns = await c.notifications();
  assert.ok(ns.some((n) => n.name === 'INVAL_INODE' && n.body.ino === id && n.body.off === 0), 'set() invalidates data and attributes');
  for (const o of [o1, o2, o3]) await c.release(id, o.fh);
  await c.close();
});

test('generated content: snapshot per handle, DIRECT_IO, truthful stat size', async () => {
  let n = 1;
  const c = await VfsTestClient.start(createTree(dir({ g: generated(() => 'x'.repeat(n * 10)) })));
  const id = await c.resolve('g');
  assert.equal((await c.getattr(id)).size, 10);
  const { fh, openFlags } = await c.open(id);
  assert.equal(openFlags & DIRECT_IO, DIRECT_IO);
  const first = await c.read(id, fh, 0, 4);
  n = 5; // the producer's state moves while the handle is open
  const rest = await c.read(id, fh, 4, 100);
  assert.equal(first.length + rest.length, 10, 'one handle sees one version');
  assert.equal((await c.getattr(id)).size, 50, 'stat reports the length content would have now');
  assert.equal((await c.readFile('g')).length, 50, 'and a new open reads exactly that');
  await c.release(id, fh);
  await c.close();
});

test('attributes: store parses, bad input answers EINVAL and logs why', async () => {
  let value = 3;
  const lines: string[] = [];
  const tree = createTree(dir({
    a: attribute({
      show: () => `${value}\n`,
      store: (v) => {
        const x = Number(v.trim());
        if (!Number.isInteger(x)) throw invalid(`not an integer: ${JSON.stringify(v.trim())}`);
        value = x;
      },
    }),
    ro: attribute({ show: () => 'fixed\n' }),
  }), { log: (l) => lines.push(l) });
  const c = await VfsTestClient.start(tree);
  assert.equal(await c.readFile('a'), '3\n');
  await c.writeFile('a', '17\n');
  assert.equal(value, 17);
  assert.equal(await c.readFile('a'), '17\n');
  assert.equal((await c.stat('a')).size, 3);
  await assert.rejects(c.writeFile('a', 'seventeen'), { errno: 22 });
  assert.equal(value, 17);
  assert.ok(lines.some((l) => l.includes('not an integer: "seventeen"') && l.includes('/a')), lines.join('\n'));
  await assert.rejects(c.writeFile('ro', 'x'), { errno: 13 });
  assert.equal((await c.stat('ro')).mode & 0o777, 0o444);
  await c.close();
});

for (const dirHandles of [false, true]) test(`readdir cookies survive concurrent insertion and removal: no duplicates, no skips (${dirHandles ? 'per-handle state' : 'zero-message opendir'})`, async () => {
  const root = dir({});
  for (let i = 0; i < 300; i++) root.add(`f${i}`, file(''));
  const c = await VfsTestClient.start(createTree(root, { dirHandles }));
  const fh = await c.opendir(1n);
  assert.equal(fh !== 0n, dirHandles);
  const seen: string[] = [];
  let k = 0;
  for (let cookie = 0n; ; ) {
    const es = await c.readdirOnce(1n, fh, cookie, 256); // a few entries per call
    if (es.length === 0) break;
    for (const e of es) if (e.name !== '.' && e.name !== '..') seen.push(e.name);
    cookie = es[es.length - 1]!.off;
    // Between calls: remove two names and add two new ones.
    for (let j = 0; j < 2; j++) {
      const victim = `f${(k * 7 + j * 13) % 300}`;
      if (root.get(victim)) await root.get(victim)!.remove();
      root.add(`new${k}_${j}`, file(''));
    }
    k++;
  }
  await c.releasedir(1n, fh);
  assert.ok(k > 10, `the listing took ${k} calls`);
  assert.equal(new Set(seen).size, seen.length, 'no name twice');
  // Every name present from start to end must have been returned.
  for (const name of root.children.keys()) {
    if (name.startsWith('f')) assert.ok(seen.includes(name), `${name} was skipped`);
  }
  await c.close();
});

test('READDIRPLUS and LOOKUP agree; plain READDIR numbers match too', async () => {
  const c = await VfsTestClient.start(createTree(dir({
    s: file('static'),
    l: lazyDir({ lookup: (n) => (n.startsWith('k') ? file(n) : undefined), list: () => ['k1', 'k2', { name: 'k3', type: 0o100000 }] }),
  })));
  const l = await c.resolve('l');
  const fh = await c.opendir(l);
  const plain = await c.readdirOnce(l, fh, 0n);
  const plus = await c.readdirplusOnce(l, fh, 0n);
  await c.releasedir(l, fh);
  for (const p of plus) {
    const name = p.name.toString();
    if (name === '.' || name === '..') continue;
    const e = await c.lookup(l, name);
    assert.equal(e.nodeid, p.entry.nodeid, name);
    assert.deepEqual(e.attr, p.entry.attr, name);
    assert.equal(plain.find((x) => x.name === name)?.ino, e.attr.ino, `readdir ino of ${name}`);
  }
  assert.equal(plus.filter((p) => !['.', '..'].includes(p.name.toString())).length, 3);
  await c.close();
});

test('streams: reads block until data, O_NONBLOCK gives EAGAIN, INTERRUPT gives EINTR, poll wakes', async () => {
  const s = stream();
  const root = dir({ pipe: s });
  const c = await VfsTestClient.start(createTree(root));
  const id = await c.resolve('pipe');
  const { fh, openFlags } = await c.open(id);
  assert.equal(openFlags & DIRECT_IO, DIRECT_IO);
  // Blocking read, satisfied by a later push.
  const pending = c.read(id, fh, 0, 100);
  await new Promise((r) => setTimeout(r, 10));
  s.push('hello\n');
  assert.equal((await pending).toString(), 'hello\n');
  // Non-blocking read on an empty stream.
  const nb = await c.open(id, O_NONBLOCK);
  await assert.rejects(c.read(id, nb.fh, 0, 100, { flags: O_NONBLOCK }), { errno: 11 });
  // Interrupted read.
  const u = c.nextUnique();
  const blocked = c.read(id, fh, 0, 100, { unique: u });
  await new Promise((r) => setTimeout(r, 10));
  await c.interrupt(u);
  await assert.rejects(blocked, { errno: 4 });
  // poll: not ready, remembers kh, and push sends NOTIFY_POLL for it.
  assert.equal((await c.poll(id, fh, 77n)) & 1, 0);
  s.push('x');
  const ns = await c.notifications();
  assert.ok(ns.some((n) => n.name === 'POLL' && n.body.kh === 77n));
  assert.equal((await c.poll(id, fh, 78n)) & 1, 1);
  // A read blocked at removal wakes with ENODEV.
  assert.equal((await c.read(id, fh, 0, 100)).toString(), 'x');
  const orphan = c.read(id, fh, 0, 100);
  await new Promise((r) => setTimeout(r, 10));
  await s.remove();
  await assert.rejects(orphan, { errno: 19 });
  await c.close();
});

test('ioctl and symlinks', async () => {
  const c = await VfsTestClient.start(createTree(dir({
    dev: file('', { ioctl: (cmd, _arg, input) => ({ result: cmd === 0x1234 ? input.length : -1, flags: 0, data: Buffer.from(input).reverse() }) }),
    plain: file(''),
    link: symlink('dev'),
  })));
  const dev = await c.resolve('dev');
  const { fh } = await c.open(dev);
  const r = await c.ioctl(dev, fh, 0x1234, Buffer.from('abc'), 3);
  assert.equal(r.result, 3);
  assert.equal(r.data?.toString(), 'cba');
  const plain = await c.resolve('plain');
  const p = await c.open(plain);
  await assert.rejects(c.ioctl(plain, p.fh, 1, Buffer.alloc(0), 0), { errno: 25 });
  const link = await c.resolve('link');
  assert.equal(await c.readlink(link), 'dev');
  assert.equal((await c.getattr(link)).mode & 0o170000, 0o120000);
  await c.close();
});
