/**
 * POSIX record locks and flock, backed by host locks (FUSE-NOTES §5, after
 * virtiofsd's remote posix locks).
 *
 * - Record locks: one private open file description per (node, lock owner),
 *   opened by reopening the file through /proc/self/fd, locked with OFD
 *   commands, and closed on FLUSH (which is close(2) by that owner, the moment
 *   POSIX drops a process's locks) and on RELEASE. So a lock taken through the
 *   mount conflicts with host processes' locks (OFD and classic POSIX) and with
 *   other mounts of the same directory, in both directions.
 * - SETLKW waits with `ofdSetlkWait` (retries on a timer, never blocking the
 *   event loop) and ends with EINTR when the kernel sends INTERRUPT.
 * - flock: on the open file handle's own description (flock locks belong to
 *   the description, as FUSE's flock owner is the file), with LOCK_NB retried
 *   on a timer for blocking requests.
 * - GETLK reports the conflicting range and type; the holder's pid is not
 *   known for OFD holders and is reported as 0.
 */
import { fuseError } from '../errors.ts';
import { OFFSET_MAX } from '../protocol/abi.ts';
import type { FileLock, LockOwner, NodeId } from '../protocol/types.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import { F, flock, LOCK, ofdGetlk, ofdSetlk, ofdSetlkWait, type FlockRequest } from '../sys/lock.ts';
import type { ShareCore } from './core.ts';
import { safeClose } from './inodes.ts';

function toReq(lk: FileLock): FlockRequest {
  const len = lk.end === OFFSET_MAX ? 0n : lk.end - lk.start + 1n;
  return { type: lk.type, start: Number(lk.start), len: Number(len) };
}

export class Locks {
  readonly #c: ShareCore;
  /** `${node}:${owner}` → private description. */
  readonly #fds = new Map<string, number>();

  constructor(c: ShareCore) {
    this.#c = c;
  }

  get count(): number {
    return this.#fds.size;
  }

  #ownerFd(id: NodeId, fd: number, flags: number, owner: LockOwner): number {
    const key = `${id}:${owner}`;
    let lfd = this.#fds.get(key);
    if (lfd !== undefined) return lfd;
    const proc = `/proc/self/fd/${fd}`;
    try {
      lfd = sys.openat(sys.AT.FDCWD, proc, sys.O.RDWR | sys.O.CLOEXEC | sys.O.NONBLOCK);
    } catch {
      lfd = sys.openat(sys.AT.FDCWD, proc, (flags & 3) | sys.O.CLOEXEC | sys.O.NONBLOCK);
    }
    this.#fds.set(key, lfd);
    return lfd;
  }

  /** Close the owner's description: drops its record locks (FLUSH, RELEASE). */
  closeOwner(id: NodeId, owner: LockOwner): void {
    const key = `${id}:${owner}`;
    const fd = this.#fds.get(key);
    if (fd === undefined) return;
    this.#fds.delete(key);
    safeClose(fd);
  }

  ops(): Pick<LowLevelFs, 'getlk' | 'setlk'> {
    const c = this.#c;
    return {
      getlk: (_ctx, id, fh, owner, lk) => {
        const h = c.handle(fh);
        const r = ofdGetlk(this.#ownerFd(id, h.fd, h.flags, owner), toReq(lk));
        if (r.type === F.UNLCK) return { start: lk.start, end: lk.end, type: F.UNLCK, pid: 0 };
        const start = BigInt(r.start);
        return { start, end: r.len === 0 ? OFFSET_MAX : start + BigInt(r.len) - 1n, type: r.type, pid: r.pid > 0 ? r.pid : 0 };
      },

      setlk: async (ctx, id, fh, owner, lk, sleep, isFlock) => {
        const h = c.handle(fh);
        if (isFlock) {
          const op = lk.type === F.RDLCK ? LOCK.SH : lk.type === F.WRLCK ? LOCK.EX : LOCK.UN;
          if (op === LOCK.UN) return flock(h.fd, LOCK.UN);
          if (!sleep) return flock(h.fd, op | LOCK.NB);
          return waitFor(() => flock(h.fd, op | LOCK.NB), ctx.signal);
        }
        if (lk.type === F.UNLCK && !this.#fds.has(`${id}:${owner}`)) return;
        const lfd = this.#ownerFd(id, h.fd, h.flags, owner);
        if (sleep) await ofdSetlkWait(lfd, toReq(lk), ctx.signal);
        else ofdSetlk(lfd, toReq(lk));
      },
    };
  }
}

/** Retry a non-blocking attempt until it stops failing with EAGAIN; EINTR on abort. */
function waitFor(attempt: () => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let delay = 1;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (timer) clearTimeout(timer);
      reject(fuseError('EINTR'));
    };
    const tick = (): void => {
      if (signal.aborted) return;
      try {
        attempt();
      } catch (e) {
        if ((e as { code?: string }).code === 'EAGAIN' || (e as { code?: string }).code === 'EWOULDBLOCK') {
          timer = setTimeout(tick, delay);
          delay = Math.min(delay * 2, 20);
          return;
        }
        signal.removeEventListener('abort', onAbort);
        reject(e);
        return;
      }
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    tick();
  });
}
