/**
 * `fusekit share`: ownership for callers, read-only shares, id mapping, kernel
 * passthrough, the change-version xattr and KEEP_CACHE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, utimesSync, statSync, readFileSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SKIP_MOUNT, mountOptions, sleep, testUser, withServer } from '../helpers/mount.ts';
import { ok, sh } from './share-sh.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);

function tree(): { base: string; src: string; done: () => void } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-share-'));
  chmodSync(base, 0o755);
  const src = path.join(base, 'src');
  mkdirSync(src, { mode: 0o777 });
  chmodSync(src, 0o777);
  return { base, src, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('files created by an ordinary user are theirs, with their umask', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  const u = testUser();
  try {
    await withServer(['share', t.src, '{mnt}'], async (s) => {
      chmodSync(s.base, 0o755);
      await ok(`umask 027; touch '${s.mountpoint}/u-file'; mkdir '${s.mountpoint}/u-dir'; ln -s x '${s.mountpoint}/u-link'; mkfifo '${s.mountpoint}/u-fifo'`, { uid: u.uid, gid: u.gid });
      for (const n of ['u-file', 'u-dir', 'u-link', 'u-fifo']) {
        const lst = lstatSync(path.join(t.src, n));
        assert.equal(`${lst.uid}:${lst.gid}`, `${u.uid}:${u.gid}`, `${n} owner on the host`);
      }
      assert.equal(statSync(path.join(t.src, 'u-file')).mode & 0o777, 0o640);
      assert.equal(statSync(path.join(t.src, 'u-dir')).mode & 0o777, 0o750);
      // and the user cannot touch root's files
      writeFileSync(path.join(t.src, 'root-file'), 'r');
      chmodSync(path.join(t.src, 'root-file'), 0o644);
      const r = await sh(`echo x >> '${s.mountpoint}/root-file'`, { uid: u.uid, gid: u.gid });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied/);
      const r2 = await sh(`chown ${u.uid} '${s.mountpoint}/root-file'`, { uid: u.uid, gid: u.gid });
      assert.match(r2.stderr, /Operation not permitted/);
    });
  } finally {
    t.done();
  }
});

test('an ordinary user changes a directory whose fd left the LRU (reopened by handle as the server)', { skip, timeout: 60_000 }, async () => {
  // Regression: mkdir/unlink/rmdir/symlink/mknod reopened the parent by handle *after*
  // switching to the caller's fsuid, which drops CAP_DAC_READ_SEARCH: EPERM once the
  // parent's fd had been evicted from the fd cache (here 16 entries, flushed by a listing).
  const t = tree();
  const u = testUser();
  try {
    await withServer(['share', t.src, '{mnt}', '--fd-cache=16'], async (s) => {
      chmodSync(s.base, 0o755);
      const d = `${s.mountpoint}/ud`;
      await ok(`mkdir '${d}' && cd '${d}' && for i in $(seq 100); do : > f$i; done && mkdir sub`, { uid: u.uid, gid: u.gid });
      // Two listings (READDIRPLUS resolves every entry: the parent's fd is evicted), then each change.
      const py = `import os
os.chdir(${JSON.stringify(d)})
def relist():
    os.listdir('.')
    with os.scandir('.') as it: list(it)
relist(); os.unlink('f1')
relist(); os.mkdir('d2')
relist(); os.rmdir('d2')
relist(); os.symlink('f2', 'l')
relist(); os.mkfifo('p')
relist(); os.unlink('l'); relist(); os.unlink('p'); relist(); os.rmdir('sub')`;
      await ok(`python3 -c '${py.replace(/'/g, `'\\''`)}'`, { uid: u.uid, gid: u.gid });
      assert.equal(readFileSync(path.join(t.src, 'ud', 'f2'), 'utf8'), '');
      assert.equal(statSync(path.join(t.src, 'ud')).uid, u.uid);
      assert.deepEqual((await ok(`ls '${d}' | wc -l`)).trim(), '99');
    });
  } finally {
    t.done();
  }
});

test('without default_permissions the server checks permissions itself', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  const u = testUser();
  try {
    writeFileSync(path.join(t.src, 'secret'), 's');
    chmodSync(path.join(t.src, 'secret'), 0o600);
    mkdirSync(path.join(t.src, 'closed'), { mode: 0o700 });
    writeFileSync(path.join(t.src, 'closed', 'f'), 'x');
    await withServer(['share', t.src, '{mnt}', '--no-default-permissions'], async (s) => {
      chmodSync(s.base, 0o755);
      const opts = await ok(`awk -v m='${s.mountpoint}' '$2 == m { print $4 }' /proc/mounts`);
      assert.doesNotMatch(opts, /default_permissions/);
      const r = await sh(`cat '${s.mountpoint}/secret'`, { uid: u.uid, gid: u.gid });
      assert.match(r.stderr, /Permission denied/);
      const r2 = await sh(`cat '${s.mountpoint}/closed/f'`, { uid: u.uid, gid: u.gid });
      assert.match(r2.stderr, /Permission denied/);
      const r3 = await sh(`touch '${s.mountpoint}/closed/g'`, { uid: u.uid, gid: u.gid });
      assert.notEqual(r3.code, 0);
      assert.equal(await ok(`cat '${s.mountpoint}/secret'`), 's');
      await ok(`touch '${s.mountpoint}/mine'`, { uid: u.uid, gid: u.gid });
      assert.equal(statSync(path.join(t.src, 'mine')).uid, u.uid);
    });
  } finally {
    t.done();
  }
});

test('--readonly refuses every change with EROFS', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  try {
    writeFileSync(path.join(t.src, 'f'), 'data');
    await withServer(['share', t.src, '{mnt}', '--readonly'], async (s) => {
      chmodSync(s.base, 0o755);
      assert.equal(await ok(`cat '${s.mountpoint}/f'`), 'data');
      for (const cmd of ['touch g', 'echo x >> f', 'rm f', 'mkdir d', 'chmod 600 f', 'setfattr -n user.x -v 1 f', 'truncate -s 0 f']) {
        const r = await sh(`cd '${s.mountpoint}' && ${cmd}`);
        assert.notEqual(r.code, 0, cmd);
        assert.match(r.stderr, /Read-only file system/, cmd);
      }
      assert.equal(readFileSync(path.join(t.src, 'f'), 'utf8'), 'data');
    });
  } finally {
    t.done();
  }
});

test('--map-uid and --map-gid translate both ways', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  try {
    writeFileSync(path.join(t.src, 'f'), '');
    await ok(`chown 5000:6000 '${path.join(t.src, 'f')}'`);
    await withServer(['share', t.src, '{mnt}', '--map-uid', '5000:7000', '--map-gid', '6000:8000'], async (s) => {
      chmodSync(s.base, 0o755);
      assert.equal(await ok(`stat -c '%u:%g' '${s.mountpoint}/f'`), '7000:8000\n');
      await ok(`touch '${s.mountpoint}/g' && chown 7000:8000 '${s.mountpoint}/g'`);
      assert.equal(await ok(`stat -c '%u:%g' '${path.join(t.src, 'g')}'`), '5000:6000\n');
    });
  } finally {
    t.done();
  }
});

test('kernel passthrough: file I/O never reaches the server; off: it does', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  try {
    writeFileSync(path.join(t.src, 'f'), Buffer.alloc(1 << 20, 7));
    for (const mode of ['on', 'off'] as const) {
      await withServer(['share', t.src, '{mnt}', `--passthrough=${mode}`, '--debug'], async (s) => {
      chmodSync(s.base, 0o755);
        await ok(`cat '${s.mountpoint}/f' > /dev/null; dd if=/dev/zero of='${s.mountpoint}/g' bs=64k count=16 status=none`);
        await sleep(200);
        const out = s.output();
        assert.match(out, /INIT: flags .*/);
        const rw = (out.match(/opcode: (READ|WRITE) \(/g) ?? []).length;
        if (mode === 'on') {
          assert.match(out, /INIT: flags .*PASSTHROUGH/);
          
          assert.equal(rw, 0, 'no READ/WRITE requests with passthrough');
        } else {
          assert.ok(rw > 0, 'READ/WRITE requests without passthrough');
        }
        assert.equal(statSync(path.join(t.src, 'g')).size, 1 << 20);
      });
    }
  } finally {
    t.done();
  }
});

