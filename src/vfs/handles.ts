/**
 * Open handles: what an OPEN or OPENDIR creates and RELEASE ends.
 *
 * A handle refers to its node *object*, not to a kernel node, and it is what
 * removal revokes: once `revoked` is set every later operation on it answers
 * ENODEV (kernfs: "every read/write takes an active ref and returns ENODEV if it
 * can't"), and waiters blocked in it (a stream read) are woken with ENODEV.
 * RELEASE still succeeds, exactly once per open.
 */
import { fuseError } from '../errors.ts';
import type { VNode } from './inode.ts';

/** A handle of an open regular file. */
export class OpenFile {
  readonly fh: bigint;
  readonly node: VNode;
  /** open(2) flags. */
  readonly flags: number;
  /** Which mount opened it (for poll wake-ups and cache decisions). */
  readonly mount: number;
  /** The content snapshot of generated and attribute files, taken at open. */
  snapshot: Buffer | undefined;
  revoked = false;
  /** Called on revocation (stream readers use it to wake up with ENODEV). */
  readonly #onRevoke = new Set<() => void>();

  constructor(fh: bigint, node: VNode, flags: number, mount: number) {
    this.fh = fh;
    this.node = node;
    this.flags = flags;
    this.mount = mount;
  }

  /** Throw ENODEV if the node was removed since this handle was opened. */
  check(): void {
    if (this.revoked) throw fuseError('ENODEV', `${this.node.path} was removed while open`);
  }

  onRevoke(fn: () => void): () => void {
    this.#onRevoke.add(fn);
    return () => this.#onRevoke.delete(fn);
  }

  revoke(): void {
    if (this.revoked) return;
    this.revoked = true;
    this.snapshot = undefined;
    for (const fn of [...this.#onRevoke]) fn();
    this.#onRevoke.clear();
  }
}

/** A handle of an open directory: remembers where the listing is and its lazy snapshot. */
export class DirHandle {
  readonly fh: bigint;
  readonly node: VNode;
  /** Sorted lazy names, taken at the first READDIR from the start (cookie 0). */
  lazy: { hash: number; name: string; type?: number }[] | undefined;
  /** The last cookie handed out and the name behind it, for an exact resume. */
  lastCookie = -1n;
  lastName = '';
  revoked = false;

  constructor(fh: bigint, node: VNode) {
    this.fh = fh;
    this.node = node;
  }
}
