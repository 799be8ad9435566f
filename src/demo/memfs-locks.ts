/**
 * memfs lock tables: POSIX record locks (per lock owner, byte ranges split and
 * merged like fs/locks.c) and BSD flock locks (whole file, per open file), one
 * table per inode. SETLKW-style waits sit on a queue that every release wakes;
 * a waiter gives up with EINTR when its request is interrupted, and a wait that
 * would close a cycle of owners (across inodes) fails with EDEADLK.
 */
import { fuseError } from '../errors.ts';
import { OFFSET_MAX } from '../protocol/abi.ts';
import type { FileLock, LockOwner } from '../protocol/types.ts';

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

interface Held {
  owner: LockOwner;
  start: bigint;
  /** Inclusive; OFFSET_MAX = to end of file. */
  end: bigint;
  type: number;
  pid: number;
}

function overlaps(a: { start: bigint; end: bigint }, b: { start: bigint; end: bigint }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

function conflicts(a: Held, owner: LockOwner, type: number, start: bigint, end: bigint): boolean {
  return a.owner !== owner && (a.type === F_WRLCK || type === F_WRLCK) && overlaps(a, { start, end });
}

/**
 * Who waits for whom, across every inode of a filesystem: lets SETLKW refuse a
 * wait that would close a cycle (EDEADLK), as Linux's posix_locks_deadlock does.
 */
export class LockWaits {
  readonly #waitingOn = new Map<LockOwner, ReadonlySet<LockOwner>>();

  /** Would `owner` waiting for `blockers` deadlock (some blocker waits, transitively, for owner)? */
  deadlocks(owner: LockOwner, blockers: Iterable<LockOwner>): boolean {
    const seen = new Set<LockOwner>();
    const todo = [...blockers];
    while (todo.length > 0) {
      const b = todo.pop()!;
      if (b === owner) return true;
      if (seen.has(b)) continue;
      seen.add(b);
      for (const next of this.#waitingOn.get(b) ?? []) todo.push(next);
    }
    return false;
  }

  set(owner: LockOwner, blockers: ReadonlySet<LockOwner>): void {
    this.#waitingOn.set(owner, blockers);
  }

  clear(owner: LockOwner): void {
    this.#waitingOn.delete(owner);
  }
}

/** The locks of one inode. */
export class LockTable {
  readonly #waits: LockWaits;
  #posix: Held[] = [];
  readonly #flock = new Map<LockOwner, number>();
  #waiters: (() => void)[] = [];

  constructor(waits: LockWaits = new LockWaits()) {
    this.#waits = waits;
  }

  /** No locks and nobody waiting: the table can be dropped. */
  get idle(): boolean {
    return this.#posix.length === 0 && this.#flock.size === 0 && this.#waiters.length === 0;
  }

  /** F_GETLK: the first lock that would block `lk` for `owner`, or an F_UNLCK lock. */
  test(owner: LockOwner, lk: FileLock): FileLock {
    const c = this.#posix.find((h) => conflicts(h, owner, lk.type, lk.start, lk.end));
    if (!c) return { start: lk.start, end: lk.end, type: F_UNLCK, pid: 0 };
    return { start: c.start, end: c.end, type: c.type, pid: c.pid };
  }

  /** F_SETLK/F_SETLKW (flock false) or flock(2) (flock true). */
  async set(owner: LockOwner, lk: FileLock, sleep: boolean, flock: boolean, signal: AbortSignal): Promise<void> {
    if (lk.type !== F_RDLCK && lk.type !== F_WRLCK && lk.type !== F_UNLCK) throw fuseError('EINVAL', `lock type ${lk.type}`);
    if (lk.start < 0n || lk.end < lk.start) throw fuseError('EINVAL', 'bad lock range');
    if (flock) {
      if (lk.type === F_UNLCK) {
        this.releaseFlock(owner);
        return;
      }
      // Linux converts a flock by dropping the old lock first (not atomic).
      if (this.#flock.delete(owner)) this.#wake();
      while ([...this.#flock].some(([o, t]) => o !== owner && (t === F_WRLCK || lk.type === F_WRLCK))) {
        if (!sleep) throw fuseError('EAGAIN', 'flock held by another file');
        await this.#wait(signal);
      }
      this.#flock.set(owner, lk.type);
      return;
    }
    if (lk.type === F_UNLCK) {
      this.#carve(owner, lk.start, lk.end);
      this.#wake();
      return;
    }
    for (;;) {
      const blockers = new Set(this.#posix.filter((h) => conflicts(h, owner, lk.type, lk.start, lk.end)).map((h) => h.owner));
      if (blockers.size === 0) break;
      if (!sleep) throw fuseError('EAGAIN', 'range locked by another owner');
      if (this.#waits.deadlocks(owner, blockers)) throw fuseError('EDEADLK', 'waiting would deadlock');
      this.#waits.set(owner, blockers);
      try {
        await this.#wait(signal);
      } finally {
        this.#waits.clear(owner);
      }
    }
    this.#carve(owner, lk.start, lk.end);
    this.#posix.push({ owner, start: lk.start, end: lk.end, type: lk.type, pid: lk.pid });
    this.#merge(owner);
    // A downgrade (write → read) can unblock readers.
    this.#wake();
  }

  /** Drop every POSIX lock of `owner` (FLUSH: the owner closed a descriptor). */
  releasePosix(owner: LockOwner): void {
    const before = this.#posix.length;
    this.#posix = this.#posix.filter((h) => h.owner !== owner);
    if (this.#posix.length !== before) this.#wake();
  }

  /** Drop the flock of `owner` (RELEASE with FLOCK_UNLOCK, or LOCK_UN). */
  releaseFlock(owner: LockOwner): void {
    if (this.#flock.delete(owner)) this.#wake();
  }

  /** Remove [start, end] from `owner`'s locks, splitting those that straddle it. */
  #carve(owner: LockOwner, start: bigint, end: bigint): void {
    const out: Held[] = [];
    for (const h of this.#posix) {
      if (h.owner !== owner || !overlaps(h, { start, end })) {
        out.push(h);
        continue;
      }
      if (h.start < start) out.push({ ...h, end: start - 1n });
      if (h.end > end && end !== OFFSET_MAX) out.push({ ...h, start: end + 1n });
    }
    this.#posix = out;
  }

  /** Coalesce `owner`'s adjacent or overlapping locks of the same type. */
  #merge(owner: LockOwner): void {
    const mine = this.#posix.filter((h) => h.owner === owner).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const others = this.#posix.filter((h) => h.owner !== owner);
    const merged: Held[] = [];
    for (const h of mine) {
      const last = merged[merged.length - 1];
      if (last && last.type === h.type && last.end !== OFFSET_MAX && last.end + 1n >= h.start) {
        if (h.end > last.end) last.end = h.end;
      } else {
        merged.push({ ...h });
      }
    }
    this.#posix = [...others, ...merged];
  }

  #wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(fuseError('EINTR', 'lock wait interrupted'));
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        reject(fuseError('EINTR', 'lock wait interrupted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(wake);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
