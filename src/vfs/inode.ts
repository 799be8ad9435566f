/**
 * Objects: the persistent half of a node (kernfs's `kernfs_node`, eventfs's `eventfs_inode`).
 *
 * A `VNode` is created once per user object and holds everything that must
 * outlive the kernel's interest in it: the inode number, the generation, mode,
 * uid, gid, timestamps, the change version, the parent link and the removal
 * state. What the kernel holds (lookup counts, per-mount node-id tables) lives
 * in the bridge (`bridge.ts`), one per mount, and refers to these objects.
 *
 * Lifetimes:
 * - **object**: from `attach` (the node gets its ino) until `remove()`;
 * - **kernel node**: from a LOOKUP/READDIRPLUS reply until FORGET brings the
 *   per-mount count to 0 (`kref` sums the counts of every mount);
 * - **open handles**: from OPEN until RELEASE, revoked (ENODEV) by removal;
 * - **active refs** (`active`): one per request being handled on the node;
 *   removal waits for them to drain.
 */
import { constants } from 'node:fs';
import type { Tree } from './tree.ts';
import type { OpenFile } from './handles.ts';
import type { RequestContext } from '../session/lowlevel.ts';

/** Where a node is in its life. */
export const NodeState = {
  /** Created, not in any tree yet (no ino). */
  DETACHED: 0,
  /** In the tree with an ino, invisible to lookups and readdir until `activate()`. */
  HIDDEN: 1,
  /** Visible. */
  ACTIVE: 2,
  /** Removed: lookups fail, handles answer ENODEV; the ino is retired forever. */
  REMOVED: 3,
} as const;
export type NodeState = (typeof NodeState)[keyof typeof NodeState];

/** Cache lifetimes the kernel gets in entry and attribute replies, in seconds. */
export interface CachePolicy {
  /** How long the kernel may trust a name → node binding. */
  entry?: number;
  /** How long the kernel may trust attributes (size, mode, times). */
  attr?: number;
}

/** Options every node kind accepts. */
export interface NodeOptions {
  /** Permission bits (the file type is implied by the kind). */
  mode?: number;
  /** Owner; defaults to the tree's uid (the server's own unless set in TreeOptions). */
  uid?: number;
  gid?: number;
  /** Cache lifetimes; each kind has its own default (see the kind's doc). */
  cache?: CachePolicy;
  /**
   * For children made by a lazy directory: who this child *is*. When a lookup
   * returns a node with a different identity under a name the directory has
   * seen before, it is a new object and gets a new inode number (e.g. a process
   * id reused for another process). Default: the name alone is the identity.
   */
  identity?: string | number | bigint;
}

/**
 * What a directory remembers about a lazily made child while the kernel forgets it: just the
 * inode number (a plain number: no object per entry) or, when there is more to keep, a Memo.
 */
export type MemoEntry = number | Memo;

/** Persistent overrides of a lazily made child (and, for a directory, its own children's memo). */
export interface Memo {
  ino: number;
  identity?: string | number | bigint;
  mode?: number;
  uid?: number;
  gid?: number;
  children?: Map<string, MemoEntry>;
}

/** The inode number a memo entry remembers. */
export function memoIno(e: MemoEntry): bigint {
  return BigInt(typeof e === 'number' ? e : e.ino);
}

const NO_HANDLES: ReadonlySet<OpenFile> = new Set();

/** The base class of every node object. Create nodes with the factories in `nodes.ts`. */
export abstract class VNode {
  /** S_IFDIR, S_IFREG or S_IFLNK. */
  abstract readonly type: number;
  /** Inode number (= node id on every mount). 0n until attached. */
  ino = 0n;
  /** Generation: 1 for every node but the root (0); inos are never reused, so (ino, 1) is unique. */
  generation = 1n;
  /** Change version: a tree-wide sequence number, so it only ever grows, even across re-creation. */
  version = 0;
  state: NodeState = NodeState.DETACHED;
  /** Name in the parent (the first one it was attached under). */
  name = '';
  parent: import('./dir.ts').VDir | undefined;
  tree: Tree | undefined;
  /** True if a lazy directory made it (it lives in the dir's live cache, not its static children). */
  lazy = false;
  /** Sum of lookup counts over every mount. */
  kref = 0;
  /** Requests being handled on this node right now. */
  active = 0;
  /** Open handles (revoked on removal); allocated at the first open (most nodes are never opened). */
  #handles: Set<OpenFile> | undefined;
  mode: number;
  uid: number | undefined;
  gid: number | undefined;
  /** Seconds since the epoch, with nanoseconds, as [sec, nsec]. */
  mtime: [number, number] = nowTs();
  ctime: [number, number] = this.mtime;
  atime: [number, number] = this.mtime;
  readonly cache: CachePolicy;
  readonly identity: string | number | bigint | undefined;
  #drainWaiters: (() => void)[] | undefined;

