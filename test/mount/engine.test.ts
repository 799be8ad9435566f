/**
 * Engine behaviour under a real mount: interrupts reach the handler, an aborted
 * connection ends the server cleanly, a killed server leaves a dead mount that
 * `fusekit unmount --lazy` (or fusermount3 -u) removes, a throwing handler costs
 * one EIO and nothing more, and --debug traces decoded requests.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BIN, isMounted, ROOT, SKIP_MOUNT, sleep, startServer, testUser, withServer, type Server } from '../helpers/mount.ts';
import { shSafe } from './memfs-suite.ts';

const SERVE = path.join(ROOT, 'dist/test/fixtures/serve.js');
const FIXTURE = { program: [process.execPath, SERVE] };
const rootOnly = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'needs root' : false);

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms waiting for ${what}`)))]);
}

/** Start `cat <file>`, wait until the server has seen its read, then kill it with `sig`. */
async function interruptCat(s: Server, sig: NodeJS.Signals): Promise<void> {
  const seen = (): string => readFileSync(path.join(s.mountpoint, 'seen-abort'), 'utf8');
  assert.equal(seen(), '0 0\n');
  const cat = spawn('cat', [path.join(s.mountpoint, 'slow')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => cat.on('exit', (code, signal) => r({ code, signal })));
  const t0 = Date.now();
  while (seen() !== '0 1\n') {
    if (Date.now() - t0 > 5000) throw new Error(`the read of /slow never reached the server: ${seen()}`);
    await sleep(20);
  }
  await sleep(300);
  cat.kill(sig);
  const how = await within(exited, 5000, `cat to die of ${sig}`);
  assert.deepEqual(how, { code: null, signal: sig });
  assert.ok(Date.now() - t0 < 10_000, 'cat must die long before the 30 s handler would finish');
  // The handler saw the abort (INTERRUPT → ctx.signal), and the mount still serves.
  assert.equal(seen(), '1 1\n');
  assert.equal(readFileSync(path.join(s.mountpoint, 'ok'), 'utf8'), 'fine\n');
}

test('interrupt: SIGINT to a reader aborts the handler; the mount keeps working', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['slow-fs.js', '{mnt}'], (s) => interruptCat(s, 'SIGINT'), FIXTURE));

test('interrupt: SIGKILL to a reader aborts the handler; the mount keeps working', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['slow-fs.js', '{mnt}'], (s) => interruptCat(s, 'SIGKILL'), FIXTURE));

test('a throwing handler answers EIO, is logged, and the mount stays up', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['slow-fs.js', '{mnt}'], async (s) => {
    const r = await shSafe(`stat ${s.mountpoint}/boom`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Input\/output error/);
    assert.equal(readFileSync(path.join(s.mountpoint, 'ok'), 'utf8'), 'fine\n');
    assert.match(s.output(), /lookup .*failed; answering EIO: Error: slow-fs: deliberate failure/);
    assert.ok(isMounted(s.mountpoint));
  }, FIXTURE));

/** /sys/fs/fuse/connections, mounted if it is not (as scripts/install-deps.sh does in CI). */
function fusectl(): string {
  const dir = '/sys/fs/fuse/connections';
  if (!readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir)) {
    const r = spawnSync('mount', ['-t', 'fusectl', 'none', dir]);
    if (r.status !== 0) throw new Error(`cannot mount fusectl on ${dir}: ${r.stderr}`);
  }
  return dir;
}

test('abort through fusectl: the server exits 1 saying so, and leaves no mount', { skip: rootOnly, timeout: 60_000 }, () =>
  withServer(['demo', 'memfs', '{mnt}'], async (s) => {
    writeFileSync(path.join(s.mountpoint, 'f'), 'x');
    const dev = statSync(s.mountpoint).dev;
    const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
    const ctl = path.join(fusectl(), String(minor));
    assert.ok(existsSync(ctl), `no fusectl entry ${ctl} for ${s.mountpoint}`);
    writeFileSync(path.join(ctl, 'abort'), '1');
    const code = await within(s.exited, 10_000, 'the server to exit after the abort');
    assert.equal(code, 1);
    assert.match(s.output(), /session ended: .*abort/i);
    assert.equal(isMounted(s.mountpoint), false, 'the server should detach the dead mount');
  }));

/** SIGKILL the server, check the mount is dead (ENOTCONN), clean up with `cleanup`, check it is gone. */
async function killAndClean(s: Server, cleanup: string, as?: { uid: number; gid: number }): Promise<void> {
  process.kill(s.pid, 'SIGKILL');
  await within(s.exited, 5000, 'the server to die');
  assert.ok(isMounted(s.mountpoint), 'a killed server leaves its mount behind');
  const r = await shSafe(`stat ${s.mountpoint}`, as);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Transport endpoint is not connected/);
  const u = await shSafe(cleanup.replaceAll('{mnt}', s.mountpoint), as);
  assert.equal(u.code, 0, `${cleanup} failed: ${u.stdout}${u.stderr}`);
  assert.equal(isMounted(s.mountpoint), false);
}

