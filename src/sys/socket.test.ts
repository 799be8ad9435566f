import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AT, O, close, openat, pread } from './fd.ts';
import { SOCK, recvFd, sendFd, socketpair } from './socket.ts';

test('socketpair passes an fd with SCM_RIGHTS', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusekit-sys-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'f');
  fs.writeFileSync(f, 'passed along');
  const [a, b] = socketpair();
  const fd = openat(AT.FDCWD, f, O.RDONLY | O.CLOEXEC);
  try {
    assert.ok(a >= 0 && b >= 0 && a !== b);
    sendFd(a, fd);
    const got = recvFd(b);
    try {
      assert.notEqual(got, fd, 'a new descriptor');
      assert.equal(fs.readlinkSync(`/proc/self/fd/${got}`), f);
      const buf = Buffer.alloc(64);
      assert.equal(buf.toString('utf8', 0, pread(got, buf, 0)), 'passed along');
      // MSG_CMSG_CLOEXEC: the received fd is close-on-exec.
      assert.match(fs.readFileSync(`/proc/self/fdinfo/${got}`, 'utf8'), /^flags:\s+0[0-7]*2[0-7]{6}$/m);
    } finally {
      close(got);
    }
    // Nothing queued: MSG_DONTWAIT fails with EAGAIN; after the peer closes, EOF carries no fd.
    assert.throws(() => recvFd(b, SOCK.MSG_DONTWAIT), { code: 'EAGAIN', syscall: 'recvmsg' });
    close(a);
    assert.throws(() => recvFd(b), { code: 'ENOMSG' });
  } finally {
    close(fd);
    close(b);
  }
});