  constructor(defaultMode: number, o: NodeOptions = {}) {
    this.mode = (o.mode ?? defaultMode) & 0o7777;
    this.uid = o.uid;
    this.gid = o.gid;
    this.cache = o.cache ?? {};
    this.identity = o.identity;
  }

  /** Open handles (revoked on removal). Do not modify: use addHandle/deleteHandle. */
  get handles(): ReadonlySet<OpenFile> {
    return this.#handles ?? NO_HANDLES;
  }

  addHandle(h: OpenFile): void {
    (this.#handles ??= new Set()).add(h);
  }

  deleteHandle(h: OpenFile): void {
    this.#handles?.delete(h);
  }

  /** The file-type bits for readdir's d_type. */
  get dtype(): number {
    return this.type >>> 12;
  }

  /** Visible to lookups (active, and every ancestor active). */
  get visible(): boolean {
    return this.state === NodeState.ACTIVE;
  }

  /** Current size in bytes as `stat` reports it. */
  size(): number {
    return 0;
  }

  /** Link count: 1 for files (0 once removed); directories override. */
  nlink(): number {
    return this.state === NodeState.REMOVED ? 0 : 1;
  }

  /** Default attribute timeout of this kind, when neither the node nor the tree sets one. */
  defaultAttrTimeout(treeDefault: number): number {
    return treeDefault;
  }

  /**
   * Record a change made by code: bump the version, update mtime/ctime, and queue
   * a cache invalidation (attributes and data) on every mount that holds the node.
   * Safe to call from anywhere, including a request handler: notifications are
   * queued and sent off the request path.
   */
  changed(): void {
    this.touch();
    this.tree?.invalidateNode(this, true);
  }

  /** Bump version and times without notifying (for changes the kernel made itself, e.g. a WRITE). */
  touch(): void {
    if (this.tree) this.version = this.tree.nextVersion();
    this.mtime = this.ctime = nowTs();
  }

  /** Metadata-only change (chmod, chown): new ctime and version; attributes invalidated. */
  metaChanged(notify: boolean): void {
    if (this.tree) this.version = this.tree.nextVersion();
    this.ctime = nowTs();
    if (notify) this.tree?.invalidateNode(this, false);
  }

  /**
   * Remove this node (and its subtree) from the tree. See `Tree.remove`.
   * A handler may remove its own node: called synchronously from the handler (before its
   * first `await`), the framework sees which request is calling; after an `await`, pass the
   * handler's `ctx` so the removal does not wait for the very request that asked for it.
   */
  remove(ctx?: RequestContext): Promise<void> {
    if (!this.tree) {
      this.state = NodeState.REMOVED;
      return Promise.resolve();
    }
    return this.tree.remove(this, undefined, ctx);
  }

  /** Make this hidden node (and its hidden subtree) visible in one step. See `Tree.activate`. */
  activate(): void {
    if (!this.tree) throw new Error('activate: the node is not attached to a tree');
    this.tree.activate(this);
  }

  /** Path from the root, for logs. */
  get path(): string {
    const parts: string[] = [];
    for (let n: VNode | undefined = this; n && n.parent; n = n.parent) parts.unshift(n.name);
    return `/${parts.join('/')}`;
  }

  // ── active refs (kernfs_get_active / kernfs_drain) ─────────────────────────

  /** Wait until `active` ≤ `allowed` (the caller's own refs). */
  drained(allowed: number): Promise<void> {
    if (this.active <= allowed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.active <= allowed) resolve();
        else (this.#drainWaiters ??= []).push(check);
      };
      (this.#drainWaiters ??= []).push(check);
    });
  }

  /** Drop one active ref; wakes drainers. */
  putActive(): void {
    this.active--;
    if (this.#drainWaiters !== undefined && this.#drainWaiters.length > 0) for (const w of this.#drainWaiters.splice(0)) w();
  }
}

/** A symbolic link. */
export class VSymlink extends VNode {
  readonly type = constants.S_IFLNK;
  target: string;

  constructor(target: string, o: NodeOptions = {}) {
    super(0o777, o);
    this.target = target;
  }

  override size(): number {
    return Buffer.byteLength(this.target);
  }

  /** Point the link elsewhere; the kernel is told. */
  setTarget(target: string): void {
    this.target = target;
    this.changed();
  }
}

export function nowTs(): [number, number] {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
