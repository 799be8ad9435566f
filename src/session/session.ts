/**
 * The session: one FUSE connection, over any transport.
 *
 * It owns INIT, dispatch, interrupts, lookup counts and notifications. Each
 * frame is decoded, handed to the filesystem, and answered exactly once on the
 * channel it arrived on. Malformed frames, unknown opcodes and throwing handlers
 * become error replies; nothing a request does can stop the session.
 */
import { FuseError, ProtocolError, errnoName, errnoOf } from '../errors.ts';
import { InitFlag, Opcode } from '../protocol/abi.ts';
import { decodeRequest, headerOf, OP_NAMES, type Request } from '../protocol/decode.ts';
import { formatReply, formatRequest } from '../protocol/debug.ts';
import { encodeError, encodeInitOut, encodeReply, iovLength } from '../protocol/encode.ts';
import type { InHeader, NodeId, Unique } from '../protocol/types.ts';
import type { Channel, FrameSink, Transport } from '../transport/transport.ts';
import { dispatch, NO_REPLY, type Reply, type ReplyOrPromise } from './dispatch.ts';
import { negotiate, initFlagNames, type Negotiated } from './init.ts';
import { Interrupts } from './interrupt.ts';
import type { LowLevelFs, RequestContext } from './lowlevel.ts';
import { NotifyQueue, type Notifier } from './notify.ts';

export interface SessionOptions {
  /** Print every request and reply, decoded, like `libfuse -d`. */
  debug?: boolean;
  /** Where log lines go (default: stderr with a `fusekit:` prefix). */
  log?: (line: string) => void;
  /** Largest WRITE to negotiate (bounded by the transport's frame size); default 1 MiB. */
  maxWrite?: number;
  /** Bound of the notification queue before it degrades to revalidate-everything. */
  notifyQueueLimit?: number;
}

/** Why a session ended. */
export interface SessionEnd {
  /** undefined for a clean unmount. */
  error?: Error;
}

class Context implements RequestContext {
  readonly unique: Unique;
  readonly opcode: number;
  readonly nodeid: NodeId;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  readonly groups?: readonly number[];
  readonly notifier: Notifier;
  #ac: AbortController | undefined;

  constructor(h: InHeader, notifier: Notifier, groups?: readonly number[]) {
    this.unique = h.unique;
    this.opcode = h.opcode;
    this.nodeid = h.nodeid;
    this.uid = h.uid;
    this.gid = h.gid;
    this.pid = h.pid;
    if (groups) this.groups = groups;
    this.notifier = notifier;
  }

  get signal(): AbortSignal {
    this.#ac ??= new AbortController();
    return this.#ac.signal;
  }

  get aborted(): boolean {
    return this.#ac?.signal.aborted ?? false;
  }

  abort(): void {
    this.#ac ??= new AbortController();
    this.#ac.abort(new FuseError(4, 'interrupted'));
  }
}

export class Session implements FrameSink {
  readonly #fs: LowLevelFs;
  readonly #transport: Transport;
  readonly #debug: boolean;
  readonly #log: (line: string) => void;
  readonly #maxWrite: number;
  readonly #notify: NotifyQueue;
  readonly #interrupts = new Interrupts<Context>();
  readonly #counts = new Map<NodeId, bigint>();
  #negotiated: Negotiated | undefined;
  #initPending = false;
  #destroyed = false;
  #ended = false;
  #done!: (end: SessionEnd) => void;
  readonly #end: Promise<SessionEnd>;
  #onInit: (() => void)[] = [];
  #inflight = 0;

