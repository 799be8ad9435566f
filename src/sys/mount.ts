/**
 * Mounting and the /dev/fuse device: opening it, mount(2) as root, mounting
 * through `fusermount3` without privileges (the fd comes back over a unix
 * socket with SCM_RIGHTS), unmounting, cloning the device fd for more reader
 * queues, and passthrough backing-file registration.
 *
 * mount(2) does not wait for INIT: the kernel queues the INIT request on the
 * device and returns. Accessing the mountpoint before someone answers INIT
 * blocks (the caller waits for the connection to be initialised), so mount,
 * start reading, and only then touch the tree.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AT, check, close, libc, sysError } from './ffi.ts';
import { O, openat, statx } from './fd.ts';
import { recvFd, socketpair, SOCK } from './socket.ts';

// Device ioctls, duplicated from protocol/abi.ts so sys/ stays self-contained
// (FUSE-NOTES §1 "Device ioctls", x86_64/arm64 values).
/** FUSE_DEV_IOC_* request numbers. */
export const FUSE_DEV_IOC = {
  /** _IOR(229, 0, u32): attach this fd to the session of the fd pointed to. */
  CLONE: 0x8004e500,
  /** _IOW(229, 1, struct fuse_backing_map): returns a backing id > 0 (since 6.9). */
  BACKING_OPEN: 0x4010e501,
  /** _IOW(229, 2, u32). */
  BACKING_CLOSE: 0x4004e502,
  /** _IO(229, 3): answer INIT during mount() (6.18; ENOTTY earlier). */
  SYNC_INIT: 0xe503,
} as const;

/** mount(2) / umount2(2) flags. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  NOATIME: 1024,
} as const;

export const MNT = {
  FORCE: 1,
  DETACH: 2,
  EXPIRE: 4,
} as const;

/** Where fusermount3 lives; falls back to a PATH lookup. */
export const FUSERMOUNT = existsSync('/usr/bin/fusermount3') ? '/usr/bin/fusermount3' : 'fusermount3';

const S_IFDIR = 0o40000;

const mountFn = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const umount2Fn = libc.func('int umount2(const char *target, int flags)');
const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
const geteuidFn = libc.func('uint32_t geteuid()');

/** open("/dev/fuse", O_RDWR | O_CLOEXEC). */
export function openFuseDevice(): number {
  return openat(AT.FDCWD, '/dev/fuse', O.RDWR | O.CLOEXEC);
}

/** Options for mountFuse; see mount.fuse3(8) for the kernel's meaning. */
export interface MountFuseOptions {
  /** An open /dev/fuse fd (openFuseDevice). */
  fd: number;
  mountpoint: string;
  /** The mount source shown in /proc/mounts. Default 'fusekit'. */
  fsname?: string;
  /** Type becomes `fuse.<subtype>`. */
  subtype?: string;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  readOnly?: boolean;
  maxRead?: number;
  /** File type bits of the root inode, printed in octal. Default S_IFDIR (→ `40000`, as libfuse). */
  rootmode?: number;
  /** Owner of the mount (who may access it without allow_other). Default: our euid. */
  userId?: number;
  groupId?: number;
  /** Only meaningful for fuseblk. */
  blkSize?: number;
  /** Further `key[=value]` mount data options, appended verbatim. */
  extra?: string[];
}

/** The mount(2) data string mountFuse passes (exported for tests and logs). */
export function fuseMountData(o: MountFuseOptions): string {
  const opts = [
    `fd=${o.fd}`,
    `rootmode=${(o.rootmode ?? S_IFDIR).toString(8)}`,
    `user_id=${o.userId ?? process.geteuid?.() ?? 0}`,
    `group_id=${o.groupId ?? process.getegid?.() ?? 0}`,
  ];
  if (o.allowOther) opts.push('allow_other');
  if (o.defaultPermissions) opts.push('default_permissions');
  if (o.maxRead !== undefined) opts.push(`max_read=${o.maxRead}`);
  if (o.blkSize !== undefined) opts.push(`blksize=${o.blkSize}`);
  if (o.extra) opts.push(...o.extra);
  return opts.join(',');
}

