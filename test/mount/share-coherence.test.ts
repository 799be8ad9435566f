/**
 * Coherence with outside changes under --cache=always (entry/attr timeouts of a
 * day): host edits, creates, removals and renames must be visible on the mount
 * within BOUND_MS, through the inotify → INVAL_* path alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SKIP_MOUNT, sleep, withServer } from '../helpers/mount.ts';
import { ok } from './share-sh.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);
/** The stated bound: inotify drain period (10 ms) + notification + margin. */
export const BOUND_MS = 100;

async function within(label: string, cmd: string, want: string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    // Latency counts to the start of the first attempt that saw the change.
    const started = Date.now() - t0;
    const got = await ok(`${cmd} 2>&1 || true`);
    if (got === want) return started;
    if (started > BOUND_MS) assert.equal(got, want, `${label}: not visible within ${BOUND_MS} ms`);
    await sleep(5);
  }
}

test(`outside changes reach stat and cat within ${BOUND_MS} ms under --cache=always`, { skip, timeout: 60_000 }, async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-coh-'));
  const src = path.join(base, 'src');
  mkdirSync(src);
  mkdirSync(path.join(src, 'sub'));
  writeFileSync(path.join(src, 'f'), 'one');
  try {
    await withServer(['share', src, '{mnt}', '--cache=always', '--passthrough=off', ...(process.env.FUSEKIT_SHARE_ARGS ?? '').split(' ').filter(Boolean)], async (s) => {
      const m = s.mountpoint;
      // Warm every cache: dentries, attributes, page cache, negative entries, listings.
      const warm = await ok(`cat '${m}/f'; echo; stat -c %s '${m}/f'; ls '${m}' '${m}/sub'; cat '${m}/new' 2>/dev/null || true`);
      assert.match(warm, /^one\n3\n/);
      const times: Record<string, number> = {};
      writeFileSync(path.join(src, 'f'), 'two!');
      times.edit = await within('edit', `cat '${m}/f'; stat -c %s '${m}/f'`, 'two!4\n');
      appendFileSync(path.join(src, 'f'), '+');
      times.append = await within('append', `stat -c %s '${m}/f'`, '5\n');
      chmodSync(path.join(src, 'f'), 0o600);
      times.chmod = await within('chmod', `stat -c %a '${m}/f'`, '600\n');
      writeFileSync(path.join(src, 'new'), 'fresh');
      times.create = await within('create', `cat '${m}/new'`, 'fresh');
      writeFileSync(path.join(src, 'sub', 'deep'), 'd');
      times.listing = await within('listing', `ls '${m}/sub'`, 'deep\n');
      unlinkSync(path.join(src, 'new'));
      times.remove = await within('remove', `cat '${m}/new' >/dev/null 2>&1 && echo present || echo gone`, 'gone\n');
      renameSync(path.join(src, 'f'), path.join(src, 'g'));
      times.rename = await within('rename', `ls '${m}'`, 'g\nsub\n');
      process.stderr.write(`coherence latencies (ms): ${JSON.stringify(times)}\n`);
    });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
