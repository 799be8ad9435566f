/**
 * memfs mounted by root (mount(2)): the shared core suite, plus what only root
 * may do (chown, sgid inheritance for other groups, device nodes, trusted.* xattrs).
 * Each case gets its own `fusekit demo memfs` server, stopped pass or fail.
 */
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { test } from 'node:test';
import { SKIP_MOUNT, testUser, withServer } from '../helpers/mount.ts';
import { CORE, makeEnv, type Env } from './memfs-suite.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'needs root (the ordinary-user suite is memfs-user.test.ts)' : false);

function memfsCase(name: string, fn: (e: Env) => Promise<void>): void {
  test(`memfs (root): ${name}`, { skip, timeout: 60_000 }, () =>
    withServer(['demo', 'memfs', '{mnt}'], (s) => fn(makeEnv(s.mountpoint, s.base))));
}

for (const [name, fn] of Object.entries(CORE)) memfsCase(name, fn);

memfsCase('the demo mounts with default_permissions', async (e) => {
  const opts = await e.run(`awk -v m="${e.mnt}" '$2 == m { print $3, $4 }' /proc/mounts`);
  assert.match(opts, /^fuse\.memfs .*default_permissions/);
});

memfsCase('chown clears set-user-ID and set-group-ID (with group exec)', async (e) => {
  await e.run('touch f g && chmod 6755 f && chmod 2745 g && chown 1234:5678 f g');
  assert.equal(await e.run(`stat -c '%a %u %g' f g`), '755 1234 5678\n2745 1234 5678\n');
});

memfsCase('set-group-ID directories pass their group on, and S_ISGID to subdirectories', async (e) => {
  await e.run('mkdir d && chown :4321 d && chmod 2775 d && touch d/f && mkdir d/sub');
  assert.equal(await e.run(`stat -c '%g %a' d/f d/sub`), '4321 644\n4321 2755\n');
});

memfsCase('mknod makes character and block devices with their numbers', async (e) => {
  await e.run('mknod c c 1 3 && mknod b b 7 0');
  assert.equal(await e.run(`stat -c '%F %t %T' c b`), 'character special file 1 3\nblock special file 7 0\n');
  assert.equal(await e.run('head -c 4 c | wc -c'), '0\n'); // /dev/null semantics through the device node
});

memfsCase('trusted.* and security.* xattrs are stored; other namespaces are not supported', async (e) => {
  await e.run('touch f && setfattr -n trusted.t -v 1 f && setfattr -n security.s -v 2 f');
  assert.equal(await e.run('getfattr -n trusted.t --only-values f; getfattr -n security.s --only-values f'), '12');
  assert.match((await e.runRaw('setfattr -n other.x -v 1 f')).stderr, /Operation not supported/);
});

memfsCase('sizes, block counts and contents of a large sparse file', async (e) => {
  await e.run('truncate -s 10G big && printf end | dd of=big bs=1 seek=10737418240 conv=notrunc status=none');
  assert.equal(await e.run(`stat -c '%s %b' big`), '10737418243 8\n');
  assert.equal(await e.run('tail -c 3 big'), 'end');
  assert.equal(await e.run('dd if=big bs=4096 skip=1000 count=1 status=none | tr -d "\\0" | wc -c'), '0\n');
});

test('memfs (root, allow_other): another user writing a setuid file clears S_ISUID; reads need permission', { skip, timeout: 60_000 }, () =>
  withServer(['demo', 'memfs', '{mnt}', '-o', 'allow_other,default_permissions'], async (s) => {
    chmodSync(s.base, 0o755); // let the other user reach the mountpoint
    const e = makeEnv(s.mountpoint, s.base);
    const u = makeEnv(s.mountpoint, s.base, testUser());
    await e.run('echo x > f && chmod 4777 f && echo private > p && chmod 600 p');
    await u.run('echo y >> f');
    assert.equal(await e.run(`stat -c %a f && cat f`), '777\nx\ny\n');
    assert.match((await u.runRaw('cat p')).stderr, /Permission denied/);
    assert.match((await u.runRaw('chmod 777 p')).stderr, /Operation not permitted/);
    // Supplementary groups (read from /proc/<pid>/status for SETATTR): chgrp to one and keep g+s.
    const { uid, gid } = testUser();
    await e.run(`touch g && chown ${uid}:${gid} g`);
    const asMember = `setpriv --reuid=${uid} --regid=${gid} --groups=4242`;
    await e.run(`${asMember} chgrp 4242 g && ${asMember} chmod 2750 g`);
    assert.equal(await e.run('stat -c "%g %a" g'), '4242 2750\n');
    assert.match((await e.runRaw(`${asMember} chgrp 4243 g`)).stderr, /Operation not permitted/);
  }));

test('memfs (root, no default_permissions): access(2) is answered by memfs from the mode bits', { skip, timeout: 60_000 }, () =>
  withServer(['demo', 'memfs', '{mnt}', '-o', 'allow_other'], async (s) => {
    chmodSync(s.base, 0o755);
    const e = makeEnv(s.mountpoint, s.base);
    const u = makeEnv(s.mountpoint, s.base, testUser());
    assert.doesNotMatch(await e.run(`awk -v m="${s.mountpoint}" '$2 == m { print $4 }' /proc/mounts`), /default_permissions/);
    await e.run('touch secret public script && chmod 600 secret && chmod 644 public && chmod 755 script');
    const out = await u.py(`
print(os.access('secret', os.R_OK), os.access('public', os.R_OK), os.access('public', os.W_OK), os.access('script', os.X_OK), os.access('secret', os.F_OK))
`);
    assert.equal(out, 'False True False True True\n');
    assert.equal(await e.py(`print(os.access('secret', os.R_OK | os.W_OK), os.access('public', os.X_OK), os.access('script', os.X_OK))`), 'True False True\n');
  }));

memfsCase('after the kernel forgets every node (drop_caches), names and data are all still there', async (e) => {
  await e.run('mkdir -p a/b && for i in $(seq 1 300); do echo "n$i" > a/b/f$i; done && ln -s b a/l');
  const before = await e.run(`stat -f -c %d . && find . -printf '%p %i %n %s\\n' | sort | md5sum`);
  await e.run('sync; echo 2 > /proc/sys/vm/drop_caches');
  assert.equal(await e.run(`stat -f -c %d . && find . -printf '%p %i %n %s\\n' | sort | md5sum`), before);
  assert.equal(await e.run('cat a/l/f7 a/b/f300'), 'n7\nn300\n');
});
