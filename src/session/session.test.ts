import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FuseError, fuseError } from '../errors.ts';
import { InitFlag, NotifyCode, Opcode } from '../protocol/abi.ts';
import { decodeNotification, decodeReply, encodeRequest, type EncodableBody } from '../protocol/client.ts';
import type { OpName } from '../protocol/decode.ts';
import type { Attr, EntryOut, NodeId } from '../protocol/types.ts';
import { MemoryTransport } from '../transport/memory.ts';
import type { LowLevelFs } from './lowlevel.ts';
import { Session } from './session.ts';

const OFFERED = InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.DO_READDIRPLUS |
  InitFlag.READDIRPLUS_AUTO | InitFlag.INIT_EXT | InitFlag.SETXATTR_EXT | InitFlag.POSIX_LOCKS | InitFlag.HAS_EXPIRE_ONLY |
  InitFlag.PASSTHROUGH | InitFlag.PARALLEL_DIROPS;

function attr(ino: bigint, mode = 0o100644): Attr {
  return { ino, size: 0, blocks: 0, atime: 0, mtime: 0, ctime: 0, atimensec: 0, mtimensec: 0, ctimensec: 0, mode, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096, flags: 0 };
}

function entry(nodeid: NodeId): EntryOut {
  return { nodeid, generation: 1n, entryValid: 1, attrValid: 1, entryValidNsec: 0, attrValidNsec: 0, attr: attr(nodeid) };
}

/** Plays the kernel against a Session over the memory transport. */
class Kernel {
  readonly t: MemoryTransport;
  readonly logs: string[] = [];
  readonly session: Session;
  #unique = 2n;
  constructor(fs: LowLevelFs, opts: { notifyQueueLimit?: number; queued?: boolean } = {}) {
    this.t = new MemoryTransport({ queued: opts.queued });
    this.session = new Session(fs, this.t, { log: (l) => this.logs.push(l), ...opts });
    void this.session.run();
  }
  next(): bigint {
    this.#unique += 2n;
    return this.#unique;
  }
  async init(flags = OFFERED, minor = 45) {
    const frame = encodeRequest({ unique: 2n, nodeid: 0n }, 'init', { major: 7, minor, maxReadahead: 131072, flags });
    return decodeReply('init', await this.t.request(frame));
  }
  async call<K extends OpName>(op: K, nodeid: bigint, body: EncodableBody<K>, unique = this.next()) {
    const frame = encodeRequest({ unique, nodeid, uid: 1000, gid: 1000, pid: 42 }, op, body, { setxattrExt: true });
    return decodeReply(op, await this.t.request(frame), { requestSize: (body as { size?: number }).size });
  }
  post<K extends OpName>(op: K, nodeid: bigint, body: EncodableBody<K>, unique = 0n) {
    return this.t.post(encodeRequest({ unique, nodeid }, op, body));
  }
}

test('INIT asks only for offered flags, sets INIT_EXT for high bits, and reports limits', async () => {
  const k = new Kernel({ readdirplus: () => {}, init: (c) => { c.want |= InitFlag.PASSTHROUGH | InitFlag.WRITEBACK_CACHE; } });
  const r = await k.init();
  assert.equal(r.error, 0);
  const out = r.body!;
  assert.equal(out.major, 7);
  assert.equal(out.minor, 45);
  assert.equal(out.flags & ~OFFERED, 0n, 'no flag the kernel did not offer');
  assert.notEqual(out.flags & InitFlag.DO_READDIRPLUS, 0n);
  assert.notEqual(out.flags & InitFlag.PASSTHROUGH, 0n);
  assert.notEqual(out.flags & InitFlag.INIT_EXT, 0n, 'flags2 needs INIT_EXT');
  assert.equal(out.flags & InitFlag.WRITEBACK_CACHE, 0n, 'not offered');
  assert.equal(out.maxStackDepth, 1, 'passthrough needs a stack depth of 1..2');
  assert.equal(out.maxWrite, 1 << 20);
  assert.equal(out.maxPages, 256);
});

