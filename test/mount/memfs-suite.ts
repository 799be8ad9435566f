/**
 * The memfs mount suite: real programs (coreutils, attr, dd, cp, find, python
 * `os`) against `fusekit demo memfs`, each case on a fresh server. Shared by
 * memfs.test.ts (as root) and memfs-user.test.ts (an ordinary user mounting
 * through fusermount3): a case gets a runner that already runs as the right user.
 */
import assert from 'node:assert/strict';
import { sh, type ShResult } from '../helpers/mount.ts';

/** The shared harness's `sh` (kept under this name for the suites that import it). */
export const shSafe = sh;

export interface Env {
  mnt: string;
  /** Private temp dir beside the mountpoint, writable by the runner. */
  base: string;
  /** True when the commands run as root. */
  root: boolean;
  uid: number;
  gid: number;
  /** Run bash in the mountpoint with umask 022; throws unless it exits 0; returns stdout. */
  run(cmd: string): Promise<string>;
  /** Same, returning the full result whatever the exit code. */
  runRaw(cmd: string): Promise<ShResult>;
  /** Run a python3 script in the mountpoint (helpers below are predefined); returns stdout. */
  py(script: string): Promise<string>;
}

/** Prepended to every python script: errno names and raw libc calls. */
const PY_PRELUDE = `
import os, sys, errno, ctypes, ctypes.util, time, fcntl, struct, stat
libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
AT_FDCWD = -100
def err(f, *a):
    try:
        f(*a)
    except OSError as e:
        return errno.errorcode[e.errno]
    return 'OK'
def cerr(r):
    if r == -1 or r is None:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r
def renameat2(a, b, flags):
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    cerr(libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags))
def linkat_empty(fd, name):
    # linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH). (Linking through /proc/self/fd/N with
    # AT_SYMLINK_FOLLOW answers EXDEV on these machines, even on ext4.)
    libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    cerr(libc.linkat(fd, b'', AT_FDCWD, name.encode(), 0x1000))
def fallocate(fd, mode, off, ln):
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    cerr(libc.fallocate(fd, mode, off, ln))
`;

