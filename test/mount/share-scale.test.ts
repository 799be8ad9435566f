/**
 * Big trees within the fd budget: `find`, `du` and `stat` over 500,000 files
 * (FUSEKIT_SCALE_FILES) through the share, with the server's open-fd count
 * sampled every 50 ms. The machine's hard limit is 20,000 fds; servers that
 * hold an fd per inode (passthrough_ll/hp) fail past that. The tree lives on a
 * private tmpfs so creating it is quick and repeatable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SKIP_MOUNT, withServer } from '../helpers/mount.ts';
import { ok, sh } from './share-sh.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);
const FILES = Number(process.env.FUSEKIT_SCALE_FILES ?? 500_000);
const PER_DIR = 1000;

test(`find, du and stat over ${FILES} files stay within the fd budget`, { skip, timeout: 1_800_000 }, async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-scale-'));
  const src = path.join(base, 'src');
  mkdirSync(src);
  await ok(`mount -t tmpfs -o size=4g,nr_inodes=2000000 fusekit-scale '${src}'`);
  try {
    const dirs = Math.ceil(FILES / PER_DIR);
    await ok(`python3 -c "
import os
for d in range(${dirs}):
    p = '${src}/d%04d' % d; os.mkdir(p)
    for f in range(min(${PER_DIR}, ${FILES} - d * ${PER_DIR})):
        os.close(os.open('%s/f%04d' % (p, f), os.O_CREAT | os.O_WRONLY, 0o644))
"`, { timeoutMs: 600_000 });
    await withServer(['share', src, '{mnt}', '--cache=auto'], async (s) => {
      let maxFds = 0;
      const sample = (): void => {
        try {
          maxFds = Math.max(maxFds, readdirSync(`/proc/${s.pid}/fd`).length);
        } catch {
          /* exited */
        }
      };
      const timer = setInterval(sample, 50);
      try {
        const t0 = Date.now();
        const found = Number((await ok(`find '${s.mountpoint}' | wc -l`, { timeoutMs: 900_000 })).trim());
        const tFind = Date.now() - t0;
        assert.equal(found, FILES + dirs + 1, 'find sees every entry');
        const t1 = Date.now();
        const du = await sh(`du -s --inodes '${s.mountpoint}'`, { timeoutMs: 900_000 });
        assert.equal(du.code, 0, du.stderr);
        assert.equal(Number(du.stdout.split(/\s/)[0]), FILES + dirs + 1, 'du counts every inode');
        const tDu = Date.now() - t1;
        const t2 = Date.now();
        const st = await sh(`find '${s.mountpoint}' -type f -print0 | xargs -0 stat -c %i | sort -u | wc -l`, { timeoutMs: 900_000 });
        assert.equal(Number(st.stdout.trim()), FILES, 'stat of every file, each with its own inode number');
        const tStat = Date.now() - t2;
        sample();
        process.stderr.write(`share-scale: ${FILES} files, find ${tFind} ms, du ${tDu} ms, stat ${tStat} ms, server fds max ${maxFds}\n`);
        assert.ok(maxFds < 2000, `server fd count stayed bounded (max ${maxFds})`);
      } finally {
        clearInterval(timer);
      }
    });
  } finally {
    await sh(`umount '${src}' || umount -l '${src}'`);
    rmSync(base, { recursive: true, force: true });
  }
});