test('passthrough backing files: an O_EXCL create serves later opens; O_APPEND or O_SYNC on the first open does not leak into others', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  const u = testUser();
  try {
    await withServer(['share', t.src, '{mnt}', '--passthrough=on', '--debug'], async (s) => {
      chmodSync(s.base, 0o755);
      const m = s.mountpoint;
      const py = String.raw`
import os, sys
m = sys.argv[1]
# O_EXCL|O_WRONLY create (tar's open): the server opens it read-write for the backing file.
fd = os.open(m + '/x', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, b'hello')
r = os.open(m + '/x', os.O_RDONLY)          # shares the backing file while fd is open
assert os.read(r, 10) == b'hello', 'read through a second open'
try:
    os.read(fd, 1); raise SystemExit('read on an O_WRONLY fd must fail')
except OSError as e:
    assert e.errno == 9, e                   # EBADF: the caller's own mode still rules
os.close(r); os.close(fd)
# The first open appends: a second, plain open must still write where it asks.
a = os.open(m + '/y', os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
os.write(a, b'aaaa')
w = os.open(m + '/y', os.O_WRONLY)
os.pwrite(w, b'B', 0)
os.write(a, b'cc')
os.close(w); os.close(a)
assert open(m + '/y', 'rb').read() == b'Baaacc', open(m + '/y', 'rb').read()
# O_SYNC on the first open: still correct data for a plain second open.
o = os.open(m + '/z', os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_SYNC, 0o644)
os.write(o, b'zz')
p = os.open(m + '/z', os.O_RDWR)
os.pwrite(p, b'Z', 1)
os.close(p); os.close(o)
assert open(m + '/z', 'rb').read() == b'zZ'
print('ok')
`;
      assert.equal((await ok(`python3 -c '${py.replaceAll("'", "'\\''")}' '${m}'`)).trim(), 'ok');
      // An ordinary user's O_EXCL create of a mode-000 file works (a new file's open is not
      // checked), and the file then refuses that user as the host would.
      const r = await sh(`cd '${m}' && python3 -c "import os; fd = os.open('u0', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0); os.write(fd, b'q'); os.close(fd)" && cat u0`, { uid: u.uid, gid: u.gid });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied/);
      assert.equal(readFileSync(path.join(t.src, 'u0'), 'utf8'), 'q');
      assert.equal(statSync(path.join(t.src, 'u0')).mode & 0o777, 0);
      assert.equal(readFileSync(path.join(t.src, 'x'), 'utf8'), 'hello');
      assert.equal((s.output().match(/opcode: (READ|WRITE) \(/g) ?? []).length, 0, 'all of it through passthrough');
    });
  } finally {
    t.done();
  }
});

