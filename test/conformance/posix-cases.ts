/**
 * The differential POSIX table: each case is a Python snippet (with prelude.py)
 * run in a fresh directory, once on the native host directory and once on the
 * share, as root and as an ordinary uid. Its printed observations must match
 * line for line. Observations avoid what legitimately differs (st_dev, inode
 * numbers, absolute times): they print relations instead.
 */
export interface Case {
  /** Python source; runs with cwd = a fresh case directory owned by the running uid. */
  py: string;
  /** Only as root / only as the ordinary user. */
  only?: 'root' | 'user';
}

export const CASES: Record<string, Case> = {
  'create honours mode and umask': { py: `
os.umask(0o022); write('a', b'x', m=0o666); print(mode('a'))
os.umask(0o077); write('b', b'x', m=0o666); print(mode('b'))
os.umask(0); write('c', b'x', m=0o4777); print(mode('c'))
os.umask(0o027); os.mkdir('d', 0o777); print(mode('d'))
print(own('a') == '%d:%d' % (os.getuid(), os.getgid()))
` },
  'O_EXCL, O_TRUNC, O_APPEND': { py: `
write('f', b'hello')
T('excl', lambda: os.open('f', os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
fd = os.open('f', os.O_WRONLY | os.O_APPEND); os.write(fd, b' world'); os.lseek(fd, 0, 0); os.write(fd, b'!'); os.close(fd)
print(read('f'))
fd = os.open('f', os.O_WRONLY | os.O_TRUNC); os.close(fd); print(os.stat('f').st_size)
T('creat-dir', lambda: os.open('.', os.O_WRONLY))
` },
  'O_DIRECT aligned I/O': { py: `
fd = os.open('f', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
buf = mmap.mmap(-1, 8192); buf.write(b'z' * 8192)
print(os.pwritev(fd, [buf], 0)); m2 = mmap.mmap(-1, 4096)
print(os.preadv(fd, [m2], 4096)); print(m2[:4]); os.close(fd)
` },
  'O_TMPFILE, then link it in': { py: `
fd = os.open('.', os.O_TMPFILE | os.O_RDWR, 0o640)
os.write(fd, b'tmp'); print(sorted(os.listdir('.')))
print(oct(os.fstat(fd).st_mode), os.fstat(fd).st_nlink)
os.link('/proc/self/fd/%d' % fd, 'named', follow_symlinks=True)
print(read('named'), os.stat('named').st_nlink); os.close(fd)
` },
  'unlink, rmdir and their errors': { py: `
os.mkdir('d'); write('d/f', b''); write('g', b'')
T('rmdir-notempty', lambda: os.rmdir('d'))
T('unlink-dir', lambda: os.unlink('d'))
T('rmdir-file', lambda: os.rmdir('g'))
T('unlink-missing', lambda: os.unlink('nope'))
T('mkdir-exists', lambda: os.mkdir('d'))
T('unlink', lambda: os.unlink('d/f')); T('rmdir', lambda: os.rmdir('d'))
T('open-dir-write', lambda: os.open('.', os.O_RDWR))
print(ls())
` },
  'rename and renameat2 flags': { py: `
write('a', b'A'); write('b', b'B'); os.mkdir('d'); os.mkdir('e'); write('e/x', b'')
T('noreplace', lambda: renameat2('a', 'b', 1))
T('exchange', lambda: renameat2('a', 'b', 2)); print(read('a'), read('b'))
T('exchange-missing', lambda: renameat2('a', 'zz', 2))
T('plain', lambda: os.rename('a', 'c')); print(ls())
T('dir-over-nonempty', lambda: os.rename('d', 'e'))
T('dir-into-self', lambda: os.rename('d', 'd/sub'))
T('file-over-dir', lambda: os.rename('c', 'd'))
T('dir-over-file', lambda: os.rename('d', 'c'))
T('whiteout', lambda: renameat2('c', 'w', 4)); print(ls())
T('exdev', lambda: os.rename('b', '/dev/shm/fusekit-conf-exdev'))
` },
  'symlinks, readlink, ELOOP': { py: `
os.symlink('target', 'l'); os.symlink('l2', 'l1'); os.symlink('l1', 'l2'); os.symlink('/etc/hostname', 'abs')
print(os.readlink('l'), os.readlink('abs'))
T('loop', lambda: os.open('l1', os.O_RDONLY))
T('nofollow', lambda: os.open('l', os.O_RDONLY | os.O_NOFOLLOW))
T('dangling', lambda: os.stat('l'))
print(mode('l'), os.lstat('l').st_size)
T('symlink-exists', lambda: os.symlink('x', 'l'))
T('readlink-file', lambda: (write('f', b''), os.readlink('f')))
` },
  'ENAMETOOLONG and long paths': { py: `
T('name255', lambda: write('n' * 255, b''))
T('name256', lambda: write('n' * 256, b''))
p = '.'
for i in range(15): p += '/' + 'd%02d' % i + 'x' * 240
os.makedirs(p); print(len(os.path.abspath(p)) > 3600 or len(p))
T('deep-create', lambda: write(p + '/f', b'deep')); print(read(p + '/f'))
` },
  'hard links share one inode and its attributes': { py: `
write('a', b'data'); os.link('a', 'b'); os.mkdir('d'); os.link('a', 'd/c')
print(os.stat('a').st_ino == os.stat('b').st_ino == os.stat('d/c').st_ino, os.stat('a').st_nlink)
os.chmod('b', 0o600); print(mode('a'), mode('d/c'))
write('d/c', b'new', flags=os.O_WRONLY | os.O_TRUNC); print(read('a'))
os.unlink('a'); print(os.stat('b').st_nlink)
T('link-dir', lambda: os.link('d', 'd2'))
T('link-exists', lambda: os.link('b', 'd/c'))
T('link-missing', lambda: os.link('zz', 'yy'))
` },
  'chmod, chown and their permission rules': { py: `
write('f', b''); os.chmod('f', 0o4755); print(mode('f'))
T('chown-self', lambda: os.chown('f', os.getuid(), os.getgid())); print(mode('f'))
T('chown-other', lambda: os.chown('f', 4242, -1)); print(own('f') if ROOT else mode('f'))
T('chgrp-other', lambda: os.chown('f', -1, 4343))
T('chmod-notmine', lambda: os.chmod('/etc/hostname' if False else '..', 0o777) if not ROOT else None)
write('g', b''); os.chmod('g', 0o2755); print(mode('g'))
` },
  'root: chown clears suid/sgid, sgid directories, device nodes': { only: 'root', py: `
write('f', b''); os.chmod('f', 0o6755); os.chown('f', 1234, 5678); print(mode('f'), own('f'))
os.mkdir('d'); os.chown('d', -1, 4321); os.chmod('d', 0o2775); write('d/f', b''); os.mkdir('d/s')
print(own('d/f'), mode('d/s'), own('d/s'))
os.mknod('c', 0o644 | stat.S_IFCHR, os.makedev(1, 3)); os.mknod('b', 0o644 | stat.S_IFBLK, os.makedev(7, 0))
s = os.stat('c'); print(mode('c'), os.major(s.st_rdev), os.minor(s.st_rdev)); print(mode('b'), os.major(os.stat('b').st_rdev))
` },
  'device nodes can be opened': { only: 'root', py: `
os.mknod('c', 0o644 | stat.S_IFCHR, os.makedev(1, 3)); T('open', lambda: open('c', 'rb').read(4))
` },
  'fifos and sockets': { py: `
os.mkfifo('p', 0o640); print(mode('p'))
os.mknod('s', 0o600 | stat.S_IFSOCK); print(mode('s'))
T('mknod-dev', lambda: os.mknod('c', 0o644 | stat.S_IFCHR, os.makedev(1, 3)))
import socket
T('bind', lambda: socket.socket(socket.AF_UNIX).bind('sock')); print(mode('sock'))
` },
  'write by another user clears set-user-ID': { only: 'root', py: `
write('f', b'x'); os.chmod('f', 0o6777); os.chmod('.', 0o777)
r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', 'printf y >> f'])
print(r.returncode, mode('f'), read('f'))
` },
  'truncate and ftruncate': { py: `
write('f', b'0123456789'); os.truncate('f', 4); print(read('f'))
os.truncate('f', 8); print(read('f'))
fd = os.open('f', os.O_RDONLY); T('ftrunc-rdonly', lambda: os.ftruncate(fd, 0)); os.close(fd)
fd = os.open('f', os.O_RDWR); os.ftruncate(fd, 2); os.close(fd); print(read('f'))
T('truncate-dir', lambda: os.truncate('.', 0))
T('truncate-neg', lambda: os.truncate('f', -1))
` },
  'utimensat: explicit, now, omit, nanoseconds': { py: `
write('f', b'')
utimens('f', (1000000000, 123456789), (1100000000, 987654321))
s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
utimens('f', (0, UTIME_OMIT), (1200000000, 5)); s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
utimens('f', (1300000000, 0), (0, UTIME_OMIT)); s = os.stat('f'); print(s.st_atime_ns, s.st_mtime_ns)
before = time.time_ns(); utimens('f', (0, UTIME_NOW), (0, UTIME_NOW)); s = os.stat('f')
print(s.st_mtime_ns >= before - 10**7, s.st_atime_ns == s.st_mtime_ns)
os.symlink('f', 'l'); T('lutimes', lambda: utimens('l', (5, 0), (6, 0), nofollow=True)); print(os.lstat('l').st_mtime_ns)
` },
  'utimes on a file owned by someone else': { only: 'user', py: `
T('explicit', lambda: utimens('/etc/hostname' if False else '..', (5, 0), (6, 0)))
` },
  'timestamps move with data and metadata changes': { py: `
write('f', b'a'); s0 = os.stat('f'); time.sleep(0.02)
write('f', b'b', flags=os.O_WRONLY | os.O_APPEND); s1 = os.stat('f')
print(s1.st_mtime_ns > s0.st_mtime_ns, s1.st_ctime_ns > s0.st_ctime_ns); time.sleep(0.02)
os.chmod('f', 0o600); s2 = os.stat('f'); print(s2.st_mtime_ns == s1.st_mtime_ns, s2.st_ctime_ns > s1.st_ctime_ns); time.sleep(0.02)
d0 = os.stat('.'); write('g', b''); d1 = os.stat('.'); print(d1.st_mtime_ns > d0.st_mtime_ns)
time.sleep(0.02); os.link('f', 'h'); s3 = os.stat('f'); print(s3.st_ctime_ns > s2.st_ctime_ns)
` },
  'sparse files, SEEK_DATA / SEEK_HOLE, fallocate modes': { py: `
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'x' * 4096, 1 << 20); s = os.fstat(fd); print(s.st_size, s.st_blocks <= 16)
print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE), os.lseek(fd, (1 << 20) + 1, os.SEEK_HOLE))
T('data-past-eof', lambda: os.lseek(fd, 2 << 20, os.SEEK_DATA))
T('keep-size', lambda: fallocate(fd, 1, 4 << 20, 4096)); print(os.fstat(fd).st_size)
T('alloc', lambda: fallocate(fd, 0, 0, 8192)); print(os.fstat(fd).st_size)
os.pwrite(fd, b'y' * 8192, 0)
T('punch', lambda: fallocate(fd, 3, 0, 4096)); print(os.pread(fd, 2, 0), os.pread(fd, 2, 4096), os.fstat(fd).st_size)
T('zero', lambda: fallocate(fd, 0x10, 4096, 4096)); print(os.pread(fd, 2, 4096))
T('punch-no-keep', lambda: fallocate(fd, 2, 0, 4096))
os.close(fd)
` },
  'fallocate collapse and insert range': { py: `
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644); os.pwrite(fd, b'a' * 4096 + b'b' * 4096, 0)
T('collapse', lambda: fallocate(fd, 0x08, 0, 4096)); print(os.fstat(fd).st_size, os.pread(fd, 1, 0))
T('insert', lambda: fallocate(fd, 0x20, 0, 4096)); print(os.fstat(fd).st_size)
os.close(fd)
` },
  'copy_file_range': { py: `
write('a', bytes(range(256)) * 64)
fi = os.open('a', os.O_RDONLY); fo = os.open('b', os.O_WRONLY | os.O_CREAT, 0o644)
print(os.copy_file_range(fi, fo, 1000, 100, 50)); os.close(fi); os.close(fo)
b = read('b'); print(len(b), b[:50] == b'\\0' * 50, b[50:] == read('a')[100:1100])
` },
  'mmap shared writes reach read(2)': { py: `
write('f', b'\\0' * 8192)
fd = os.open('f', os.O_RDWR); m = mmap.mmap(fd, 8192); m[100:105] = b'hello'; m.flush(); m.close(); os.close(fd)
print(read('f')[100:105])
fd = os.open('f', os.O_RDWR); os.pwrite(fd, b'world', 200); m = mmap.mmap(fd, 8192, prot=mmap.PROT_READ); print(m[200:205]); m.close(); os.close(fd)
` },
  'xattrs: user namespace, flags, errors': { py: `
write('f', b'')
os.setxattr('f', 'user.a', b'1'); os.setxattr('f', 'user.b', b'')
print(os.getxattr('f', 'user.a'), sorted(x for x in os.listxattr('f') if x.startswith('user.')))
T('create-exists', lambda: os.setxattr('f', 'user.a', b'2', os.XATTR_CREATE))
T('replace-missing', lambda: os.setxattr('f', 'user.c', b'2', os.XATTR_REPLACE))
T('get-missing', lambda: os.getxattr('f', 'user.zz'))
T('remove', lambda: os.removexattr('f', 'user.a')); T('remove-missing', lambda: os.removexattr('f', 'user.a'))
os.symlink('f', 'l'); T('user-on-symlink', lambda: os.setxattr('l', 'user.x', b'1', follow_symlinks=False))
T('bad-ns', lambda: os.setxattr('f', 'bogus.x', b'1'))
T('big', lambda: os.setxattr('f', 'user.big', b'v' * 65536))
T('trusted', lambda: os.setxattr('f', 'trusted.t', b'1')); T('trusted-get', lambda: os.getxattr('f', 'trusted.t'))
` },
  'POSIX ACLs: access and default ACLs': { py: `
write('f', b'secret'); os.chmod('f', 0o600)
r = subprocess.run(['setfacl', '-m', 'u:65534:r', 'f'], capture_output=True); print(r.returncode)
print(subprocess.run(['getfacl', '-cp', 'f'], capture_output=True, text=True).stdout)
os.mkdir('d'); subprocess.run(['setfacl', '-d', '-m', 'u:65534:rwx', 'd']); os.umask(0o077)
write('d/new', b''); print(mode('d/new')); print(subprocess.run(['getfacl', '-cp', 'd/new'], capture_output=True, text=True).stdout)
r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'cat', 'f'], capture_output=True); print(r.returncode, r.stdout)
` },
  'permission checks for an ordinary user': { only: 'user', py: `
T('read-root-0600', lambda: open('/etc/shadow', 'rb').read(1) if False else None)
write('f', b'x'); os.chmod('f', 0o000)
T('open-000', lambda: os.open('f', os.O_RDONLY)); T('write-000', lambda: os.open('f', os.O_WRONLY))
os.chmod('f', 0o200); T('open-write-only', lambda: os.close(os.open('f', os.O_WRONLY))); T('read-write-only', lambda: os.open('f', os.O_RDONLY))
os.mkdir('d'); write('d/g', b''); os.chmod('d', 0o600)
T('search-noexec', lambda: os.stat('d/g')); T('list-noexec', lambda: os.listdir('d'))
os.chmod('d', 0o500); T('create-readonly-dir', lambda: write('d/h', b'')); T('unlink-readonly-dir', lambda: os.unlink('d/g'))
os.chmod('d', 0o700)
print(os.access('f', os.R_OK), os.access('f', os.W_OK), os.access('d', os.X_OK))
T('chmod-parent', lambda: os.chmod('..', 0o777))
T('utime-parent', lambda: utimens('..', (5, 0), (6, 0)))
T('utime-now-parent', lambda: utimens('..', (0, UTIME_NOW), (0, UTIME_NOW)))
` },
  'sticky directories': { only: 'root', py: `
os.mkdir('t'); os.chmod('t', 0o1777); write('t/f', b''); os.chown('t/f', 4242, 4242)
r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'rm', '-f', 't/f'], capture_output=True, text=True)
print(r.returncode, 'Operation not permitted' in r.stderr, ls('t'))
` },
  'readdir lists everything once, across many entries': { py: `
for i in range(1500): write('f%04d' % i, b'')
os.mkdir('sub')
names = os.listdir('.'); print(len(names), len(set(names)))
with os.scandir('.') as it: kinds = sorted(set((e.is_dir(), e.is_file()) for e in it)); print(kinds)
for i in range(0, 1500, 2): os.unlink('f%04d' % i)
print(len(os.listdir('.')))
` },
  'fsync, fdatasync, syncfs': { py: `
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644); os.write(fd, b'x')
T('fsync', lambda: os.fsync(fd)); T('fdatasync', lambda: os.fdatasync(fd)); os.close(fd)
dfd = os.open('.', os.O_RDONLY); T('fsync-dir', lambda: os.fsync(dfd))
T('syncfs', lambda: chk(libc.syncfs(dfd))); os.close(dfd)
` },
  'telldir/seekdir offsets stay valid across changes': { py: `
for i in range(300): write('e%03d' % i, b'')
libc.opendir.restype = ctypes.c_void_p; libc.readdir.restype = ctypes.c_void_p; libc.telldir.restype = ctypes.c_long
libc.readdir.argtypes = [ctypes.c_void_p]; libc.telldir.argtypes = [ctypes.c_void_p]; libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]; libc.closedir.argtypes = [ctypes.c_void_p]
def name(ent): return ctypes.string_at(ent + 19).decode()
d = libc.opendir(b'.')
for i in range(150): libc.readdir(d)
pos = libc.telldir(d); first = name(libc.readdir(d)); rest = []
while True:
    e = libc.readdir(d)
    if not e: break
    rest.append(name(e))
for i in range(0, 300, 7):
    if 'e%03d' % i != first: os.unlink('e%03d' % i)
libc.seekdir(d, pos); again = name(libc.readdir(d)); libc.closedir(d)
print(first == again, len(rest) > 100)
` },
  'statfs': { py: `
s = os.statvfs('.'); print(s.f_namemax, s.f_bsize > 0, s.f_blocks > 0)
` },
  'inode flags: lsattr/chattr': { only: 'root', py: `
write('f', b'x')
print(subprocess.run(['chattr', '+a', 'f'], capture_output=True).returncode)
T('write-appendonly', lambda: os.open('f', os.O_WRONLY | os.O_TRUNC))
fd = os.open('f', os.O_WRONLY | os.O_APPEND); os.write(fd, b'y'); os.close(fd); print(read('f'))
print(subprocess.run(['lsattr', 'f'], capture_output=True, text=True).stdout.split()[0])
subprocess.run(['chattr', '-a', 'f']); T('unlink', lambda: os.unlink('f'))
` },
  'locks within one process': { py: `
write('f', b'x' * 100); fd = os.open('f', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0); fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); fd2 = os.open('f', os.O_RDWR)
T('flock-conflict', lambda: fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)); os.close(fd); os.close(fd2)
` },
};
