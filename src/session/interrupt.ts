/**
 * Requests in flight, by unique, so that an INTERRUPT can find its target.
 *
 * The kernel sends INTERRUPT (with its own odd unique) only for requests it has
 * already handed to us. The session aborts the target's AbortSignal; the handler
 * decides whether to stop (and throw, which the session answers with EINTR) or
 * to finish (its result is sent as usual). An INTERRUPT whose target is not known
 * is looked up again after pending I/O, then answered EAGAIN so the kernel
 * requeues it (Documentation/filesystems/fuse/fuse.rst, "Interrupting filesystem operations").
 */
import type { Unique } from '../protocol/types.ts';

export class Interrupts<T> {
  readonly #inflight = new Map<Unique, T>();

  begin(unique: Unique, ctx: T): void {
    if (this.#inflight.has(unique)) {
      throw new Error(`request ${unique} is already in flight: the kernel reused a unique`);
    }
    this.#inflight.set(unique, ctx);
  }

  end(unique: Unique): void {
    this.#inflight.delete(unique);
  }

  get(unique: Unique): T | undefined {
    return this.#inflight.get(unique);
  }

  get size(): number {
    return this.#inflight.size;
  }
}
