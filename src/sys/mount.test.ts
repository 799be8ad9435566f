/**
 * Real mounts. Each test mounts on a private temp dir and always unmounts
 * (lazily, as root, whatever happened) before removing it. Nothing here
 * touches a mountpoint whose INIT is unanswered, except statx with
 * AT_STATX_DONT_SYNC and mask 0, which never sends a request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AT, O, close, openat } from './fd.ts';
import {
  backingClose, backingOpen, cloneFuseFd, fuseConnectionId, fuseMountData, fusermountMount, mountFuse, openFuseDevice,
  unmount,
} from './mount.ts';

const isRoot = process.getuid!() === 0;
const skip = !fs.existsSync('/dev/fuse') ? 'no /dev/fuse' : !isRoot ? 'needs root' : false;
if (skip) console.error(`\n*** sys/mount.test: SKIPPING mount tests: ${skip} ***\n`);

interface MountInfo {
  dev: string;
  mountpoint: string;
  fstype: string;
  source: string;
  options: string;
}

function findMount(mp: string): MountInfo | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f[4] !== mp) continue;
    return { dev: f[2]!, mountpoint: f[4]!, fstype: f[sep + 1]!, source: f[sep + 2]!, options: f[sep + 3]! };
  }
  return undefined;
}

/** A temp mountpoint that is lazily unmounted (if still mounted) and removed after the test. */
function mountpoint(t: { after(fn: () => void): void }, owner?: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusekit-sys-mnt-'));
  fs.chmodSync(dir, 0o755);
  const mp = path.join(dir, 'mnt');
  fs.mkdirSync(mp);
  if (owner !== undefined) fs.chownSync(mp, owner, owner);
  t.after(() => {
    for (let i = 0; i < 4 && findMount(mp); i++) unmount(mp, { lazy: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return mp;
}

/** Answer the kernel's INIT on `fd` (offering PASSTHROUGH back if the kernel offered it). */
function answerInit(fd: number): { minor: number; passthrough: boolean } {
  const buf = Buffer.alloc(1 << 20);
  const n = fs.readSync(fd, buf);
  assert.ok(n >= 40 + 64);
  assert.equal(buf.readUInt32LE(0), n);
  assert.equal(buf.readUInt32LE(4), 26, 'first request is INIT');
  const unique = buf.readBigUInt64LE(8);
  const [major, minor, maxReadahead, flags, flags2] = [0, 4, 8, 12, 16].map((o) => buf.readUInt32LE(40 + o)) as [number, number, number, number, number];
  assert.equal(major, 7);
  const INIT_EXT = 1 << 30;
  const PASSTHROUGH2 = 1 << (37 - 32);
  const passthrough = (flags & INIT_EXT) !== 0 && (flags2 & PASSTHROUGH2) !== 0;
  const out = Buffer.alloc(16 + 64);
  out.writeUInt32LE(out.length, 0);
  out.writeInt32LE(0, 4);
  out.writeBigUInt64LE(unique, 8);
  out.writeUInt32LE(7, 16);
  out.writeUInt32LE(Math.min(minor, 45), 20);
  out.writeUInt32LE(maxReadahead, 24);
  out.writeUInt32LE(INIT_EXT, 28);
  out.writeUInt16LE(16, 32); // max_background
  out.writeUInt16LE(12, 34); // congestion_threshold
  out.writeUInt32LE(128 * 1024, 36); // max_write
  out.writeUInt32LE(1, 40); // time_gran
  out.writeUInt32LE(passthrough ? PASSTHROUGH2 : 0, 48); // flags2
  out.writeUInt32LE(passthrough ? 1 : 0, 52); // max_stack_depth
  assert.equal(fs.writeSync(fd, out), out.length);
  return { minor, passthrough };
}

test('mountFuse data string', () => {
  assert.equal(
    fuseMountData({ fd: 7, mountpoint: '/x', userId: 1, groupId: 2, allowOther: true, defaultPermissions: true, maxRead: 4096, extra: ['foo=bar'] }),
    'fd=7,rootmode=40000,user_id=1,group_id=2,allow_other,default_permissions,max_read=4096,foo=bar',
  );
});

test('mount(2) as root, answer INIT, clone, passthrough backing ids, connection id, unmount', { skip, timeout: 20_000 }, (t) => {
  const mp = mountpoint(t);
  const fd = openFuseDevice();
  t.after(() => close(fd));
  assert.equal(fs.readlinkSync(`/proc/self/fd/${fd}`), '/dev/fuse');
  mountFuse({ fd, mountpoint: mp, fsname: 'fusekit-sys-test', subtype: 'systest', defaultPermissions: true, maxRead: 65536 });
  const m = findMount(mp);
  assert.ok(m, 'mounted');
  assert.equal(m.fstype, 'fuse.systest');
  assert.equal(m.source, 'fusekit-sys-test');
  assert.match(m.options, /\buser_id=0\b/);
  assert.match(m.options, /\bdefault_permissions\b/);
  assert.match(m.options, /\bmax_read=65536\b/);
  // Before INIT: the connection id comes from st_dev without a request.
  const id = fuseConnectionId(mp);
  assert.equal(m.dev, `0:${id}`);
  if (fs.existsSync(`/sys/fs/fuse/connections/${id}`)) assert.ok(fs.statSync(`/sys/fs/fuse/connections/${id}/abort`));
  const { passthrough } = answerInit(fd);
  const clone = cloneFuseFd(fd);
  try {
    assert.notEqual(clone, fd);
    assert.equal(fs.readlinkSync(`/proc/self/fd/${clone}`), '/dev/fuse');
    // Cloning an fd that is not attached to a session fails (6.18 says EPERM; older kernels EINVAL).
    const other = openFuseDevice();
    try {
      assert.throws(() => cloneFuseFd(other), (e: NodeJS.ErrnoException) => {
        assert.equal(e.syscall, 'ioctl(FUSE_DEV_IOC_CLONE)');
        assert.ok(['EPERM', 'EINVAL'].includes(e.code!), e.code);
        return true;
      });
    } finally {
      close(other);
    }
  } finally {
    close(clone);
  }
  const file = path.join(path.dirname(mp), 'backing');
  fs.writeFileSync(file, 'data');
  const bfd = openat(AT.FDCWD, file, O.RDWR | O.CLOEXEC);
  try {
    if (passthrough) {
      const id1 = backingOpen(fd, bfd);
      const id2 = backingOpen(fd, bfd);
      assert.ok(id1 > 0 && id2 > 0 && id1 !== id2, `backing ids ${id1} ${id2}`);
      backingClose(fd, id1);
      assert.throws(() => backingClose(fd, id1), { code: 'ENOENT' });
      backingClose(fd, id2);
      // A directory cannot back a file.
      const dfd = openat(AT.FDCWD, path.dirname(mp), O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      try {
        assert.throws(() => backingOpen(fd, dfd), (e: NodeJS.ErrnoException) => ['EISDIR', 'EINVAL'].includes(e.code!));
      } finally {
        close(dfd);
      }
    } else {
      t.diagnostic('kernel did not offer FUSE_PASSTHROUGH: backing ioctls not exercised');
      assert.throws(() => backingOpen(fd, bfd));
    }
  } finally {
    close(bfd);
  }
  unmount(mp);
  assert.equal(findMount(mp), undefined);
});

test('fusermount3 mount as root, then lazy unmount (no server, mountpoint untouched)', { skip, timeout: 20_000 }, async (t) => {
  const mp = mountpoint(t);
  const fd = await fusermountMount(mp, ['fsname=fusekit-fm-root', 'subtype=fmtest', 'default_permissions']);
  try {
    assert.equal(fs.readlinkSync(`/proc/self/fd/${fd}`), '/dev/fuse');
    assert.match(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'), /^flags:\s+0[0-7]*2[0-7]{6}$/m, 'O_CLOEXEC');
    const m = findMount(mp);
    assert.ok(m);
    assert.equal(m.fstype, 'fuse.fmtest');
    assert.equal(m.source, 'fusekit-fm-root');
    assert.equal(m.dev, `0:${fuseConnectionId(mp)}`);
    // The INIT request is waiting on the fd we received.
    const buf = Buffer.alloc(1 << 20);
    const n = fs.readSync(fd, buf);
    assert.equal(buf.readUInt32LE(4), 26);
    assert.equal(n, buf.readUInt32LE(0));
    unmount(mp, { lazy: true });
    assert.equal(findMount(mp), undefined);
  } finally {
    close(fd);
  }
  // Failure: a mountpoint that does not exist.
  await assert.rejects(fusermountMount(path.join(mp, 'missing'), []), (e: Error & { code?: string; stderr?: string }) => {
    assert.ok(e.stderr && e.stderr.length > 0);
    assert.equal(e.code, 'ENOENT');
    return true;
  });
});

test('fusermount3 mount and unmount as an unprivileged uid (setpriv nobody)', { skip, timeout: 30_000 }, async (t) => {
  const uid = 65534;
  const mp = mountpoint(t, uid);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = `
    import * as fs from 'node:fs';
    const { fusermountMount, unmount, fuseConnectionId } = await import(${JSON.stringify(path.join(here, 'mount.js'))});
    const { close } = await import(${JSON.stringify(path.join(here, 'ffi.js'))});
    const mp = ${JSON.stringify(mp)};
    const out = { uid: process.getuid(), euid: process.geteuid() };
    const fd = await fusermountMount(mp, ['fsname=fusekit-nobody', 'subtype=nobodytest']);
    out.dev = fs.readlinkSync('/proc/self/fd/' + fd);
    out.mount = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').find((l) => l.split(' ')[4] === mp);
    out.conn = fuseConnectionId(mp);
    // Like a crashed server: closing the fd aborts the connection, so nothing can block on it.
    close(fd);
    unmount(mp, { lazy: true });
    out.after = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').some((l) => l.split(' ')[4] === mp);
    try { unmount(mp, { lazy: true }); } catch (e) { out.again = { code: e.code, stderr: e.stderr }; }
    console.log(JSON.stringify(out));
  `;
  const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, `child failed: ${stderr}`);
  const out = JSON.parse(stdout) as { uid: number; euid: number; dev: string; mount?: string; conn: number; after: boolean; again?: { code: string; stderr: string } };
  assert.equal(out.uid, uid);
  assert.equal(out.euid, uid);
  assert.equal(out.dev, '/dev/fuse');
  assert.ok(out.mount, 'the mount was visible to the child');
  const f = out.mount.split(' ');
  const sep = f.indexOf('-');
  assert.equal(f[sep + 1], 'fuse.nobodytest');
  assert.equal(f[sep + 2], 'fusekit-nobody');
  assert.match(f[sep + 3]!, new RegExp(`\\buser_id=${uid}\\b`));
  assert.equal(f[2], `0:${out.conn}`);
  assert.equal(out.after, false, 'fusermount3 -u -z removed it');
  assert.equal(out.again?.code, 'EINVAL', `second unmount fails: ${out.again?.stderr}`);
  assert.equal(findMount(mp), undefined);
});
