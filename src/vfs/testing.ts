/**
 * Mount-free testing: a client that plays the kernel.
 *
 * `VfsTestClient.start(tree)` runs a real `Session` over the in-memory
 * transport and speaks the FUSE protocol to it (INIT, LOOKUP, GETATTR,
 * READDIR(PLUS), OPEN/READ/WRITE/RELEASE, FORGET, POLL, IOCTL, INTERRUPT…)
 * exactly as the kernel would, with frames built by `protocol/client.ts`. No
 * root, no /dev/fuse, no mount: use it in your unit tests.
 *
 * Like the kernel, the client counts lookups: `lookupCounts` shows what it
 * holds, and `forgetAll()` gives everything back, as memory pressure would.
 *
 * @example
 * ```ts
 * const c = await VfsTestClient.start(createTree(dir({ hello: file('hi\n') })));
 * assert.equal(await c.readFile('hello'), 'hi\n');
 * await c.close();
 * ```
 */
import { FuseError } from '../errors.ts';
import { decodeNotification, decodeReply, encodeRequest, type Notification, type ReplyBody } from '../protocol/client.ts';
import type { OpName } from '../protocol/decode.ts';
import type { Attr, DirentPlus, EntryOut, NodeId, Unique } from '../protocol/types.ts';
import { Session, type SessionOptions } from '../session/session.ts';
import { MemoryTransport } from '../transport/memory.ts';
import { TreeBridge } from './bridge.ts';
import type { Tree } from './tree.ts';

const O_RDONLY = 0;

export interface TestClientOptions extends SessionOptions {
  /** INIT flags the fake kernel offers (default: everything). */
  offer?: bigint;
}

/** An in-process FUSE "kernel" for one mount of a tree. */
export class VfsTestClient {
  readonly transport: MemoryTransport;
  readonly session: Session;
  readonly bridge: TreeBridge;
  readonly #counts = new Map<NodeId, bigint>();
  #unique = 2n;
  #ended: Promise<unknown>;

  private constructor(tree: Tree, o: TestClientOptions) {
    this.transport = new MemoryTransport();
    this.bridge = new TreeBridge(tree);
    this.session = new Session(this.bridge, this.transport, { log: o.log ?? (() => {}), ...o });
    this.#ended = this.session.run();
  }

  /** Start a session on `tree` and complete INIT. */
  static async start(tree: Tree, o: TestClientOptions = {}): Promise<VfsTestClient> {
    const c = new VfsTestClient(tree, o);
    const frame = encodeRequest({ unique: c.#next(), nodeid: 0n }, 'init', {
      major: 7, minor: 45, maxReadahead: 131072, flags: o.offer ?? (1n << 43n) - 1n,
    });
    const r = decodeReply('init', await c.transport.request(frame));
    if (r.error) throw new FuseError(r.error, 'INIT failed');
    return c;
  }

