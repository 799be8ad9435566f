/**
 * Open-file-description (OFD) record locks and flock(2).
 *
 * An OFD lock belongs to the open file description, not the process: two
 * descriptions of one file opened by the same process conflict, a lock is
 * released when the last fd of its description closes, and OFD locks conflict
 * with classic POSIX (F_SETLK) locks held by other processes. The share server
 * therefore opens one private description per FUSE lock owner (FUSE-NOTES §5).
 *
 * **Waiting (`ofdSetlkWait`).** A blocking F_OFD_SETLKW cannot run on the
 * event loop, and on a worker or libuv pool thread it cannot be cancelled:
 * only a signal delivered to that exact thread interrupts fcntl, and Node
 * offers no way to signal one thread. A FUSE INTERRUPT or an unmount would
 * leave the thread stuck until the holder lets go, possibly forever. Instead
 * we retry the non-blocking F_OFD_SETLK with a backoff of 1 ms doubling to
 * 20 ms. This is correct (each attempt is atomic; we never hold a partial
 * lock), cancellable at once through an AbortSignal (rejecting with EINTR,
 * which is what the FUSE reply needs), and costs at most 20 ms of extra
 * latency after the lock becomes free. It is not fair: a waiter can be
 * overtaken by another process's fresh attempt, and the kernel's deadlock
 * detection (EDEADLK) does not apply to OFD locks anyway.
 */
import { check, libc, sysError } from './ffi.ts';

/** fcntl commands and lock types (asm-generic/fcntl.h). */
export const F = {
  GETLK: 5,
  SETLK: 6,
  SETLKW: 7,
  OFD_GETLK: 36,
  OFD_SETLK: 37,
  OFD_SETLKW: 38,
  RDLCK: 0,
  WRLCK: 1,
  UNLCK: 2,
} as const;

/** flock(2) operations. */
export const LOCK = {
  SH: 1,
  EX: 2,
  NB: 4,
  UN: 8,
} as const;

/** A byte-range lock request. `len` 0 means "to end of file, however far". */
export interface FlockRequest {
  /** F.RDLCK, F.WRLCK or F.UNLCK. */
  type: number;
  start: number;
  len: number;
  /** SEEK_SET (default), SEEK_CUR or SEEK_END. */
  whence?: number;
}

/** What F_OFD_GETLK reports: the conflicting lock, or type F.UNLCK if none. */
export interface FlockResult {
  type: number;
  start: number;
  len: number;
  /** The holder's pid; −1 when the holder is an OFD lock. */
  pid: number;
}

const fcntlFn = libc.func('int fcntl(int fd, int cmd, void *arg)');
const flockFn = libc.func('int flock(int fd, int op)');

// struct flock on LP64: s16 l_type @0, s16 l_whence @2, s64 l_start @8,
// s64 l_len @16, s32 l_pid @24; 32 bytes.
function encode(l: FlockRequest): Buffer {
  const b = Buffer.alloc(32);
  b.writeInt16LE(l.type, 0);
  b.writeInt16LE(l.whence ?? 0, 2);
  b.writeBigInt64LE(BigInt(l.start), 8);
  b.writeBigInt64LE(BigInt(l.len), 16);
  // l_pid must be 0 for OFD commands (EINVAL otherwise).
  return b;
}

/**
 * F_OFD_GETLK: would `lock` conflict? Returns the first conflicting lock, or
 * `{ type: F.UNLCK, … }` with the request's range if it would be granted.
 * Locks held by `fd`'s own description never conflict.
 */
export function ofdGetlk(fd: number, lock: FlockRequest): FlockResult {
  const b = encode(lock);
  check(fcntlFn(fd, F.OFD_GETLK, b) as number, 'fcntl(F_OFD_GETLK)');
  return {
    type: b.readInt16LE(0),
    start: Number(b.readBigInt64LE(8)),
    len: Number(b.readBigInt64LE(16)),
    pid: b.readInt32LE(24),
  };
}

/**
 * F_OFD_SETLK: take, change or (with F.UNLCK) release a lock without waiting.
 * Throws EAGAIN when another description holds a conflicting lock.
 */
export function ofdSetlk(fd: number, lock: FlockRequest): void {
  check(fcntlFn(fd, F.OFD_SETLK, encode(lock)) as number, 'fcntl(F_OFD_SETLK)');
}

/** Backoff bounds for ofdSetlkWait, in milliseconds. */
export const LOCK_RETRY = { firstMs: 1, maxMs: 20 } as const;

/**
 * Take `lock`, waiting for conflicting locks to go away without blocking the
 * event loop (see the module doc). Rejects with an EINTR error when `signal`
 * aborts, and with any error other than EAGAIN at once.
 */
export function ofdSetlkWait(fd: number, lock: FlockRequest, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let delay: number = LOCK_RETRY.firstMs;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      reject(sysError('fcntl(F_OFD_SETLKW)', null, 4 /* EINTR */));
    };
    const attempt = (): void => {
      timer = undefined;
      if (signal?.aborted) return; // onAbort already rejected
      try {
        ofdSetlk(fd, lock);
      } catch (e) {
        if ((e as { code?: string }).code === 'EAGAIN') {
          timer = setTimeout(attempt, delay);
          delay = Math.min(delay * 2, LOCK_RETRY.maxMs);
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        reject(e);
        return;
      }
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt();
  });
}

/**
 * flock(2): LOCK.SH / LOCK.EX / LOCK.UN, with LOCK.NB to fail with
 * EWOULDBLOCK (code EAGAIN) instead of waiting. Without LOCK.NB this blocks
 * the thread; the share server always passes LOCK.NB.
 */
export function flock(fd: number, op: number): void {
  check(flockFn(fd, op) as number, 'flock');
}
