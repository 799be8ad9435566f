/**
 * The bridge: a `LowLevelFs` over a `Tree`, one per mount.
 *
 * It owns what is per mount: the node-id table (node id = the object's inode
 * number; the table maps it to the object and this mount's lookup count), the
 * open handles, and the mount's notifier. The objects themselves are shared
 * with every other mount of the same tree.
 *
 * Every request that touches a node holds an *active ref* on it for its
 * duration (kernfs_get_active), recorded in a `RequestScope` so a handler that
 * removes its own node is not made to wait for itself.
 */
import { constants } from 'node:fs';
import { fuseError, FuseError } from '../errors.ts';
import { InitFlag } from '../protocol/abi.ts';
import type { AttrOut, Attr, CreateOut, EntryOut, IoctlOut, NodeId, SetattrIn, StatfsOut } from '../protocol/types.ts';
import type { ConnectionInfo, DirentPlusSink, DirentSink, LowLevelFs, OpenResult, RequestContext } from '../session/lowlevel.ts';
import type { Notifier } from '../session/notify.ts';
import { compareSlots, cookieAt, nameHash, resumeIndex, VDir } from './dir.ts';
import { Fopen, VFile } from './files.ts';
import { DirHandle, OpenFile } from './handles.ts';
import { memoIno, NodeState, type VNode, VSymlink } from './inode.ts';
import { type MountLink, RequestScope, type Tree } from './tree.ts';

/** The xattr that exposes a node's change version. */
export const VERSION_XATTR = 'user.fusekit.version';

const FATTR = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256, CTIME: 1024 } as const;

interface KernelNode {
  node: VNode;
  count: number;
  /** The node's version when this mount last opened it with the page cache (decides KEEP_CACHE). */
  openedVersion: number;
}

let mountIds = 0;

/** Turn a wire name into a string; names that are not valid UTF-8 cannot exist in a tree. */
function nameOf(b: Buffer): string | undefined {
  const s = b.toString();
  return Buffer.byteLength(s) === b.length && Buffer.from(s).equals(b) ? s : undefined;
}

export class TreeBridge implements LowLevelFs, MountLink {
  readonly id = ++mountIds;
  readonly tree: Tree;
  notifier: Notifier | undefined;
  readonly #nodes = new Map<bigint, KernelNode>();
  readonly #files = new Map<bigint, OpenFile>();
  readonly #dirs = new Map<bigint, DirHandle>();
  /** Listing state per directory when the kernel opens directories without asking (NO_OPENDIR_SUPPORT). */
  readonly #listings = new Map<bigint, DirHandle>();
  #noOpendir = false;
  #nextFh = 1n;

  constructor(tree: Tree) {
    this.tree = tree;
  }

  /** Node ids this mount's kernel holds, with their counts (for tests and leak checks). */
  get kernelNodes(): ReadonlyMap<bigint, { readonly count: number }> {
    return this.#nodes;
  }

  holds(ino: bigint): boolean {
    return ino === 1n || this.#nodes.has(ino);
  }

  init(conn: ConnectionInfo, notifier: Notifier): void {
    this.notifier = notifier;
    // Zero-message opendir halves the round trips of a directory walk (OPENDIR and RELEASEDIR
    // go away): listing state then lives per directory, not per handle (see #dirHandle).
    this.#noOpendir = this.tree.dirHandles === false && (conn.capable & InitFlag.NO_OPENDIR_SUPPORT) !== 0n;
    this.tree.mounts.add(this);
  }

  /** Unmount: the kernel's counts drop to zero without FORGETs, and handles close without RELEASE. */
  destroy(): void {
    this.tree.mounts.delete(this);
    for (const h of this.#files.values()) {
      h.node.deleteHandle(h);
      if (h.node instanceof VFile) h.node.closed(h);
    }
    this.#files.clear();
    this.#dirs.clear();
    this.#listings.clear();
    for (const [ino, k] of [...this.#nodes]) this.forget(ino, BigInt(k.count));
  }

  // ── helpers ───────────────────────────────────────────────────────────────

  #get(ino: NodeId): VNode {
    if (ino === 1n) return this.tree.root;
    const k = this.#nodes.get(ino);
    if (!k) throw fuseError('ESTALE', `node ${ino} is not known to this mount`);
    return k.node;
  }

  #dir(ino: NodeId): VDir {
    const n = this.#get(ino);
    if (!(n instanceof VDir)) throw fuseError('ENOTDIR');
    return n;
  }