  #next(): Unique {
    const u = this.#unique;
    this.#unique += 2n;
    return u;
  }

  /** Send one request and decode its reply; errors throw FuseError. `unique` lets a test interrupt it. */
  async call<K extends OpName>(op: K, nodeid: NodeId, body: Record<string, unknown>, o: { unique?: Unique; uid?: number; gid?: number; size?: number } = {}): Promise<ReplyBody<K>> {
    const unique = o.unique ?? this.#next();
    const frame = encodeRequest({ unique, nodeid, uid: o.uid ?? 0, gid: o.gid ?? 0, pid: process.pid }, op, body as never);
    const r = decodeReply(op, await this.transport.request(frame), o.size !== undefined ? { requestSize: o.size } : {});
    if (r.error) throw new FuseError(r.error, `${op} on node ${nodeid}`);
    return r.body as ReplyBody<K>;
  }

  /** A fresh unique, for `call(..., { unique })` followed by `interrupt(unique)`. */
  nextUnique(): Unique {
    return this.#next();
  }

  #took(id: NodeId): void {
    if (id !== 0n) this.#counts.set(id, (this.#counts.get(id) ?? 0n) + 1n);
  }

  /** Lookup counts this fake kernel holds. */
  get lookupCounts(): ReadonlyMap<NodeId, bigint> {
    return this.#counts;
  }

  async lookup(parent: NodeId, name: string, o: { uid?: number; gid?: number } = {}): Promise<EntryOut> {
    const e = await this.call('lookup', parent, { name }, o);
    this.#took(e.nodeid);
    return e;
  }

  /** Resolve a slash-separated path from the root by LOOKUPs (each takes a reference). */
  async resolve(path: string): Promise<NodeId> {
    let id: NodeId = 1n;
    for (const part of path.split('/').filter(Boolean)) id = (await this.lookup(id, part)).nodeid;
    return id;
  }

  async getattr(nodeid: NodeId): Promise<Attr> {
    return (await this.call('getattr', nodeid, { getattrFlags: 0, fh: 0n })).attr;
  }

  async stat(path: string): Promise<Attr> {
    return this.getattr(await this.resolve(path));
  }

  async setattr(nodeid: NodeId, fields: { mode?: number; uid?: number; gid?: number; size?: number }, o: { uid?: number } = {}): Promise<Attr> {
    let valid = 0;
    if (fields.mode !== undefined) valid |= 1;
    if (fields.uid !== undefined) valid |= 2;
    if (fields.gid !== undefined) valid |= 4;
    if (fields.size !== undefined) valid |= 8;
    const body = {
      valid, fh: 0n, size: fields.size ?? 0, lockOwner: 0n, atime: 0, mtime: 0, ctime: 0, atimensec: 0, mtimensec: 0, ctimensec: 0,
      mode: fields.mode ?? 0, uid: fields.uid ?? 0, gid: fields.gid ?? 0,
    };
    return (await this.call('setattr', nodeid, body, o)).attr;
  }

  async open(nodeid: NodeId, flags = O_RDONLY, o: { uid?: number; gid?: number } = {}): Promise<{ fh: bigint; openFlags: number }> {
    return this.call('open', nodeid, { flags, openFlags: 0 }, o);
  }

  async read(nodeid: NodeId, fh: bigint, offset: number, size: number, o: { unique?: Unique; flags?: number } = {}): Promise<Buffer> {
    const body = { fh, offset, size, readFlags: 0, lockOwner: 0n, flags: o.flags ?? 0 };
    return (await this.call('read', nodeid, body, o)).data;
  }

  async write(nodeid: NodeId, fh: bigint, offset: number, data: Buffer | string): Promise<number> {
    const b = Buffer.from(data);
    return (await this.call('write', nodeid, { fh, offset, size: b.length, writeFlags: 0, lockOwner: 0n, flags: 0, data: b })).size;
  }

  async release(nodeid: NodeId, fh: bigint): Promise<void> {
    await this.call('release', nodeid, { fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
  }

  /** Open, read to end of file in `chunk`-byte reads, release. */
  async readFile(path: string, chunk = 4096): Promise<string> {
    const id = await this.resolve(path);
    const { fh } = await this.open(id);
    try {
      const parts: Buffer[] = [];
      for (let off = 0; ; ) {
        const b = await this.read(id, fh, off, chunk);
        if (b.length === 0) break;
        parts.push(Buffer.from(b));
        off += b.length;
      }
      return Buffer.concat(parts).toString();
    } finally {
      await this.release(id, fh);
    }
  }

  /** Open for writing, one WRITE at offset 0, release (like `echo value > path`, without O_TRUNC). */
  async writeFile(path: string, data: string | Buffer): Promise<number> {
    const id = await this.resolve(path);
    const { fh } = await this.open(id, 1);
    try {
      return await this.write(id, fh, 0, data);
    } finally {
      await this.release(id, fh);
    }
  }

  #noOpendir = false;

  /** OPENDIR; like the kernel, after an ENOSYS it stops asking and uses fh 0 (zero-message opendir). */
  async opendir(nodeid: NodeId): Promise<bigint> {
    if (this.#noOpendir) return 0n;
    try {
      return (await this.call('opendir', nodeid, { flags: 0, openFlags: 0 })).fh;
    } catch (e) {
      if ((e as FuseError).code !== 'ENOSYS') throw e;
      this.#noOpendir = true;
      return 0n;
    }
  }

  /** RELEASEDIR (skipped for fh 0, as the kernel does after a zero-message opendir). */
  async releasedir(nodeid: NodeId, fh: bigint): Promise<void> {
    if (fh === 0n && this.#noOpendir) return;
    await this.call('releasedir', nodeid, { fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
  }

  /** One READDIR call. */
  async readdirOnce(nodeid: NodeId, fh: bigint, cookie: bigint, size = 4096): Promise<{ ino: bigint; off: bigint; type: number; name: string }[]> {
    const r = await this.call('readdir', nodeid, { fh, cookie, size, readFlags: 0, lockOwner: 0n, flags: 0 });
    return r.entries.map((e) => ({ ino: e.ino, off: e.off, type: e.type, name: e.name.toString() }));
  }

  /** One READDIRPLUS call; counts the references its entries carry, as the kernel does. */
  async readdirplusOnce(nodeid: NodeId, fh: bigint, cookie: bigint, size = 4096): Promise<DirentPlus[]> {
    const r = await this.call('readdirplus', nodeid, { fh, cookie, size, readFlags: 0, lockOwner: 0n, flags: 0 });
    for (const e of r.entries) {
      const n = e.name.toString();
      if (n !== '.' && n !== '..') this.#took(e.entry.nodeid);
    }
    return r.entries;
  }

  /** List a directory completely with READDIR (names, without . and ..). */
  async ls(path: string, size = 4096): Promise<string[]> {
    const id = await this.resolve(path);
    const fh = await this.opendir(id);
    const names: string[] = [];
    try {
      for (let cookie = 0n; ; ) {
        const es = await this.readdirOnce(id, fh, cookie, size);
        if (es.length === 0) break;
        for (const e of es) if (e.name !== '.' && e.name !== '..') names.push(e.name);
        cookie = es[es.length - 1]!.off;
      }
    } finally {
      await this.releasedir(id, fh);
    }
    return names;
  }

  async mkdir(parent: NodeId, name: string, mode = 0o755): Promise<EntryOut> {
    const e = await this.call('mkdir', parent, { mode, umask: 0o022, name });
    this.#took(e.nodeid);
    return e;
  }

  async rmdir(parent: NodeId, name: string): Promise<void> {
    await this.call('rmdir', parent, { name });
  }

  async unlink(parent: NodeId, name: string): Promise<void> {
    await this.call('unlink', parent, { name });
  }

  async readlink(nodeid: NodeId): Promise<string> {
    return (await this.call('readlink', nodeid, {})).data.toString();
  }

  async getxattr(nodeid: NodeId, name: string): Promise<string> {
    const r = await this.call('getxattr', nodeid, { size: 4096, name }, { size: 4096 });
    return 'data' in r ? r.data.toString() : '';
  }

  async poll(nodeid: NodeId, fh: bigint, kh: bigint, events = 1, schedule = true): Promise<number> {
    return (await this.call('poll', nodeid, { fh, kh, flags: schedule ? 1 : 0, events })).revents;
  }

  async ioctl(nodeid: NodeId, fh: bigint, cmd: number, input: Buffer, outSize: number): Promise<{ result: number; data?: Buffer }> {
    return this.call('ioctl', nodeid, { fh, flags: 0, cmd, arg: 0n, inSize: input.length, outSize, data: input });
  }

  /** Send INTERRUPT for a request in flight. */
  async interrupt(target: Unique): Promise<void> {
    await this.transport.post(encodeRequest({ unique: this.#next() | 1n, nodeid: 0n }, 'interrupt', { unique: target }));
  }

  /** FORGET `n` references on `nodeid`. */
  async forget(nodeid: NodeId, n: bigint): Promise<void> {
    const have = this.#counts.get(nodeid) ?? 0n;
    if (n >= have) this.#counts.delete(nodeid);
    else this.#counts.set(nodeid, have - n);
    await this.transport.post(encodeRequest({ unique: this.#next(), nodeid }, 'forget', { nlookup: n }));
  }

  /** Forget everything held, in one BATCH_FORGET (what `echo 2 > /proc/sys/vm/drop_caches` does to a mount). */
  async forgetAll(): Promise<void> {
    const forgets = [...this.#counts].map(([nodeid, nlookup]) => ({ nodeid, nlookup }));
    this.#counts.clear();
    if (forgets.length === 0) return;
    await this.transport.post(encodeRequest({ unique: this.#next(), nodeid: 0n }, 'batch_forget', { forgets }));
  }

  /** Notifications sent so far, decoded (after letting the queue drain). */
  async notifications(): Promise<Notification[]> {
    await this.session.notifier.flush();
    return this.transport.notifications.map((f) => decodeNotification(f));
  }

  /** End the session (as an unmount would). */
  async close(): Promise<void> {
    await this.transport.close();
    await this.#ended;
  }
}
