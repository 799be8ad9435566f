/**
 * One tree, two mounts, in one server process (mountTree twice): shared objects,
 * the same inode numbers on both, and a change made through one mount (or by
 * code) visible through the other at once. Also ioctl and symlinks through the kernel.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, SKIP_MOUNT, sleep, withServer } from '../helpers/mount.ts';
import { ok, py, sh } from './vfs-util.ts';

const FIXTURE = `
import { createTree, dir, file, symlink, attribute, mountTree } from ${JSON.stringify(path.join(ROOT, 'dist/src/vfs/index.js'))};
const [mnt1, mnt2] = process.argv.slice(2);
let n = 0;
const shared = file('one\\n', { writable: true, cache: { entry: 60, attr: 60 } });
const counter = attribute({ show: () => \`\${n}\\n\`, store: (v) => { n = Number(v); }, cache: { attr: 60 } });
// _IOWR(0xaa, 1, 4 bytes): the caller's 4 bytes come in, reversed ones go back, result 42.
const dev = file('', { ioctl: (cmd, _arg, input, outSize) => ({ result: cmd === 0xc004aa01 ? 42 : -1, flags: 0, data: Buffer.from(input).reverse().subarray(0, outSize) }) });
const tree = createTree(dir({ shared, counter, dev, link: symlink('shared') }));
const a = await mountTree(tree, mnt1);
const b = await mountTree(tree, mnt2);
// Code changes the content every time it receives SIGUSR2.
process.on('SIGUSR2', () => shared.set('changed by code\\n'));
console.log('mounted ' + mnt1 + ' and ' + mnt2);
const stop = async () => { await a.unmount().catch(() => {}); await b.unmount().catch(() => {}); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await Promise.all([a.closed, b.closed]);
`;

test('vfs: one tree mounted twice: same inos, changes through one mount or by code seen by the other at once', { skip: SKIP_MOUNT, timeout: 60_000 }, async () => {
  // The harness mounts nothing itself: the fixture mounts {mnt} and {base}/mnt2.
  const { mkdtempSync, mkdirSync } = await import('node:fs');
  const os = await import('node:os');
  const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-vfs-multi-'));
  const script = path.join(base, 'fixture.mjs');
  writeFileSync(script, FIXTURE);
  mkdirSync(path.join(base, 'mnt2'));
  await withServer(['{mnt}', '{base}/mnt2'], async (s) => {
    const m1 = s.mountpoint;
    const m2 = path.join(s.base, 'mnt2');
    try {
      // Same objects, same numbers.
      assert.equal(await ok(`stat -c %i ${m1}/shared`), await ok(`stat -c %i ${m2}/shared`));
      assert.equal(await ok(`cat ${m2}/shared`), 'one\n'); // mount 2 now caches page and attributes for 60 s
      await ok(`printf 'two, written via mount 1\\n' > ${m1}/shared`);
      assert.equal(await ok(`cat ${m2}/shared`), 'two, written via mount 1\n', 'mount 2 was told');
      assert.equal((await ok(`stat -c %s ${m2}/shared`)).trim(), String('two, written via mount 1\n'.length));
      await ok(`echo 7 > ${m2}/counter`);
      assert.equal(await ok(`cat ${m1}/counter`), '7\n');
      // A change by code reaches both mounts.
      process.kill(s.pid, 'SIGUSR2');
      await sleep(200);
      assert.equal(await ok(`cat ${m1}/shared`), 'changed by code\n');
      assert.equal(await ok(`cat ${m2}/shared`), 'changed by code\n');
      // Symlinks and ioctl through the kernel.
      assert.equal((await ok(`readlink ${m1}/link`)).trim(), 'shared');
      assert.equal(await ok(`cat ${m1}/link`), 'changed by code\n');
      const out = await py(`
import fcntl, os, sys, array
fd = os.open(sys.argv[1] + '/dev', os.O_RDONLY)
buf = bytearray(b'abcd')
r = fcntl.ioctl(fd, 0xc004aa01, buf, True)   # _IOWR: 4 bytes in and out
print(r, buf.decode())
try:
    fcntl.ioctl(os.open(sys.argv[1] + '/shared', os.O_RDONLY), 0x5401)  # a file without an ioctl handler
    print('handled')
except OSError as e:
    print(e.errno)
`, m1);
      assert.deepEqual(out.trim().split('\n'), ['42 dcba', '25']);
    } finally {
      await sh(`umount ${m2} 2>/dev/null || umount -l ${m2} 2>/dev/null; true`);
    }
  }, { program: [process.execPath, script], base });
});
