/**
 * The inode table: node ids of our own, mapped from the host's (st_dev, st_ino).
 *
 * - Node ids count up from 2 and are never reused, so (nodeid, generation) is
 *   unique for the mount's lifetime whatever generation says; the generation is
 *   a per-mount counter too, bumped each time a host inode number is seen again
 *   as a *different* file (a different file handle or type: the host reused the
 *   number after a delete).
 * - A hard-linked file is one node: lookups of any of its names find it by
 *   (st_dev, st_ino).
 * - **fd budget.** A node the kernel holds is kept by its file handle
 *   (name_to_handle_at), not by an fd. Hot nodes keep an O_PATH fd in a bounded
 *   LRU; a cold one is reopened with open_by_handle_at on demand. Nodes without
 *   handles (a filesystem that cannot export them, a non-root server without
 *   CAP_DAC_READ_SEARCH, or a non-directory on a submount we have no mount fd
 *   for) pin an O_PATH fd instead. Open files lend their own fd.
 */
import { fuseError } from '../errors.ts';
import type { NodeId } from '../protocol/types.ts';
import * as sys from '../sys/fd.ts';
import type { Statx } from '../sys/fd.ts';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export interface Backing {
  id: number;
  refs: number;
  writable: boolean;
}

export interface Node {
  readonly id: NodeId;
  readonly gen: bigint;
  readonly key: string;
  readonly type: number;
  /** The inode number we report (the host's, made unique across host devices). */
  readonly ino: bigint;
  nlookup: bigint;
  handle?: Buffer;
  mountFd?: number;
  pinnedFd?: number;
  lruFd?: number;
  /** Real fds of open file handles on this node (any of them serves metadata calls). */
  readonly openFds: Set<number>;
  /** Change version: bumped on every change we make or observe. */
  version: bigint;
  /** Attribute signature last observed (to bump `version` on changes we did not see happen). */
  sig: AttrSig;
  /** Version the kernel's page cache was filled at (for KEEP_CACHE). */
  cacheVersion: bigint;
  /** inotify watch descriptor, for directories. */
  wd?: number;
  /** Names looked up in this directory → child node (for DELETE notifications). */
  kids?: Map<string, NodeId>;
  /** One name of this node: (parent, latin1 name). */
  dentry?: { parent: NodeId; name: string };
  backing?: Backing;
  /** Found by name (statx + name_to_handle_at): check identity on the first reopen. */
  verify?: boolean;
  /**
   * Until when (performance.now() ms) host attribute / data events on this node are echoes of
   * changes made through the mount (set by the watcher's selfNode; 0: none).
   */
  echoAttr: number;
  echoData: number;
}

export interface TableOptions {
  fdCache: number;
  useHandles: boolean;
  log: (l: string) => void;
  onRemove?: (n: Node) => void;
}

const PATH_FLAGS = sys.O.PATH | sys.O.CLOEXEC;

/** What a stat shows that a change moves: (size, mtime, ctime, mode, nlink, uid, gid). */
export type AttrSig = [number, number, number, number, number, number, number, number, number];

export function attrSig(st: Statx): AttrSig {
  return [st.size, st.mtime.sec, st.mtime.nsec, st.ctime.sec, st.ctime.nsec, st.mode, st.nlink, st.uid, st.gid];
}

/** Update `sig` in place from `st`; true if anything differed. */
export function updateSig(sig: AttrSig, st: Statx): boolean {
  const n = attrSig(st);
  let changed = false;
  for (let i = 0; i < 9; i++) {
    if (sig[i] !== n[i]) {
      sig[i] = n[i]!;
      changed = true;
    }
  }
  return changed;
}

export class InodeTable {
  readonly #byId = new Map<NodeId, Node>();
  readonly #byKey = new Map<string, Node>();
  /** LRU of O_PATH fds: Map order is recency (oldest first). */
  readonly #lru = new Map<Node, number>();
  readonly #mountFds = new Map<number, number>();
  readonly #devIndex = new Map<string, bigint>();
  readonly #o: TableOptions;
  #nextId = 2n;
  #nextGen = 1n;
  readonly root: Node;
  /** A real (non-O_PATH) fd on the root directory. */
  readonly rootDirFd: number;

