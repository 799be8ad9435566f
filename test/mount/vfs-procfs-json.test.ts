/**
 * `fusekit demo procfs` and `fusekit demo json`, and `fusekit mount <module.ts>`,
 * mounted and driven with real programs (cat, ls, echo >, mkdir, rm, stat, inotify).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, SKIP_MOUNT, sleep, withServer } from '../helpers/mount.ts';
import { ok, py, sh } from './vfs-util.ts';


test('vfs procfs: pid, uptime, env, and handles that come and go (invalidated at once)', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['demo', 'procfs', '{mnt}'], async (s) => {
    const m = s.mountpoint;
    assert.equal((await ok(`cat ${m}/pid`)).trim(), String(s.pid));
    const u1 = Number(await ok(`cat ${m}/uptime`));
    await sleep(300);
    const u2 = Number(await ok(`cat ${m}/uptime`));
    assert.ok(u2 > u1, `uptime moves: ${u1} → ${u2}`);
    const [size, bytes] = (await ok(`stat -c %s ${m}/memory; cat ${m}/memory | wc -c`)).trim().split('\n').map(Number);
    assert.ok(Math.abs(size! - bytes!) <= 8, `stat ${size} vs read ${bytes}`);
    assert.ok((await ok(`ls ${m}/env`)).split('\n').includes('PATH'));
    assert.equal((await ok(`cat ${m}/env/PATH`)).trim(), process.env.PATH);
    // A handle appears, is seen by ls and stat, and when it closes the kernel is told (inotify IN_DELETE).
    const out = await py(`
import ctypes, os, sys, struct, select, subprocess
m = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
IN_DELETE = 0x200
before = set(os.listdir(m + '/handles'))
with open(m + '/ctl', 'w') as f: f.write('listen')
# Only servers: the process may also gain its own handles meanwhile (the notification writer's worker).
new = sorted(n for n in set(os.listdir(m + '/handles')) - before if n.split('-')[1] == 'Server')
print('new', len(new), new[0].split('-')[1])
os.stat(m + '/handles/' + new[0])
ifd = libc.inotify_init1(os.O_NONBLOCK)
assert libc.inotify_add_watch(ifd, (m + '/handles').encode(), IN_DELETE) >= 0
with open(m + '/ctl', 'w') as f: f.write('close ' + new[0].split('-')[0])
names = []
p = select.poll(); p.register(ifd, select.POLLIN)
if p.poll(1000):
    data = os.read(ifd, 4096); off = 0
    while off < len(data):
        wd, mask, cookie, ln = struct.unpack_from('iIII', data, off)
        names.append((mask & IN_DELETE != 0, data[off+16:off+16+ln].split(b'\\0')[0].decode()))
        off += 16 + ln
sys.stderr.write('inotify events after a server-side DELETE: %r' % (names,) + chr(10))
# The entry has a 60 s entry/attr timeout: only the DELETE notification can make it vanish now.
print('gone', not os.path.exists(m + '/handles/' + new[0]), new[0] not in os.listdir(m + '/handles'))
`, m);
    assert.deepEqual(out.trim().split('\n'), ['new 1 Server', 'gone True True']);
  }));

test('vfs json: cat, echo > parsed by type, mkdir/rm, and code changes visible at once', { skip: SKIP_MOUNT, timeout: 60_000 }, () =>
  withServer(['demo', 'json', '{mnt}'], async (s) => {
    const m = s.mountpoint;
    assert.deepEqual((await ok(`ls ${m}`)).trim().split('\n'), ['author', 'keywords', 'name', 'private', 'stars', 'ticks', 'version']);
    assert.equal(await ok(`cat ${m}/author/email`), 'you@example.com\n');
    assert.equal(await ok(`cat ${m}/keywords/1`), 'filesystem\n');
    await ok(`echo 5 > ${m}/stars`);
    assert.equal(await ok(`cat ${m}/stars`), '5\n');
    const bad = await sh(`echo many > ${m}/stars`);
    assert.match(bad.stderr, /Invalid argument/);
    const t1 = Number(await ok(`cat ${m}/ticks`));
    await sleep(2100);
    const t2 = Number(await ok(`cat ${m}/ticks`));
    assert.ok(t2 >= t1 + 1, `the server's own changes show at once: ${t1} → ${t2}`);
    await ok(`mkdir ${m}/extra && echo hello > ${m}/extra/greeting`);
    assert.equal(await ok(`cat ${m}/extra/greeting`), 'hello\n');
    assert.equal((await ok(`stat -c %s ${m}/extra/greeting`)).trim(), '6');
    await ok(`rm ${m}/extra/greeting && rmdir ${m}/extra`);
    assert.equal((await sh(`ls ${m}/extra`)).code, 2);
    // Removal while open: the open file answers ENODEV (DIRECT_IO: every read asks the server).
    const out = await py(`
import os, sys, errno
m = sys.argv[1]
fd = os.open(m + '/version', os.O_RDONLY)
os.unlink(m + '/version')
try:
    os.pread(fd, 100, 0); print('read-ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`, m);
    assert.equal(out.trim(), 'ENODEV');
  }));

test('vfs: fusekit mount <module.ts> compiles a TypeScript module and mounts its default export', { skip: SKIP_MOUNT, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fusekit-vfs-mod-'));
  try {
    const mod = path.join(dir, 'hello-tree.ts');
    writeFileSync(mod, `import { createTree, dir, file, generated } from ${JSON.stringify(path.join(ROOT, 'dist/src/vfs/index.js'))};
interface Greeting { text: string }
const g: Greeting = { text: 'hello from TypeScript\\n' };
let opens: number = 0;
export default createTree(dir({ hello: file(g.text), counter: generated(() => \`\${++opens}\\n\`) }));
`);
    await withServer(['mount', mod, '{mnt}'], async (s) => {
      assert.equal(await ok(`cat ${s.mountpoint}/hello`), 'hello from TypeScript\n');
      assert.equal((await ok(`stat -c %a ${s.mountpoint}/hello`)).trim(), '444');
      assert.equal((await sh(`echo x > ${s.mountpoint}/hello`)).code, 1);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
