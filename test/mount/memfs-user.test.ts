/**
 * memfs served and used by an ordinary user: the server runs through setpriv as
 * `fusekit-test` and mounts through fusermount3; every command runs as that user
 * too. The same core suite as root, plus what an unprivileged caller must and
 * must not be able to do.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BIN, ROOT, SKIP_MOUNT, testUser, withServer } from '../helpers/mount.ts';
import { CORE, makeEnv, type Env } from './memfs-suite.ts';

/** Why the user suite cannot run, or false. */
function userSkip(): string | false {
  if (SKIP_MOUNT) return SKIP_MOUNT;
  if (process.getuid?.() !== 0) return 'needs root to create the test user and switch to it';
  if (spawnSync('which', ['setpriv']).status !== 0) return 'setpriv (util-linux) is missing';
  const { uid, gid } = testUser();
  // The user must be able to run node and read the built repository.
  const probe = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(BIN)}, 4); require('fs').readdirSync(${JSON.stringify(`${ROOT}/dist/src`)})`]);
  if (probe.status !== 0) {
    const why = `user ${uid} cannot read ${ROOT} (bin/ and dist/ must be world-readable, and every parent directory searchable): ${probe.stderr.toString().trim().split('\n').pop()}`;
    process.stderr.write(`\n*** memfs user tests SKIPPED: ${why} ***\n\n`);
    return why;
  }
  // fusermount3 opens /dev/fuse with the user's own rights; distributions ship it 0666.
  const dev = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'test', '-r', '/dev/fuse', '-a', '-w', '/dev/fuse']);
  if (dev.status !== 0) {
    const why = `user ${uid} cannot open /dev/fuse (mode ${spawnSync('stat', ['-c', '%a', '/dev/fuse']).stdout.toString().trim()}); fusermount3 needs it 0666, as the fuse3 udev rule sets it: chmod 666 /dev/fuse`;
    process.stderr.write(`\n*** memfs user tests SKIPPED: ${why} ***\n\n`);
    return why;
  }
  return false;
}

const skip = userSkip();
const user = skip ? { uid: -1, gid: -1 } : testUser();

function userCase(name: string, fn: (e: Env) => Promise<void>): void {
  test(`memfs (user): ${name}`, { skip, timeout: 60_000 }, () =>
    withServer(['demo', 'memfs', '{mnt}'], async (s) => {
      // A fusermount3 mount belongs to the user: it shows user_id=<uid> in mountinfo.
      const mi = spawnSync('awk', ['-v', `m=${s.mountpoint}`, '$5 == m { print $0 }', '/proc/self/mountinfo']).stdout.toString();
      assert.match(mi, new RegExp(`user_id=${user.uid}\\b`), `mount not owned by the user:\n${mi}`);
      await fn(makeEnv(s.mountpoint, s.base, user));
    }, user));
}

for (const [name, fn] of Object.entries(CORE)) userCase(name, fn);

userCase('the owner writing a setuid file loses S_ISUID; chmod/chown of a foreign file are refused', async (e) => {
  await e.run('echo x > f && chmod 4755 f && echo y >> f');
  assert.equal(await e.run('stat -c %a f'), '755\n');
  assert.match((await e.runRaw('chown 0 f')).stderr, /Operation not permitted/);
  assert.match((await e.runRaw('chgrp 0 f')).stderr, /Operation not permitted/);
});

userCase('default_permissions: mode bits are enforced for the owner too', async (e) => {
  await e.run('echo secret > f && chmod 000 f && mkdir d && chmod 500 d');
  assert.match((await e.runRaw('cat f')).stderr, /Permission denied/);
  assert.match((await e.runRaw('touch d/new')).stderr, /Permission denied/);
  await e.run('chmod 600 f');
  assert.equal(await e.run('cat f'), 'secret\n');
});

userCase('root cannot enter a mount without allow_other', async (e) => {
  const r = spawnSync('stat', [e.mnt]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr.toString(), /Permission denied/);
});
