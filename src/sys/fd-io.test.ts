import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AT, DT, FALLOC, FS_IOC, O, SEEK, copyFileRange, fallocate, fdatasync, fstatvfs, fsync, ftruncate,
  getdents64, ioctlInt, lseek, lseekBig, openat, pread, pwrite, setfsgid, setfsuid, setgroupsThread, statfs,
  syncfs, umask,
} from './fd.ts';
import { tmp, withFd } from '../../test/helpers/tmp.ts';

test('pread/pwrite, ftruncate, fsync family', (t) => {
  const f = path.join(tmp(t), 'f');
  withFd(openat(AT.FDCWD, f, O.RDWR | O.CREAT | O.CLOEXEC, 0o600), (fd) => {
    assert.equal(pwrite(fd, Buffer.from('hello world'), 3), 11);
    assert.equal(pwrite(fd, Buffer.from('XYZ'), 0, 2), 2);
    const b = Buffer.alloc(32);
    const n = pread(fd, b, 0);
    assert.equal(n, 14);
    assert.deepEqual(b.subarray(0, n), Buffer.from('XY\0hello world'));
    assert.equal(pread(fd, b, 100), 0, 'EOF');
    assert.throws(() => pread(fd, b, 0, 33), RangeError);
    // Offsets beyond 2^32 go through as 64-bit.
    assert.equal(pwrite(fd, Buffer.from('!'), 2 ** 33), 1);
    assert.equal(fs.fstatSync(fd).size, 2 ** 33 + 1);
    ftruncate(fd, 5);
    assert.equal(fs.fstatSync(fd).size, 5);
    fsync(fd);
    fdatasync(fd);
    syncfs(fd);
  });
  assert.throws(() => fsync(987654), { code: 'EBADF', syscall: 'fsync' });
});

test('fallocate, SEEK_DATA/SEEK_HOLE, PUNCH_HOLE', (t) => {
  const f = path.join(tmp(t), 'sparse');
  withFd(openat(AT.FDCWD, f, O.RDWR | O.CREAT | O.CLOEXEC, 0o600), (fd) => {
    const MiB = 1 << 20;
    pwrite(fd, Buffer.alloc(4096, 1), 0);
    pwrite(fd, Buffer.alloc(4096, 2), MiB);
    assert.equal(lseek(fd, 0, SEEK.DATA), 0);
    assert.equal(lseek(fd, 0, SEEK.HOLE), 4096);
    assert.equal(lseek(fd, 4096, SEEK.DATA), MiB);
    assert.equal(lseek(fd, MiB, SEEK.HOLE), MiB + 4096, 'EOF counts as a hole');
    assert.throws(() => lseek(fd, MiB + 4096, SEEK.DATA), { code: 'ENXIO' });
    fallocate(fd, FALLOC.PUNCH_HOLE | FALLOC.KEEP_SIZE, MiB, 4096);
    assert.equal(fs.fstatSync(fd).size, MiB + 4096);
    assert.throws(() => lseek(fd, 4096, SEEK.DATA), { code: 'ENXIO' }, 'no data left after the first block');
    fallocate(fd, 0, 0, 3 * MiB);
    assert.equal(fs.fstatSync(fd).size, 3 * MiB);
    assert.ok(fs.fstatSync(fd).blocks * 512 >= 3 * MiB);
    assert.equal(lseek(fd, 10, SEEK.SET), 10);
    assert.equal(lseek(fd, 5, SEEK.CUR), 15);
  });
});

test('copy_file_range with explicit and implicit offsets', (t) => {
  const root = tmp(t);
  fs.writeFileSync(path.join(root, 'src'), '0123456789');
  withFd(openat(AT.FDCWD, path.join(root, 'src'), O.RDONLY | O.CLOEXEC), (a) =>
    withFd(openat(AT.FDCWD, path.join(root, 'dst'), O.RDWR | O.CREAT | O.CLOEXEC, 0o600), (b) => {
      assert.equal(copyFileRange(a, 2, b, 0, 5), 5);
      assert.equal(lseek(a, 0, SEEK.CUR), 0, 'explicit offsets leave the fd offset alone');
      assert.equal(lseek(a, 7, SEEK.SET), 7);
      assert.equal(copyFileRange(a, null, b, 5, 100), 3, 'short at EOF');
      assert.equal(lseek(a, 0, SEEK.CUR), 10, 'null offset advances the fd');
      assert.equal(copyFileRange(a, null, b, 8, 100), 0);
      assert.equal(fs.readFileSync(path.join(root, 'dst'), 'utf8'), '23456789');
    }),
  );
});