test('user.fusekit.version changes on host changes that timestamps hide, and drives KEEP_CACHE', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  try {
    const f = path.join(t.src, 'f');
    writeFileSync(f, 'aaaa');
    const when = new Date('2020-01-01T00:00:00Z');
    utimesSync(f, when, when);
    await withServer(['share', t.src, '{mnt}', '--passthrough=off', '--cache=auto', '--debug'], async (s) => {
      chmodSync(s.base, 0o755);
      const m = path.join(s.mountpoint, 'f');
      const v = async (): Promise<string> => ok(`getfattr --only-values -n user.fusekit.version '${m}'`);
      const v1 = await v();
      assert.equal(await v(), v1, 'stable without changes');
      assert.equal(await ok(`cat '${m}'`), 'aaaa');
      // Same size, same mtime: only ctime (and the version) can tell.
      writeFileSync(f, 'bbbb');
      utimesSync(f, when, when);
      await sleep(100);
      const v2 = await v();
      assert.notEqual(v2, v1, 'version moved after a host write hidden by utimes');
      assert.equal(await ok(`cat '${m}'`), 'bbbb');
      const r = await sh(`setfattr -n user.fusekit.version -v 1 '${m}'`);
      assert.notEqual(r.code, 0);
      // The page cache held 'aaaa' at the same size and mtime: only the version change
      // (no KEEP_CACHE on the next open) makes the new content visible, asserted above.
      void s;
    });
  } finally {
    t.done();
  }
});

