/**
 * Notifications: the server's way to tell the kernel that its caches are stale.
 *
 * Every call only *queues*: frames go out later, in order, one at a time, through
 * the transport's non-blocking `notify`. So a handler may call any method here at
 * any time without deadlocking (libfuse doc/README.notifications: a notification
 * written from the handler of a related request can wait forever on that request).
 *
 * The queue is bounded and coalescing: repeated invalidations of the same inode
 * or the same (parent, name) collapse into one. When it overflows, the queue is
 * dropped and replaced by a *revalidate-everything* step: INC_EPOCH (every cached
 * dentry fails its next revalidation) and an attribute-and-data invalidation of
 * every node the kernel holds. Nothing is lost, only made less precise.
 */
import { InitFlag, InvalEntryFlag } from '../protocol/abi.ts';
import {
  encodeNotifyDelete,
  encodeNotifyIncEpoch,
  encodeNotifyInvalEntry,
  encodeNotifyInvalInode,
  encodeNotifyPoll,
  encodeNotifyPrune,
  encodeNotifyResend,
  encodeNotifyRetrieve,
  encodeNotifyStore,
} from '../protocol/encode.ts';
import type { NodeId } from '../protocol/types.ts';

/** Queue cache notifications for one mount. Every method returns at once. */
export interface Notifier {
  /** Invalidate attributes (and cached data in [off, off+len) when off ≥ 0; len ≤ 0 means to EOF). */
  invalInode(nodeid: NodeId, off?: number, len?: number): void;
  /** Invalidate the dentry `name` in `parent`; `expireOnly` marks it stale without unhashing (needs 7.38). */
  invalEntry(parent: NodeId, name: string | Buffer, opts?: { expireOnly?: boolean }): void;
  /** `name` in `parent` (node `child`) is gone: invalidates and sends fsnotify/inotify delete events. */
  delete(parent: NodeId, child: NodeId, name: string | Buffer): void;
  /** Wake pollers waiting on kernel handle `kh` (from a POLL request). */
  poll(kh: bigint): void;
  /** Push data into the page cache. Resolves when written. */
  store(nodeid: NodeId, offset: number, data: Buffer): Promise<void>;
  /** Read back what the kernel caches for a node; resolves with the bytes it returned. */
  retrieve(nodeid: NodeId, offset: number, size: number): Promise<Buffer>;
  /** Ask the kernel to re-send requests in flight (needs HAS_RESEND). */
  resend(): void;
  /** Every cached dentry fails its next revalidation (needs 7.44). */
  incEpoch(): void;
  /** Ask the kernel to drop unused nodes (needs 7.45); they come back as FORGETs. */
  prune(nodeids: readonly NodeId[]): void;
  /** Resolves when everything queued so far has been written. */
  flush(): Promise<void>;
  /** Counters, for tests and the debug trace. */
  readonly stats: NotifyStats;
}

export interface NotifyStats {
  queued: number;
  sent: number;
  coalesced: number;
  overflows: number;
  failed: number;
}

interface Item {
  key?: string;
  build: () => Buffer[];
  resolve?: () => void;
  reject?: (e: Error) => void;
}

export interface NotifyQueueOptions {
  /** Send one frame; must not block the event loop. */
  send: (iov: readonly Buffer[]) => Promise<void>;
  /** The negotiated minor version and the kernel's offered flags, to skip notifications it cannot take. */
  minor: () => number;
  flags: () => bigint;
  /** Node ids the kernel currently holds (for revalidate-everything). */
  heldNodes: () => Iterable<NodeId>;
  /** Most items queued before overflow. */
  limit?: number;
  log?: (msg: string) => void;
}

interface RangeItem extends Item {
  off: number;
  len: number;
}

/** The bounded, coalescing notification queue behind `Notifier`. */
export class NotifyQueue implements Notifier {
  readonly stats: NotifyStats = { queued: 0, sent: 0, coalesced: 0, overflows: 0, failed: 0 };
  readonly #o: NotifyQueueOptions;
  readonly #limit: number;
  #items: Item[] = [];
  #keys = new Map<string, Item>();
  #draining = false;
  #revalidateAll = false;
  #idle: (() => void)[] = [];
  #retrieveUnique = 1n;
  #retrievals = new Map<bigint, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  #closed = false;

  constructor(o: NotifyQueueOptions) {
    this.#o = o;
    this.#limit = o.limit ?? 4096;
  }

  invalInode(nodeid: NodeId, off = -1, len = 0): void {
    // Coalesce per node: attributes-only joins any data range; two different ranges widen to the whole file.
    const key = `i${nodeid}`;
    const prev = this.#keys.get(key) as RangeItem | undefined;
    if (prev) {
      if (off >= 0) {
        if (prev.off < 0) [prev.off, prev.len] = [off, len];
        else if (prev.off !== off || prev.len !== len) [prev.off, prev.len] = [0, 0];
      }
      this.stats.coalesced++;
      return;
    }
    const item: RangeItem = { key, off, len, build: () => encodeNotifyInvalInode(nodeid, item.off, item.len) };
    this.#push(item);
  }