  /**
   * Run `fn` holding an active ref on `node` (and on `also`) for request `ctx`. While `fn` runs
   * synchronously its scope is the tree's `currentScope`; for the request's whole life it is
   * `tree.scopes.get(ctx)`. Either lets `remove()` from the request's own handler skip its refs.
   */
  #active<T>(ctx: RequestContext, node: VNode, fn: () => Promise<T> | T, also?: VNode): Promise<T> {
    const tree = this.tree;
    node.active++;
    if (also) also.active++;
    const outer = tree.scopes.get(ctx);
    const scope = new RequestScope(node, also, outer);
    tree.scopes.set(ctx, scope);
    const prev = tree.currentScope;
    tree.currentScope = scope;
    let r: Promise<T> | T;
    try {
      r = fn();
    } catch (e) {
      tree.currentScope = prev;
      this.#inactive(ctx, scope);
      return Promise.reject(e);
    }
    tree.currentScope = prev;
    if (!(r instanceof Promise)) {
      this.#inactive(ctx, scope);
      return Promise.resolve(r);
    }
    return r.then(
      (v) => {
        this.#inactive(ctx, scope);
        return v;
      },
      (e: unknown) => {
        this.#inactive(ctx, scope);
        throw e;
      },
    );
  }

  #inactive(ctx: RequestContext, scope: RequestScope): void {
    if (scope.outer) this.tree.scopes.set(ctx, scope.outer);
    else this.tree.scopes.delete(ctx);
    scope.a.putActive();
    scope.b?.putActive();
  }

  /** One more lookup reference on `node` from this mount's kernel. */
  #take(node: VNode): void {
    let k = this.#nodes.get(node.ino);
    if (!k) {
      k = { node, count: 0, openedVersion: -1 };
      this.#nodes.set(node.ino, k);
    }
    k.count++;
    node.kref++;
  }

  #attr(node: VNode): Attr | Promise<Attr> {
    const size = node instanceof VFile ? node.statSize() : node.size();
    return typeof size === 'number' ? this.#attrOf(node, size) : size.then((n) => this.#attrOf(node, n));
  }

  #attrOf(node: VNode, size: number): Attr {
    // A listing that may change unannounced looks modified now, so the kernel never serves a cached one.
    const mtime = node instanceof VDir && node.volatileListing ? now() : node.mtime;
    return {
      ino: node.ino,
      size,
      blocks: Math.ceil(size / 512),
      atime: node.atime[0], atimensec: node.atime[1],
      mtime: mtime[0], mtimensec: mtime[1],
      ctime: node.ctime[0], ctimensec: node.ctime[1],
      mode: node.type | node.mode,
      nlink: node.nlink(),
      uid: node.uid ?? this.tree.uid,
      gid: node.gid ?? this.tree.gid,
      rdev: 0,
      blksize: 4096,
      flags: 0,
    };
  }

  #attrValid(node: VNode): number {
    if (node instanceof VDir && node.volatileListing) return node.cache.attr ?? 0;
    return node.cache.attr ?? node.defaultAttrTimeout(this.tree.cache.attr);
  }

  #entry(node: VNode): EntryOut | Promise<EntryOut> {
    const a = this.#attr(node);
    return a instanceof Promise ? a.then((x) => this.#entryOf(node, x)) : this.#entryOf(node, a);
  }

  #entryOf(node: VNode, attr: Attr): EntryOut {
    return {
      nodeid: node.ino,
      generation: node.generation,
      entryValid: node.cache.entry ?? (node.lazy ? this.tree.lazyEntryTimeout : this.tree.cache.entry),
      entryValidNsec: 0,
      attrValid: this.#attrValid(node),
      attrValidNsec: 0,
      attr,
    };
  }

  /** Unix permission check for mounts without default_permissions. */
  #permit(ctx: RequestContext, node: VNode, mask: number): void {
    if (mask === 0) return;
    if (ctx.uid === 0) {
      if ((mask & 1) !== 0 && node.type !== constants.S_IFDIR && (node.mode & 0o111) === 0) throw fuseError('EACCES');
      return;
    }
    const uid = node.uid ?? this.tree.uid;
    const gid = node.gid ?? this.tree.gid;
    const bits = ctx.uid === uid ? (node.mode >> 6) & 7 : ctx.gid === gid || ctx.groups?.includes(gid) ? (node.mode >> 3) & 7 : node.mode & 7;
    if ((bits & mask) !== mask) throw fuseError('EACCES');
  }

  // ── names ─────────────────────────────────────────────────────────────────

  async lookup(ctx: RequestContext, parent: NodeId, name: Buffer): Promise<EntryOut> {
    const dir = this.#dir(parent);
    const s = nameOf(name);
    if (s === undefined || dir.state === NodeState.REMOVED) throw fuseError('ENOENT');
    return this.#active(ctx, dir, async () => {
      const child = await dir.resolve(s);
      if (!child) throw fuseError('ENOENT');
      const e = await this.#entry(child);
      if (child.state === NodeState.REMOVED) throw fuseError('ENOENT');
      this.#take(child);
      return e;
    });
  }

  forget(nodeid: NodeId, nlookup: bigint): void {
    const k = this.#nodes.get(nodeid);
    if (!k) return;
    const n = Number(nlookup);
    const drop = Math.min(n, k.count);
    k.count -= drop;
    k.node.kref -= drop;
    if (k.count <= 0) {
      this.#nodes.delete(nodeid);
      this.#listings.delete(nodeid);
      k.node.parent?.release(k.node);
    }
  }

  async getattr(_ctx: RequestContext, nodeid: NodeId): Promise<AttrOut> {
    const node = this.#get(nodeid);
    return { attrValid: this.#attrValid(node), attrValidNsec: 0, attr: await this.#attr(node) };
  }

  async setattr(ctx: RequestContext, nodeid: NodeId, a: SetattrIn): Promise<AttrOut> {
    const node = this.#get(nodeid);
    return this.#active(ctx, node, async () => {
      const owner = node.uid ?? this.tree.uid;
      let meta = false;
      if ((a.valid & (FATTR.MODE | FATTR.UID | FATTR.GID)) !== 0) {
        if (ctx.uid !== 0 && ctx.uid !== owner) throw fuseError('EPERM');
        if ((a.valid & (FATTR.UID | FATTR.GID)) !== 0 && ctx.uid !== 0) {
          if ((a.valid & FATTR.UID) !== 0 && a.uid !== owner) throw fuseError('EPERM');
        }
        if ((a.valid & FATTR.MODE) !== 0) node.mode = a.mode & 0o7777;
        if ((a.valid & FATTR.UID) !== 0) node.uid = a.uid;
        if ((a.valid & FATTR.GID) !== 0) node.gid = a.gid;
        meta = true;
      }
      if ((a.valid & FATTR.SIZE) !== 0) {
        if (!(node instanceof VFile)) throw fuseError(node instanceof VDir ? 'EISDIR' : 'EINVAL');
        if (node.state === NodeState.REMOVED) throw fuseError('ENODEV');
        await node.truncate(a.size, ctx);
        if (node.cached) this.tree.invalidateNode(node, true, this.id);
      }
      if ((a.valid & (FATTR.ATIME | FATTR.ATIME_NOW)) !== 0) node.atime = (a.valid & FATTR.ATIME_NOW) !== 0 ? now() : [a.atime, a.atimensec];
      if ((a.valid & (FATTR.MTIME | FATTR.MTIME_NOW)) !== 0) node.mtime = (a.valid & FATTR.MTIME_NOW) !== 0 ? now() : [a.mtime, a.mtimensec];
      if (meta) {
        // Persist in the object (and, for a lazy child, in its directory's memo) so it survives forget.
        if (node.lazy) node.parent?.persistMeta(node);
        node.metaChanged(false);
        this.tree.invalidateNode(node, false, this.id);
      }
      return { attrValid: this.#attrValid(node), attrValidNsec: 0, attr: await this.#attr(node) };
    });
  }

  readlink(_ctx: RequestContext, nodeid: NodeId): string {
    const node = this.#get(nodeid);
    if (!(node instanceof VSymlink)) throw fuseError('EINVAL');
    return node.target;
  }

  async mkdir(ctx: RequestContext, parent: NodeId, name: Buffer, mode: number): Promise<EntryOut> {
    const dir = this.#dir(parent);
    const s = nameOf(name);
    if (s === undefined) throw fuseError('EINVAL');
    if (!dir.ops.mkdir) throw fuseError('EPERM', `${dir.path} does not allow mkdir`);
    if (dir.state === NodeState.REMOVED) throw fuseError('ENOENT');
    return this.#active(ctx, dir, async () => {
      if (await dir.resolve(s)) throw fuseError('EEXIST');
      const made = await this.#place(dir, s, await dir.ops.mkdir!(s, mode & 0o7777, ctx), mode, ctx);
      const e = await this.#entry(made);
      this.#take(made);
      return e;
    });
  }

  /**
   * Put what a mkdir/create hook made into the directory: a returned node becomes a
   * static child; with none (a lazy directory whose objects changed), the name is
   * looked up through the directory's `lookup`.
   */
  async #place(dir: VDir, name: string, made: VNode | void, mode: number, ctx: RequestContext): Promise<VNode> {
    let child: VNode | undefined;
    if (made) {
      dir.add(name, made, { except: this.id });
      child = made;
    } else {
      child = await dir.resolve(name);
      if (!child) throw fuseError('EIO', `${dir.path}: the ${name} just made cannot be looked up`);
      this.tree.entryAdded(dir, name, this.id);
    }
    child.mode = mode & 0o7777;
    if (child.uid === undefined && ctx.uid !== this.tree.uid) child.uid = ctx.uid;
    if (child.gid === undefined && ctx.gid !== this.tree.gid) child.gid = ctx.gid;
    if (child.lazy) child.parent?.persistMeta(child);
    return child;
  }

  async #removeName(ctx: RequestContext, parent: NodeId, name: Buffer, isDir: boolean): Promise<void> {
    const dir = this.#dir(parent);
    const s = nameOf(name);
    if (s === undefined) throw fuseError('ENOENT');
    const hook = isDir ? dir.ops.rmdir : dir.ops.unlink;
    await this.#active(ctx, dir, async () => {
      const child = await dir.resolve(s, true);
      if (!child) throw fuseError('ENOENT');
      if (isDir && !(child instanceof VDir)) throw fuseError('ENOTDIR');
      if (!isDir && child instanceof VDir) throw fuseError('EISDIR');
      if (!hook) throw fuseError('EPERM', `${dir.path} does not allow ${isDir ? 'rmdir' : 'unlink'}`);
      await hook.call(dir.ops, s, child, ctx);
      await this.tree.remove(child, this.id, ctx);
    });
  }

  rmdir(ctx: RequestContext, parent: NodeId, name: Buffer): Promise<void> {
    return this.#removeName(ctx, parent, name, true);
  }

  unlink(ctx: RequestContext, parent: NodeId, name: Buffer): Promise<void> {
    return this.#removeName(ctx, parent, name, false);
  }

  async create(ctx: RequestContext, parent: NodeId, name: Buffer, mode: number, flags: number): Promise<CreateOut> {
    const dir = this.#dir(parent);
    const s = nameOf(name);
    if (s === undefined) throw fuseError('EINVAL');
    if (!dir.ops.create) throw fuseError('EACCES', `${dir.path} does not allow creating files`);
    if (dir.state === NodeState.REMOVED) throw fuseError('ENOENT');
    return this.#active(ctx, dir, async () => {
      if (await dir.resolve(s)) throw fuseError('EEXIST');
      const made = await this.#place(dir, s, await dir.ops.create!(s, mode & 0o7777, ctx), mode, ctx);
      const entry = await this.#entry(made);
      this.#take(made);
      const open = await this.#openFile(ctx, made, flags, true);
      return { entry, open: { fh: open.fh ?? 0n, openFlags: open.openFlags ?? 0, backingId: 0 } };
    });
  }

  // ── files ─────────────────────────────────────────────────────────────────

  open(ctx: RequestContext, nodeid: NodeId, flags: number): Promise<OpenResult> {
    return this.#openFile(ctx, this.#get(nodeid), flags, false);
  }

  async #openFile(ctx: RequestContext, node: VNode, flags: number, created: boolean): Promise<OpenResult> {
    if (node.state === NodeState.REMOVED) throw fuseError('ENODEV', `${node.path} was removed`);
    if (node instanceof VDir) throw fuseError('EISDIR');
    if (!(node instanceof VFile)) throw fuseError('ELOOP');
    const acc = flags & 3;
    const wants: number = acc === constants.O_RDONLY ? 4 : acc === constants.O_WRONLY ? 2 : 6;
    if (!created) this.#permit(ctx, node, wants);
    if (acc !== constants.O_RDONLY && !node.writable) throw fuseError('EACCES', `${node.path} is read-only`);
    const h = new OpenFile(this.#nextFh++, node, flags, this.id);
    let fopen = await this.#active(ctx, node, () => node.open(h, ctx));
    if ((node.state as NodeState) === NodeState.REMOVED) throw fuseError('ENODEV');
    if (node.cached) {
      const k = this.#nodes.get(node.ino);
      if (k && k.openedVersion === node.version) fopen |= Fopen.KEEP_CACHE;
      if (k) k.openedVersion = node.version;
    }
    node.addHandle(h);
    this.#files.set(h.fh, h);
    return { fh: h.fh, openFlags: fopen };
  }

  #file(fh: bigint): OpenFile {
    const h = this.#files.get(fh);
    if (!h) throw fuseError('EBADF');
    h.check();
    return h;
  }

  read(ctx: RequestContext, _nodeid: NodeId, fh: bigint, offset: number, size: number): Promise<Buffer> {
    const h = this.#file(fh);
    const node = h.node as VFile;
    return this.#active(ctx, node, async () => {
      const b = await node.read(h, offset, size, ctx);
      h.check();
      return b;
    });
  }

  write(ctx: RequestContext, _nodeid: NodeId, fh: bigint, offset: number, data: Buffer): Promise<number> {
    const h = this.#file(fh);
    const node = h.node as VFile;
    return this.#active(ctx, node, async () => {
      try {
        const n = await node.write(h, offset, data, ctx);
        // This mount's kernel already has the bytes; other mounts' caches are stale.
        if (node.cached) this.tree.invalidateNode(node, true, this.id);
        return n;
      } catch (e) {
        if (e instanceof FuseError && e.errno === 22) this.tree.log(`write to ${node.path} rejected: ${e.message.replace(/^EINVAL: /, '')}`);
        throw e;
      }
    });
  }

  flush(): void {}

  release(_ctx: RequestContext, _nodeid: NodeId, fh: bigint): void {
    const h = this.#files.get(fh);
    if (!h) return;
    this.#files.delete(fh);
    h.node.deleteHandle(h);
    if (h.node instanceof VFile) h.node.closed(h);
    h.node.parent?.release(h.node);
  }

  ioctl(ctx: RequestContext, _nodeid: NodeId, fh: bigint, cmd: number, arg: bigint, input: Buffer, outSize: number): Promise<IoctlOut> {
    const h = this.#file(fh);
    const node = h.node as VFile;
    if (!node.ioctlHandler) throw fuseError('ENOTTY');
    return this.#active(ctx, node, async () => {
      const r = await node.ioctlHandler!(cmd, arg, input, outSize, ctx);
      if (r.data && r.data.length > outSize) throw fuseError('EINVAL', `ioctl reply of ${r.data.length} bytes exceeds out size ${outSize}`);
      return r;
    });
  }

  poll(_ctx: RequestContext, _nodeid: NodeId, fh: bigint, kh: bigint | undefined, events: number): number {
    const h = this.#files.get(fh);
    if (!h) throw fuseError('EBADF');
    if (h.revoked) return 0x8 | 0x10; // POLLERR | POLLHUP
    return (h.node as VFile).poll(h, kh, events, (k) => this.notifier?.poll(k));
  }

  // ── directories ───────────────────────────────────────────────────────────

  opendir(_ctx: RequestContext, nodeid: NodeId): OpenResult {
    const node = this.#get(nodeid);
    if (!(node instanceof VDir)) throw fuseError('ENOTDIR');
    if (node.state === NodeState.REMOVED) throw fuseError('ENODEV');
    if (this.#noOpendir) throw fuseError('ENOSYS'); // the kernel stops sending OPENDIR/RELEASEDIR
    const h = new DirHandle(this.#nextFh++, node);
    this.#dirs.set(h.fh, h);
    return { fh: h.fh };
  }

  releasedir(_ctx: RequestContext, _nodeid: NodeId, fh: bigint): void {
    this.#dirs.delete(fh);
  }

  /**
   * Walk the listing after `cookie`, merging the live static children with the
   * handle's snapshot of lazy names in (hash, name) order. `emit` returns false
   * when the reply is full.
   */
  async #walk(
    h: DirHandle,
    cookie: bigint,
    emit: (name: string, off: bigint, node: VNode | undefined, type: number | undefined) => Promise<boolean> | boolean,
  ): Promise<void> {
    const dir = h.node as VDir;
    if (dir.state === NodeState.REMOVED) throw fuseError('ENODEV');
    if (cookie === 0n && !(await emit('.', 1n, dir, constants.S_IFDIR))) return;
    if (cookie <= 1n && !(await emit('..', 2n, dir.parent ?? dir, constants.S_IFDIR))) return;
    if (dir.ops.list && (cookie <= 2n || !h.lazy)) {
      const snap: { hash: number; name: string; type?: number }[] = [];
      for (const e of await dir.ops.list()) {
        const name = typeof e === 'string' ? e : e.name;
        if (dir.children.has(name)) continue;
        snap.push({ hash: nameHash(name), name, ...(typeof e === 'string' || e.type === undefined ? {} : { type: e.type }) });
      }
      snap.sort(compareSlots);
      h.lazy = snap;
    }
    const stat = dir.staticOrder();
    const lazy = h.lazy ?? [];
    const last = cookie === h.lastCookie ? h.lastName : undefined;
    let i = cookie <= 2n ? 0 : resumeIndex(stat, cookie, last);
    let j = cookie <= 2n ? 0 : resumeIndex(lazy, cookie, last);
    while (i < stat.length || j < lazy.length) {
      const takeStatic = j >= lazy.length || (i < stat.length && compareSlots(stat[i]!, lazy[j]!) <= 0);
      const slot = takeStatic ? stat[i]! : lazy[j]!;
      const off = takeStatic ? cookieAt(stat, i) : cookieAt(lazy, j);
      if (takeStatic) i++;
      else j++;
      const node = takeStatic ? (slot as { node: VNode }).node : undefined;
      if (node && !node.visible) continue;
      let ok = emit(slot.name, off, node, node ? node.type : (slot as { type?: number }).type);
      if (typeof ok !== 'boolean') ok = await ok;
      if (!ok) return;
      h.lastCookie = off;
      h.lastName = slot.name;
    }
  }

  #dirHandle(fh: bigint, nodeid: NodeId): DirHandle {
    if (fh === 0n) {
      // No handle (zero-message opendir): one listing state per directory and mount. A listing
      // from the start (cookie 0) refreshes the lazy snapshot; hash cookies keep concurrent
      // listings consistent across refreshes.
      const node = this.#get(nodeid);
      if (!(node instanceof VDir)) throw fuseError('ENOTDIR');
      let h = this.#listings.get(nodeid);
      if (!h || h.node !== node) this.#listings.set(nodeid, (h = new DirHandle(0n, node)));
      return h;
    }
    const h = this.#dirs.get(fh);
    if (!h) throw fuseError('EBADF');
    return h;
  }

  readdir(ctx: RequestContext, nodeid: NodeId, fh: bigint, cookie: bigint, out: DirentSink): Promise<void> {
    const h = this.#dirHandle(fh, nodeid);
    const dir = h.node as VDir;
    return this.#active(ctx, dir, () =>
      this.#walk(h, cookie, async (name, off, node, type) => {
        if (name === '.' || name === '..') return out.add(node!.ino, off, constants.S_IFDIR >>> 12, name);
        let ino: bigint;
        if (!node && type !== undefined) {
          // Listed with its type: number it without building it (the memo keeps the number for the lookup to come).
          const live = dir.live.get(name);
          let m = dir.memo.get(name);
          if (!live && m === undefined) dir.memo.set(name, (m = Number(this.tree.allocIno())));
          ino = live ? live.ino : memoIno(m!);
        } else {
          node ??= await dir.resolve(name, true);
          if (!node) return true;
          ino = node.ino;
          type = node.type;
        }
        return out.add(ino, off, type! >>> 12, name);
      }),
    );
  }

  readdirplus(ctx: RequestContext, nodeid: NodeId, fh: bigint, cookie: bigint, out: DirentPlusSink): Promise<void> {
    const h = this.#dirHandle(fh, nodeid);
    const dir = h.node as VDir;
    // Synchronous per entry unless a callback (lookup, statSize) returns a promise: no
    // promise per child in the common case.
    const send = (child: VNode, e: EntryOut, off: bigint, name: string): boolean => {
      if (!out.add(e, off, name)) {
        child.parent?.release(child);
        return false;
      }
      this.#take(child);
      return true;
    };
    const entry = (child: VNode | undefined, off: bigint, name: string): boolean | Promise<boolean> => {
      if (!child || child.state === NodeState.REMOVED) return true;
      const e = this.#entry(child);
      return e instanceof Promise ? e.then((x) => send(child, x, off, name)) : send(child, e, off, name);
    };
    return this.#active(ctx, dir, () =>
      this.#walk(h, cookie, (name, off, node) => {
        if (name === '.' || name === '..') {
          // nodeid 0: no lookup reference is taken for the dots.
          const dot = (attr: Attr): boolean => out.add({ nodeid: 0n, generation: 0n, entryValid: 0, entryValidNsec: 0, attrValid: 0, attrValidNsec: 0, attr }, off, name);
          const a = this.#attr(node!);
          return a instanceof Promise ? a.then(dot) : dot(a);
        }
        const child = node ?? dir.resolve(name);
        return child instanceof Promise ? child.then((c) => entry(c, off, name)) : entry(child, off, name);
      }),
    );
  }

  statfs(): StatfsOut {
    return { blocks: 0, bfree: 0, bavail: 0, files: Number(this.tree.inosAllocated) + 1, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 };
  }

  // ── xattrs ────────────────────────────────────────────────────────────────

  getxattr(_ctx: RequestContext, nodeid: NodeId, name: string): Buffer {
    const node = this.#get(nodeid);
    if (name === VERSION_XATTR) return Buffer.from(String(node.version));
    throw fuseError('ENODATA');
  }

  listxattr(): string[] {
    return [VERSION_XATTR];
  }

  setxattr(): void {
    throw fuseError('ENOTSUP');
  }

  removexattr(): void {
    throw fuseError('ENOTSUP');
  }

  access(ctx: RequestContext, nodeid: NodeId, mask: number): void {
    this.#permit(ctx, this.#get(nodeid), mask & 7);
  }
}

function now(): [number, number] {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
