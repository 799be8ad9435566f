/**
 * Data integrity: ≥100,000 random reads, writes, truncates, fallocates and
 * mmaps on the share, mirrored on a native reference copy; every read and the
 * final contents must agree. The seed is printed (FUSEKIT_SEED reruns one).
 * Runs with kernel passthrough and without (the server's own data path).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, SKIP_MOUNT, withServer } from '../helpers/mount.ts';
import { sh } from './share-sh.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);
const OPS = Number(process.env.FUSEKIT_INTEGRITY_OPS ?? 100_000);

for (const pt of ['on', 'off'] as const) {
  test(`${OPS} random operations match a reference copy (passthrough ${pt})`, { skip, timeout: 900_000 }, async () => {
    const seed = Number(process.env.FUSEKIT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    process.stderr.write(`share-integrity (passthrough ${pt}): seed ${seed}\n`);
    const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-int-'));
    const src = path.join(base, 'src');
    const ref = path.join(base, 'ref');
    mkdirSync(src);
    mkdirSync(ref);
    try {
      await withServer(['share', src, '{mnt}', `--passthrough=${pt}`], async (s) => {
        const r = await sh(`python3 '${path.join(ROOT, 'test/mount/share-integrity.py')}' '${s.mountpoint}' '${ref}' ${OPS} ${seed}`, { timeoutMs: 850_000 });
        process.stderr.write(r.stdout);
        assert.equal(r.code, 0, `seed ${seed}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^ok ${OPS} ops`, 'm'));
      });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
}
