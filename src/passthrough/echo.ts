/**
 * Echo marks: changes made through the mount, remembered for a short while so
 * the host's inotify report of the same change can be dropped (the kernel
 * already knows; invalidating would throw away the dentry it just made).
 *
 * A mark is a key (`dir/kind/name`) and the time it expires. Marks are kept in
 * a Map in the order they expire: a renewed mark is deleted and set again, so
 * it moves to the end. Expired marks are then always at the front, and
 * dropping them stops at the first live one: O(1) amortized per mark, at any
 * rate of changes. (Scanning the whole map once it was large, as the first
 * version did, cost O(live marks) per change: 15 % of the server's CPU during
 * a create/stat/unlink run.) Past `max` live marks the oldest go too: a lost
 * mark only costs one needless invalidation when its echo arrives.
 */
export class EchoMarks {
  readonly #marks = new Map<string, number>();
  readonly #ttl: number;
  readonly #max: number;
  /** Marks looked at while dropping expired ones, in total (a test checks it stays O(1) per mark). */
  visited = 0;

  constructor(ttlMs: number, max: number) {
    this.#ttl = ttlMs;
    this.#max = max;
  }

  get size(): number {
    return this.#marks.size;
  }

  /** Remember `key` until `now + ttl` (milliseconds, monotonic: performance.now()). */
  mark(key: string, now: number): void {
    const m = this.#marks;
    m.delete(key);
    m.set(key, now + this.#ttl);
    for (const [old, t] of m) {
      this.visited++;
      if (t >= now && m.size <= this.#max) break;
      m.delete(old);
    }
  }

  /** True (once per event) if `key` was marked and has not expired. */
  isEcho(key: string, now: number): boolean {
    const t = this.#marks.get(key);
    if (t === undefined) return false;
    if (t < now) {
      this.#marks.delete(key);
      return false;
    }
    return true;
  }
}