test('INIT without readdirplus or locks does not ask for them; an old minor is answered with its own minor', async () => {
  const k = new Kernel({});
  const out = (await k.init(OFFERED, 40)).body!;
  assert.equal(out.minor, 40);
  assert.equal(out.flags & (InitFlag.DO_READDIRPLUS | InitFlag.POSIX_LOCKS | InitFlag.PASSTHROUGH), 0n);
});

test('requests before INIT get EIO', async () => {
  const k = new Kernel({ getattr: () => ({ attrValid: 1, attrValidNsec: 0, attr: attr(1n, 0o40755) }) });
  const r = await k.call('getattr', 1n, { getattrFlags: 0, fh: 0n });
  assert.equal(r.error, 5);
});

test('unknown opcodes get ENOSYS and absent methods get ENOSYS', async () => {
  const k = new Kernel({});
  await k.init();
  const frame = encodeRequest({ unique: 100n, nodeid: 1n }, 'getattr', { getattrFlags: 0, fh: 0n });
  frame.writeUInt32LE(99, 4);
  const r = decodeReply('getattr', await k.t.request(frame));
  assert.equal(r.error, 38);
  assert.equal((await k.call('mkdir', 1n, { mode: 0o755, umask: 0, name: 'd' })).error, 38);
});

test('a throwing handler answers EIO, is logged, and the session keeps serving', async () => {
  let calls = 0;
  const k = new Kernel({
    lookup: (_c, _p, name) => {
      calls++;
      if (name.toString() === 'boom') throw new TypeError('handler bug');
      if (name.toString() === 'missing') throw fuseError('ENOENT');
      if (name.toString() === 'denied') throw Object.assign(new Error('nope'), { code: 'EACCES' });
      return entry(5n);
    },
  });
  await k.init();
  assert.equal((await k.call('lookup', 1n, { name: 'boom' })).error, 5);
  assert.match(k.logs.join('\n'), /lookup .*failed; answering EIO: TypeError: handler bug/);
  assert.equal((await k.call('lookup', 1n, { name: 'missing' })).error, 2);
  assert.equal((await k.call('lookup', 1n, { name: 'denied' })).error, 13);
  const ok = await k.call('lookup', 1n, { name: 'fine' });
  assert.equal(ok.error, 0);
  assert.equal(ok.body!.nodeid, 5n);
  assert.equal(calls, 4);
});

test('synchronous and asynchronous handlers: plain values are answered at once, promises when they settle', async () => {
  let release!: () => void;
  const k = new Kernel({
    lookup: (_c, _p, name) => {
      const n = name.toString();
      if (n === 'sync') return entry(5n);
      if (n === 'async') return Promise.resolve(entry(6n));
      if (n === 'later') return new Promise((r) => (release = () => r(entry(7n))));
      if (n === 'rejects') return Promise.reject(new RangeError('async handler bug'));
      return Promise.reject(fuseError('ENOENT'));
    },
  });
  await k.init();
  const sync = await k.call('lookup', 1n, { name: 'sync' });
  assert.equal(sync.body!.nodeid, 5n);
  assert.equal(k.session.inflight, 0, 'a synchronous answer leaves nothing in flight');
  assert.equal((await k.call('lookup', 1n, { name: 'async' })).body!.nodeid, 6n);
  const later = k.call('lookup', 1n, { name: 'later' });
  await new Promise((r) => setImmediate(r));
  assert.equal(k.session.inflight, 1, 'a pending promise is in flight (and interruptible)');
  release();
  assert.equal((await later).body!.nodeid, 7n);
  assert.equal(k.session.inflight, 0);
  assert.equal((await k.call('lookup', 1n, { name: 'rejects' })).error, 5);
  assert.match(k.logs.join('\n'), /lookup .*failed; answering EIO: RangeError: async handler bug/);
  assert.equal((await k.call('lookup', 1n, { name: 'gone' })).error, 2);
  assert.equal(k.session.lookupCounts.get(5n), 1n);
  assert.equal(k.session.lookupCounts.get(7n), 1n);
});

