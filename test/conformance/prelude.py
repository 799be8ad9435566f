# Helpers for the differential POSIX cases: every case prints observations,
# which must be identical on the native directory and on the share.
import os, sys, errno, stat, fcntl, mmap, ctypes, time, struct, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
AT_FDCWD = -100

class Ts(ctypes.Structure):
    _fields_ = [('sec', ctypes.c_long), ('nsec', ctypes.c_long)]
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

def T(label, fn):
    """Run fn, print 'label ok <result>' or 'label <ERRNO>'."""
    try:
        r = fn()
        print(label, 'ok', '' if r is None else r)
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))

def chk(r):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return None

def renameat2(a, b, flags):
    return chk(libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags))

def fallocate(fd, mode, off, ln):
    return chk(libc.fallocate(fd, mode, off, ln))

def utimens(path, a, m, nofollow=False):
    t = (Ts * 2)(Ts(*a), Ts(*m))
    return chk(libc.utimensat(AT_FDCWD, path.encode(), t, 0x100 if nofollow else 0))

def mode(p, follow=False):
    return oct(os.stat(p, follow_symlinks=follow).st_mode)

def own(p, follow=False):
    s = os.stat(p, follow_symlinks=follow)
    return '%d:%d' % (s.st_uid, s.st_gid)

def desc(p, follow=False):
    s = os.stat(p, follow_symlinks=follow)
    return '%s n=%d %d:%d sz=%d' % (oct(s.st_mode), s.st_nlink, s.st_uid, s.st_gid, s.st_size)

def write(p, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, m=0o644):
    fd = os.open(p, flags, m)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)

def read(p):
    with open(p, 'rb') as f:
        return f.read()

def ls(p='.'):
    return ' '.join(sorted(os.listdir(p)))

UID = os.getuid()
ROOT = UID == 0
