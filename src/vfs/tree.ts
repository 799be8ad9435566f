/**
 * The object tree: one per filesystem, shared by every mount of it.
 *
 * It allocates inode numbers (a monotonic 64-bit counter: never reused, so
 * (ino, generation) pairs never repeat), hands out change versions, and runs
 * the kernfs removal protocol: deactivate → revoke handles → drain in-flight
 * handlers → unlink → invalidate the kernel's caches on every mount. Each mount
 * registers a `MountLink` (its bridge) so the tree can reach its notifier and
 * ask which nodes that mount's kernel holds.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { mallocFixThresholds, mallocTrim } from '../sys/malloc-trim.ts';
import { setV8Flag } from '../sys/v8-flags.ts';
import type { Notifier } from '../session/notify.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import { VDir } from './dir.ts';
import { type CachePolicy, memoIno, NodeState, type VNode } from './inode.ts';

/**
 * The nodes one request holds active refs on (kernfs_get_active), so that `remove()` called by
 * that request's own handler does not wait for itself. Scopes nest (create → open); `outer` is
 * the enclosing one of the same request.
 *
 * This replaced an AsyncLocalStorage scope: with it, Node's promise hooks ran for every promise
 * of the process while a tree served requests (measured ~10 % of the server's CPU in a cold
 * walk, plus the garbage of one async resource per promise).
 */
export class RequestScope {
  readonly a: VNode;
  readonly b: VNode | undefined;
  readonly outer: RequestScope | undefined;

  constructor(a: VNode, b: VNode | undefined, outer: RequestScope | undefined) {
    this.a = a;
    this.b = b;
    this.outer = outer;
  }

  /** How many active refs this request holds on `n`. */
  refsOn(n: VNode): number {
    let k = 0;
    for (let s: RequestScope | undefined = this; s; s = s.outer) {
      if (s.a === n) k++;
      if (s.b === n) k++;
    }
    return k;
  }
}

/** What the tree needs from a mount (implemented by the bridge). */
export interface MountLink {
  readonly id: number;
  /** The mount's notifier, once INIT has run. */
  readonly notifier: Notifier | undefined;
  /** Does this mount's kernel hold a lookup reference on `ino`? (The root always counts as held.) */
  holds(ino: bigint): boolean;
}

export interface TreeOptions {
  /** Owner of nodes that set none. Default: the server's uid/gid. */
  uid?: number;
  gid?: number;
  /** Default cache lifetimes (seconds). Default entry 10, attr 10: every change made through the API is announced. */
  cache?: CachePolicy;
  /** Entry lifetime of lazily made children, whose objects may vanish unannounced. Default 1. */
  lazyEntryTimeout?: number;
  /**
   * Directory handles: `true` gives each opendir its own handle (a lazy listing is one snapshot
   * per open directory); `false` (default) answers OPENDIR with ENOSYS where the kernel supports
   * zero-message opendir, which halves the requests of a directory walk (no OPENDIR, no
   * RELEASEDIR); listing state is then kept per directory.
   */
  dirHandles?: boolean;
  /**
   * After the kernel forgets many lazily made nodes at once (memory pressure,
   * drop_caches), run a full garbage collection so the server's memory goes back
   * down instead of waiting for V8 to need it, trim glibc's free lists, and keep
   * V8's young generation at its initial size (`--semi-space-growth-factor=1`, a
   * process-wide V8 flag). Default true; set false in a host application that
   * tunes its own heap.
   */
  reclaim?: boolean;
  /** Log lines (store() rejections, removal problems). Default: stderr. */
  log?: (line: string) => void;
}

/** A filesystem: a root directory plus the bookkeeping every mount shares. */
export class Tree {
  readonly root: VDir;
  readonly uid: number;
  readonly gid: number;
  readonly cache: Required<CachePolicy>;
  readonly lazyEntryTimeout: number;
  readonly dirHandles: boolean;
  readonly log: (line: string) => void;
  readonly mounts = new Set<MountLink>();
  /**
   * The active refs of the request whose handler is running *synchronously* right now (set by
   * the bridge around each call into a handler), for self-removal; see `RequestScope`.
   */
  currentScope: RequestScope | undefined;
  /** Active refs of every request in flight, by its context (for `remove({ ctx })` after an await). */
  readonly scopes = new Map<RequestContext, RequestScope>();
  #nextIno = 2n;
  #version = 0;
  readonly #reclaim: boolean;
  #dropped = 0;
  #reclaimTimer: NodeJS.Timeout | undefined;