test('lookup must not return the root for a name, and create-type replies must not carry 0 or 1', async () => {
  const k = new Kernel({ lookup: () => entry(1n), mkdir: () => entry(0n) });
  await k.init();
  assert.equal((await k.call('lookup', 1n, { name: 'x' })).error, 5);
  assert.equal((await k.call('mkdir', 1n, { mode: 0o755, umask: 0, name: 'd' })).error, 5);
  assert.equal(k.session.lookupCounts.size, 0);
});

test('INTERRUPT aborts the handler signal and the request answers EINTR', async () => {
  let sawAbort = false;
  const k = new Kernel({
    read: (ctx) => new Promise((_resolve, reject) => {
      ctx.signal.addEventListener('abort', () => {
        sawAbort = true;
        reject(new FuseError(4));
      });
    }),
  });
  await k.init();
  const unique = k.next();
  const pending = k.call('read', 2n, { fh: 0n, offset: 0, size: 10, readFlags: 0, lockOwner: 0n, flags: 0 }, unique);
  await new Promise((r) => setImmediate(r));
  await k.post('interrupt', 0n, { unique }, unique | 1n);
  const r = await pending;
  assert.equal(sawAbort, true);
  assert.equal(r.error, 4);
});

test('an INTERRUPT for an unknown request is answered EAGAIN', async () => {
  const k = new Kernel({});
  await k.init();
  const r = await k.call('interrupt', 0n, { unique: 12345n }, 777n);
  assert.equal(r.error, 11);
});

test('lookup counts: entry replies add, READDIRPLUS adds per entry except . and .., FORGET and BATCH_FORGET subtract', async () => {
  const forgotten: [bigint, bigint][] = [];
  const k = new Kernel({
    lookup: () => entry(7n),
    readdirplus: (_c, _n, _fh, cookie, out) => {
      if (cookie !== 0n) return;
      out.add({ ...entry(1n), attr: attr(1n, 0o40755) }, 1n, '.');
      out.add({ ...entry(1n), attr: attr(1n, 0o40755) }, 2n, '..');
      out.add(entry(7n), 3n, 'a');
      out.add(entry(8n), 4n, 'b');
      out.add({ ...entry(0n) }, 5n, 'c'); // nodeid 0: no lookup taken
    },
    forget: (id, n) => forgotten.push([id, n]),
  });
  await k.init();
  await k.call('lookup', 1n, { name: 'a' });
  const rd = await k.call('readdirplus', 1n, { fh: 0n, cookie: 0n, size: 4096, readFlags: 0, lockOwner: 0n, flags: 0 });
  assert.equal(rd.body!.entries.length, 5);
  assert.deepEqual([...k.session.lookupCounts.entries()].sort(), [[7n, 2n], [8n, 1n]]);
  await k.post('forget', 7n, { nlookup: 1n });
  await k.post('batch_forget', 0n, { forgets: [{ nodeid: 7n, nlookup: 1n }, { nodeid: 8n, nlookup: 1n }] });
  assert.equal(k.session.lookupCounts.size, 0);
  assert.deepEqual(forgotten, [[7n, 1n], [7n, 1n], [8n, 1n]]);
});

test('an entry reply the kernel never receives is forgotten on the filesystem\'s behalf', async () => {
  const forgotten: bigint[] = [];
  let release!: () => void;
  const k = new Kernel({
    lookup: () => new Promise<EntryOut>((r) => (release = () => r(entry(9n)))),
    forget: (id) => forgotten.push(id),
  });
  await k.init();
  const unique = k.next();
  void k.t.request(encodeRequest({ unique, nodeid: 1n }, 'lookup', { name: 'x' }));
  await new Promise((r) => setImmediate(r));
  k.t.forgetWaiter(unique); // the kernel gave up on the request (aborted)
  release();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(forgotten, [9n]);
  assert.equal(k.session.lookupCounts.size, 0);
});

