/**
 * The examples, through the mount-free client: sizes of the tracefs tree, its
 * laziness, state changes visible to reads, and the json/procfs basics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants } from 'node:fs';
import { VfsTestClient } from './testing.ts';
import { EVENTS, tracefs } from './examples/tracefs.ts';
import { jsonTree } from './examples/json.ts';
import { procfs } from './examples/procfs.ts';
import type { VDir } from './dir.ts';

async function walk(c: VfsTestClient, id: bigint, counts: { dirs: number; files: number; inos: Set<bigint> }, depth = 0): Promise<void> {
  const fh = await c.opendir(id);
  const sub: bigint[] = [];
  for (let cookie = 0n; ; ) {
    const es = await c.readdirplusOnce(id, fh, cookie, 65536);
    if (es.length === 0) break;
    for (const e of es) {
      const name = e.name.toString();
      if (name === '.' || name === '..') continue;
      assert.ok(!counts.inos.has(e.entry.attr.ino), `inode ${e.entry.attr.ino} appears twice (${name})`);
      counts.inos.add(e.entry.attr.ino);
      if ((e.entry.attr.mode & constants.S_IFMT) === constants.S_IFDIR) {
        counts.dirs++;
        sub.push(e.entry.nodeid);
      } else counts.files++;
    }
    cookie = es[es.length - 1]!.off;
  }
  await c.releasedir(id, fh);
  for (const s of sub) await walk(c, s, counts, depth + 1);
}

test('tracefs: 2,800 event directories and ~16,000 control files, built only when walked, dropped when forgotten', async () => {
  const t = tracefs();
  const c = await VfsTestClient.start(t);
  const events = t.root.get('events') as VDir;
  assert.equal(events.live.size, 0, 'nothing built before access');
  const counts = { dirs: 0, files: 0, inos: new Set<bigint>() };
  await walk(c, 1n, counts);
  assert.equal(EVENTS, 2800);
  // events/, instances/, 100 subsystems, 2,800 events.
  assert.equal(counts.dirs, 2 + 100 + 2800);
  assert.ok(counts.files >= 16000, `${counts.files} files`);
  assert.equal(events.live.size as number, 100, 'the walk built (and the kernel holds) every subsystem');
  await c.forgetAll();
  assert.equal(events.live.size, 0, 'forgotten subsystems and events are dropped');
  assert.equal(c.bridge.kernelNodes.size, 0);
  await c.close();
});

test('tracefs: writing 1 to enable changes what cat shows, at every level', async () => {
  const t = tracefs({ tickMs: 5 });
  const c = await VfsTestClient.start(t);
  assert.equal(await c.readFile('events/sched/sched_switch/enable'), '0\n');
  await c.writeFile('events/sched/sched_switch/enable', '1\n');
  assert.equal(await c.readFile('events/sched/sched_switch/enable'), '1\n');
  assert.equal(await c.readFile('events/sched/enable'), 'X\n');
  assert.equal(await c.readFile('events/enable'), 'X\n');
  await c.writeFile('events/sched/enable', '1');
  assert.equal(await c.readFile('events/sched/sched_wakeup/enable'), '1\n');
  assert.equal(await c.readFile('events/sched/enable'), '1\n');
  await assert.rejects(c.writeFile('events/sched/sched_switch/filter', 'this is not a filter'), { errno: 22 });
  await c.writeFile('events/sched/sched_switch/filter', 'prev_pid == 1 && next_pid != 0');
  assert.equal(await c.readFile('events/sched/sched_switch/filter'), 'prev_pid == 1 && next_pid != 0\n');
  // Enabled events feed trace_pipe.
  const pipe = await c.resolve('trace_pipe');
  const { fh } = await c.open(pipe);
  const line = (await c.read(pipe, fh, 0, 4096)).toString();
  assert.match(line, /sched_/);
  await c.release(pipe, fh);
  await c.writeFile('events/enable', '0');
  assert.equal(await c.readFile('events/sched/sched_switch/enable'), '0\n');
  await c.close();
});

test('tracefs: instances are made with mkdir and removed with rmdir', async () => {
  const c = await VfsTestClient.start(tracefs());
  const inst = await c.resolve('instances');
  const e = await c.mkdir(inst, 'mine');
  assert.deepEqual((await c.ls('instances/mine')).sort(), ['events', 'trace_marker', 'trace_pipe', 'tracing_on']);
  await c.rmdir(inst, 'mine');
  await assert.rejects(c.lookup(inst, 'mine'), { errno: 2 });
  const again = await c.mkdir(inst, 'mine');
  assert.notEqual(again.attr.ino, e.attr.ino, 'a new instance is a new object');
  await c.close();
});

test('json: values as files, writes parsed by type, code changes visible at once', async () => {
  const t = jsonTree({ a: { n: 1, s: 'text', b: true }, list: [1, 2] });
  const c = await VfsTestClient.start(t);
  assert.deepEqual((await c.ls('')).sort(), ['a', 'list']);
  assert.equal(await c.readFile('a/n'), '1\n');
  assert.equal(await c.readFile('a/s'), 'text\n');
  await c.writeFile('a/n', '41\n');
  assert.equal((t.doc as { a: { n: number } }).a.n, 41);
  await assert.rejects(c.writeFile('a/n', 'forty'), { errno: 22 });
  await assert.rejects(c.writeFile('a/b', 'maybe'), { errno: 22 });
  (t.doc as { a: { n: number } }).a.n = 42; // plain assignment, no call
  assert.equal(await c.readFile('a/n'), '42\n');
  assert.equal((await c.stat('a/n')).size, 3);
  t.set('a/new', 'hi');
  assert.equal(await c.readFile('a/new'), 'hi\n');
  await c.mkdir(await c.resolve('a'), 'sub');
  assert.deepEqual((t.doc as { a: { sub: object } }).a.sub, {});
  await c.unlink(await c.resolve('a'), 's');
  assert.equal('s' in (t.doc as { a: object }).a, false);
  await c.close();
});

test('procfs: pid, env, and handles that come and go', async () => {
  process.env.FUSEKIT_PROCFS_TEST = 'yes';
  const c = await VfsTestClient.start(procfs());
  assert.equal(await c.readFile('pid'), `${process.pid}\n`);
  assert.equal(await c.readFile('env/FUSEKIT_PROCFS_TEST'), 'yes\n');
  assert.ok((await c.ls('env')).includes('FUSEKIT_PROCFS_TEST'));
  assert.match(await c.readFile('memory'), /^rss \d+$/m);
  const before = await c.ls('handles');
  await c.writeFile('ctl', 'listen');
  const after = await c.ls('handles');
  const added = after.filter((n) => !before.includes(n));
  assert.equal(added.length, 1, `one new handle: ${added}`);
  assert.match(added[0]!, /^\d+-Server$/);
  assert.match(await c.readFile(`handles/${added[0]}`), /address/);
  await c.writeFile('ctl', `close ${added[0]!.split('-')[0]}`);
  assert.ok(!(await c.ls('handles')).includes(added[0]!));
  await assert.rejects(c.resolve(`handles/${added[0]}`), { errno: 2 });
  await c.close();
});