/**
 * mount(2) a FUSE filesystem on `o.fd` (needs CAP_SYS_ADMIN). Flags are
 * MS_NOSUID|MS_NODEV, plus MS_RDONLY for readOnly. Returns at once; the
 * kernel's INIT request is already waiting on the fd.
 */
export function mountFuse(o: MountFuseOptions): void {
  const type = o.subtype ? `fuse.${o.subtype}` : 'fuse';
  const flags = MS.NOSUID | MS.NODEV | (o.readOnly ? MS.RDONLY : 0);
  const ret = mountFn(o.fsname ?? 'fusekit', o.mountpoint, type, flags, fuseMountData(o)) as number;
  check(ret, 'mount', o.mountpoint);
}

/** An error from a failed fusermount3 run. */
export interface FusermountError extends Error {
  code: string;
  exitCode: number | null;
  stderr: string;
}

// fusermount3 prints strerror text or its own messages; map the common ones
// so callers can match on code. First match wins. "entry for X not found in
// /etc/mtab" means "not mounted": EINVAL, as umount2 would say.
const FUSERMOUNT_CODES: readonly [RegExp, string][] = [
  [/permission denied|not permitted/i, 'EPERM'],
  [/not found in \/etc\/mtab|not mounted/i, 'EINVAL'],
  [/not found|no such file/i, 'ENOENT'],
  [/busy/i, 'EBUSY'],
  [/invalid argument/i, 'EINVAL'],
];

function fusermountError(what: string, status: number | null, stderr: string): FusermountError {
  const msg = stderr.trim() || `exit status ${status}`;
  const code = FUSERMOUNT_CODES.find(([re]) => re.test(msg))?.[1] ?? 'EIO';
  return Object.assign(new Error(`${what}: ${msg}`), { code, exitCode: status, stderr });
}

/**
 * Mount through the setuid `fusermount3`, as libfuse does for unprivileged
 * users: `fusermount3 -o <options> -- <mountpoint>` with `_FUSE_COMMFD` naming
 * its end of a socketpair; fusermount3 opens /dev/fuse, mounts, sends the fd
 * back with SCM_RIGHTS and exits. Resolves with the device fd (O_CLOEXEC).
 * `options` are fusermount -o options (e.g. `fsname=x`, `subtype=y`,
 * `allow_other`, `default_permissions`, `ro`); fusermount adds fd, rootmode,
 * user_id and group_id itself. `auto_unmount` is not supported (it needs the
 * socket kept open for the filesystem's lifetime).
 */
export async function fusermountMount(mountpoint: string, options: string[]): Promise<number> {
  const [mine, theirs] = socketpair(SOCK.STREAM);
  try {
    const args = options.length ? ['-o', options.join(','), '--', mountpoint] : ['--', mountpoint];
    let child;
    try {
      // stdio[3] = theirs: Node dup2()s it to fd 3 in the child (clearing CLOEXEC).
      child = spawn(FUSERMOUNT, args, {
        stdio: ['ignore', 'ignore', 'pipe', theirs],
        env: { ...process.env, _FUSE_COMMFD: '3' },
      });
    } finally {
      close(theirs);
    }
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code: number | null) => resolve(code));
    });
    if (status !== 0) throw fusermountError('fusermount3', status, stderr);
    // The child has exited, so the fd (if any) is already queued: do not block.
    try {
      return recvFd(mine, SOCK.MSG_DONTWAIT);
    } catch (e) {
      throw fusermountError('fusermount3 sent no fd', status, stderr || (e as Error).message);
    }
  } finally {
    close(mine);
  }
}

/** Options for unmount. */
export interface UnmountOptions {
  /** MNT_DETACH / `fusermount3 -z`: detach now, finish when no longer busy. */
  lazy?: boolean;
  /** Use fusermount3 even as root (it also updates /etc/mtab where that is a file). */
  fusermount?: boolean;
}