test('a queued reply that fails later gives back the references and the handle it carried', async () => {
  const forgotten: bigint[] = [];
  const released: bigint[] = [];
  const k = new Kernel({
    lookup: () => entry(9n),
    create: () => ({ entry: entry(10n), open: { fh: 5n, openFlags: 0, backingId: 0 } }),
    forget: (id) => forgotten.push(id),
    release: (_c, _id, fh) => void released.push(fh),
  }, { queued: true });
  await k.init();
  // Delivered: counted, as with an inline write.
  assert.equal((await k.call('lookup', 1n, { name: 'x' })).error, 0);
  assert.deepEqual([...k.session.lookupCounts], [[9n, 1n]]);
  // The session counts a queued reply at once; the write then fails (the request was aborted).
  for (const [op, body] of [['lookup', { name: 'x' }], ['create', { name: 'y', flags: 0, mode: 0o644, umask: 0, openFlags: 0 }]] as const) {
    const unique = k.next();
    void k.t.request(encodeRequest({ unique, nodeid: 1n }, op, body as EncodableBody<typeof op>));
    k.t.forgetWaiter(unique);
  }
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual([...k.session.lookupCounts], [[9n, 1n]], 'the failed lookup\'s reference and the failed create\'s were given back');
  assert.deepEqual(forgotten.sort((a, b) => (a < b ? -1 : 1)), [9n, 10n]);
  assert.deepEqual(released, [5n]);
  assert.doesNotMatch(k.logs.join('\n'), /failed/, 'an interrupted reply is not an error');
});

test('malformed frames are answered or dropped, never thrown', async () => {
  const k = new Kernel({ lookup: () => entry(3n) });
  await k.init();
  // A name without its NUL: the header is readable, so the request is answered EINVAL.
  const f = encodeRequest({ unique: 50n, nodeid: 1n }, 'lookup', { name: 'abc' });
  const cut = Buffer.from(f.subarray(0, f.length - 1));
  cut.writeUInt32LE(cut.length, 0);
  const r = decodeReply('lookup', await k.t.request(cut));
  assert.equal(r.error, 22);
  // Shorter than a header: dropped with a log line.
  await k.t.post(Buffer.from([1, 2, 3]));
  assert.match(k.logs.join('\n'), /dropped a malformed frame/);
  // Length field disagreeing with the frame.
  const lying = Buffer.from(f);
  lying.writeUInt32LE(f.length + 10, 0);
  await k.t.post(lying);
  assert.match(k.logs.join('\n'), /header says/);
  assert.equal((await k.call('lookup', 1n, { name: 'ok' })).error, 0);
});

test('getxattr answers the size probe and ERANGE itself; listxattr packs names', async () => {
  const k = new Kernel({ getxattr: () => Buffer.from('hello'), listxattr: () => ['user.a', 'user.bb'] });
  await k.init();
  assert.deepEqual((await k.call('getxattr', 2n, { size: 0, name: 'user.x' })).body, { size: 5 });
  assert.equal((await k.call('getxattr', 2n, { size: 3, name: 'user.x' })).error, 34);
  assert.equal(((await k.call('getxattr', 2n, { size: 64, name: 'user.x' })).body as { data: Buffer }).data.toString(), 'hello');
  assert.deepEqual((await k.call('listxattr', 2n, { size: 0 })).body, { size: 15 });
  assert.equal(((await k.call('listxattr', 2n, { size: 100 })).body as { data: Buffer }).data.toString(), 'user.a\0user.bb\0');
});

test('exactly one reply per request, across many concurrent requests', async () => {
  let n = 0;
  const k = new Kernel({
    getattr: async (_c, id) => {
      await new Promise((r) => setTimeout(r, (n++ * 7) % 5));
      if (id === 13n) throw new Error('unlucky');
      return { attrValid: 1, attrValidNsec: 0, attr: attr(id) };
    },
  });
  await k.init();
  const before = k.t.replies.length;
  const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => k.call('getattr', BigInt(i + 2), { getattrFlags: 0, fh: 0n })));
  assert.equal(k.t.replies.length - before, 200);
  const uniques = new Set(k.t.replies.slice(before).map((f) => f.readBigUInt64LE(8)));
  assert.equal(uniques.size, 200);
  assert.equal(rs.filter((r) => r.error === 5).length, 1);
});

