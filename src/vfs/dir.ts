/**
 * Directories: static children, lazily produced children, or both.
 *
 * Static children live in a Map owned by the directory and persist until
 * removed. Lazy children come from the user's `lookup(name)` / `list()`
 * callbacks: a child object exists only while the kernel (any mount) holds it
 * or a handle is open on it, so a million possible children cost nothing until
 * accessed. What must outlive a forgotten lazy child, its inode number and any
 * chmod/chown, is kept in a small *memo* tree (`Memo`) under the nearest static
 * ancestor: one entry per child ever accessed, dropped when the child's object
 * goes away (`forgetChild`, or the callback no longer producing it).
 *
 * readdir order is (name hash, name); a cookie is `hash << 16 | rank`, where
 * rank is the position among names sharing the hash (almost always 0). Cookies
 * therefore survive concurrent insertion and removal: resuming after a cookie
 * means "names that sort after the last one returned", not "the n-th entry".
 */
import { constants } from 'node:fs';
import type { RequestContext } from '../session/lowlevel.ts';
import { type Memo, type MemoEntry, memoIno, NodeState, type NodeOptions, VNode } from './inode.ts';

/** What `list()` may yield: a name, or a name with the child's type bits (S_IFDIR…) to spare a lookup in plain readdir. */
export type ListEntry = string | { name: string; type?: number };

/** Options of `dir()`. */
export interface DirOptions extends NodeOptions {
  /**
   * Produce the child called `name`, or undefined if there is none. Called at
   * LOOKUP (and for each listed name in READDIRPLUS) when no live child object
   * exists. Return a *new* node each time (or the same object if you keep it);
   * the framework gives it its remembered inode number.
   * **Replies:** the node → the kernel gets an entry; undefined → ENOENT (and a number
   * remembered for that name is retired); a throw → that error.
   * **Default:** only static children exist.
   * **Side effects:** the child is kept while any mount holds it (+1 lookup per LOOKUP or
   * READDIRPLUS entry) and dropped when the last FORGET brings the count to 0.
   */
  lookup?(name: string): VNode | undefined | Promise<VNode | undefined>;
  /**
   * Names of the lazy children, in any order. Called at the start of a listing
   * (READDIR with cookie 0); the result is held for that listing (per directory
   * handle, or per directory with zero-message opendir), so a listing is one
   * consistent snapshot of the lazy part. Names `lookup` does not find are skipped.
   * **Replies:** the names (with `type` to spare a lookup in plain READDIR).
   * **Default:** lazy children are reachable by name but not listed.
   * **Side effects:** none; READDIRPLUS then looks each name up (+1 lookup per entry sent).
   */
  list?(): Iterable<ListEntry> | Promise<Iterable<ListEntry>>;
  /**
   * Whether the set of names `list()` yields changes without your code saying so.
   * `'unannounced'` (default): the directory reports the current time as its mtime with an
   * attribute timeout of 0, so the kernel re-reads a listing each time one starts (the kernel
   * may otherwise serve `ls` from its cached copy). `'notified'`: the names change only when
   * your code calls `listChanged()` (or never): listings may be cached.
   */
  listChanges?: 'unannounced' | 'notified';
  /**
   * mkdir(2) in this directory: return the new directory node (not yet attached),
   * or, in a lazy directory, change your objects and return nothing: the name is
   * then found through `lookup`. The mode is the caller's (umask applied).
   * **Replies:** the new entry. **Default:** EPERM.
   * **Side effects:** a returned node is attached as a static child; +1 lookup.
   */
  mkdir?(name: string, mode: number, ctx: RequestContext): VDir | void | Promise<VDir | void>;
  /**
   * rmdir(2) of a child (whatever it contains: the hook decides). Throw (e.g.
   * `fuseError('EBUSY')`) to refuse. **Replies:** success, or the error thrown.
   * **Default:** EPERM. **Side effects:** the framework then removes the child and its
   * subtree (see Tree.remove); lookup counts are untouched until the kernel forgets.
   */
  rmdir?(name: string, child: VNode, ctx: RequestContext): void | Promise<void>;
  /**
   * open(2) with O_CREAT of a new name: return the new file node (not yet attached),
   * or (lazy directory) change your objects and return nothing, as for `mkdir`.
   * **Replies:** the new entry and an open handle. **Default:** EACCES.
   * **Side effects:** +1 lookup on the new node.
   */
  create?(name: string, mode: number, ctx: RequestContext): VNode | void | Promise<VNode | void>;
  /**
   * unlink(2) of a child: throw to refuse. **Replies:** success, or the error thrown.
   * **Default:** EPERM. **Side effects:** as for `rmdir`.
   */
  unlink?(name: string, child: VNode, ctx: RequestContext): void | Promise<void>;
}

/** A sortable directory position. */
interface Slot {
  hash: number;
  name: string;
}