  invalEntry(parent: NodeId, name: string | Buffer, opts: { expireOnly?: boolean } = {}): void {
    const nb = Buffer.from(name);
    const expire = opts.expireOnly === true && (this.#o.flags() & InitFlag.HAS_EXPIRE_ONLY) !== 0n;
    this.#push({ key: `e${parent}/${nb.toString('latin1')}/${expire}`, build: () => encodeNotifyInvalEntry(parent, nb, expire ? InvalEntryFlag.EXPIRE_ONLY : 0) });
  }

  delete(parent: NodeId, child: NodeId, name: string | Buffer): void {
    const nb = Buffer.from(name);
    this.#push({ key: `d${parent}/${nb.toString('latin1')}`, build: () => encodeNotifyDelete(parent, child, nb) });
  }

  poll(kh: bigint): void {
    this.#push({ key: `p${kh}`, build: () => encodeNotifyPoll(kh) });
  }

  store(nodeid: NodeId, offset: number, data: Buffer): Promise<void> {
    const copy = Buffer.from(data);
    return new Promise((resolve, reject) => this.#push({ build: () => encodeNotifyStore(nodeid, offset, copy), resolve, reject }, true));
  }

  retrieve(nodeid: NodeId, offset: number, size: number): Promise<Buffer> {
    const u = this.#retrieveUnique++;
    return new Promise<Buffer>((resolve, reject) => {
      this.#retrievals.set(u, { resolve, reject });
      this.#push({
        build: () => encodeNotifyRetrieve(u, nodeid, offset, size),
        reject: (e) => {
          this.#retrievals.delete(u);
          reject(e);
        },
      }, true);
    });
  }

  /** Called by the session for a NOTIFY_REPLY request. Returns false for an unknown unique. */
  answerRetrieve(notifyUnique: bigint, data: Buffer): boolean {
    const w = this.#retrievals.get(notifyUnique);
    if (!w) return false;
    this.#retrievals.delete(notifyUnique);
    w.resolve(Buffer.from(data));
    return true;
  }

  resend(): void {
    if ((this.#o.flags() & InitFlag.HAS_RESEND) === 0n) return;
    this.#push({ key: 'resend', build: encodeNotifyResend });
  }

  incEpoch(): void {
    if (this.#o.minor() < 44) return;
    this.#push({ key: 'epoch', build: encodeNotifyIncEpoch });
  }

  prune(nodeids: readonly NodeId[]): void {
    if (this.#o.minor() < 45 || nodeids.length === 0) return;
    const ids = [...nodeids];
    this.#push({ build: () => encodeNotifyPrune(ids) });
  }

  flush(): Promise<void> {
    if (!this.#draining && this.#items.length === 0 && !this.#revalidateAll) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Fail everything still waiting; later calls are dropped. */
  close(): void {
    this.#closed = true;
    const err = Object.assign(new Error('session closed'), { code: 'ENOTCONN' });
    for (const it of this.#items) it.reject?.(err);
    for (const r of this.#retrievals.values()) r.reject(err);
    this.#items = [];
    this.#keys.clear();
    this.#retrievals.clear();
    this.#revalidateAll = false;
    for (const r of this.#idle.splice(0)) r();
  }

  #push(item: Item, mustKeep = false): void {
    if (this.#closed) {
      item.reject?.(Object.assign(new Error('session closed'), { code: 'ENOTCONN' }));
      return;
    }
    if (this.#revalidateAll && !mustKeep) {
      // A revalidate-everything step is already pending: it covers this invalidation.
      this.stats.coalesced++;
      return;
    }
    if (item.key !== undefined) {
      if (this.#keys.has(item.key)) {
        this.stats.coalesced++;
        return;
      }
      this.#keys.set(item.key, item);
    }
    if (!mustKeep && this.#items.length >= this.#limit) {
      this.#overflow();
      return;
    }
    this.stats.queued++;
    this.#items.push(item);
    this.#kick();
  }

  #overflow(): void {
    // Drop every droppable item: revalidating everything covers them.
    this.stats.overflows++;
    this.#o.log?.(`notification queue overflow (${this.#items.length} queued): revalidating everything`);
    this.#items = this.#items.filter((it) => it.key === undefined);
    this.#keys.clear();
    this.#revalidateAll = true;
    this.#kick();
  }

  #kick(): void {
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        if (this.#revalidateAll) {
          this.#revalidateAll = false;
          await this.#sendRevalidateAll();
          continue;
        }
        const item = this.#items.shift();
        if (!item) break;
        if (item.key !== undefined) this.#keys.delete(item.key);
        await this.#sendOne(item.build(), item);
      }
    } finally {
      this.#draining = false;
      if (this.#items.length > 0 || this.#revalidateAll) this.#kick();
      else for (const r of this.#idle.splice(0)) r();
    }
  }

  async #sendRevalidateAll(): Promise<void> {
    if (this.#o.minor() >= 44) await this.#sendOne(encodeNotifyIncEpoch());
    for (const id of [...this.#o.heldNodes()]) {
      if (this.#closed) return;
      await this.#sendOne(encodeNotifyInvalInode(id, 0, 0));
    }
  }

  async #sendOne(iov: Buffer[], item?: Item): Promise<void> {
    try {
      await this.#o.send(iov);
      this.stats.sent++;
      item?.resolve?.();
    } catch (e) {
      const code = (e as { code?: string }).code;
      // ENOENT: the node is no longer known to the kernel, which is the goal of an invalidation.
      if (code === 'ENOENT') {
        this.stats.sent++;
        item?.resolve?.();
        return;
      }
      this.stats.failed++;
      if (item?.reject) item.reject(e as Error);
      else this.#o.log?.(`notification failed: ${(e as Error).message}`);
    }
  }
}