test('notifications are queued off the request path and coalesced', async () => {
  const k = new Kernel({
    lookup: (ctx) => {
      ctx.notifier.invalInode(5n);
      ctx.notifier.invalInode(5n, 0, 4096);
      ctx.notifier.invalInode(5n);
      ctx.notifier.invalEntry(1n, 'x', { expireOnly: true });
      ctx.notifier.invalEntry(1n, 'x', { expireOnly: true });
      assert.equal(k.t.notifications.length, 0, 'nothing is written while the handler runs');
      return entry(5n);
    },
  });
  await k.init();
  await k.call('lookup', 1n, { name: 'x' });
  await k.session.notifier.flush();
  const ns = k.t.notifications.map(decodeNotification);
  assert.equal(ns.length, 2);
  assert.equal(ns[0]!.code, NotifyCode.INVAL_INODE);
  assert.deepEqual(ns[0]!.body, { ino: 5n, off: 0, len: 4096 });
  assert.equal(ns[1]!.code, NotifyCode.INVAL_ENTRY);
  assert.equal((ns[1]!.body as { flags: number }).flags, 1);
  assert.equal(k.session.notifier.stats.coalesced, 3);
});

test('a notification queue overflow degrades to INC_EPOCH plus invalidation of every held node', async () => {
  const k = new Kernel({ lookup: (_c, _p, name) => entry(BigInt(10 + Number(name.toString()))) }, { notifyQueueLimit: 4 });
  await k.init();
  for (let i = 0; i < 3; i++) await k.call('lookup', 1n, { name: String(i) });
  for (let i = 0; i < 20; i++) k.session.notifier.invalEntry(1n, `n${i}`);
  await k.session.notifier.flush();
  const codes = k.t.notifications.map((f) => f.readInt32LE(4));
  assert.ok(codes.includes(NotifyCode.INC_EPOCH), `codes: ${codes}`);
  const inodes = k.t.notifications.filter((f) => f.readInt32LE(4) === NotifyCode.INVAL_INODE).map((f) => f.readBigUInt64LE(16));
  assert.deepEqual(inodes.sort(), [10n, 11n, 12n]);
  assert.equal(k.session.notifier.stats.overflows, 1);
  assert.match(k.logs.join('\n'), /overflow/);
});

test('RETRIEVE resolves with the NOTIFY_REPLY data', async () => {
  const k = new Kernel({});
  await k.init();
  const p = k.session.notifier.retrieve(5n, 0, 8);
  await k.session.notifier.flush();
  const req = decodeNotification(k.t.notifications[0]!);
  assert.equal(req.code, NotifyCode.RETRIEVE);
  const notifyUnique = (req.body as { notifyUnique: bigint }).notifyUnique;
  await k.post('notify_reply', 5n, { offset: 0, size: 4, data: Buffer.from('data') }, notifyUnique);
  assert.equal((await p).toString(), 'data');
});

test('DESTROY calls destroy once and is answered', async () => {
  let destroyed = 0;
  const k = new Kernel({ destroy: () => void destroyed++ });
  await k.init();
  const r = await k.call('destroy', 0n, {});
  assert.equal(r.error, 0);
  await k.t.close();
  assert.equal(destroyed, 1);
  assert.equal(Opcode.DESTROY, 38);
});

test('an open whose reply the kernel never receives is released on the filesystem\'s behalf', async () => {
  const released: bigint[] = [];
  let answer!: () => void;
  const k = new Kernel({
    open: () => new Promise((r) => (answer = () => r({ fh: 77n }))),
    release: (_c, _id, fh) => void released.push(fh),
  });
  await k.init();
  const unique = k.next();
  void k.t.request(encodeRequest({ unique, nodeid: 2n }, 'open', { flags: 0, openFlags: 0 }));
  await new Promise((r) => setImmediate(r));
  k.t.forgetWaiter(unique);
  answer();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(released, [77n]);
});