/** 31-bit FNV-1a over the UTF-8 bytes, shifted off 0..2 (reserved: start, ".", ".."). */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(name);
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  h = (h >>> 1) & 0x7fffffff;
  return h < 3 ? h + 3 : h;
}

export function compareSlots(a: Slot, b: Slot): number {
  return a.hash - b.hash || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The cookie of the entry at `i` in a (hash, name)-sorted array. */
export function cookieAt(sorted: readonly Slot[], i: number): bigint {
  let rank = 0;
  while (rank < 0xffff && i - rank - 1 >= 0 && sorted[i - rank - 1]!.hash === sorted[i]!.hash) rank++;
  return (BigInt(sorted[i]!.hash) << 16n) | BigInt(rank);
}

/** First index in `sorted` strictly after the position `cookie` (or after `last` when known exactly). */
export function resumeIndex(sorted: readonly Slot[], cookie: bigint, last?: string): number {
  const hash = Number(cookie >> 16n);
  const rank = Number(cookie & 0xffffn);
  let lo = 0;
  let hi = sorted.length;
  if (last !== undefined) {
    const key = { hash, name: last };
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSlots(sorted[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.hash < hash) lo = mid + 1;
    else hi = mid;
  }
  // Skip the names of this hash up to and including the rank the cookie names.
  let k = 0;
  while (lo < sorted.length && sorted[lo]!.hash === hash && k <= rank) {
    lo++;
    k++;
  }
  return lo;
}

/** A directory object. Create with `dir()`. */
export class VDir extends VNode {
  readonly type = constants.S_IFDIR;
  readonly ops: DirOptions;
  /** Static children by name (including hidden ones). */
  readonly children = new Map<string, VNode>();
  /** Lazily made children the kernel or a handle still holds. */
  readonly live = new Map<string, VNode>();
  /** Remembered inode numbers and overrides of lazy children (shared with this dir's Memo when it is lazy itself). */
  memo: Map<string, MemoEntry> = new Map();
  #order: (Slot & { node: VNode })[] | undefined;

  constructor(o: DirOptions = {}) {
    super(0o755, o);
    this.ops = o;
  }

  /** Static subdirectories + 2 when every child is static; 1 ("don't trust it", like eventfs) when children are lazy. */
  override nlink(): number {
    if (this.state === NodeState.REMOVED) return 0;
    if (this.ops.lookup) return 1;
    let n = 2;
    for (const c of this.children.values()) if (c.type === constants.S_IFDIR && c.visible) n++;
    return n;
  }

  override size(): number {
    return 0;
  }

  /** Visible static children, sorted by (hash, name): the live part of every listing. */
  staticOrder(): readonly (Slot & { node: VNode })[] {
    if (!this.#order) {
      const o: (Slot & { node: VNode })[] = [];
      for (const [name, node] of this.children) if (node.visible) o.push({ hash: nameHash(name), name, node });
      o.sort(compareSlots);
      this.#order = o;
    }
    return this.#order;
  }

  /** Forget the cached order (after a child was added, removed, hidden or activated). */
  orderChanged(): void {
    this.#order = undefined;
  }

  /**
   * Add a static child. With `{ hidden: true }` it gets its inode number but stays
   * invisible until `child.activate()` (atomic publication of a whole subtree).
   * Throws if the name is taken. **Side effects:** the kernel's cached entry for
   * the name and this directory's attributes are invalidated on every mount.
   */
  add<T extends VNode>(name: string, child: T, o: { hidden?: boolean; /** @internal */ except?: number } = {}): T {
    validName(name);
    if (this.state === NodeState.REMOVED) throw new Error(`add ${name}: directory ${this.path} was removed`);
    const taken = this.children.get(name);
    if (taken && taken.state !== NodeState.REMOVED) throw Object.assign(new Error(`${this.path}/${name} exists`), { code: 'EEXIST' });
    if (child.state !== NodeState.DETACHED) throw new Error(`add ${name}: the node is already attached (at ${child.path})`);
    this.children.set(name, child);
    child.parent = this;
    child.name = name;
    if (this.tree) this.tree.attach(child, o.hidden === true || this.state === NodeState.HIDDEN);
    else child.state = o.hidden === true ? NodeState.HIDDEN : NodeState.ACTIVE;
    this.orderChanged();
    if (child.visible) this.tree?.entryAdded(this, name, o.except);
    return child;
  }

  /** The static child `name`, if any (visible or not). */
  get(name: string): VNode | undefined {
    return this.children.get(name);
  }

  /** Whether listings can change unannounced (see `DirOptions.listChanges`). */
  get volatileListing(): boolean {
    return this.ops.list !== undefined && this.ops.listChanges !== 'notified';
  }

  /** The names `list()` yields have changed: the kernel's cached listing and attributes are dropped. */
  listChanged(): void {
    this.touch();
    this.tree?.invalidateNode(this, true);
  }

  /**
   * Tell the framework the lazy child `name` changed (its object's state moved):
   * if the kernel holds it, its caches are invalidated. Cheap when it doesn't.
   */
  changedChild(name: string): void {
    this.live.get(name)?.changed();
  }

  /**
   * The object behind the lazy child `name` is gone: retire its inode number
   * (never reused) and remove the live node if the kernel still holds it.
   * Also use it when a *static* child should go: it calls `remove()`.
   */
  forgetChild(name: string): Promise<void> {
    const s = this.children.get(name);
    if (s) return s.remove();
    this.memo.delete(name);
    const l = this.live.get(name);
    if (l) return l.remove();
    this.tree?.entryRemoved(this, name, undefined);
    return Promise.resolve();
  }

  /**
   * Resolve `name` to a visible child: static first, then live lazy ones, then the
   * `lookup` callback. `transient` children (for plain READDIR) are not kept.
   */
  resolve(name: string, transient = false): VNode | undefined | Promise<VNode | undefined> {
    const s = this.children.get(name);
    if (s) return s.visible ? s : undefined;
    if (!this.ops.lookup) return undefined;
    const l = this.live.get(name);
    if (l && l.state !== NodeState.REMOVED) return l;
    // Synchronous when the callback is (no promise per child in a big READDIRPLUS).
    const made = this.ops.lookup(name);
    return made instanceof Promise ? made.then((m) => this.#made(name, m, transient)) : this.#made(name, made, transient);
  }

  #made(name: string, made: VNode | undefined, transient: boolean): VNode | undefined {
    const again = this.live.get(name);
    if (again && again.state !== NodeState.REMOVED) return again; // made by a concurrent lookup
    if (!made) {
      // The object is gone without forgetChild(): retire its number.
      this.memo.delete(name);
      return undefined;
    }
    if (this.state === NodeState.REMOVED) return undefined;
    this.adopt(name, made);
    if (!transient) this.live.set(name, made);
    return made;
  }

  /** Give a lazily made child its identity: remembered ino and overrides, or a fresh ino. */
  adopt(name: string, node: VNode): void {
    if (node.state !== NodeState.DETACHED) {
      if (node.parent === this && node.name === name) return; // the user returned a node it keeps
      throw new Error(`lookup(${name}) in ${this.path} returned a node already attached at ${node.path}`);
    }
    let m = this.memo.get(name);
    if (m !== undefined && (typeof m === 'number' ? undefined : m.identity) !== node.identity) {
      this.memo.delete(name);
      m = undefined;
    }
    node.parent = this;
    node.name = name;
    node.lazy = true;
    const tree = this.tree!;
    if (m !== undefined) {
      node.ino = memoIno(m);
      if (typeof m === 'object') {
        if (m.mode !== undefined) node.mode = m.mode;
        if (m.uid !== undefined) node.uid = m.uid;
        if (m.gid !== undefined) node.gid = m.gid;
      }
    } else {
      node.ino = tree.allocIno();
      m = node.identity !== undefined ? { ino: Number(node.ino), identity: node.identity } : Number(node.ino);
      this.memo.set(name, m);
    }
    if (node instanceof VDir) {
      if (typeof m === 'number') this.memo.set(name, (m = { ino: m }));
      m.children ??= new Map();
      node.memo = m.children;
    }
    tree.attachLazy(node);
  }

  /** Persist chmod/chown of a lazy child in its memo so they survive forget. */
  persistMeta(node: VNode): void {
    let m = this.memo.get(node.name);
    if (m === undefined || memoIno(m) !== node.ino) return;
    if (typeof m === 'number') this.memo.set(node.name, (m = { ino: m } as Memo));
    m.mode = node.mode;
    m.uid = node.uid;
    m.gid = node.gid;
  }

  /** Drop a lazy child object nobody holds any more (the memo keeps its number). */
  release(node: VNode): void {
    if (!node.lazy || node.kref > 0 || node.handles.size > 0 || node.active > 0) return;
    if (node instanceof VDir && node.live.size > 0) return;
    if (this.live.get(node.name) === node) {
      this.live.delete(node.name);
      this.tree?.nodeDropped();
    }
    // A lazy parent nobody holds any more can go too.
    if (this.lazy && this.kref === 0 && this.live.size === 0) this.parent?.release(this);
  }

  /** Unlink a child from this directory's maps (used by removal). */
  detachChild(node: VNode): void {
    if (this.children.get(node.name) === node) this.children.delete(node.name);
    if (this.live.get(node.name) === node) this.live.delete(node.name);
    if (node.lazy) {
      const m = this.memo.get(node.name);
      if (m !== undefined && memoIno(m) === node.ino) this.memo.delete(node.name);
    }
    this.orderChanged();
  }
}

/** Reject names the kernel would never send. */
export function validName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`invalid file name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > 255) throw Object.assign(new Error(`name too long: ${name.slice(0, 40)}…`), { code: 'ENAMETOOLONG' });
}