  constructor(source: string, o: TableOptions) {
    this.#o = o;
    const pfd = sys.openat(sys.AT.FDCWD, source, PATH_FLAGS | sys.O.DIRECTORY);
    this.rootDirFd = sys.openat(sys.AT.FDCWD, source, sys.O.RDONLY | sys.O.DIRECTORY | sys.O.CLOEXEC);
    const st = sys.statx(pfd, '', sys.AT.EMPTY_PATH | sys.AT.SYMLINK_NOFOLLOW);
    const key = devKey(st);
    this.#devIndex.set(`${st.dev_major}:${st.dev_minor}`, 0n);
    if (o.useHandles) {
      try {
        const h = sys.nameToHandleAt(pfd, '', sys.AT.EMPTY_PATH);
        this.#mountFds.set(h.mountId, this.rootDirFd);
      } catch (e) {
        o.log(`file handles unavailable on ${source} (${(e as Error).message}); holding an O_PATH fd per inode`);
        this.#o.useHandles = false;
      }
    }
    this.root = this.#make(1n, 0n, key, st, this.reportIno(st));
    this.root.pinnedFd = pfd;
    this.root.nlookup = 1n;
    this.#byId.set(1n, this.root);
    this.#byKey.set(key, this.root);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** fds this table holds right now (pinned + LRU + mount fds). */
  get fdCount(): number {
    let n = this.#lru.size + this.#mountFds.size + 1;
    for (const node of this.#byId.values()) if (node.pinnedFd !== undefined) n++;
    return n;
  }

  nodes(): IterableIterator<Node> {
    return this.#byId.values();
  }

  get(id: NodeId): Node {
    const n = this.#byId.get(id);
    if (!n) throw fuseError('ESTALE', `unknown node id ${id}`);
    return n;
  }

  find(id: NodeId): Node | undefined {
    return this.#byId.get(id);
  }

  findByStat(st: Statx): Node | undefined {
    return this.#byKey.get(devKey(st));
  }

  /** The inode number to report: the host's; inos of other host devices get the device's index in bits 56–63. */
  reportIno(st: { ino: bigint; dev_major: number; dev_minor: number }): bigint {
    const d = `${st.dev_major}:${st.dev_minor}`;
    let idx = this.#devIndex.get(d);
    if (idx === undefined) {
      idx = BigInt(this.#devIndex.size);
      this.#devIndex.set(d, idx);
    }
    return idx === 0n ? st.ino : st.ino ^ (idx << 56n);
  }

  /**
   * An fd naming `node` (O_PATH or a real open fd), valid until the next call
   * into this table: use it synchronously. Reopens cold nodes by handle.
   */
  fd(node: Node): number {
    if (node.pinnedFd !== undefined) return node.pinnedFd;
    const open = openFdOf(node);
    if (open !== undefined) return open;
    const have = this.#lru.get(node);
    if (have !== undefined) {
      this.#lru.delete(node);
      this.#lru.set(node, have);
      return have;
    }
    if (!node.handle || node.mountFd === undefined) throw fuseError('ESTALE', `node ${node.id} has no fd and no handle`);
    let fd: number;
    try {
      fd = sys.openByHandleAt(node.mountFd, node.handle, PATH_FLAGS);
    } catch (e) {
      // ESTALE: the file was deleted and nothing holds it open.
      if ((e as { code?: string }).code === 'ESTALE') throw fuseError('ENOENT', `node ${node.id} is gone from the host`);
      throw e;
    }
    if (node.verify) {
      let same = false;
      try {
        same = devKey(sys.statx(fd, '', sys.AT.EMPTY_PATH | sys.AT.SYMLINK_NOFOLLOW, sys.STATX.INO)) === node.key;
      } catch {
        same = false;
      }
      if (!same) {
        safeClose(fd);
        throw fuseError('ENOENT', `node ${node.id}: its name was replaced on the host while it was looked up`);
      }
      node.verify = false;
    }
    this.#lruAdd(node, fd);
    return fd;
  }

  #lruAdd(node: Node, fd: number): void {
    node.lruFd = fd;
    this.#lru.set(node, fd);
    while (this.#lru.size > this.#o.fdCache) {
      const [old, ofd] = this.#lru.entries().next().value as [Node, number];
      this.#lru.delete(old);
      old.lruFd = undefined;
      safeClose(ofd);
    }
  }

  /** True when nodes can be found by name without opening them (file handles in use). */
  get byName(): boolean {
    return this.#o.useHandles;
  }

  /**
   * Find or create the node for `st` and the file handle `h` taken by name (no fd was
   * opened: the cheap path of lookup and READDIRPLUS). Undefined when the node needs an
   * fd to be created (no handle, or a host mount we hold no fd for): use `intern` then.
   * A node made here has never been opened, so its first reopen checks that the handle
   * still names the inode statx saw (`verify`): a host rename between the two calls
   * cannot make it reach another file.
   */
  internByName(st: Statx, h: { handle: Buffer; mountId: number } | undefined): Node | undefined {
    const key = devKey(st);
    const old = this.#byKey.get(key);
    if (sameFile(old, st, h?.handle)) return old;
    if (!h) return undefined;
    const mfd = this.#mountFds.get(h.mountId);
    if (mfd === undefined) return undefined;
    const node = this.#fresh(key, st, old);
    node.handle = h.handle;
    node.mountFd = mfd;
    node.verify = true;
    return this.#register(node);
  }

  /**
   * Find or create the node for a freshly opened O_PATH fd (`fd` is consumed:
   * kept or closed) whose statx is `st`. Does not change lookup counts.
   * With `borrowed`, `fd` is a real fd owned by the caller (a file being
   * created): it is used for the handle and never kept.
   */
  intern(fd: number, st: Statx, borrowed = false): Node {
    const key = devKey(st);
    const type = st.mode & S_IFMT;
    const old = this.#byKey.get(key);
    let handle: Buffer | undefined;
    let mountId: number | undefined;
    if (this.#o.useHandles) {
      try {
        const h = sys.nameToHandleAt(fd, '', sys.AT.EMPTY_PATH);
        handle = h.handle;
        mountId = h.mountId;
      } catch {
        handle = undefined;
      }
    }
    if (sameFile(old, st, handle)) {
      if (borrowed) return old;
      if (old.pinnedFd === undefined && old.lruFd === undefined && old.handle) this.#lruAdd(old, fd);
      else safeClose(fd);
      return old;
    }
    const node = this.#fresh(key, st, old);
    if (handle && mountId !== undefined) {
      let mfd = this.#mountFds.get(mountId);
      if (mfd === undefined && type === S_IFDIR) {
        try {
          mfd = sys.openat(sys.AT.FDCWD, `/proc/self/fd/${fd}`, sys.O.RDONLY | sys.O.DIRECTORY | sys.O.CLOEXEC);
          this.#mountFds.set(mountId, mfd);
        } catch {
          mfd = undefined;
        }
      }
      if (mfd !== undefined) {
        node.handle = handle;
        node.mountFd = mfd;
      }
    }
    if (borrowed) {
      if (!node.handle) node.pinnedFd = sys.openat(sys.AT.FDCWD, `/proc/self/fd/${fd}`, PATH_FLAGS);
    } else if (node.handle) this.#lruAdd(node, fd);
    else node.pinnedFd = fd;
    return this.#register(node);
  }

  /** A new node for `st`, under a new generation when `old` (another file) had its inode number. */
  #fresh(key: string, st: Statx, old: Node | undefined): Node {
    return this.#make(this.#nextId++, old ? this.#nextGen++ : 0n, key, st, this.reportIno(st));
  }

  #register(node: Node): Node {
    this.#byId.set(node.id, node);
    this.#byKey.set(node.key, node);
    return node;
  }