test('an ordinary user can run the share (fusermount3; fds instead of handles; no passthrough)', { skip, timeout: 60_000 }, async () => {
  const t = tree();
  const u = testUser();
  try {
    await ok(`chown ${u.uid}:${u.gid} '${t.src}'`);
    await withServer(['share', t.src, '{mnt}', '--passthrough=on'], async (s) => {
      const m = s.mountpoint;
      const out = await ok(`cd '${m}' && echo hi > a && cat a && mkdir d && ln a d/b && stat -c '%h %u' a && mv a c && rm c d/b && rmdir d && ls -A | wc -l`, { uid: u.uid, gid: u.gid });
      assert.equal(out, `hi\n2 ${u.uid}\n0\n`);
      assert.match(s.output(), /passthrough unavailable \(needs root\)/);
    }, { uid: u.uid, gid: u.gid });
  } finally {
    t.done();
  }
});

/** GETATTR requests the server logged (--debug) while `command` ran. */
async function getattrsDuring(s: { output(): string }, command: string): Promise<number> {
  const count = (): number => (s.output().match(/opcode: GETATTR/g) ?? []).length;
  const before = count();
  await ok(command);
  await sleep(200);
  return count() - before;
}

test('--private: only the mounting user gets in, and the kernel stops re-checking parents (no GETATTR per unlink)', { skip, timeout: 90_000 }, async () => {
  const t = tree();
  const u = testUser();
  const files = 60;
  const make = (m: string): string => `mkdir '${m}/x' && for i in $(seq ${files}); do echo $i > '${m}/x/f'$i; done && ls -l '${m}/x' > /dev/null`;
  try {
    // The default, for contrast: other users are let in, the kernel checks modes, and so it
    // refreshes the directory's attributes (a GETATTR) before each unlink after the first.
    let shared = 0;
    await withServer(['share', t.src, '{mnt}', '--debug'], async (s) => {
      const opts = mountOptions(s.mountpoint);
      assert.ok(opts.includes('allow_other') && opts.includes('default_permissions'), opts.join(','));
      await ok(make(s.mountpoint));
      shared = await getattrsDuring(s, `rm -rf '${s.mountpoint}/x'`);
      assert.ok(shared >= files - 1, `default share: ${shared} GETATTRs for ${files} unlinks`);
    });
    await withServer(['share', t.src, '{mnt}', '--private', '--debug'], async (s) => {
      const m = s.mountpoint;
      const opts = mountOptions(m);
      assert.ok(!opts.includes('allow_other') && !opts.includes('default_permissions'), opts.join(','));
      await ok(make(m));
      const n = await getattrsDuring(s, `rm -rf '${m}/x'`);
      assert.ok(n < files / 4, `--private: ${n} GETATTRs for ${files} unlinks (default share: ${shared})`);
      assert.equal(await ok(`ls -A '${m}' | wc -l`), '0\n');
      // Nobody else gets in, not even to stat the mount point.
      const r = await sh(`stat '${m}'`, { uid: u.uid, gid: u.gid });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Permission denied/);
      // Root's own permission semantics are the host's: no x bit, no exec, even for root.
      await ok(`printf '#!/bin/sh\\necho ran\\n' > '${m}/s' && chmod 644 '${m}/s'`);
      const x = await sh(`'${m}/s'`);
      assert.match(x.stderr, /Permission denied/);
      await ok(`chmod 755 '${m}/s'`);
      assert.equal(await ok(`'${m}/s'`), 'ran\n');
    });
  } finally {
    t.done();
  }
});