  constructor(root: VDir, o: TreeOptions = {}) {
    if (root.state !== NodeState.DETACHED) throw new Error('the root directory is already in a tree');
    this.root = root;
    this.uid = o.uid ?? process.getuid?.() ?? 0;
    this.gid = o.gid ?? process.getgid?.() ?? 0;
    this.cache = { entry: o.cache?.entry ?? 10, attr: o.cache?.attr ?? 10 };
    this.lazyEntryTimeout = o.lazyEntryTimeout ?? 1;
    this.dirHandles = o.dirHandles ?? false;
    this.log = o.log ?? ((l) => process.stderr.write(`fusekit vfs: ${l}\n`));
    this.#reclaim = o.reclaim ?? process.env.FUSEKIT_VFS_RECLAIM !== '0';
    // Keep V8's young generation from growing to its 16 MiB × 3 maximum under request churn:
    // it is never given back, and it would be most of what a big walk leaves behind. (The CLI
    // sets the same flag before loading modules, which is when the young generation first grows.)
    // Fix glibc's trim/mmap thresholds so memory freed in thread arenas (V8's compiler threads)
    // goes back; FUSEKIT_VFS_MALLOPT=0 leaves glibc's dynamic thresholds alone.
    if (this.#reclaim) {
      setV8Flag('--semi-space-growth-factor=1');
      if (process.env.FUSEKIT_VFS_MALLOPT !== '0') mallocFixThresholds();
    }
    root.ino = 1n;
    root.generation = 0n;
    this.attach(root, false);
  }

  /** A fresh inode number. Never returns one given out before. */
  allocIno(): bigint {
    return this.#nextIno++;
  }

  /** Inode numbers handed out so far (for tests and stats). */
  get inosAllocated(): bigint {
    return this.#nextIno - 2n;
  }

  /** The next change version (tree-wide, strictly increasing). */
  nextVersion(): number {
    return ++this.#version;
  }

