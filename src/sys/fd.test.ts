import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AT, O, RENAME, RESOLVE, STATX, decodeStatx, fchmod, fchmodFd, fchmodat, fchownat, linkat, mkdirat, mknodat, nameToHandleAt,
  openByHandleAt, openat, openat2, readlinkat, renameat2, statx, symlinkat, unlinkat, utimensat,
} from './fd.ts';
import { tmp, withFd } from '../../test/helpers/tmp.ts';

test('openat2 RESOLVE_BENEATH rejects .. and absolute symlinks with EXDEV', (t) => {
  const root = tmp(t);
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'x'), 'outside');
  fs.writeFileSync(path.join(root, 'sub', 'inside'), 'inside');
  fs.symlinkSync(path.join(root, 'x'), path.join(root, 'sub', 'abs'));
  fs.symlinkSync('/x', path.join(root, 'sub', 'rootabs'));
  fs.writeFileSync(path.join(root, 'sub', 'x'), 'clamped');
  withFd(openat(AT.FDCWD, path.join(root, 'sub'), O.PATH | O.DIRECTORY | O.CLOEXEC), (dirfd) => {
    for (const p of ['../x', 'abs']) {
      assert.throws(() => openat2(dirfd, p, { flags: O.RDONLY | O.CLOEXEC, resolve: RESOLVE.BENEATH }), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, 'EXDEV');
        assert.equal(e.errno, -os.constants.errno.EXDEV);
        assert.equal(e.syscall, 'openat2');
        assert.match(e.message, /^openat2 .*: Invalid cross-device link$/);
        return true;
      });
    }
    // Without confinement both resolve to the outside file.
    withFd(openat2(dirfd, 'abs', { flags: O.RDONLY | O.CLOEXEC }), (fd) => assert.equal(fs.readFileSync(fd, 'utf8'), 'outside'));
    withFd(openat2(dirfd, 'inside', { flags: O.RDONLY | O.CLOEXEC, resolve: RESOLVE.BENEATH }), (fd) =>
      assert.equal(fs.readFileSync(fd, 'utf8'), 'inside'),
    );
    // IN_ROOT clamps the absolute symlink "/x" to <dirfd>/x.
    withFd(openat2(dirfd, 'rootabs', { flags: O.RDONLY | O.CLOEXEC, resolve: RESOLVE.IN_ROOT }), (fd) =>
      assert.equal(fs.readFileSync(fd, 'utf8'), 'clamped'),
    );
    assert.throws(() => openat2(dirfd, 'abs', { flags: O.RDONLY, resolve: RESOLVE.NO_SYMLINKS }), { code: 'ELOOP' });
    assert.throws(() => openat2(dirfd, 'inside', { flags: O.RDONLY, resolve: 0x4000 }), { code: 'EINVAL' });
    // A Buffer path with raw (non-UTF-8) bytes works too.
    const raw = Buffer.from([0x66, 0xff, 0x66]);
    withFd(openat2(dirfd, raw, { flags: O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, mode: 0o600, resolve: RESOLVE.BENEATH }), () => {});
    assert.ok(fs.readdirSync(path.join(root, 'sub'), { encoding: 'buffer' }).some((n) => n.equals(raw)));
  });
});

