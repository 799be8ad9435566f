/**
 * Differential conformance: every case of posix-cases.ts runs on a native
 * directory and on `fusekit share` of a sibling directory (same host
 * filesystem), as root and as an ordinary uid (setpriv), and the printed
 * observations must be identical. A difference fails the test unless it is
 * listed in DOCUMENTED with its reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, SKIP_MOUNT, startServer, testUser, type Server } from '../helpers/mount.ts';
import { sh } from '../mount/share-sh.ts';
import { CASES } from './posix-cases.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'the differential suite runs as root (it also uses setpriv)' : false);

/** Intended or kernel-imposed differences, by "case/identity" (see src/passthrough/README.md). */
const DOCUMENTED: Record<string, string> = {
  'device nodes can be opened/root': 'FUSE mounts are nodev,nosuid (src/sys/mount.ts passes MS_NODEV|MS_NOSUID): a share handed to a sandbox must not open host devices',
  'fallocate collapse and insert range/root': 'the FUSE kernel module refuses FALLOC_FL_COLLAPSE_RANGE and INSERT_RANGE (EOPNOTSUPP) before asking the server',
  'fallocate collapse and insert range/user': 'as for root',
  'inode flags: lsattr/chattr/root': 'Linux 6.18 answers FS_IOC_GETFLAGS/SETFLAGS on FUSE with EOPNOTSUPP without sending FUSE_IOCTL (observed); the server implements both for kernels that forward them',
};

const extraArgs = (process.env.FUSEKIT_SHARE_ARGS ?? '').split(' ').filter(Boolean);
let server: Server | undefined;
let base = '';
let native = '';
let user = { uid: 0, gid: 0 };
const prelude = readFileSync(path.join(ROOT, 'test/conformance/prelude.py'), 'utf8');

before(async () => {
  if (skip) return;
  user = testUser();
  base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-conf-'));
  chmodSync(base, 0o755);
  native = path.join(base, 'native');
  mkdirSync(native, { mode: 0o755 });
  mkdirSync(path.join(base, 'src'), { mode: 0o755 });
  mkdirSync(path.join(base, 'py'), { mode: 0o755 });
  server = await startServer(['share', path.join(base, 'src'), '{mnt}', ...extraArgs], { base });
});

after(async () => {
  await server?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

let seq = 0;
async function observe(dir: string, file: string, uid?: number): Promise<string> {
  const r = await sh(`cd '${dir}' && python3 '${file}' 2>&1`, uid === undefined ? { timeoutMs: 60_000 } : { uid, gid: user.gid, timeoutMs: 60_000 });
  return `${r.stdout}${r.stderr}${r.code === 0 ? '' : `[exit ${r.code}]`}`;
}

for (const [name, c] of Object.entries(CASES)) {
  for (const who of ['root', 'user'] as const) {
    if (c.only && c.only !== who) continue;
    test(`share vs native (${who}): ${name}`, { skip, timeout: 120_000 }, async () => {
      const id = `c${seq++}`;
      const file = path.join(base, 'py', `${id}.py`);
      writeFileSync(file, `${prelude}\n${c.py}\n`, { mode: 0o644 });
      const dirs = [path.join(native, id), path.join(server!.mountpoint, id)];
      for (const d of dirs) {
        mkdirSync(d, { mode: 0o755 });
        if (who === 'user') chownSync(d, user.uid, user.gid);
      }
      const uid = who === 'user' ? user.uid : undefined;
      const [a, b] = [await observe(dirs[0]!, file, uid), await observe(dirs[1]!, file, uid)];
      const why = DOCUMENTED[`${name}/${who}`];
      if (why && a !== b) {
        process.stderr.write(`documented difference in "${name}" (${who}): ${why}\n`);
        return;
      }
      assert.ok(a.trim().length > 0, 'the case printed nothing');
      assert.equal(b, a, `share (second) differs from native (first) in "${name}" as ${who}`);
    });
  }
}
