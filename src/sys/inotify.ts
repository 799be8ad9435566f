/**
 * inotify(7): watch host directories so the share server can invalidate the
 * kernel's caches after changes made outside the mount.
 *
 * The fd is non-blocking; read it with `fs.read` (the libuv pool) or poll it,
 * and decode what you read with `parseEvents`. A read buffer of at least
 * 16 + NAME_MAX + 1 bytes always holds one event; 64 KiB is a good size.
 * Watch descriptors name inodes, not paths: a renamed directory keeps its wd.
 * IN_Q_OVERFLOW (wd −1) means events were lost: rescan.
 */
import { check, cpath, libc, type PathLike } from './ffi.ts';

/** inotify event and flag bits (sys/inotify.h). */
export const IN = {
  ACCESS: 0x1,
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  CLOSE_NOWRITE: 0x10,
  CLOSE: 0x18,
  OPEN: 0x20,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  MOVE: 0xc0,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  ALL_EVENTS: 0xfff,
  // Set by the kernel in events:
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ISDIR: 0x40000000,
  // addWatch flags:
  ONLYDIR: 0x1000000,
  DONT_FOLLOW: 0x2000000,
  EXCL_UNLINK: 0x4000000,
  MASK_CREATE: 0x10000000,
  MASK_ADD: 0x20000000,
  ONESHOT: 0x80000000,
  // inotifyInit flags:
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** One decoded `struct inotify_event`. `name` is absent for events on the watched inode itself. */
export interface InotifyEvent {
  wd: number;
  mask: number;
  cookie: number;
  name?: Buffer;
}

const inotifyInit1Fn = libc.func('int inotify_init1(int flags)');
const addWatchFn = libc.func('int inotify_add_watch(int fd, const char *path, uint32_t mask)');
const rmWatchFn = libc.func('int inotify_rm_watch(int fd, int wd)');

/** inotify_init1(IN_NONBLOCK | IN_CLOEXEC). */
export function inotifyInit(): number {
  return check(inotifyInit1Fn(IN.NONBLOCK | IN.CLOEXEC) as number, 'inotify_init1');
}

/**
 * inotify_add_watch(2): returns the watch descriptor. Watching an inode twice
 * returns the same wd and replaces its mask (unless IN.MASK_ADD). Fails with
 * ENOSPC when fs.inotify.max_user_watches is reached.
 */
export function addWatch(fd: number, path: PathLike, mask: number): number {
  return check(addWatchFn(fd, cpath(path), mask >>> 0) as number, 'inotify_add_watch', path);
}

/** inotify_rm_watch(2). An IN.IGNORED event for `wd` follows. */
export function rmWatch(fd: number, wd: number): void {
  check(rmWatchFn(fd, wd) as number, 'inotify_rm_watch');
}

/**
 * Decode the first `n` bytes of `buf` as inotify events (16-byte header
 * {s32 wd, u32 mask, u32 cookie, u32 len} + NUL-padded name of `len` bytes).
 * Names are copied out of `buf`, trailing NULs removed.
 */
export function parseEvents(buf: Buffer, n: number): InotifyEvent[] {
  const out: InotifyEvent[] = [];
  for (let p = 0; p + 16 <= n; ) {
    const len = buf.readUInt32LE(p + 12);
    const ev: InotifyEvent = {
      wd: buf.readInt32LE(p),
      mask: buf.readUInt32LE(p + 4),
      cookie: buf.readUInt32LE(p + 8),
    };
    if (len > 0) {
      const start = p + 16;
      let end = buf.indexOf(0, start);
      if (end === -1 || end > start + len) end = start + len;
      ev.name = Buffer.from(buf.subarray(start, end));
    }
    out.push(ev);
    p += 16 + len;
  }
  return out;
}