test('statx fields match fs.statSync', (t) => {
  const root = tmp(t);
  const f = path.join(root, 'f');
  fs.writeFileSync(f, Buffer.alloc(12345, 1));
  fs.utimesSync(f, new Date('2001-02-03T04:05:06.789Z'), new Date('2011-12-13T14:15:16.5Z'));
  const s = fs.statSync(f, { bigint: true });
  const x = statx(AT.FDCWD, f, 0, STATX.BASIC_STATS | STATX.BTIME | STATX.MNT_ID);
  assert.equal(x.mask & STATX.BASIC_STATS, STATX.BASIC_STATS);
  assert.equal(x.ino, s.ino);
  assert.equal(BigInt(x.size), s.size);
  assert.equal(BigInt(x.mode), s.mode);
  assert.equal(BigInt(x.nlink), s.nlink);
  assert.equal(BigInt(x.uid), s.uid);
  assert.equal(BigInt(x.gid), s.gid);
  assert.equal(BigInt(x.blocks), s.blocks);
  assert.equal(BigInt(x.blksize), s.blksize);
  assert.equal(BigInt(x.mtime.sec) * 1_000_000_000n + BigInt(x.mtime.nsec), s.mtimeNs);
  assert.equal(BigInt(x.atime.sec) * 1_000_000_000n + BigInt(x.atime.nsec), s.atimeNs);
  assert.equal(BigInt(x.ctime.sec) * 1_000_000_000n + BigInt(x.ctime.nsec), s.ctimeNs);
  assert.equal(x.mtime.sec, 1323785716);
  assert.equal(x.mtime.nsec, 500_000_000);
  // glibc makedev encoding of st_dev.
  const dev = (BigInt(x.dev_major & 0xfff) << 8n) | (BigInt(x.dev_major & ~0xfff) << 32n) | BigInt(x.dev_minor & 0xff) | (BigInt(x.dev_minor & ~0xff) << 12n);
  assert.equal(dev, s.dev);
  assert.ok(x.mnt_id > 0n);
  // The mount id is the one in /proc/self/mountinfo for this filesystem.
  const ids = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[0]);
  assert.ok(ids.includes(String(x.mnt_id)));
  // AT_EMPTY_PATH on an O_PATH fd, and SYMLINK_NOFOLLOW on a symlink.
  withFd(openat(AT.FDCWD, f, O.PATH | O.CLOEXEC), (fd) => assert.equal(statx(fd, '', AT.EMPTY_PATH).ino, s.ino));
  fs.symlinkSync('f', path.join(root, 'l'));
  const l = statx(AT.FDCWD, path.join(root, 'l'), AT.SYMLINK_NOFOLLOW);
  assert.equal(l.mode & 0o170000, 0o120000);
  assert.equal(l.size, 1);
  assert.throws(() => statx(AT.FDCWD, path.join(root, 'nope')), { code: 'ENOENT', syscall: 'statx' });
});

test('decodeStatx: an unaligned copy decodes the same; negative times and 64-bit fields', () => {
  const b = Buffer.alloc(256);
  b.writeUInt32LE(0x17ff, 0);
  b.writeUInt32LE(4096, 4);
  b.writeBigUInt64LE(0x0000_0010_0000_0020n, 8); // attributes
  b.writeUInt16LE(0o100644, 28);
  b.writeUInt16LE(0xffff, 30); // the spare after mode is not part of it
  b.writeBigUInt64LE(0xfedc_ba98_7654_3210n, 32); // ino above 2^53
  b.writeBigUInt64LE(5n * 2n ** 40n + 7n, 40); // size above 2^32
  b.writeBigInt64LE(-2n, 64); // atime before the epoch
  b.writeUInt32LE(999_999_999, 72);
  b.writeBigInt64LE(2n ** 33n + 1n, 112); // mtime past 2106
  b.writeBigUInt64LE(123n, 144); // mnt_id
  const a = decodeStatx(b);
  const shifted = Buffer.alloc(260);
  b.copy(shifted, 1);
  const u = decodeStatx(shifted.subarray(1, 257));
  assert.deepEqual(u, a);
  assert.equal(a.mode, 0o100644);
  assert.equal(a.attributes, 0x0000_0010_0000_0020n);
  assert.equal(a.ino, 0xfedc_ba98_7654_3210n);
  assert.equal(a.size, 5 * 2 ** 40 + 7);
  assert.deepEqual(a.atime, { sec: -2, nsec: 999_999_999 });
  assert.equal(a.mtime.sec, 2 ** 33 + 1);
  assert.equal(a.mnt_id, 123n);
  assert.equal(a.subvol, 0n);
  assert.throws(() => decodeStatx(b.subarray(0, 255)), RangeError);
  assert.throws(() => decodeStatx(shifted.subarray(1, 200)), RangeError);
});