test('fstatvfs / statfs agree with fs.statfsSync', (t) => {
  const root = tmp(t);
  const s = fs.statfsSync(root);
  const v = statfs(root);
  assert.equal(v.bsize, s.bsize);
  assert.equal(v.blocks, s.blocks);
  assert.equal(v.files, s.files);
  assert.equal(v.namelen, 255);
  assert.ok(v.frsize > 0 && v.bavail <= v.bfree && v.bfree <= v.blocks);
  withFd(openat(AT.FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC), (fd) => {
    const w = fstatvfs(fd);
    assert.equal(w.blocks, v.blocks);
    assert.equal(w.fsid, v.fsid);
  });
});

test('getdents64 lists names, types and resumable cookies', (t) => {
  const root = tmp(t);
  const names = Array.from({ length: 300 }, (_, i) => `file-${i}`);
  for (const n of names) fs.writeFileSync(path.join(root, n), '');
  fs.mkdirSync(path.join(root, 'd'));
  fs.symlinkSync('x', path.join(root, 'l'));
  withFd(openat(AT.FDCWD, root, O.RDONLY | O.DIRECTORY | O.CLOEXEC), (fd) => {
    const buf = Buffer.alloc(4096); // small on purpose: several batches
    const all: ReturnType<typeof getdents64> = [];
    let batches = 0;
    for (let es; (es = getdents64(fd, buf)).length; batches++) all.push(...es);
    assert.ok(batches > 1);
    const got = all.map((e) => e.name.toString());
    assert.deepEqual([...got].sort(), ['.', '..', 'd', 'l', ...names].sort());
    const byName = new Map(all.map((e) => [e.name.toString(), e]));
    assert.equal(byName.get('d')!.type, DT.DIR);
    assert.equal(byName.get('l')!.type, DT.LNK);
    assert.equal(byName.get('file-7')!.type, DT.REG);
    assert.equal(byName.get('file-7')!.ino, fs.statSync(path.join(root, 'file-7'), { bigint: true }).ino);
    // Seeking to an entry's d_off resumes right after it.
    const mid = all[150]!;
    assert.equal(lseekBig(fd, mid.off, SEEK.SET), mid.off);
    const rest = getdents64(fd, buf);
    assert.equal(rest[0]!.name.toString(), all[151]!.name.toString());
  });
});

test('ioctlInt FS_IOC_GETFLAGS / SETFLAGS', (t) => {
  const f = path.join(tmp(t), 'f');
  fs.writeFileSync(f, 'x');
  withFd(openat(AT.FDCWD, f, O.RDONLY | O.CLOEXEC), (fd) => {
    const FS_NOATIME_FL = 0x80;
    const before = ioctlInt(fd, FS_IOC.GETFLAGS);
    assert.equal(before & FS_NOATIME_FL, 0);
    ioctlInt(fd, FS_IOC.SETFLAGS, before | FS_NOATIME_FL);
    assert.equal(ioctlInt(fd, FS_IOC.GETFLAGS), before | FS_NOATIME_FL);
    ioctlInt(fd, FS_IOC.SETFLAGS, before);
    assert.equal(ioctlInt(fd, FS_IOC.GETFLAGS), before);
  });
});

test('setfsuid/setfsgid/setgroupsThread change file-system identity of this thread', { skip: process.getuid!() !== 0 && 'needs root' }, (t) => {
  const root = tmp(t);
  fs.chmodSync(root, 0o777);
  fs.mkdirSync(path.join(root, 'private'), { mode: 0o700 });
  const groups = process.getgroups!();
  const prevUid = setfsuid(65534);
  const prevGid = setfsgid(65533);
  try {
    assert.equal(prevUid, 0);
    assert.equal(prevGid, 0);
    withFd(openat(AT.FDCWD, path.join(root, 'mine'), O.WRONLY | O.CREAT | O.CLOEXEC, 0o600), () => {});
    assert.throws(() => openat(AT.FDCWD, path.join(root, 'private', 'x'), O.WRONLY | O.CREAT, 0o600), { code: 'EACCES' });
    setgroupsThread([4242, 4343]);
    const status = fs.readFileSync('/proc/thread-self/status', 'utf8');
    assert.match(status, /^Groups:\s+4242 4343\s*$/m);
  } finally {
    setgroupsThread(groups);
    assert.equal(setfsgid(prevGid), 65533);
    assert.equal(setfsuid(prevUid), 65534);
  }
  const st = fs.statSync(path.join(root, 'mine'));
  assert.equal(st.uid, 65534);
  assert.equal(st.gid, 65533);
  // Back to root: the private dir is writable again.
  withFd(openat(AT.FDCWD, path.join(root, 'private', 'x'), O.WRONLY | O.CREAT | O.CLOEXEC, 0o600), () => {});
});

test('umask returns the previous mask', () => {
  const old = umask(0o027);
  try {
    assert.equal(umask(0o022), 0o027);
    assert.equal(process.umask(), 0o022);
  } finally {
    umask(old);
  }
});