  #make(id: NodeId, gen: bigint, key: string, st: Statx, ino: bigint): Node {
    return {
      id,
      gen,
      key,
      type: st.mode & S_IFMT,
      ino,
      nlookup: 0n,
      openFds: new Set(),
      version: 1n,
      sig: attrSig(st),
      cacheVersion: 0n,
      echoAttr: 0,
      echoData: 0,
    };
  }

  /** The kernel dropped `n` references. Frees the node at zero. */
  forget(id: NodeId, n: bigint): void {
    const node = this.#byId.get(id);
    if (!node || id === 1n) return;
    node.nlookup -= n;
    if (node.nlookup <= 0n) {
      node.nlookup = 0n;
      this.dropIfUnused(node);
    }
  }

  /** Free `node` if the kernel holds no reference and no file is open on it. */
  dropIfUnused(node: Node): void {
    if (node.nlookup > 0n || node.id === 1n || node.openFds.size > 0 || node.backing) return;
    if (this.#byId.get(node.id) !== node) return;
    this.#byId.delete(node.id);
    if (this.#byKey.get(node.key) === node) this.#byKey.delete(node.key);
    if (node.lruFd !== undefined) {
      this.#lru.delete(node);
      safeClose(node.lruFd);
      node.lruFd = undefined;
    }
    if (node.pinnedFd !== undefined) {
      safeClose(node.pinnedFd);
      node.pinnedFd = undefined;
    }
    if (node.dentry) {
      const p = this.#byId.get(node.dentry.parent);
      if (p?.kids?.get(node.dentry.name) === node.id) p.kids.delete(node.dentry.name);
    }
    this.#o.onRemove?.(node);
  }

  /** Close every fd (unmount). */
  close(): void {
    for (const n of this.#byId.values()) {
      if (n.pinnedFd !== undefined) safeClose(n.pinnedFd);
      n.pinnedFd = undefined;
    }
    for (const fd of this.#lru.values()) safeClose(fd);
    this.#lru.clear();
    for (const fd of this.#mountFds.values()) if (fd !== this.rootDirFd) safeClose(fd);
    safeClose(this.rootDirFd);
  }
}

/** `old` is the file `st` describes: same type, and the same file handle when both are known. */
function sameFile(old: Node | undefined, st: Statx, handle: Buffer | undefined): old is Node {
  return old !== undefined && old.type === (st.mode & S_IFMT) && (handle === undefined || old.handle === undefined || handle.equals(old.handle));
}

function devKey(st: Statx): string {
  return `${st.dev_major}:${st.dev_minor}:${st.ino}`;
}

/** A real (not O_PATH) fd the node is open on through a handle, if any: f* calls (fgetxattr…) work on it. */
export function openFdOf(node: Node): number | undefined {
  for (const fd of node.openFds) return fd;
  return undefined;
}

export function safeClose(fd: number): void {
  try {
    sys.close(fd);
  } catch {
    /* already closed */
  }
}
