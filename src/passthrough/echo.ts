/**
 * Echo marks: changes made through the mount, remembered for a short while so
 * the host's inotify report of the same change can be dropped (the kernel
 * already knows; invalidating would throw away the dentry it just made).
 *
 * A mark is a key (`dir/kind/name`) and the time it expires. `#until` maps each
 * key to the expiry of its latest mark; `#keys` and `#times` (from `#head` on)
 * queue every mark in the order it was made, which is the order marks expire (one ttl for all, monotonic
 * time). Expired marks are dropped from the front of the queue, stopping at the
 * first live one: O(1) amortized per mark at any rate of changes. Past `max`
 * queued marks the oldest go even if live: a lost mark only costs one needless
 * invalidation when its echo arrives.
 *
 * Two earlier versions were O(live marks) per change, each costing 15 % or more
 * of the server's CPU in a create/stat/unlink run: one scanned the whole Map
 * once it held 4,096 marks; the next deleted from the front of a Map in
 * insertion order, but V8 leaves a hole per deleted entry until it rehashes,
 * and every new iterator walks all the holes (12.9 µs per mark with 20,000 live).
 * Hence a plain array queue here, whose every step `visited` counts.
 */
export class EchoMarks {
  readonly #until = new Map<string, number>();
  #keys: string[] = [];
  #times: number[] = [];
  #head = 0;
  readonly #ttl: number;
  readonly #max: number;
  /** Queue entries looked at, in total (a test checks it stays O(1) per mark). */
  visited = 0;

  constructor(ttlMs: number, max: number) {
    this.#ttl = ttlMs;
    this.#max = max;
  }

  /** Keys with a live (or not yet dropped) mark. */
  get size(): number {
    return this.#until.size;
  }

  /** Remember `key` until `now + ttl` (milliseconds, monotonic: performance.now()). */
  mark(key: string, now: number): void {
    const t = now + this.#ttl;
    this.#until.set(key, t);
    this.#keys.push(key);
    this.#times.push(t);
    const keys = this.#keys;
    const times = this.#times;
    let h = this.#head;
    while (h < keys.length && (times[h]! < now || keys.length - h > this.#max)) {
      this.visited++;
      const k = keys[h]!;
      // Only the key's latest mark removes it: an older, renewed one just leaves the queue.
      if (this.#until.get(k) === times[h]) this.#until.delete(k);
      h++;
    }
    this.visited++;
    // Compact once the dropped prefix is both large and most of the array.
    if (h > 4096 && h * 2 > keys.length) {
      this.#keys = keys.slice(h);
      this.#times = times.slice(h);
      h = 0;
    }
    this.#head = h;
  }

  /** True if `key` has a mark that has not expired. */
  isEcho(key: string, now: number): boolean {
    const t = this.#until.get(key);
    if (t === undefined) return false;
    if (t < now) {
      this.#until.delete(key);
      return false;
    }
    return true;
  }
}