  /**
   * A lazily made node was dropped. After a burst of at least 1,000 drops, collect
   * garbage once things are quiet (1 s later, twice: V8 returns pages to the OS on
   * the second pass), so memory tracks what the kernel holds.
   */
  nodeDropped(): void {
    if (!this.#reclaim) return;
    this.#dropped++;
    if (this.#dropped < 1000) return;
    if (this.#reclaimTimer) this.#reclaimTimer.refresh();
    else {
      this.#reclaimTimer = setTimeout(() => {
        this.#reclaimTimer = undefined;
        this.#dropped = 0;
        const gc = fullGc() ?? (() => {});
        gc();
        setTimeout(() => {
          gc();
          mallocTrim();
          // One more pass later: V8 compacts and releases the pages the first passes emptied.
          setTimeout(() => {
            gc();
            mallocTrim();
          }, 2000).unref();
          if (process.env.FUSEKIT_VFS_DEBUG_MEMORY) {
            const m = process.memoryUsage();
            this.log(`reclaimed: rss ${(m.rss / 2 ** 20).toFixed(1)} MiB, heap ${(m.heapUsed / 2 ** 20).toFixed(1)}/${(m.heapTotal / 2 ** 20).toFixed(1)} MiB, external ${(m.external / 2 ** 20).toFixed(1)} MiB`);
          }
        }, 200).unref();
      }, 1000);
      this.#reclaimTimer.unref();
    }
  }

  /** Attach a node (and any static children it was built with) to this tree. */
  attach(node: VNode, hidden: boolean): void {
    node.tree = this;
    if (node.ino === 0n) node.ino = this.allocIno();
    node.version = this.nextVersion();
    node.state = hidden || node.state === NodeState.HIDDEN ? NodeState.HIDDEN : NodeState.ACTIVE;
    if (node instanceof VDir) {
      for (const c of node.children.values()) this.attach(c, node.state === NodeState.HIDDEN);
      node.orderChanged();
    }
  }

  /** Attach a lazily made child (its ino was set by its directory). */
  attachLazy(node: VNode): void {
    node.tree = this;
    node.version = this.nextVersion();
    node.state = NodeState.ACTIVE;
    if (node instanceof VDir) {
      for (const [name, c] of node.children) {
        c.parent = node;
        c.name = name;
        // Static children of a lazy directory get remembered numbers too.
        const m = node.memo.get(name);
        if (m !== undefined) c.ino = memoIno(m);
        else node.memo.set(name, Number((c.ino = this.allocIno())));
        this.attach(c, false);
      }
    }
  }

  /** Make a hidden subtree visible in one step. */
  activate(node: VNode): void {
    if (node.state === NodeState.ACTIVE) return;
    if (node.state !== NodeState.HIDDEN) throw new Error(`activate ${node.path}: node is ${node.state === NodeState.REMOVED ? 'removed' : 'detached'}`);
    if (node.parent && node.parent.state === NodeState.HIDDEN) throw new Error(`activate ${node.path}: its parent is hidden; activate the parent`);
    const walk = (n: VNode): void => {
      if (n.state !== NodeState.HIDDEN) return;
      n.state = NodeState.ACTIVE;
      if (n instanceof VDir) {
        for (const c of n.children.values()) walk(c);
        n.orderChanged();
      }
    };
    walk(node);
    if (node.parent) {
      node.parent.orderChanged();
      this.entryAdded(node.parent, node.name);
    }
  }

  /**
   * Remove `node` and its subtree:
   * 1. deactivate: every node becomes REMOVED, so lookups and readdir stop seeing it;
   * 2. revoke open handles: later operations on them answer ENODEV, blocked reads wake with ENODEV;
   * 3. drain: wait for requests still being handled on these nodes, except the caller's own
   *    (a handler that removes its own node does not wait for itself);
   * 4. unlink it from its parent and retire its inode number;
   * 5. invalidate the kernel's dentry and attribute caches on every mount (queued, off the request path).
   * `except` names the mount whose own request caused the removal (its kernel updates itself).
   * Resolves once drained. Nodes the kernel still holds stay answerable (getattr says nlink 0) until FORGET.
   */
  async remove(node: VNode, except?: number, ctx?: RequestContext): Promise<void> {
    if (node.state === NodeState.REMOVED) return;
    if (node === this.root) throw new Error('the root cannot be removed');
    const sub: VNode[] = [];
    const collect = (n: VNode): void => {
      sub.push(n);
      if (n instanceof VDir) {
        for (const c of n.children.values()) collect(c);
        for (const c of n.live.values()) collect(c);
      }
    };
    collect(node);
    const wasVisible = node.visible;
    for (const n of sub) n.state = NodeState.REMOVED;
    for (const n of sub) for (const h of [...n.handles]) h.revoke();
    // The caller's own refs: the request whose handler called us synchronously, or the one
    // named by `ctx` (a handler calling remove() after an await).
    const own = (ctx && this.scopes.get(ctx)) ?? this.currentScope;
    await Promise.all(sub.map((n) => n.drained(own ? own.refsOn(n) : 0)));
    const parent = node.parent;
    parent?.detachChild(node);
    if (parent && wasVisible) this.entryRemoved(parent, node.name, node, except);
    for (const n of sub) {
      if (n instanceof VDir) {
        n.memo.clear();
        n.orderChanged();
      }
      for (const m of this.mounts) if (m.id !== except && m.holds(n.ino)) m.notifier?.invalInode(n.ino, -1, 0);
    }
  }

  /** Queue invalidation of a node's attributes (and data when `data`) on every mount holding it. */
  invalidateNode(node: VNode, data: boolean, except?: number): void {
    for (const m of this.mounts) {
      if (m.id === except || !m.holds(node.ino)) continue;
      m.notifier?.invalInode(node.ino, data ? 0 : -1, 0);
    }
  }

  /** A name appeared in `dir`: drop any cached negative entry and the dir's attributes. */
  entryAdded(dir: VDir, name: string, except?: number): void {
    dir.touch();
    for (const m of this.mounts) {
      if (m.id === except || !m.holds(dir.ino)) continue;
      m.notifier?.invalEntry(dir.ino, name);
      m.notifier?.invalInode(dir.ino, -1, 0);
    }
  }

  /** A name went away from `dir`: DELETE where the kernel knows the child (inotify sees it), else INVAL_ENTRY. */
  entryRemoved(dir: VDir, name: string, child: VNode | undefined, except?: number): void {
    dir.touch();
    for (const m of this.mounts) {
      if (m.id === except || !m.holds(dir.ino)) continue;
      if (child && m.holds(child.ino)) m.notifier?.delete(dir.ino, child.ino, name);
      else m.notifier?.invalEntry(dir.ino, name);
      m.notifier?.invalInode(dir.ino, -1, 0);
    }
  }
}

let gcFn: (() => void) | null | undefined;

/** V8's collector, exposed at run time (node --expose-gc is not needed); null if unavailable. */
function fullGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    if (typeof globalThis.gc === 'function') gcFn = globalThis.gc as () => void;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Build a tree over `root`. */
export function createTree(root: VDir, o: TreeOptions = {}): Tree {
  return new Tree(root, o);
}