test('fchmodFd changes the mode through an O_PATH fd, and fails like chmod', (t) => {
  const root = tmp(t);
  const f = path.join(root, 'f');
  fs.writeFileSync(f, '');
  withFd(openat(AT.FDCWD, f, O.PATH | O.CLOEXEC), (fd) => {
    fchmodFd(fd, 0o4751);
    assert.equal(fs.statSync(f).mode & 0o7777, 0o4751);
  });
  fs.symlinkSync('f', path.join(root, 'l'));
  withFd(openat(AT.FDCWD, path.join(root, 'l'), O.PATH | O.NOFOLLOW | O.CLOEXEC), (fd) => {
    assert.throws(() => fchmodFd(fd, 0o600), (e: NodeJS.ErrnoException) => e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP');
  });
  assert.equal(fs.statSync(f).mode & 0o7777, 0o4751, 'the symlink target is untouched');
});

test('renameat2 NOREPLACE refuses to overwrite, EXCHANGE swaps', (t) => {
  const root = tmp(t);
  fs.writeFileSync(path.join(root, 'a'), 'A');
  fs.writeFileSync(path.join(root, 'b'), 'B');
  withFd(openat(AT.FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC), (d) => {
    assert.throws(() => renameat2(d, 'a', d, 'b', RENAME.NOREPLACE), { code: 'EEXIST' });
    assert.equal(fs.readFileSync(path.join(root, 'b'), 'utf8'), 'B');
    renameat2(d, 'a', d, 'b', RENAME.EXCHANGE);
    assert.equal(fs.readFileSync(path.join(root, 'a'), 'utf8'), 'B');
    assert.equal(fs.readFileSync(path.join(root, 'b'), 'utf8'), 'A');
    assert.throws(() => renameat2(d, 'a', d, 'c', RENAME.EXCHANGE), { code: 'ENOENT' });
    renameat2(d, 'a', d, 'c', RENAME.NOREPLACE);
    assert.deepEqual(fs.readdirSync(root).sort(), ['b', 'c']);
  });
});

test('utimensat: explicit, OMIT and NOW', (t) => {
  const root = tmp(t);
  const f = path.join(root, 'f');
  fs.writeFileSync(f, '');
  withFd(openat(AT.FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC), (d) => {
    utimensat(d, 'f', { sec: 1000, nsec: 1 }, { sec: 2000, nsec: 2 });
    let s = fs.statSync(f, { bigint: true });
    assert.equal(s.atimeNs, 1000_000_000_001n);
    assert.equal(s.mtimeNs, 2000_000_000_002n);
    utimensat(d, 'f', { sec: 3000, nsec: 0 }, 'omit');
    s = fs.statSync(f, { bigint: true });
    assert.equal(s.atimeNs, 3000_000_000_000n);
    assert.equal(s.mtimeNs, 2000_000_000_002n, 'OMIT leaves mtime alone');
    const before = BigInt(Date.now() - 5000) * 1_000_000n;
    utimensat(d, 'f', 'omit', 'now');
    s = fs.statSync(f, { bigint: true });
    assert.equal(s.atimeNs, 3000_000_000_000n, 'OMIT leaves atime alone');
    assert.ok(s.mtimeNs > before, 'NOW sets the current time');
  });
  // Before the epoch, and past 2038 (both halves of tv_sec).
  withFd(openat(AT.FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC), (d) => {
    utimensat(d, 'f', { sec: -1, nsec: 500 }, { sec: 2 ** 32 + 5, nsec: 7 });
    const s = fs.statSync(f, { bigint: true });
    assert.equal(s.atimeNs, -1_000_000_000n + 500n);
    assert.equal(s.mtimeNs, (2n ** 32n + 5n) * 1_000_000_000n + 7n);
  });
  // path null: the fd itself (futimens).
  withFd(openat(AT.FDCWD, f, O.RDWR | O.CLOEXEC), (fd) => utimensat(fd, null, { sec: 7, nsec: 0 }, { sec: 8, nsec: 0 }));
  assert.equal(fs.statSync(f).mtimeMs, 8000);
});

test('namespace calls: mkdirat, mknodat, linkat, symlinkat, readlinkat, fchownat, fchmodat, unlinkat', (t) => {
  const root = tmp(t);
  withFd(openat(AT.FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC), (d) => {
    mkdirat(d, 'dir', 0o750);
    assert.equal(fs.statSync(path.join(root, 'dir')).mode & 0o7777, 0o750 & ~process.umask());
    assert.throws(() => mkdirat(d, 'dir', 0o755), { code: 'EEXIST', syscall: 'mkdirat', path: 'dir' });
    mknodat(d, 'fifo', 0o10644);
    assert.ok(fs.statSync(path.join(root, 'fifo')).isFIFO());
    mknodat(d, 'reg', 0o100600);
    assert.ok(fs.statSync(path.join(root, 'reg')).isFile());
    linkat(d, 'reg', d, 'hard');
    assert.equal(fs.statSync(path.join(root, 'reg')).nlink, 2);
    const target = Buffer.from([0x61, 0xfe, 0x2f, 0x62]); // "a\xfe/b": not UTF-8
    symlinkat(target, d, 'sym');
    assert.deepEqual(readlinkat(d, 'sym'), target);
    const long = 'x'.repeat(3000);
    symlinkat(long, d, 'long');
    assert.equal(readlinkat(d, 'long').toString(), long);
    withFd(openat(d, 'sym', O.PATH | O.NOFOLLOW | O.CLOEXEC), (fd) => assert.deepEqual(readlinkat(fd, ''), target));
    fchownat(d, 'reg', 65534, -1);
    assert.equal(fs.statSync(path.join(root, 'reg')).uid, 65534);
    assert.equal(fs.statSync(path.join(root, 'reg')).gid, process.getgid!());
    fchownat(d, 'sym', 123, 456, AT.SYMLINK_NOFOLLOW);
    assert.equal(fs.lstatSync(path.join(root, 'sym')).uid, 123);
    fchmodat(d, 'reg', 0o4711);
    assert.equal(fs.statSync(path.join(root, 'reg')).mode & 0o7777, 0o4711);
    withFd(openat(d, 'reg', O.RDONLY | O.CLOEXEC), (fd) => fchmod(fd, 0o640));
    assert.equal(fs.statSync(path.join(root, 'reg')).mode & 0o7777, 0o640);
    assert.throws(() => unlinkat(d, 'dir'), { code: 'EISDIR' });
    unlinkat(d, 'dir', AT.REMOVEDIR);
    unlinkat(d, 'hard');
    assert.ok(!fs.existsSync(path.join(root, 'dir')));
    assert.equal(fs.statSync(path.join(root, 'reg')).nlink, 1);
  });
});

test('name_to_handle_at / open_by_handle_at round trip', (t) => {
  const root = tmp(t);
  fs.writeFileSync(path.join(root, 'f'), 'by handle');
  withFd(openat(AT.FDCWD, root, O.RDONLY | O.DIRECTORY | O.CLOEXEC), (d) => {
    const { handle, mountId } = nameToHandleAt(d, 'f');
    assert.equal(handle.readUInt32LE(0) + 8, handle.length);
    assert.ok(handle.length > 8);
    assert.equal(BigInt(mountId), statx(d, 'f', 0, STATX.MNT_ID).mnt_id);
    withFd(openByHandleAt(d, handle, O.RDONLY | O.CLOEXEC), (fd) => assert.equal(fs.readFileSync(fd, 'utf8'), 'by handle'));
    // Renaming does not change the handle; deleting makes it stale.
    fs.renameSync(path.join(root, 'f'), path.join(root, 'g'));
    withFd(openByHandleAt(d, handle, O.RDONLY | O.CLOEXEC), (fd) => assert.equal(fs.readFileSync(fd, 'utf8'), 'by handle'));
    fs.unlinkSync(path.join(root, 'g'));
    assert.throws(() => openByHandleAt(d, handle, O.RDONLY), { code: 'ESTALE' });
  });
});