  constructor(fs: LowLevelFs, transport: Transport, opts: SessionOptions = {}) {
    this.#fs = fs;
    this.#transport = transport;
    this.#debug = opts.debug === true;
    this.#log = opts.log ?? ((l) => process.stderr.write(`fusekit: ${l}\n`));
    this.#maxWrite = Math.min(opts.maxWrite ?? 1 << 20, transport.maxFrameSize - 4096);
    this.#end = new Promise((r) => (this.#done = r));
    this.#notify = new NotifyQueue({
      send: (iov) => this.#transport.notify(iov),
      minor: () => this.#negotiated?.minor ?? 0,
      flags: () => this.#negotiated?.capable ?? 0n,
      heldNodes: () => this.#counts.keys(),
      limit: opts.notifyQueueLimit,
      log: this.#log,
    });
  }

  /** Queue cache invalidations; usable before INIT (they wait) and from any handler. */
  get notifier(): Notifier {
    return this.#notify;
  }

  /** What INIT settled, once it has. */
  get negotiated(): Readonly<Negotiated> | undefined {
    return this.#negotiated;
  }

  /** Lookup counts the kernel holds, by node id (for tests and leak checks). */
  get lookupCounts(): ReadonlyMap<NodeId, bigint> {
    return this.#counts;
  }

  /** Requests being handled right now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Start the transport; resolves when the connection ends. */
  run(): Promise<SessionEnd> {
    this.#transport.start(this);
    return this.#end;
  }

  /** Resolves once INIT has been answered. */
  initialized(): Promise<void> {
    if (this.#negotiated) return Promise.resolve();
    return new Promise((r) => this.#onInit.push(r));
  }

  /** Stop the transport (the mount layer unmounts first). */
  async close(): Promise<void> {
    await this.#transport.close();
    this.onClose();
  }

  // ── FrameSink ──────────────────────────────────────────────────────────────

  onFrame(frame: Buffer, channel: Channel, done: () => void): void {
    let req: Request;
    try {
      req = decodeRequest(frame, { setxattrExt: ((this.#negotiated?.flags ?? 0n) & InitFlag.SETXATTR_EXT) !== 0n });
    } catch (e) {
      this.#badFrame(e, channel);
      done();
      return;
    }
    if (this.#debug) this.#log(formatRequest(req));
    const h = req.header;
    switch (h.opcode) {
      case Opcode.INIT:
        void this.#init(req as Extract<Request, { op: 'init' }>, channel).finally(done);
        return;
      case Opcode.FORGET:
        this.#forget(h.nodeid, (req.body as { nlookup: bigint }).nlookup);
        done();
        return;
      case Opcode.BATCH_FORGET:
        for (const f of (req.body as { forgets: { nodeid: NodeId; nlookup: bigint }[] }).forgets) this.#forget(f.nodeid, f.nlookup);
        done();
        return;
      case Opcode.INTERRUPT:
        this.#interrupt(h, (req.body as { unique: Unique }).unique, channel);
        done();
        return;
      case Opcode.NOTIFY_REPLY:
        if (!this.#notify.answerRetrieve(h.unique, (req.body as { data: Buffer }).data)) {
          this.#log(`NOTIFY_REPLY for unknown retrieve ${h.unique} dropped`);
        }
        done();
        return;
      case Opcode.DESTROY:
        void this.#destroy().finally(() => {
          this.#send(channel, h.unique, req.op, { payload: [] });
          done();
        });
        return;
    }
    if (!this.#negotiated) {
      this.#sendError(channel, h.unique, req.op, 5);
      done();
      return;
    }
    this.#handle(req, channel, done);
  }

  onClose(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#notify.close();
    void this.#destroy().finally(() => this.#done(error ? { error } : {}));
  }

  // ── Requests ───────────────────────────────────────────────────────────────

  /**
   * Run one request. A handler that answers synchronously is answered at once,
   * with no promise, microtask or interrupt registration (no INTERRUPT can reach a
   * request that never yields). One that returns a promise is registered so an
   * INTERRUPT can abort it, and answered when it settles; `done` runs then.
   */
  #handle(req: Request, channel: Channel, done: () => void): void {
    const h = req.header;
    const ctx = new Context(h, this.#notify, req.ext?.groups);
    let r: ReplyOrPromise;
    try {
      r = dispatch(this.#fs, ctx, req);
    } catch (e) {
      this.#sendError(channel, h.unique, req.op, this.#errnoFor(e, req, ctx));
      done();
      return;
    }
    if (!(r instanceof Promise)) {
      this.#send(channel, h.unique, req.op, r, ctx);
      done();
      return;
    }
    this.#interrupts.begin(h.unique, ctx);
    this.#inflight++;
    r.then(
      (reply) => {
        this.#settled(h.unique);
        this.#send(channel, h.unique, req.op, reply, ctx);
        done();
      },
      (e: unknown) => {
        this.#settled(h.unique);
        this.#sendError(channel, h.unique, req.op, this.#errnoFor(e, req, ctx));
        done();
      },
    );
  }

  #settled(unique: Unique): void {
    this.#inflight--;
    this.#interrupts.end(unique);
  }

  /** The errno that answers a handler's failure; an unexpected one is logged and answers EIO. */
  #errnoFor(e: unknown, req: Request, ctx: Context): number {
    if (ctx.aborted) return 4; // EINTR: the handler gave up after an INTERRUPT
    const errno = errnoOf(e);
    if (errno !== 0) return errno;
    const h = req.header;
    this.#log(`${req.op} (unique ${h.unique}, node ${h.nodeid}) failed; answering EIO: ${describe(e)}`);
    return 5;
  }

  async #init(req: Extract<Request, { op: 'init' }>, channel: Channel): Promise<void> {
    const h = req.header;
    if (this.#negotiated || this.#initPending) {
      this.#log('INIT received twice; answering EIO');
      this.#sendError(channel, h.unique, 'init', 5);
      return;
    }
    this.#initPending = true;
    try {
      const n = await negotiate(this.#fs, req.body, { maxWrite: this.#maxWrite }, (conn) => this.#fs.init?.(conn, this.#notify));
      this.#negotiated = n;
      if (this.#debug) {
        this.#log(`INIT: kernel ${req.body.major}.${req.body.minor}, using 7.${n.minor}, max_write ${n.maxWrite}`);
        this.#log(`INIT: flags ${initFlagNames(n.flags).join(' ')}`);
      }
      this.#sendRaw(channel, h.unique, 'init', encodeReply(h.unique, encodeInitOut(n.out)));
      for (const r of this.#onInit.splice(0)) r();
    } catch (e) {
      this.#log(`INIT failed: ${describe(e)}`);
      this.#sendError(channel, h.unique, 'init', 71 /* EPROTO */);
    } finally {
      this.#initPending = false;
    }
  }

  #forget(nodeid: NodeId, nlookup: bigint): void {
    const have = this.#counts.get(nodeid);
    if (have === undefined || nlookup > have) {
      if (nodeid !== 1n) this.#log(`FORGET ${nlookup} on node ${nodeid}, which holds ${have ?? 0}`);
      this.#counts.delete(nodeid);
    } else if (have === nlookup) {
      this.#counts.delete(nodeid);
    } else {
      this.#counts.set(nodeid, have - nlookup);
    }
    try {
      this.#fs.forget?.(nodeid, nlookup);
    } catch (e) {
      this.#log(`forget(${nodeid}, ${nlookup}) threw: ${describe(e)}`);
    }
  }

  #interrupt(h: InHeader, target: Unique, channel: Channel): void {
    const ctx = this.#interrupts.get(target);
    if (ctx) {
      ctx.abort();
      return;
    }
    // Unknown: the request may still be on its way through another reader. Look
    // again after pending I/O callbacks; then answer EAGAIN so the kernel requeues it.
    setImmediate(() => {
      const later = this.#interrupts.get(target);
      if (later) later.abort();
      else this.#sendError(channel, h.unique, 'interrupt', 11 /* EAGAIN */);
    });
  }

  async #destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    try {
      await this.#fs.destroy?.();
    } catch (e) {
      this.#log(`destroy threw: ${describe(e)}`);
    }
  }

  #badFrame(e: unknown, channel: Channel): void {
    const h = headerOf(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (!(e instanceof ProtocolError)) {
      this.#log(`decoder bug on a frame: ${describe(e)}`);
    }
    if (!h) {
      this.#log(`dropped a malformed frame: ${msg}`);
      return;
    }
    const op = OP_NAMES[h.opcode] ?? `opcode ${h.opcode}`;
    if (NO_REPLY.has(h.opcode) || (h.unique & 1n) === 1n && h.opcode === Opcode.INTERRUPT) {
      this.#log(`dropped a malformed ${op} frame: ${msg}`);
      return;
    }
    const errno = e instanceof ProtocolError ? e.errno : 22;
    if (!(e instanceof ProtocolError && e.kind === 'unknown-opcode')) this.#log(`malformed ${op} (unique ${h.unique}): ${msg}; answering ${errnoName(errno)}`);
    this.#sendError(channel, h.unique, op, errno);
  }

  // ── Replies ────────────────────────────────────────────────────────────────

  #send(channel: Channel, unique: Unique, op: string, reply: Reply, ctx?: RequestContext): void {
    const entries = reply.entries;
    const opened = ctx ? reply.opened : undefined;
    // A reply the transport queued can still fail (interrupted, unmounted): then the kernel
    // took none of its references or handles after all, and those counted are given back.
    const late = entries || opened
      ? (e: Error & { code: string }) => {
        this.#sendFailed(e, unique, op);
        if (opened) this.#releaseUndelivered(ctx!, opened);
        if (entries) for (const id of entries) this.#forget(id, 1n);
      }
      : undefined;
    const ok = this.#sendRaw(channel, unique, op, encodeReply(unique, reply.payload), 0, late);
    if (!ok && opened) this.#releaseUndelivered(ctx!, opened);
    if (!entries) return;
    if (ok) {
      for (const id of entries) this.#counts.set(id, (this.#counts.get(id) ?? 0n) + 1n);
    } else {
      // The kernel never saw this reply, so it took no references: give them back to the filesystem.
      for (const id of entries) {
        try {
          this.#fs.forget?.(id, 1n);
        } catch (e) {
          this.#log(`forget(${id}, 1) threw: ${describe(e)}`);
        }
      }
    }
  }

  /** The kernel never saw an open's reply, so it will never RELEASE it: release it here (libfuse does the same). */
  #releaseUndelivered(ctx: RequestContext, o: NonNullable<Reply['opened']>): void {
    const fs = this.#fs;
    Promise.resolve()
      .then(() => (o.dir ? fs.releasedir?.(ctx, o.nodeid, o.fh, o.flags) : fs.release?.(ctx, o.nodeid, o.fh, o.flags, 0, 0n)))
      .catch((e: unknown) => this.#log(`release of undelivered handle ${o.fh} failed: ${describe(e)}`));
  }

  #sendError(channel: Channel, unique: Unique, op: string, errno: number): void {
    this.#sendRaw(channel, unique, op, [encodeError(unique, errno)], errno);
  }

  /**
   * Write one reply; false if the kernel did not take it (request gone, connection
   * down). True also for a reply the transport queued: if that write fails later,
   * `late` (or, without one, just the log) hears of it.
   */
  #sendRaw(channel: Channel, unique: Unique, op: string, iov: Buffer[], errno = 0, late?: (e: Error & { code: string }) => void): boolean {
    if (this.#debug) this.#log(formatReply(unique, op, errno !== 0 ? errno : { outsize: iovLength(iov) }));
    try {
      channel.send(iov, late ?? ((e) => this.#sendFailed(e, unique, op)));
      return true;
    } catch (e) {
      this.#sendFailed(e, unique, op);
      return false;
    }
  }

  #sendFailed(e: unknown, unique: Unique, op: string): void {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') {
      if (this.#debug) this.#log(`   unique: ${unique}, reply dropped: request was interrupted`);
    } else if (code !== 'ENODEV' && code !== 'ECONNABORTED' && code !== 'EBADF') {
      this.#log(`reply to ${op} (unique ${unique}) failed: ${describe(e)}`);
    }
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
