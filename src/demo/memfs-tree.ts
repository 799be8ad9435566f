/**
 * memfs namespace: the node table, node-id allocation, directory entries with
 * stable readdir cookies, and the operations that change names (create, link,
 * unlink, rmdir, rename). Nodes are freed only when they have no name, no
 * kernel lookup reference and no open handle (FUSE-NOTES rule 2).
 */
import { constants as C } from 'node:fs';
import { fuseError } from '../errors.ts';
import { RenameFlag } from '../protocol/abi.ts';
import type { NodeId } from '../protocol/types.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import { inGroup, Node, now, S_ISGID, type DirEntry } from './memfs-node.ts';

export const NAME_MAX = 255;

/** Buffer name → Map key that keeps every byte (names need not be UTF-8). */
export function keyOf(name: Buffer): string {
  if (name.length > NAME_MAX) throw fuseError('ENAMETOOLONG', `name of ${name.length} bytes`);
  return name.toString('latin1');
}

export function nameOf(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

export interface TreeLimits {
  /** Largest number of live inodes. */
  maxInodes: number;
}

export class MemTree {
  readonly root: Node;
  readonly #nodes = new Map<NodeId, Node>();
  /** Never reused: node ids come from a monotonic counter (rule 3). */
  #nextId = 2n;
  readonly #limits: TreeLimits;
  /** Called when a node is freed (so the owner can return its data blocks). */
  onFree: (n: Node) => void = () => {};

  constructor(limits: TreeLimits) {
    this.#limits = limits;
    this.root = new Node(1n, 0n, C.S_IFDIR | 0o755, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    this.root.parent = this.root;
    this.#nodes.set(1n, this.root);
  }

  get inodeCount(): number {
    return this.#nodes.size;
  }

  /** The live node `id`; ESTALE if it was freed (the kernel should never ask). */
  get(id: NodeId): Node {
    const n = this.#nodes.get(id);
    if (!n) throw fuseError('ESTALE', `node ${id} is not live`);
    return n;
  }

  /** The live node `id`, or undefined. */
  peek(id: NodeId): Node | undefined {
    return this.#nodes.get(id);
  }

  dir(id: NodeId): Node {
    const n = this.get(id);
    if (!n.isDir) throw fuseError('ENOTDIR');
    return n;
  }

  /** Take one kernel lookup reference and answer with the node's entry. */
  ref(n: Node): ReturnType<Node['entry']> {
    n.lookups++;
    return n.entry();
  }

  /** Free `n` if nothing refers to it any more. */
  maybeFree(n: Node): void {
    if (n === this.root || n.nlink > 0 || n.lookups > 0n || n.opens > 0) return;
    if (this.#nodes.delete(n.id)) this.onFree(n);
  }

  /**
   * A new node owned by the caller. In a set-group-ID directory it takes the
   * directory's group, and a new directory inherits S_ISGID; a non-member creating
   * a group-executable setgid file loses S_ISGID (inode_init_owner).
   */
  alloc(ctx: RequestContext, parent: Node | undefined, mode: number): Node {
    if (this.#nodes.size >= this.#limits.maxInodes) throw fuseError('ENOSPC', 'inode limit reached');
    let gid = ctx.gid;
    if (parent && (parent.mode & S_ISGID) !== 0) {
      gid = parent.gid;
      if ((mode & C.S_IFMT) === C.S_IFDIR) mode |= S_ISGID;
    }
    if ((mode & C.S_IFMT) !== C.S_IFDIR && (mode & (S_ISGID | C.S_IXGRP)) === (S_ISGID | C.S_IXGRP) && ctx.uid !== 0 && !inGroup(ctx, gid)) {
      mode &= ~S_ISGID;
    }
    const n = new Node(this.#nextId++, 1n, mode, ctx.uid, gid);
    this.#nodes.set(n.id, n);
    return n;
  }

  /** Insert `key` → `n` with the directory's next cookie. */
  #insert(dir: Node, key: string, n: Node): void {
    dir.entries!.set(key, { node: n, cookie: dir.nextCookie++ });
  }

  /** Create a node named `name` in `parentId`. EEXIST if the name is taken. */
  create(ctx: RequestContext, parentId: NodeId, name: Buffer, mode: number, fill?: (n: Node) => void): Node {
    const dir = this.dir(parentId);
    const key = keyOf(name);
    if (dir.entries!.has(key)) throw fuseError('EEXIST');
    if (dir.nlink === 0) throw fuseError('ENOENT', 'directory was removed');
    const n = this.alloc(ctx, dir, mode);
    fill?.(n);
    if (n.isDir) {
      n.parent = dir;
      dir.nlink++;
    }
    this.#insert(dir, key, n);
    dir.touchMC();
    return n;
  }

  /** The entry named `name` in `parentId`, or ENOENT. */
  child(parentId: NodeId, name: Buffer): Node {
    const e = this.dir(parentId).entries!.get(keyOf(name));
    if (!e) throw fuseError('ENOENT');
    return e.node;
  }

  link(n: Node, parentId: NodeId, name: Buffer): void {
    const dir = this.dir(parentId);
    const key = keyOf(name);
    if (n.isDir) throw fuseError('EPERM', 'hard links to directories');
    if (n.nlink === 0 && !n.linkable) throw fuseError('ENOENT', 'the file was unlinked');
    if (dir.nlink === 0) throw fuseError('ENOENT', 'directory was removed');
    if (dir.entries!.has(key)) throw fuseError('EEXIST');
    this.#insert(dir, key, n);
    n.nlink++;
    n.linkable = false;
    const t = now();
    n.touchC(t);
    dir.touchMC(t);
  }

  unlink(parentId: NodeId, name: Buffer): void {
    const dir = this.dir(parentId);
    const key = keyOf(name);
    const e = dir.entries!.get(key);
    if (!e) throw fuseError('ENOENT');
    if (e.node.isDir) throw fuseError('EISDIR');
    dir.entries!.delete(key);
    e.node.nlink--;
    const t = now();
    e.node.touchC(t);
    dir.touchMC(t);
    this.maybeFree(e.node);
  }

  rmdir(parentId: NodeId, name: Buffer): void {
    const dir = this.dir(parentId);
    const key = keyOf(name);
    const e = dir.entries!.get(key);
    if (!e) throw fuseError('ENOENT');
    const n = e.node;
    if (!n.isDir) throw fuseError('ENOTDIR');
    if (n.entries!.size > 0) throw fuseError('ENOTEMPTY');
    dir.entries!.delete(key);
    n.nlink = 0;
    dir.nlink--;
    const t = now();
    n.touchC(t);
    dir.touchMC(t);
    this.maybeFree(n);
  }

  /** Whether `a` is `d` or one of its ancestors. */
  #contains(a: Node, d: Node): boolean {
    for (let x = d; ; x = x.parent!) {
      if (x === a) return true;
      if (x === this.root || !x.parent) return false;
    }
  }

  /** rename / renameat2 with NOREPLACE or EXCHANGE; POSIX errors as Linux gives them. */
  rename(parentId: NodeId, name: Buffer, newParentId: NodeId, newName: Buffer, flags: number): void {
    if ((flags & ~(RenameFlag.NOREPLACE | RenameFlag.EXCHANGE)) !== 0) throw fuseError('EINVAL', `rename flags ${flags}`);
    if ((flags & RenameFlag.NOREPLACE) !== 0 && (flags & RenameFlag.EXCHANGE) !== 0) throw fuseError('EINVAL');
    const sd = this.dir(parentId);
    const td = this.dir(newParentId);
    const sk = keyOf(name);
    const tk = keyOf(newName);
    const se = sd.entries!.get(sk);
    if (!se) throw fuseError('ENOENT');
    if (td.nlink === 0) throw fuseError('ENOENT', 'target directory was removed');
    const te = td.entries!.get(tk);
    const src = se.node;
    const t = now();

    if ((flags & RenameFlag.EXCHANGE) !== 0) {
      if (!te) throw fuseError('ENOENT', 'exchange target missing');
      if (se === te || src === te.node) return;
      const dst = te.node;
      if (src.isDir && this.#contains(src, td)) throw fuseError('EINVAL', 'directory into its own subtree');
      if (dst.isDir && this.#contains(dst, sd)) throw fuseError('EINVAL', 'directory into its own subtree');
      se.node = dst;
      te.node = src;
      if (sd !== td) {
        if (src.isDir) { src.parent = td; sd.nlink--; td.nlink++; }
        if (dst.isDir) { dst.parent = sd; td.nlink--; sd.nlink++; }
      }
      src.touchC(t);
      dst.touchC(t);
      sd.touchMC(t);
      td.touchMC(t);
      return;
    }

    if (te) {
      if ((flags & RenameFlag.NOREPLACE) !== 0) throw fuseError('EEXIST');
      // Same entry, or two names of one inode: POSIX says do nothing.
      if (te.node === src) return;
      if (src.isDir) {
        if (!te.node.isDir) throw fuseError('ENOTDIR');
        if (te.node.entries!.size > 0) throw fuseError('ENOTEMPTY');
      } else if (te.node.isDir) {
        throw fuseError('EISDIR');
      }
    }
    if (src.isDir && this.#contains(src, td)) throw fuseError('EINVAL', 'directory into its own subtree');

    if (te) {
      td.entries!.delete(tk);
      if (te.node.isDir) {
        te.node.nlink = 0;
        td.nlink--;
      } else {
        te.node.nlink--;
      }
      te.node.touchC(t);
    }
    sd.entries!.delete(sk);
    this.#insert(td, tk, src);
    if (src.isDir && sd !== td) {
      sd.nlink--;
      td.nlink++;
      src.parent = td;
    }
    src.touchC(t);
    sd.touchMC(t);
    td.touchMC(t);
    if (te) this.maybeFree(te.node);
  }
}

/** Where a directory handle's last READDIR stopped, so the next one resumes in O(1). */
export interface DirCursor {
  /** A live Map iterator: it skips entries removed later and visits entries added later. */
  it: Iterator<[string, DirEntry]>;
  /** Cookie of the last entry handed to the kernel (the `off` it will pass next). */
  at: bigint;
  /** An entry read from `it` that did not fit the last reply. */
  pending?: [string, DirEntry];
}

export interface Handle {
  node: Node;
  flags: number;
  cursor?: DirCursor;
}

/**
 * Hand `d`'s entries after `cookie` to `emit` until it refuses one. Resumes the
 * handle's cursor when the kernel continues where it left off; otherwise scans
 * from the start, skipping entries with smaller cookies.
 */
export function scanDir(h: Handle | undefined, d: Node, cookie: bigint, emit: (key: string, e: DirEntry) => boolean): void {
  let cur = h?.cursor;
  if (!cur || cur.at !== cookie) cur = { it: d.entries![Symbol.iterator](), at: cookie };
  if (h) h.cursor = cur;
  for (;;) {
    let x = cur.pending;
    cur.pending = undefined;
    if (!x) {
      const r = cur.it.next();
      if (r.done) return;
      x = r.value;
    }
    const [k, e] = x;
    if (e.cookie <= cookie || d.entries!.get(k) !== e) continue; // before the cookie, or gone since
    if (!emit(k, e)) {
      cur.pending = x;
      return;
    }
    cur.at = e.cookie;
  }
}
