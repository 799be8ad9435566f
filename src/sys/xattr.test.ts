import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AT, O, close, openat } from './fd.ts';
import {
  XATTR, fgetxattr, fgetxattrIfExists, flistxattr, flistxattrRaw, fremovexattr, fsetxattr, getxattr, getxattrIfExists, lgetxattr, listxattr, llistxattr,
  lremovexattr, lsetxattr, removexattr, setxattr,
} from './xattr.ts';
import { tmp } from '../../test/helpers/tmp.ts';

test('f*xattr round trip on an fd (user.*)', (t) => {
  const f = path.join(tmp(t), 'f');
  fs.writeFileSync(f, '');
  const fd = openat(AT.FDCWD, f, O.RDWR | O.CLOEXEC);
  try {
    assert.deepEqual(flistxattr(fd).filter((n) => n.startsWith('user.')), []);
    assert.throws(() => fgetxattr(fd, 'user.none'), { code: 'ENODATA', syscall: 'fgetxattr' });
    assert.equal(fgetxattrIfExists(fd, 'user.none'), undefined);
    assert.equal(getxattrIfExists(`/proc/self/fd/${fd}`, 'user.none'), undefined);
    assert.throws(() => fgetxattrIfExists(fd, 'bogus.ns'), { code: 'ENOTSUP' }, 'other errors still throw');
    const big = Buffer.alloc(3000, 0xab);
    fsetxattr(fd, 'user.a', Buffer.from('alpha'));
    fsetxattr(fd, 'user.big', big);
    fsetxattr(fd, 'user.empty', Buffer.alloc(0));
    assert.deepEqual(fgetxattr(fd, 'user.a'), Buffer.from('alpha'));
    assert.deepEqual(fgetxattr(fd, 'user.big'), big);
    assert.deepEqual(fgetxattrIfExists(fd, 'user.big'), big);
    assert.deepEqual(getxattrIfExists(`/proc/self/fd/${fd}`, 'user.a'), Buffer.from('alpha'));
    assert.equal(fgetxattr(fd, 'user.empty').length, 0);
    assert.throws(() => fsetxattr(fd, 'user.a', Buffer.from('x'), XATTR.CREATE), { code: 'EEXIST' });
    assert.throws(() => fsetxattr(fd, 'user.b', Buffer.from('x'), XATTR.REPLACE), { code: 'ENODATA' });
    fsetxattr(fd, 'user.a', Buffer.from('beta'), XATTR.REPLACE);
    assert.deepEqual(fgetxattr(fd, 'user.a'), Buffer.from('beta'));
    assert.deepEqual(flistxattr(fd).filter((n) => n.startsWith('user.')).sort(), ['user.a', 'user.big', 'user.empty']);
    assert.ok(flistxattrRaw(fd).includes(Buffer.from('user.big\0')));
    fremovexattr(fd, 'user.big');
    assert.throws(() => fremovexattr(fd, 'user.big'), { code: 'ENODATA' });
    // errno 95 is both ENOTSUP and EOPNOTSUPP on Linux; like Node (libuv), we name it ENOTSUP.
    assert.throws(() => fsetxattr(fd, 'bogus.ns', Buffer.from('x')), { code: 'ENOTSUP', errno: -95 });
  } finally {
    close(fd);
  }
});

test('path variants: /proc/self/fd/N of an O_PATH fd, and l* on symlinks', (t) => {
  const root = tmp(t);
  const f = path.join(root, 'f');
  fs.writeFileSync(f, '');
  fs.symlinkSync('f', path.join(root, 'l'));
  const pfd = openat(AT.FDCWD, f, O.PATH | O.CLOEXEC);
  try {
    assert.throws(() => fsetxattr(pfd, 'user.x', Buffer.from('1')), { code: 'EBADF' }, 'O_PATH fds refuse f*xattr');
    const proc = `/proc/self/fd/${pfd}`;
    setxattr(proc, 'user.x', Buffer.from('via proc'));
    assert.deepEqual(getxattr(f, 'user.x'), Buffer.from('via proc'));
    assert.deepEqual(getxattr(proc, 'user.x'), Buffer.from('via proc'));
    assert.ok(listxattr(proc).includes('user.x'));
    // Following through the symlink reaches the file; l* acts on the link itself.
    assert.deepEqual(getxattr(path.join(root, 'l'), 'user.x'), Buffer.from('via proc'));
    assert.throws(() => lgetxattr(path.join(root, 'l'), 'user.x'), { code: 'ENODATA' });
    assert.ok(!llistxattr(path.join(root, 'l')).includes('user.x'));
    assert.throws(() => lsetxattr(path.join(root, 'l'), 'user.y', Buffer.from('1')), { code: 'EPERM' }, 'no user.* on symlinks');
    lsetxattr(f, 'user.y', Buffer.from('2'));
    assert.deepEqual(lgetxattr(f, 'user.y'), Buffer.from('2'));
    lremovexattr(f, 'user.y');
    removexattr(proc, 'user.x');
    assert.deepEqual(listxattr(f).filter((n) => n.startsWith('user.')), []);
    // trusted.* needs CAP_SYS_ADMIN, which the tests have as root.
    if (process.getuid!() === 0) {
      setxattr(f, 'trusted.t', Buffer.from([0, 1, 2]));
      assert.deepEqual(getxattr(f, 'trusted.t'), Buffer.from([0, 1, 2]));
    }
  } finally {
    close(pfd);
  }
});
