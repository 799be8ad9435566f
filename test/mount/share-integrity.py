# Random data-integrity run: the same random operations on files in two
# directories (the share and a native reference); every read and the final
# contents must agree. Usage: share-integrity.py <mnt-dir> <ref-dir> <ops> <seed>
import os, sys, random, mmap
mnt, ref, nops, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
print('seed', seed, flush=True)
rng = random.Random(seed)
NFILES, MAXSZ = 4, 1 << 20
pairs = []
for i in range(NFILES):
    fds = [os.open(os.path.join(d, 'f%d' % i), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644) for d in (mnt, ref)]
    pairs.append(fds)
counts = {}
def fail(msg):
    print('MISMATCH after', sum(counts.values()), 'ops:', msg, counts, flush=True); sys.exit(1)
for n in range(nops):
    i = rng.randrange(NFILES); a, b = pairs[i]
    op = rng.choices(['write', 'read', 'truncate', 'punch', 'zero', 'keep', 'mmapw', 'mmapr', 'fsync', 'reopen', 'stat'],
                     [30, 30, 6, 4, 4, 3, 6, 6, 3, 2, 6])[0]
    counts[op] = counts.get(op, 0) + 1
    off = rng.randrange(MAXSZ); ln = rng.choice([1, 7, 512, 4096, 5000, 65536, 131072])
    if op == 'write':
        data = rng.randbytes(ln)
        if os.pwrite(a, data, off) != ln or os.pwrite(b, data, off) != ln: fail('short write')
    elif op == 'read':
        if os.pread(a, ln, off) != os.pread(b, ln, off): fail('read f%d @%d+%d' % (i, off, ln))
    elif op == 'truncate':
        sz = rng.randrange(MAXSZ); os.ftruncate(a, sz); os.ftruncate(b, sz)
    elif op in ('punch', 'zero', 'keep'):
        mode = {'punch': 3, 'zero': 0x10, 'keep': 1}[op]
        for fd in (a, b): os.posix_fallocate if False else None
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        for fd in (a, b):
            if libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(ln)) != 0: fail('fallocate errno %d' % ctypes.get_errno())
    elif op in ('mmapw', 'mmapr'):
        sz = os.fstat(b).st_size
        if os.fstat(a).st_size != sz: fail('size %d != %d' % (os.fstat(a).st_size, sz))
        if sz < 4096: continue
        start = rng.randrange(0, sz - 1) & ~4095; length = min(sz - start, rng.choice([4096, 16384, 65536]))
        if length <= 0: continue
        ms = [mmap.mmap(fd, length, offset=start) for fd in (a, b)]
        if op == 'mmapw':
            p = rng.randrange(length); data = rng.randbytes(min(rng.choice([1, 100, 3000]), length - p))
            for m in ms: m[p:p + len(data)] = data; m.flush()
        elif ms[0][:] != ms[1][:]: fail('mmap read f%d @%d+%d' % (i, start, length))
        for m in ms: m.close()
    elif op == 'fsync':
        os.fsync(a); os.fdatasync(b)
    elif op == 'reopen':
        for k, d in enumerate((mnt, ref)):
            os.close(pairs[i][k]); pairs[i][k] = os.open(os.path.join(d, 'f%d' % i), os.O_RDWR)
    elif op == 'stat':
        if os.fstat(a).st_size != os.fstat(b).st_size: fail('stat size f%d' % i)
for i, (a, b) in enumerate(pairs):
    os.close(a); os.close(b)
    if open(os.path.join(mnt, 'f%d' % i), 'rb').read() != open(os.path.join(ref, 'f%d' % i), 'rb').read(): fail('final contents f%d' % i)
print('ok', nops, 'ops', counts, flush=True)
