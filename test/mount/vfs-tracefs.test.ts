/**
 * `fusekit demo tracefs`, mounted and driven with real programs: ls, cat, stat,
 * echo >, find, mkdir/rmdir, cat/poll on trace_pipe, drop_caches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SKIP_MOUNT, sleep, withServer, type Server } from '../helpers/mount.ts';
import { ok, py, sh } from './vfs-util.ts';

function tracefs(name: string, fn: (s: Server, m: string) => Promise<void>): void {
  test(`vfs tracefs: ${name}`, { skip: SKIP_MOUNT, timeout: 120_000 }, () => withServer(['demo', 'tracefs', '{mnt}'], (s) => fn(s, s.mountpoint)));
}


tracefs('ls, cat and stat agree; stat sizes are truthful', async (_s, m) => {
  assert.deepEqual((await ok(`ls ${m}`)).trim().split('\n'), ['README', 'available_events', 'current_tracer', 'events', 'instances', 'trace_marker', 'trace_pipe', 'tracing_on']);
  assert.equal(Number((await ok(`ls ${m}/events | wc -l`)).trim()), 101);
  assert.equal((await ok(`cat ${m}/events/sched/sched_switch/id`)).trim(), '1000');
  assert.match(await ok(`cat ${m}/events/sched/sched_switch/format`), /^name: sched_switch\nID: 1000\n/);
  for (const f of ['events/sched/sched_switch/enable', 'events/sched/sched_switch/format', 'events/sched/sched_switch/id', 'events/sched/sched_switch/trigger', 'events/sched/enable', 'available_events', 'README']) {
    const [size, bytes] = (await ok(`stat -c %s ${m}/${f}; cat ${m}/${f} | wc -c`)).trim().split('\n').map(Number);
    assert.equal(size, bytes, `stat size of ${f} matches what read returns`);
  }
  assert.equal((await ok(`stat -c %a ${m}/events/sched/sched_switch/id`)).trim(), '444');
  assert.equal((await ok(`stat -c %a ${m}/trace_marker`)).trim(), '220');
});

tracefs('echo 1 > enable changes what cat shows; bad input is EINVAL with the reason logged', async (s, m) => {
  const ev = `${m}/events/sched/sched_switch`;
  assert.equal((await ok(`cat ${ev}/enable`)).trim(), '0');
  const version = async (): Promise<number> => Number(await py(`import os, sys; print(os.getxattr(sys.argv[1], 'user.fusekit.version').decode())`, `${ev}/enable`));
  const v0 = await version();
  await ok(`echo 1 > ${ev}/enable`);
  assert.ok((await version()) > v0, 'the change version (xattr user.fusekit.version) grows on a store');
  assert.equal((await ok(`cat ${ev}/enable`)).trim(), '1');
  assert.equal((await ok(`cat ${m}/events/sched/enable`)).trim(), 'X');
  await ok(`echo 1 > ${m}/events/sched/enable`);
  assert.equal((await ok(`cat ${m}/events/sched/sched_wakeup/enable`)).trim(), '1');
  const bad = await sh(`echo maybe > ${ev}/enable`);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid argument/);
  await sleep(50);
  assert.match(s.output(), /write to \/events\/sched\/sched_switch\/enable rejected: expected 0 or 1, got "maybe"/);
  await ok(`echo 0 > ${m}/events/enable`);
  assert.equal((await ok(`cat ${ev}/enable`)).trim(), '0');
});

tracefs('find walks 2,800 event dirs and 16,000+ files with no loop and no repeated inode', async (_s, m) => {
  const r = await sh(`find ${m} > /tmp/fusekit-vfs-find.$$; echo rc=$?; wc -l < /tmp/fusekit-vfs-find.$$; find ${m} -printf '%i\\n' | sort | uniq -d | wc -l; rm -f /tmp/fusekit-vfs-find.$$`, { timeoutMs: 100_000 });
  assert.doesNotMatch(r.stderr, /loop/i);
  const [rc, lines, dups] = r.stdout.trim().split('\n');
  assert.equal(rc, 'rc=0', r.stderr);
  assert.ok(Number(lines) > 2800 + 16000, `${lines} entries`);
  assert.equal(Number(dups), 0, 'no inode number appears twice');
  assert.equal(Number((await ok(`find ${m}/events -mindepth 2 -maxdepth 2 -type d | wc -l`)).trim()), 2800);
});

tracefs('inode numbers survive drop_caches (the kernel forgets, a new lookup rebuilds)', async (_s, m) => {
  const paths = ['events/sched', 'events/sched/sched_switch', 'events/sched/sched_switch/enable', 'events/subsys050/subsys050_event07/hist', 'README'];
  const before = await ok(paths.map((p) => `stat -c %i ${m}/${p}`).join('; '));
  await ok(`chmod 600 ${m}/events/sched/sched_switch/filter`);
  await ok('sync; echo 2 > /proc/sys/vm/drop_caches');
  const after = await ok(paths.map((p) => `stat -c %i ${m}/${p}`).join('; '));
  assert.equal(after, before);
  assert.equal((await ok(`stat -c %a ${m}/events/sched/sched_switch/filter`)).trim(), '600', 'chmod survives the forget');
});

tracefs('instances: mkdir creates, rmdir removes; removal while open answers ENODEV', async (_s, m) => {
  await ok(`mkdir ${m}/instances/foo`);
  assert.deepEqual((await ok(`ls ${m}/instances/foo`)).trim().split('\n'), ['events', 'trace_marker', 'trace_pipe', 'tracing_on']);
  await ok(`echo 0 > ${m}/instances/foo/tracing_on`);
  assert.equal((await ok(`cat ${m}/instances/foo/tracing_on`)).trim(), '0');
  const ino = (await ok(`stat -c %i ${m}/instances/foo`)).trim();
  const out = await py(`
import os, sys, errno
m = sys.argv[1]
fd = os.open(m + '/instances/foo/tracing_on', os.O_RDONLY)
print(os.pread(fd, 10, 0).decode().strip())
os.rmdir(m + '/instances/foo')
try:
    os.pread(fd, 10, 0)
    print('read-ok')
except OSError as e:
    print(errno.errorcode[e.errno])
os.close(fd)
print(os.path.exists(m + '/instances/foo'))
`, m);
  assert.deepEqual(out.trim().split('\n'), ['0', 'ENODEV', 'False']);
  await ok(`mkdir ${m}/instances/foo`);
  assert.notEqual((await ok(`stat -c %i ${m}/instances/foo`)).trim(), ino, 'a recreated instance gets a new inode number');
  await ok(`rmdir ${m}/instances/foo`);
});

tracefs('trace_pipe: poll() wakes on data, reads block until data, cat is interruptible', async (_s, m) => {
  const out = await py(`
import os, sys, select, subprocess, time
m = sys.argv[1]
fd = os.open(m + '/trace_pipe', os.O_RDONLY | os.O_NONBLOCK)
p = select.poll(); p.register(fd, select.POLLIN)
print('idle', p.poll(300))
subprocess.run(['sh', '-c', 'echo hello-marker > ' + m + '/trace_marker'], check=True)
ev = p.poll(3000)
print('ready', [(e & select.POLLIN) != 0 for _, e in ev])
print('data', b'hello-marker' in os.read(fd, 4096))
try:
    os.read(fd, 4096); print('nonblock-read-ok')
except BlockingIOError:
    print('EAGAIN')
os.close(fd)
`, m);
  assert.deepEqual(out.trim().split('\n'), ['idle []', 'ready [True]', 'data True', 'EAGAIN']);
  // A blocking cat sees an event line as soon as one is enabled, and dies cleanly on a signal.
  await ok(`echo 1 > ${m}/events/sched/sched_switch/enable`);
  const r = await sh(`timeout -s INT 1.5 cat ${m}/trace_pipe | head -c 300`, { timeoutMs: 10_000 });
  await ok(`echo 0 > ${m}/events/sched/sched_switch/enable`);
  assert.match(r.stdout, /sched_switch: ip=/);
  const t0 = Date.now();
  const r2 = await sh(`timeout -s INT 0.5 cat ${m}/trace_pipe; echo rc=$?`, { timeoutMs: 10_000 });
  assert.match(r2.stdout, /rc=(124|130)/, 'cat was interrupted, not stuck');
  assert.ok(Date.now() - t0 < 5000);
});

tracefs('readdir while names are added and removed: no duplicates, no skips', async (_s, m) => {
  const out = await py(`
import ctypes, os, sys, struct
m = sys.argv[1]
d = m + '/instances'
for i in range(150): os.mkdir('%s/keep%03d' % (d, i))
libc = ctypes.CDLL(None, use_errno=True)
SYS_getdents64 = 217
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
buf = ctypes.create_string_buffer(512)   # a handful of entries per call
seen = []; k = 0
while True:
    n = libc.syscall(SYS_getdents64, fd, buf, 512)
    if n < 0: raise OSError(ctypes.get_errno(), 'getdents64')
    if n == 0: break
    off = 0
    while off < n:
        ino, doff, reclen, typ = struct.unpack_from('QqHB', buf.raw, off)
        name = buf.raw[off+19:off+reclen].split(b'\\0', 1)[0].decode()
        if name not in ('.', '..'): seen.append(name)
        off += reclen
    os.mkdir('%s/tmp%03d' % (d, k))
    if k > 0: os.rmdir('%s/tmp%03d' % (d, k - 1))
    k += 1
os.close(fd)
keep = ['keep%03d' % i for i in range(150)]
print('calls', k > 5)
print('dups', len(seen) - len(set(seen)))
print('skipped', [n for n in keep if n not in seen])
`, m, 60_000);
  assert.deepEqual(out.trim().split('\n'), ['calls True', 'dups 0', 'skipped []']);
});

tracefs('inotify sees changes made through the mount (mkdir, rmdir, writes to attributes)', async (_s, m) => {
  const out = await py(`
import ctypes, os, sys, struct, select, subprocess
m = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY, IN_CREATE, IN_DELETE = 0x2, 0x100, 0x200
ifd = libc.inotify_init1(os.O_NONBLOCK)
assert libc.inotify_add_watch(ifd, (m + '/instances').encode(), IN_CREATE | IN_DELETE) >= 0
assert libc.inotify_add_watch(ifd, (m + '/tracing_on').encode(), IN_MODIFY) >= 0
os.mkdir(m + '/instances/watched')
os.rmdir(m + '/instances/watched')
subprocess.run(['sh', '-c', 'echo 1 > ' + m + '/tracing_on'], check=True)
seen = []
p = select.poll(); p.register(ifd, select.POLLIN)
while p.poll(500):
    data = os.read(ifd, 4096); off = 0
    while off < len(data):
        wd, mask, cookie, ln = struct.unpack_from('iIII', data, off)
        name = data[off+16:off+16+ln].split(b'\\0')[0].decode()
        seen.append(('create' if mask & IN_CREATE else 'delete' if mask & IN_DELETE else 'modify' if mask & IN_MODIFY else hex(mask)) + ':' + name)
        off += 16 + ln
print(' '.join(seen))
`, m);
  assert.equal(out.trim(), 'create:watched delete:watched modify:');
});