export function makeEnv(mnt: string, base: string, user?: { uid: number; gid: number }): Env {
  const o = { cwd: mnt, ...(user ?? {}) };
  const runRaw = (cmd: string): Promise<ShResult> => shSafe(`umask 022; ${cmd}`, o);
  const run = async (cmd: string): Promise<string> => {
    const r = await runRaw(cmd);
    if (r.code !== 0) throw new Error(`command failed (${r.code}): ${cmd}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const py = async (script: string): Promise<string> => {
    const r = await shSafe('umask 022; python3 -', { ...o, input: PY_PRELUDE + script });
    if (r.code !== 0) throw new Error(`python failed (${r.code}):\n${script}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  return { mnt, base, root: !user, uid: user?.uid ?? 0, gid: user?.gid ?? 0, run, runRaw, py };
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

/** Cases every user can run. Names are test titles. */
export const CORE: Record<string, (e: Env) => Promise<void>> = {
  async 'write, cat and stat a file'(e) {
    await e.run(`printf 'hello\\n' > f`);
    assert.equal(await e.run('cat f'), 'hello\n');
    assert.equal(await e.run(`stat -c '%s %a %h %F %u %g %b %B %o' f`), `6 644 1 regular file ${e.uid} ${e.gid} 8 512 4096\n`);
    assert.equal(await e.run(`stat -c '%a %h %F' .`), '755 2 directory\n');
  },

  async 'echo >> appends'(e) {
    await e.run('echo one > f && echo two >> f && echo three >> f');
    assert.equal(await e.run('cat f'), 'one\ntwo\nthree\n');
    assert.equal(await e.run(`stat -c %s f`), '14\n');
  },

  async 'ls -l shows modes, link counts, sizes and names'(e) {
    await e.run(`printf 12345 > a && mkdir d && ln -s a s && ln a h && chmod 640 a && mkfifo p`);
    const out = lines(await e.run(`ls -l --time-style=+T`)).slice(1).map((l) => l.split(/\s+/));
    const by = Object.fromEntries(out.map((f) => [f[f.length - (f[0]!.startsWith('l') ? 3 : 1)], f]));
    assert.deepEqual(Object.keys(by).sort(), ['a', 'd', 'h', 'p', 's']);
    assert.deepEqual([by.a![0], by.a![1], by.a![4]], ['-rw-r-----', '2', '5']);
    assert.deepEqual([by.h![0], by.h![1]], ['-rw-r-----', '2']);
    assert.deepEqual([by.d![0], by.d![1]], ['drwxr-xr-x', '2']);
    assert.deepEqual([by.s![0], by.s![4], by.s!.slice(-2).join(' ')], ['lrwxrwxrwx', '1', '-> a']);
    assert.equal(by.p![0], 'prw-r--r--');
  },

  async 'mkdir -p, nlink of directories, rmdir'(e) {
    await e.run('mkdir -p a/b/c && mkdir a/x');
    assert.equal(await e.run(`stat -c '%h' . a a/b a/b/c a/x`), '3\n4\n3\n2\n2\n');
    assert.match((await e.runRaw('rmdir a/b')).stderr, /Directory not empty/);
    await e.run('rmdir a/b/c');
    assert.equal(await e.run(`stat -c '%h' a/b`), '2\n');
    await e.run('rm -r a');
    assert.equal(await e.run(`stat -c '%h' .; ls -A`), '2\n');
  },

  async 'mv renames and moves, keeping the inode'(e) {
    await e.run('echo data > f && mkdir d');
    const ino = await e.run('stat -c %i f');
    await e.run('mv f g && mv g d/h');
    assert.equal(await e.run('cat d/h'), 'data\n');
    assert.equal(await e.run('stat -c %i d/h'), ino);
    assert.equal((await e.runRaw('test -e f || test -e g')).code, 1);
    await e.run('mkdir d2 && mv d d2/');
    assert.equal(await e.run(`stat -c %h . d2 && cat d2/d/h`), '3\n3\ndata\n');
  },

  async 'renameat2 RENAME_EXCHANGE swaps, RENAME_NOREPLACE refuses with EEXIST'(e) {
    await e.run('echo A > a && mkdir d && echo B > d/b');
    const out = await e.py(`
renameat2('a', 'd/b', 2)
print(open('a').read().strip(), open('d/b').read().strip())
print(err(renameat2, 'a', 'd/b', 1))
print(err(renameat2, 'a', 'missing', 2))
print(err(renameat2, 'a', 'd/new', 1), os.path.exists('a'), open('d/new').read().strip())
print(err(renameat2, 'd', 'd/new', 2))
`);
    assert.equal(out, 'B A\nEEXIST\nENOENT\nOK False B\nEINVAL\n');
  },

  async 'rename errors: EISDIR, ENOTDIR, ENOTEMPTY, EINVAL; onto a hard link is a no-op'(e) {
    await e.run('echo x > f && ln f f2 && mkdir d e e/sub && mkdir d/in');
    const out = await e.py(`
print(err(os.rename, 'f', 'd'))
print(err(os.rename, 'd', 'f'))
print(err(os.rename, 'd', 'e'))
print(err(os.rename, 'd', 'd/in/x'))
print(err(os.rename, 'f', 'f2'), os.path.exists('f'), os.path.exists('f2'), os.stat('f').st_nlink)
os.rmdir('e/sub'); print(err(os.rename, 'd', 'e'), os.path.isdir('e/in'), os.path.exists('d'))
`);
    assert.equal(out, 'EISDIR\nENOTDIR\nENOTEMPTY\nEINVAL\nOK True True 2\nOK True False\n');
  },

  async 'rm and rm -r remove files and trees'(e) {
    await e.run('mkdir -p t/a/b && touch t/a/b/f t/g f');
    await e.run('rm f && rm -r t');
    assert.equal(await e.run('ls -A'), '');
    assert.match((await e.runRaw('rm f')).stderr, /No such file or directory/);
  },

  async 'ln makes hard links that share data and count links'(e) {
    await e.run('echo one > a && ln a b');
    assert.equal(await e.run(`stat -c '%h %i' a`), await e.run(`stat -c '%h %i' b`));
    assert.equal(await e.run(`stat -c '%h' a`), '2\n');
    await e.run('echo two >> b');
    assert.equal(await e.run('cat a'), 'one\ntwo\n');
    await e.run('rm a');
    assert.equal(await e.run(`stat -c '%h' b && cat b`), '1\none\ntwo\n');
    assert.match((await e.runRaw('mkdir d && ln d d2')).stderr, /hard link not allowed for directory/);
  },

  async 'ln -s makes symlinks'(e) {
    await e.run('mkdir d && echo target > d/t && ln -s d/t s && ln -s /nonexistent/x dangling');
    assert.equal(await e.run('readlink s && cat s'), 'd/t\ntarget\n');
    assert.equal(await e.run(`stat -c '%F %s' s dangling`), 'symbolic link 3\nsymbolic link 14\n');
    assert.match((await e.runRaw('cat dangling')).stderr, /No such file or directory/);
  },

  async 'touch -d sets times; atime and mtime separately'(e) {
    await e.run(`touch -d '2001-02-03 04:05:06.123456789 UTC' f`);
    assert.equal(await e.run(`TZ=UTC stat -c '%x|%y' f`), '2001-02-03 04:05:06.123456789 +0000|2001-02-03 04:05:06.123456789 +0000\n');
    await e.run(`touch -m -d '2010-01-01 00:00:00 UTC' f`);
    assert.equal(await e.run(`TZ=UTC stat -c '%x|%y' f`), '2001-02-03 04:05:06.123456789 +0000|2010-01-01 00:00:00.000000000 +0000\n');
    const ctime = Number(await e.run('stat -c %Z f'));
    assert.ok(Math.abs(ctime - Date.now() / 1000) < 60, `ctime ${ctime} should be now`);
  },

  async 'truncate grows sparsely and shrinks'(e) {
    await e.run('printf abcdefgh > f && truncate -s 1000000 f');
    assert.equal(await e.run(`stat -c '%s %b' f`), '1000000 8\n');
    assert.equal(await e.run(`head -c 10 f | od -An -c | tr -s ' '`), ' a b c d e f g h \\0 \\0\n');
    await e.run('truncate -s 3 f');
    assert.equal(await e.run('cat f'), 'abc');
    await e.run('truncate -s 6 f');
    assert.equal(await e.run('od -An -c f | tr -s " "'), ' a b c \\0 \\0 \\0\n');
    await e.run('truncate -s 0 f');
    assert.equal(await e.run(`stat -c '%s %b' f`), '0 0\n');
  },

  async 'setfattr and getfattr: user xattrs, CREATE/REPLACE, ENODATA, 64 KiB limit'(e) {
    await e.run('touch f && setfattr -n user.colour -v blue f && setfattr -n user.size -v 42 f');
    assert.equal(await e.run('getfattr -n user.colour --only-values f'), 'blue');
    assert.equal(await e.run(`getfattr -d --absolute-names f | grep '^user' | sort`), 'user.colour="blue"\nuser.size="42"\n');
    await e.run('setfattr -x user.size f');
    assert.match((await e.runRaw('getfattr -n user.size f')).stderr, /No such attribute/);
    const out = await e.py(`
print(err(os.setxattr, 'f', 'user.colour', b'red', os.XATTR_CREATE))
print(err(os.setxattr, 'f', 'user.new', b'x', os.XATTR_REPLACE))
print(err(os.setxattr, 'f', 'user.big', b'x' * 65536), len(os.getxattr('f', 'user.big')))
print(err(os.setxattr, 'f', 'user.bigger', b'x' * 65537))
print(err(os.removexattr, 'f', 'user.none'))
buf = ctypes.create_string_buffer(2)
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
r = libc.getxattr(b'f', b'user.colour', buf, 2); print(r, errno.errorcode[ctypes.get_errno()])
print(libc.getxattr(b'f', b'user.colour', None, 0))
print(sorted(os.listxattr('f')))
`);
    assert.equal(out, "EEXIST\nENODATA\nOK 65536\nE2BIG\nENODATA\n-1 ERANGE\n4\n['user.big', 'user.colour']\n");
  },

  async 'dd with oflag=direct and iflag=direct round-trips data'(e) {
    await e.run(`head -c 1048576 /dev/urandom > ${e.base}/src`);
    await e.run(`dd if=${e.base}/src of=f bs=64k oflag=direct status=none`);
    assert.equal(await e.run(`cmp ${e.base}/src f && stat -c %s f`), '1048576\n');
    await e.run(`dd if=f of=${e.base}/back bs=128k iflag=direct status=none`);
    await e.run(`cmp ${e.base}/src ${e.base}/back`);
    // A direct write into the middle is visible to a cached read.
    await e.run(`printf XYZ | dd of=f conv=notrunc oflag=direct status=none`);
    assert.equal(await e.run('head -c 3 f'), 'XYZ');
  },

  async 'cp -a of a tree, then diff -r and find agree'(e) {
    const src = `${e.base}/tree`;
    await e.run(`mkdir -p ${src}/a/b ${src}/c && cp -r /usr/share/doc/fuse3 ${src}/doc 2>/dev/null || mkdir -p ${src}/doc
      for i in $(seq 1 50); do echo "file $i" > ${src}/a/f$i; done
      head -c 300000 /dev/urandom > ${src}/a/b/big && ln -s ../a/f1 ${src}/c/link && truncate -s 5000000 ${src}/c/sparse
      printf tail >> ${src}/c/sparse`);
    await e.run(`cp -a ${src} copy`);
    await e.run(`diff -r --no-dereference ${src} copy`);
    const want = await e.run(`cd ${src} && find . -printf '%y %p %s\\n' | sort`);
    const got = await e.run(`cd copy && find . -printf '%y %p %s\\n' | sort`);
    assert.equal(got, want);
    assert.ok(lines(got).length > 55, `find saw ${lines(got).length} entries`);
    assert.equal(await e.run('find copy -type l'), 'copy/c/link\n');
    assert.equal(await e.run(`find copy -name 'f4*' | sort | tr '\\n' ' '`), 'copy/a/f4 copy/a/f40 copy/a/f41 copy/a/f42 copy/a/f43 copy/a/f44 copy/a/f45 copy/a/f46 copy/a/f47 copy/a/f48 copy/a/f49 ');
  },

  async 'O_TMPFILE then linkat gives the file a name'(e) {
    const out = await e.py(`
fd = os.open('.', os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b'anonymous')
st = os.fstat(fd); print(st.st_nlink, stat.S_ISREG(st.st_mode), oct(st.st_mode & 0o777), os.listdir('.'))
linkat_empty(fd, 'named')
print(os.fstat(fd).st_nlink, open('named').read(), os.listdir('.'))
fd2 = os.open('.', os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
print(err(linkat_empty, fd2, 'never'))
`);
    assert.equal(out, "0 True 0o600 []\n1 anonymous ['named']\nENOENT\n");
  },

  async 'fallocate, punch hole, SEEK_DATA and SEEK_HOLE'(e) {
    const out = await e.py(`
K = 65536
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'x' * (3 * K))
b0 = os.fstat(fd).st_blocks
fallocate(fd, 3, K, K)  # PUNCH_HOLE | KEEP_SIZE
st = os.fstat(fd); print(st.st_size, b0 - st.st_blocks)
print(os.lseek(fd, 0, os.SEEK_HOLE), os.lseek(fd, K, os.SEEK_DATA), os.lseek(fd, 2 * K, os.SEEK_HOLE))
print(os.pread(fd, 4, K + 100) == b'\\0' * 4, os.pread(fd, 2, 2 * K - 1))
print(err(os.lseek, fd, 3 * K, os.SEEK_DATA), err(os.lseek, fd, 3 * K + 5, os.SEEK_HOLE))
fallocate(fd, 1, 3 * K, K)  # KEEP_SIZE: blocks grow by 128, size stays
st = os.fstat(fd); print(st.st_size, st.st_blocks - b0)
fallocate(fd, 0, 0, 4 * K + 10)
print(os.fstat(fd).st_size)
print(err(fallocate, fd, 2, 0, 10), err(fallocate, fd, 8, 0, 4096))
fd2 = os.open('g', os.O_RDWR | os.O_CREAT, 0o644); os.write(fd2, b'y' * 10000)
fallocate(fd2, 0x10, 100, 200)  # ZERO_RANGE
print(os.pread(fd2, 4, 98), os.fstat(fd2).st_size)
`);
    assert.equal(out, "196608 128\n65536 131072 196608\nTrue b'\\x00x'\nENXIO ENXIO\n196608 0\n262154\nENOTSUP ENOTSUP\nb'yy\\x00\\x00' 10000\n");
  },

  async 'fallocate of a petabyte fails fast with ENOSPC; punching one is instant'(e) {
    const out = await e.py(`
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'abc')
t = time.time()
print(err(fallocate, fd, 0, 0, 1 << 50), err(fallocate, fd, 3, 1, 1 << 50), os.pread(fd, 3, 0), os.fstat(fd).st_size, time.time() - t < 2)
`);
    assert.equal(out, "ENOSPC OK b'a\\x00\\x00' 3 True\n");
  },

  async 'copy_file_range copies server-side'(e) {
    const out = await e.py(`
src = os.open('src', os.O_RDWR | os.O_CREAT, 0o644)
data = bytes(range(256)) * 1000
os.write(src, data)
dst = os.open('dst', os.O_RDWR | os.O_CREAT, 0o644)
n = os.copy_file_range(src, dst, len(data), 0, 0)
print(n, open('dst', 'rb').read() == data)
n = os.copy_file_range(src, dst, 1000, 255000, 500)
print(n, os.fstat(dst).st_size, open('dst', 'rb').read()[500:1500] == data[255000:256000])
print(os.copy_file_range(src, dst, 100, len(data), 0))
# A sparse source stays sparse, even over data the destination had.
sp = os.open('sparse', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(sp, b'head', 0); os.pwrite(sp, b'tail', 50 << 20)
d2 = os.open('dst2', os.O_RDWR | os.O_CREAT, 0o644)
os.write(d2, b'z' * (1 << 20))
n = 0
while True:
    r = os.copy_file_range(sp, d2, 1 << 30, n, n)
    if r == 0: break
    n += r
print(n, open('sparse', 'rb').read() == open('dst2', 'rb').read(), os.fstat(sp).st_blocks, os.fstat(d2).st_blocks)
`);
    assert.equal(out, '256000 True\n1000 256000 True\n0\n52428804 True 16 16\n');
  },

  async 'fcntl record locks and flock between two processes'(e) {
    const out = await e.py(`
import subprocess
open('f', 'w').write('x' * 100)
fd = os.open('f', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 50, 10)  # bytes 10..59
child = '''
import fcntl, os, struct, errno, time
fd = os.open("f", os.O_RDWR)
def tryl(start, ln):
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, ln, start); fcntl.lockf(fd, fcntl.LOCK_UN, ln, start); return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
q = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
r = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, q + bytes(32 - len(q))) [:struct.calcsize("hhqqi")])
print(tryl(0, 10), tryl(0, 11), tryl(59, 1), tryl(60, 5), r[0] == fcntl.F_WRLCK, r[2], r[3], r[4] == int(os.environ["HOLDER"]))
t = time.time(); fcntl.lockf(fd, fcntl.LOCK_EX, 1, 20); print("waited", time.time() - t > 0.2)
'''
p = subprocess.Popen([sys.executable, '-c', child], stdout=subprocess.PIPE, env={**os.environ, 'HOLDER': str(os.getpid())})
time.sleep(0.6)
fcntl.lockf(fd, fcntl.LOCK_UN, 50, 10)
print(p.communicate(timeout=10)[0].decode().strip())
# flock: per open file
a = os.open('f', os.O_RDONLY); b = os.open('f', os.O_RDONLY)
fcntl.flock(a, fcntl.LOCK_EX)
print(err(fcntl.flock, b, fcntl.LOCK_SH | fcntl.LOCK_NB))
os.close(a)
print(err(fcntl.flock, b, fcntl.LOCK_SH | fcntl.LOCK_NB))
`);
    assert.equal(out, 'OK EAGAIN EAGAIN OK True 10 50 True\nwaited True\nEAGAIN\nOK\n');
  },

  async 'a blocked F_SETLKW is interrupted by a signal (EINTR) and leaves no lock behind'(e) {
    const out = await e.py(`
import subprocess, signal
open('f', 'w').write('x' * 10)
holder = subprocess.Popen([sys.executable, '-c', '''
import fcntl, os, sys, time
fd = os.open("f", os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0)
print("locked", flush=True); sys.stdin.readline()
'''], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
assert holder.stdout.readline() == b'locked\\n'
class Alarm(Exception): pass
def on_alarm(*_): raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
fd = os.open('f', os.O_RDWR)
signal.setitimer(signal.ITIMER_REAL, 0.3)
t = time.time()
try:
    fcntl.lockf(fd, fcntl.LOCK_EX, 0, 0); print('locked?!')
except Alarm:
    print('interrupted', 0.25 < time.time() - t < 5)
print(err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0))
holder.stdin.write(b'\\n'); holder.stdin.flush(); holder.wait(10)
print(err(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 0, 0))
`);
    assert.equal(out, 'interrupted True\nEAGAIN\nOK\n');
  },

  async 'two processes locking in opposite order: the second wait fails with EDEADLK'(e) {
    const out = await e.py(`
import subprocess
open('f', 'w').write('x' * 100)
fd = os.open('f', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)   # we hold 0..9
other = subprocess.Popen([sys.executable, '-c', '''
import fcntl, os, sys
fd = os.open("f", os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 50)  # it holds 50..59
print("held", flush=True)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)   # and waits for ours
print("got it", flush=True)
'''], stdout=subprocess.PIPE)
assert other.stdout.readline() == b'held\\n'
time.sleep(0.3)
r = err(fcntl.lockf, fd, fcntl.LOCK_EX, 10, 50)
print('EDEADLK' if r == errno.errorcode[errno.EDEADLK] else r)  # python names errno 35 EDEADLOCK
fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
print(other.stdout.readline().decode().strip(), other.wait(10))
`);
    assert.equal(out, 'EDEADLK\ngot it 0\n');
  },

  async 'an unlinked file stays readable and writable through an open descriptor'(e) {
    const out = await e.py(`
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'before')
os.unlink('f')
os.write(fd, b'+after')
st = os.fstat(fd)
print(os.pread(fd, 100, 0), st.st_nlink, st.st_size, os.listdir('.'))
`);
    assert.equal(out, "b'before+after' 0 12 []\n");
  },

  async 'unlinked nodes are freed once the kernel forgets them, not before (statvfs f_ffree)'(e) {
    const out = await e.py(`
def free(): return os.statvfs('.').f_ffree
def settle(want):
    for _ in range(100):
        if free() == want: return True
        time.sleep(0.02)
    return free()
s0 = free()
os.mkdir('d')
for i in range(200): open('d/f%d' % i, 'w').write('x' * 5000)
for n in os.listdir('d'): os.stat('d/' + n)
print(s0 - free())
fd = os.open('d/f0', os.O_RDONLY)
for i in range(200): os.unlink('d/f%d' % i)
print(settle(s0 - 2), os.read(fd, 3))
os.close(fd)
print(settle(s0 - 1))
os.rmdir('d')
print(settle(s0))
`);
    assert.equal(out, "201\nTrue b'xxx'\nTrue\nTrue\n");
  },

  async 'statvfs reports blocks, inodes and name length'(e) {
    const out = await e.py(`
s0 = os.statvfs('.')
open('f', 'wb').write(b'z' * (1 << 20))
s1 = os.statvfs('.')
print(s0.f_bsize, s0.f_frsize, s0.f_namemax, s0.f_blocks > 1000, s0.f_bfree - s1.f_bfree, s0.f_ffree - s1.f_ffree, s0.f_files > 1000)
`);
    assert.equal(out, '4096 4096 255 True 256 1 True\n');
  },

  async 'utimensat with UTIME_OMIT and UTIME_NOW'(e) {
    const out = await e.py(`
open('f', 'w').close()
os.utime('f', ns=(1000000000123456789, 1100000000987654321))
st = os.stat('f'); print(st.st_atime_ns, st.st_mtime_ns)
class TS(ctypes.Structure): _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
c0 = os.stat('f').st_ctime_ns
time.sleep(0.02)
cerr(libc.utimensat(AT_FDCWD, b'f', (TS * 2)(TS(0, UTIME_OMIT), TS(1200000000, 5)), 0))
st = os.stat('f'); print(st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns > c0)
cerr(libc.utimensat(AT_FDCWD, b'f', (TS * 2)(TS(0, UTIME_NOW), TS(0, UTIME_OMIT)), 0))
st = os.stat('f'); print(abs(st.st_atime_ns / 1e9 - time.time()) < 5, st.st_mtime_ns)
`);
    assert.equal(out, '1000000000123456789 1100000000987654321\n1000000000123456789 1200000000000000005 True\nTrue 1200000000000000005\n');
  },

  async 'nlink, ctime and mtime follow link, unlink, mkdir, rmdir, chmod and write'(e) {
    const out = await e.py(`
def ns(p): s = os.stat(p); return (s.st_mtime_ns, s.st_ctime_ns)
def later(a, b): return b > a
os.mkdir('d'); open('d/f', 'w').close()
d0 = ns('d'); f0 = ns('d/f'); time.sleep(0.02)
os.link('d/f', 'd/g'); d1 = ns('d'); f1 = ns('d/f')
print(os.stat('d/f').st_nlink, later(d0[0], d1[0]), later(d0[1], d1[1]), f1[0] == f0[0], later(f0[1], f1[1]))
time.sleep(0.02); os.chmod('d/f', 0o600); f2 = ns('d/f')
print(f2[0] == f1[0], later(f1[1], f2[1]), oct(os.stat('d/g').st_mode & 0o777))
time.sleep(0.02); open('d/f', 'a').write('x'); f3 = ns('d/f')
print(later(f2[0], f3[0]), later(f2[1], f3[1]))
time.sleep(0.02); os.unlink('d/g'); d2 = ns('d')
print(os.stat('d/f').st_nlink, later(d1[0], d2[0]), later(f3[1], ns('d/f')[1]))
os.mkdir('d/sub'); print(os.stat('d').st_nlink); os.rmdir('d/sub'); print(os.stat('d').st_nlink)
f4 = ns('d/f'); time.sleep(0.02); os.setxattr('d/f', 'user.a', b'1'); print(later(f4[1], ns('d/f')[1]), ns('d/f')[0] == f4[0])
`);
    assert.equal(out, '2 True True True True\nTrue True 0o600\nTrue True\n1 True True\n3\n2\nTrue True\n');
  },

  async 'O_APPEND writes land at the end even after another descriptor grew the file'(e) {
    const out = await e.py(`
a = os.open('f', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
b = os.open('f', os.O_WRONLY)
os.write(b, b'AAAA'); os.write(a, b'BB'); os.pwrite(b, b'C', 10); os.write(a, b'DD')
print(open('f', 'rb').read())
`);
    assert.equal(out, "b'AAAABB\\x00\\x00\\x00\\x00CDD'\n");
  },

  async 'readdir cookies survive concurrent insertions and removals'(e) {
    const out = await e.py(`
N = 2000
for i in range(N): open('f%05d' % i, 'w').close()
seen = []
it = os.scandir('.')
for n, ent in enumerate(it):
    seen.append(ent.name)
    if n == 300:
        for s in seen[:200]: os.unlink(s)
        for j in range(300): open('new%04d' % j, 'w').close()
it.close()
orig = [x for x in seen if x.startswith('f')]
print(len(seen) == len(set(seen)), len(orig), sorted(set(('f%05d' % i) for i in range(N)) - set(seen))[:3])
print(sorted(os.listdir('.')) == sorted(['f%05d' % i for i in range(200, N)] + ['new%04d' % j for j in range(300)]))
`);
    assert.equal(out, 'True 2000 []\nTrue\n');
  },

  async 'mkfifo makes a fifo that works'(e) {
    await e.run('mkfifo p');
    assert.equal(await e.run(`stat -c %F p`), 'fifo\n');
    assert.equal(await e.run('(echo through > p &) ; cat p'), 'through\n');
  },

  async 'names are raw bytes; long names fail with ENAMETOOLONG'(e) {
    const out = await e.py(`
name = b'caf\\xe9-\\xff'
open(name, 'w').write('latin')
print(os.listdir(b'.') == [name], open(name).read())
print(err(open, 'x' * 256, 'w'), err(open, 'y' * 255, 'w'))
`);
    assert.equal(out, 'True latin\nENAMETOOLONG OK\n');
  },
};