/**
 * Unmount: umount2(2) as root (euid 0), else (or when asked) `fusermount3 -u
 * [-z]`, run synchronously. fusermount3 only unmounts FUSE mounts the caller
 * owns.
 */
export function unmount(mountpoint: string, o: UnmountOptions = {}): void {
  if (o.fusermount || (geteuidFn() as number) !== 0) {
    const args = ['-u', ...(o.lazy ? ['-z'] : []), '--', mountpoint];
    const r = spawnSync(FUSERMOUNT, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw fusermountError('fusermount3 -u', r.status, r.stderr ?? '');
    return;
  }
  check(umount2Fn(mountpoint, o.lazy ? MNT.DETACH : 0) as number, 'umount2', mountpoint);
}

/**
 * A new /dev/fuse fd attached to the session of `sessionFd`
 * (FUSE_DEV_IOC_CLONE). It has its own processing queue: replies must go to
 * the fd the request was read from.
 */
export function cloneFuseFd(sessionFd: number): number {
  const fd = openFuseDevice();
  const arg = Buffer.alloc(4);
  arg.writeUInt32LE(sessionFd >>> 0);
  if ((ioctlFn(fd, FUSE_DEV_IOC.CLONE, arg) as number) === -1) {
    const err = sysError('ioctl(FUSE_DEV_IOC_CLONE)');
    close(fd);
    throw err;
  }
  return fd;
}

/**
 * Register `fd` (an open regular file) as a passthrough backing file
 * (FUSE_DEV_IOC_BACKING_OPEN) and return its backing id (> 0), for
 * `fuse_open_out.backing_id` with FOPEN_PASSTHROUGH. Needs CAP_SYS_ADMIN in the
 * initial namespace and a connection that negotiated PASSTHROUGH (EPERM
 * otherwise); the kernel takes its own reference, so `fd` may be closed.
 */
export function backingOpen(devFd: number, fd: number): number {
  const map = BACKING_MAP; // { s32 fd; u32 flags = 0; u64 padding = 0 }, every field written
  map.writeInt32LE(fd, 0);
  map.writeUInt32LE(0, 4);
  map.writeBigUInt64LE(0n, 8);
  return check(ioctlFn(devFd, FUSE_DEV_IOC.BACKING_OPEN, map) as number, 'ioctl(FUSE_DEV_IOC_BACKING_OPEN)');
}

/** The backing ioctls' arguments, reused: the calls are synchronous and the kernel copies them in. */
const BACKING_MAP = Buffer.allocUnsafeSlow(16);
const BACKING_ID = Buffer.allocUnsafeSlow(4);

/** Drop a backing id (FUSE_DEV_IOC_BACKING_CLOSE). Keep it until RELEASE of every file using it. */
export function backingClose(devFd: number, id: number): void {
  const arg = BACKING_ID;
  arg.writeUInt32LE(id >>> 0);
  check(ioctlFn(devFd, FUSE_DEV_IOC.BACKING_CLOSE, arg) as number, 'ioctl(FUSE_DEV_IOC_BACKING_CLOSE)');
}

/**
 * The FUSE connection number of a mount: the minor of its st_dev (FUSE mounts
 * get an anonymous device makedev(0, N)), i.e. /sys/fs/fuse/connections/<N>.
 * Uses statx with AT_STATX_DONT_SYNC, so it does not send GETATTR to the
 * server: safe on a mount whose server hangs or has not answered INIT.
 */
export function fuseConnectionId(mountpoint: string): number {
  const st = statx(AT.FDCWD, mountpoint, AT.STATX_DONT_SYNC, 0);
  if (st.dev_major !== 0) throw sysError('fuseConnectionId', mountpoint, 22 /* EINVAL: not an anonymous-dev mount */);
  return st.dev_minor;
}