test('server killed: ENOTCONN, then `fusekit unmount --lazy` cleans up', { skip: rootOnly, timeout: 60_000 }, async () => {
  const s = await startServer(['demo', 'memfs', '{mnt}']);
  try {
    await killAndClean(s, `${process.execPath} ${BIN} unmount --lazy {mnt}`);
  } finally {
    await s.stop();
  }
});

test('server killed: ENOTCONN, then `fusermount3 -u` cleans up (ordinary user)', { skip: rootOnly, timeout: 60_000 }, async (t) => {
  const user = testUser();
  const probe = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'test', '-w', '/dev/fuse']);
  if (probe.status !== 0) {
    t.skip('the test user cannot open /dev/fuse (chmod 666 /dev/fuse, as the fuse3 udev rule does)');
    return;
  }
  const s = await startServer(['demo', 'memfs', '{mnt}'], user);
  try {
    await killAndClean(s, 'fusermount3 -u {mnt}', user);
  } finally {
    await s.stop();
  }
});

test('--debug prints decoded requests and replies', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['demo', 'hello', '{mnt}', '--debug'], async (s) => {
    assert.equal(readFileSync(path.join(s.mountpoint, 'hello'), 'utf8'), 'Hello, world!\n');
    await sleep(100);
    const out = s.output();
    assert.match(out, /INIT: flags .*ASYNC_READ/);
    assert.match(out, /unique: \d+, opcode: LOOKUP \(1\), nodeid: 1, .*name="hello"/);
    assert.match(out, /unique: \d+, opcode: OPEN \(14\), nodeid: 2/);
    assert.match(out, /unique: \d+, opcode: READ \(15\), nodeid: 2/);
    assert.match(out, /unique: \d+, success, outsize: \d+/);
  }));

/** utime+stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

for (const spin of ['default', '0']) {
  test(`busy polling (spin=${spin}): requests are served, and an idle server stops polling`, { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
    withServer(['demo', 'hello', '{mnt}', ...(spin === 'default' ? [] : ['-o', `spin=${spin}`])], async (s) => {
      const file = path.join(s.mountpoint, 'hello');
      // A synchronous client: open/read/close in a loop, like the workloads polling is for.
      const r = spawnSync('python3', ['-c', `import sys\nfor i in range(3000):\n  assert open(sys.argv[1]).read() == 'Hello, world!\\n'`, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // After the last request the server polls for at most one window (≤ 1 ms), then sleeps:
      // over a second of idleness it must use next to no CPU (a spinning loop would use ~100 ticks).
      await sleep(200);
      const before = cpuTicks(s.pid);
      await sleep(1000);
      const used = cpuTicks(s.pid) - before;
      assert.ok(used <= 5, `idle server used ${used} clock ticks of CPU in 1 s`);
      assert.equal(readFileSync(file, 'utf8'), 'Hello, world!\n');
    }));
}

/** Each thread of `pid` and the CPUs it may run on (Cpus_allowed_list, "0-2,5", of /proc/<pid>/task/<tid>/status). */
function threadCpus(pid: number): { tid: number; cpus: number[] }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '';
    const cpus = list.split(',').flatMap((r) => {
      const [a, b] = r.split('-').map(Number) as [number, number | undefined];
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    });
    return { tid: Number(tid), cpus };
  });
}

const cpus = os.availableParallelism();
for (const steer of ['default', '0']) {
  test(`client steering (steer=${steer}): ${steer === '0' ? 'no thread is moved' : 'the reply thread joins a client pinned to one CPU, the event loop leaves it'}`, { skip: SKIP_MOUNT || (cpus < 2 ? 'needs two CPUs' : false), timeout: 60_000 }, () =>
    withServer(['demo', 'hello', '{mnt}', ...(steer === 'default' ? [] : ['-o', 'steer=0'])], async (s) => {
      const file = path.join(s.mountpoint, 'hello');
      const cpu = cpus - 1;
      const pid = Number(/pid (\d+)\)/.exec(s.output())?.[1] ?? s.pid);
      // A synchronous client pinned to the last CPU, opening and reading for about a second.
      const r = spawnSync('taskset', ['-c', String(cpu), 'python3', '-c', `import sys, time\nt = time.time()\nwhile time.time() - t < 1:\n  assert open(sys.argv[1]).read() == 'Hello, world!\\n'`, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const threads = threadCpus(pid);
      const main = threads.find((t) => t.tid === pid)!;
      const onClientCpu = threads.filter((t) => t.cpus.length === 1 && t.cpus[0] === cpu);
      if (steer === 'default') {
        assert.equal(onClientCpu.length, 1, `one thread (the reply thread) restricted to CPU ${cpu}: ${JSON.stringify(threads)}`);
        assert.notEqual(onClientCpu[0]!.tid, pid);
        assert.ok(!main.cpus.includes(cpu) && main.cpus.length === cpus - 1, `the event loop has every CPU but ${cpu}: ${JSON.stringify(main.cpus)}`);
      } else {
        assert.equal(onClientCpu.length, 0, `nothing moved with steer=0: ${JSON.stringify(threads)}`);
        assert.equal(main.cpus.length, cpus);
      }
      assert.equal(readFileSync(file, 'utf8'), 'Hello, world!\n');
    }));
}
