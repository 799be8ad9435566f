/**
 * Confinement of `fusekit share`: each escape is attempted and must fail.
 *
 * The mount sits deeper than the shared directory, so a relative symlink means
 * something different on the client (the kernel resolves it there) than it
 * would on the host: a server that followed host symlinks would reach
 * `outside/`, and the tests look for exactly that.
 *
 *   base/src        shared          base/outside/secret   must stay unreachable
 *   base/a/b/mnt    mountpoint      (../outside from src = base/outside;
 *                                    ../outside from mnt  = base/a/b/outside: nonexistent)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SKIP_MOUNT, sleep, withServer } from '../helpers/mount.ts';
import { ok, sh } from './share-sh.ts';
import { shareFs } from '../../src/passthrough/share-fs.ts';
import { emptyIdMap } from '../../src/passthrough/options.ts';
import type { RequestContext } from '../../src/session/lowlevel.ts';

const skip = SKIP_MOUNT || (process.getuid?.() !== 0 ? 'share mount tests run as root' : false);

function layout(): { base: string; src: string; outside: string; mntBase: string; done: () => void } {
  const base = mkdtempSync(path.join(os.tmpdir(), 'fusekit-sec-'));
  chmodSync(base, 0o755);
  const src = path.join(base, 'src');
  const outside = path.join(base, 'outside');
  mkdirSync(src);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret'), 'SECRET');
  const mntBase = path.join(base, 'a', 'b');
  mkdirSync(mntBase, { recursive: true });
  return { base, src, outside, mntBase, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('symlinks are never followed by the server', { skip, timeout: 60_000 }, async () => {
  const l = layout();
  try {
    symlinkSync('../outside', path.join(l.src, 'rel'));
    symlinkSync('../outside/secret', path.join(l.src, 'relfile'));
    symlinkSync('../outside/created', path.join(l.src, 'dangling'));
    symlinkSync('/proc/self/root', path.join(l.src, 'magic'));
    await withServer(['share', l.src, '{mnt}'], async (s) => {
      const m = s.mountpoint;
      // Read through a relative symlink: the client resolves it to base/a/b/outside (absent).
      assert.notEqual((await sh(`cat '${m}/rel/secret'`)).code, 0);
      assert.notEqual((await sh(`cat '${m}/relfile'`)).code, 0);
      // Create through a dangling symlink: must not create base/outside/created.
      await sh(`echo x > '${m}/dangling'`);
      assert.equal(existsSync(path.join(l.outside, 'created')), false);
      // Metadata and xattr calls on a symlink act on the link or fail, never on the target.
      await sh(`chmod 777 '${m}/relfile'; chown 1234 '${m}/relfile'; setfattr -h -n user.x -v 1 '${m}/relfile'; truncate -s 0 '${m}/relfile'`);
      assert.equal(readFileSync(path.join(l.outside, 'secret'), 'utf8'), 'SECRET');
      assert.equal((await ok(`stat -c '%a %u' '${path.join(l.outside, 'secret')}'`)).trim(), '644 0');
      assert.notEqual((await sh(`getfattr -n user.x '${path.join(l.outside, 'secret')}'`)).code, 0, 'no xattr reached the target');
      // The server reports links as links (it did not resolve them).
      assert.equal((await ok(`stat -c '%F' '${m}/magic' '${m}/rel'`)).trim(), 'symbolic link\nsymbolic link');
      assert.equal((await ok(`readlink '${m}/magic'`)).trim(), '/proc/self/root');
      // Hard-linking through the mount to a symlink links the symlink, not its target.
      await sh(`ln '${m}/relfile' '${m}/hl' 2>/dev/null`);
      if (existsSync(path.join(l.src, 'hl'))) assert.equal((await ok(`stat -c %F '${path.join(l.src, 'hl')}'`)).trim(), 'symbolic link');
    }, { base: l.mntBase });
  } finally {
    l.done();
  }
});

test('a host-side symlink swap racing client operations never leaks outside', { skip, timeout: 120_000 }, async () => {
  const l = layout();
  try {
    mkdirSync(path.join(l.src, 'd'));
    await withServer(['share', l.src, '{mnt}'], async (s) => {
      const m = s.mountpoint;
      // Host: keep replacing src/d by a symlink to ../outside and back.
      const swapper = sh(`for i in $(seq 1 400); do mv -T '${l.src}/d' '${l.src}/d.tmp' 2>/dev/null; ln -sfn ../outside '${l.src}/d'; rm -f '${l.src}/d'; mv -T '${l.src}/d.tmp' '${l.src}/d' 2>/dev/null; done`, { timeoutMs: 100_000 });
      // Client: create, chmod, write and remove files under d at the same time.
      const client = sh(`for i in $(seq 1 400); do echo $i > '${m}/d/f$i' 2>/dev/null; chmod 600 '${m}/d/f$i' 2>/dev/null; touch '${m}/d/secret' 2>/dev/null; rm -f '${m}/d/f$i' 2>/dev/null; done; true`, { timeoutMs: 100_000 });
      await Promise.all([swapper, client]);
      assert.deepEqual(readdirSync(l.outside), ['secret']);
      assert.equal(readFileSync(path.join(l.outside, 'secret'), 'utf8'), 'SECRET');
      assert.equal((await ok(`stat -c '%a' '${path.join(l.outside, 'secret')}'`)).trim(), '644');
    }, { base: l.mntBase });
  } finally {
    l.done();
  }
});

test('a client renaming parents while requests are in flight stays inside', { skip, timeout: 120_000 }, async () => {
  const l = layout();
  try {
    mkdirSync(path.join(l.src, 'x', 'y', 'z'), { recursive: true });
    await withServer(['share', l.src, '{mnt}'], async (s) => {
      const m = s.mountpoint;
      const renamer = sh(`for i in $(seq 1 300); do mv '${m}/x' '${m}/w' && mv '${m}/w' '${m}/x'; mv '${m}/x/y' '${m}/v' 2>/dev/null && mv '${m}/v' '${m}/x/y'; done; true`, { timeoutMs: 100_000 });
      const worker = sh(`for i in $(seq 1 300); do touch '${m}/x/y/z/../../../../outside/pwn$i' 2>/dev/null; echo > '${m}/x/y/z/f' 2>/dev/null; done; true`, { timeoutMs: 100_000 });
      await Promise.all([renamer, worker]);
      assert.deepEqual(readdirSync(l.outside), ['secret']);
    }, { base: l.mntBase });
  } finally {
    l.done();
  }
});

test('names with "..", "/" or NUL are refused by the server itself', { skip, timeout: 30_000 }, async () => {
  const l = layout();
  const fsImpl = shareFs({
    source: l.src, readonly: false, cache: 'never', passthrough: 'off', uidMap: emptyIdMap(), gidMap: emptyIdMap(),
    defaultPermissions: true, fdCache: 64, watch: false, log: () => {},
  });
  const ctx = { unique: 2n, opcode: 1, nodeid: 1n, uid: 0, gid: 0, pid: 0, signal: new AbortController().signal } as unknown as RequestContext;
  try {
    for (const bad of ['..', '.', '../outside', 'a/b', 'x\0y', '']) {
      await assert.rejects(async () => fsImpl.lookup!(ctx, 1n, Buffer.from(bad)), /EINVAL/, JSON.stringify(bad));
      await assert.rejects(async () => fsImpl.mkdir!(ctx, 1n, Buffer.from(bad), 0o755, 0), /EINVAL/, JSON.stringify(bad));
      await assert.rejects(async () => fsImpl.create!(ctx, 1n, Buffer.from(bad), 0o644, 0o101, 0), /EINVAL/, JSON.stringify(bad));
    }
    symlinkSync('../outside', path.join(l.src, 'link'));
    const e = await fsImpl.lookup!(ctx, 1n, Buffer.from('link'));
    assert.equal(e.attr.mode & 0o170000, 0o120000, 'lookup returns the link itself');
    // Operations on the link node never reach the target directory.
    await assert.rejects(async () => fsImpl.opendir!(ctx, e.nodeid, 0), /ENOTDIR/);
    await assert.rejects(async () => fsImpl.lookup!(ctx, e.nodeid, Buffer.from('secret')));
    assert.deepEqual(readdirSync(l.outside), ['secret']);
    await sleep(1);
  } finally {
    fsImpl.destroy?.();
    fsImpl.core.table.close();
    l.done();
  }
});
