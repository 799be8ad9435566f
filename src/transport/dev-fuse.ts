/**
 * The /dev/fuse transport: reads request frames from the device and writes
 * replies back to the fd that delivered each request.
 *
 * Reading strategies (measured in bench/, decision in README.md):
 * - `poll` (default): the fd is made non-blocking and watched by the event loop's
 *   own epoll, through a libuv pipe handle; each readiness event reads one frame
 *   with read(2) on the main thread. No thread hop at all, and no extra threads.
 *   After each request the loop keeps polling for an adaptive window (SpinWindow,
 *   `spinUs`), so a synchronous client's next request finds the thread awake.
 * - `uring`: `fs.read` with libuv's io_uring backend (only when Node started with
 *   UV_USE_IO_URING=1). Node 20's libuv runs that ring with a polling kernel
 *   thread, which competes for the CPU on small machines.
 * - `threadpool`: `fs.read` on libuv's threadpool, one read in flight so the
 *   filesystem's own fs calls keep pool threads. A thread hop per request.
 *
 * Replies are written inline (writev), or, while a busy-poll window is open, by the
 * reply thread (reply-writer.ts), which pays for waking the client so this thread
 * can read the next request; steer.ts keeps that thread on the client's CPU and
 * this one off it (it reads the in-header's pid: the one header field the
 * transport looks at). Notifications are written by a worker thread:
 * a notification can block in the kernel (INVAL_INODE waits on page locks held by
 * reads in flight, INVAL_ENTRY on a directory lock held by a LOOKUP in flight),
 * and those requests need this thread free to answer them. Neither the event loop
 * nor libuv's pool (nor, under UV_USE_IO_URING=1, io_uring's submission thread,
 * where this deadlock was observed) may be the one that waits.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { close as closeFd, dup, schedYield } from '../sys/ffi.ts';
import { reapplyV8Flags } from '../sys/v8-flags.ts';
import { ReplyWriter, WAIT_FOR_REPLIES_SOURCE } from './reply-writer.ts';
import { ClientSteering } from './steer.ts';
import type { Channel, FrameSink, SendFailure, Transport } from './transport.ts';

/** True when libuv was told at start-up to use io_uring for file I/O. */
export const IO_URING_ACTIVE: boolean = process.env.UV_USE_IO_URING === '1';

/** The notification writer: a blocking writev per frame, in its own thread. */
const NOTIFY_WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
${WAIT_FOR_REPLIES_SOURCE}
parentPort.on('message', ({ id, fd, iov, replies, after }) => {
  try {
    if (replies) waitForReplies(new Int32Array(replies), after, 1000);
    fs.writevSync(fd, iov);
    parentPort.postMessage({ id });
  } catch (e) {
    parentPort.postMessage({ id, code: e.code || 'EIO', message: e.message });
  }
});
`;

/** An idle notification writer is stopped after this long (its memory goes back). */
const NOTIFY_WORKER_IDLE_MS = 2000;

/** Frames up to this size are copied out so the big read buffer goes straight back to the pool. */
const SMALL_FRAME = 4096;

export type ReadStrategy = 'poll' | 'uring' | 'threadpool';

/** Default longest busy-poll window (µs): long enough for `find` to parse a READDIRPLUS reply. */
export const DEFAULT_SPIN_US = 300;

/**
 * How long to busy-poll after a request: an adaptive window in the manner of the
 * kernel's haltpoll cpuidle governor. `observe(gap)` is told the time between two
 * requests (ms). A gap inside the window was caught by polling: keep it. A gap a
 * larger window would have caught (up to `max`) doubles it (at least to `max / 8`).
 * A longer gap means polling was wasted: halve it, and below `max / 32` stop.
 * An idle server therefore polls for at most one window after its last request,
 * and a server whose requests come far apart stops polling altogether.
 */
export class SpinWindow {
  /** Current window, ms (0: no polling). */
  window: number;
  readonly max: number;

  constructor(max: number) {
    this.max = max;
    this.window = max / 8;
  }

  observe(gap: number): void {
    if (gap <= this.window) return;
    if (gap <= this.max) {
      this.window = Math.min(this.max, Math.max(this.max / 8, this.window * 2));
    } else {
      const w = this.window / 2;
      this.window = w < this.max / 32 ? 0 : w;
    }
  }
}

interface PipeHandle {
  open(fd: number): number;
}
type PipeCtor = new (type: number) => PipeHandle;

/** libuv's pipe handle (a stream over any pollable fd), when this Node exposes it. */
const PIPE: { Pipe: PipeCtor; SOCKET: number } | undefined = (() => {
  try {
    const b = (process as unknown as { binding(name: string): { Pipe: PipeCtor; constants: { SOCKET: number } } }).binding('pipe_wrap');
    return { Pipe: b.Pipe, SOCKET: b.constants.SOCKET };
  } catch {
    return undefined;
  }
})();

/** The strategy used when none is asked for: poll where possible, else io_uring if active, else the threadpool. */
export const DEFAULT_STRATEGY: ReadStrategy = PIPE ? 'poll' : IO_URING_ACTIVE ? 'uring' : 'threadpool';

export interface DevFuseOptions {
  /** How to wait for requests (see the module doc). Default: DEFAULT_STRATEGY. */
  strategy?: ReadStrategy;
  /** The /dev/fuse session fd (from mount(2) or fusermount3). */
  fd: number;
  /** Reads kept in flight per fd (uring and threadpool strategies). Default 1. */
  readers?: number;
  /** Extra fds cloned with FUSE_DEV_IOC_CLONE (each its own kernel processing queue). Default 0. */
  clones?: number;
  /** Opens a clone of the session fd; needed when `clones` > 0. */
  cloneFd?: (sessionFd: number) => number;
  /** Read buffer size: at least max_write + 4096. Default 1 MiB + 4 KiB. */
  bufferSize?: number;
  log?: (line: string) => void;
  /**
   * Longest busy-poll window after a request, in microseconds (poll strategy only);
   * 0 turns busy polling off. Default DEFAULT_SPIN_US. See SpinWindow.
   */
  spinUs?: number;
  /**
   * Write replies from a second thread while a busy-poll window is open (see
   * reply-writer.ts). Default true; it only runs where busy polling does (more
   * than one CPU, `spinUs` > 0, the poll strategy).
   */
  replyThread?: boolean;
  /** Steer the reply thread to the client's CPU and the event loop off it (steer.ts). Default true. */
  steer?: boolean;
}

interface DevChannel extends Channel {
  readonly fd: number;
}

export class DevFuseTransport implements Transport {
  readonly maxFrameSize: number;
  readonly description: string;
  readonly #channels: DevChannel[] = [];
  readonly #readers: number;
  readonly #pool: Buffer[] = [];
  readonly #ownedFds: number[] = [];
  readonly #strategy: ReadStrategy;
  readonly #sockets: net.Socket[] = [];
  #sink: FrameSink | undefined;
  #writer: Worker | undefined;
  #writerIdle: NodeJS.Timeout | undefined;
  #nextNotify = 1;
  readonly #notifyWaiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  #closing = false;
  #ended = false;
  readonly #spin: SpinWindow | undefined;
  #spinning = false;
  #frames = 0;
  #oneCpu = false;
  /** When the thread last went idle (performance.now()); 0 while requests are being handled. */
  #idleSince = 0;
  readonly #replyThread: boolean;
  #replies: ReplyWriter | undefined;
  readonly #steerOn: boolean;
  #steer: ClientSteering | undefined;
  readonly #log: (line: string) => void;

  constructor(o: DevFuseOptions) {
    this.maxFrameSize = Math.max(o.bufferSize ?? (1 << 20) + 4096, 8192);
    this.#strategy = o.strategy ?? DEFAULT_STRATEGY;
    if (this.#strategy === 'poll' && !PIPE) throw new Error('the poll strategy needs libuv pipe handles, which this Node does not expose');
    this.#readers = Math.max(1, o.readers ?? 1);
    const spinUs = o.spinUs ?? DEFAULT_SPIN_US;
    this.#spin = spinUs > 0 && this.#strategy === 'poll' ? new SpinWindow(spinUs / 1000) : undefined;
    this.#replyThread = (o.replyThread ?? true) && this.#spin !== undefined;
    this.#steerOn = this.#replyThread && (o.steer ?? true);
    this.#log = o.log ?? (() => {});
    const fds = [o.fd];
    for (let i = 0; i < (o.clones ?? 0); i++) {
      if (!o.cloneFd) throw new Error('clones need a cloneFd function');
      const c = o.cloneFd(o.fd);
      fds.push(c);
      this.#ownedFds.push(c);
    }
    fds.forEach((fd, id) => this.#channels.push(this.#makeChannel(fd, id)));
    this.description = this.#strategy === 'poll'
      ? `/dev/fuse fd ${fds.join(',')}, event-loop poll`
      : `/dev/fuse fd ${fds.join(',')}, ${this.#strategy} reads, ${this.#readers} in flight per fd`;
  }

  start(sink: FrameSink): void {
    if (this.#sink) throw new Error('DevFuseTransport started twice');
    this.#sink = sink;
    for (const ch of this.#channels) {
      if (this.#strategy === 'poll') this.#poll(ch);
      else for (let i = 0; i < this.#readers; i++) this.#issue(ch);
    }
  }

  /**
   * Watch a dup of the channel's fd with a libuv pipe handle. libuv reads into our
   * one buffer (Node's `onread` option) whenever epoll says a request is queued;
   * the frame is copied out at once because the buffer is reused. The dup lets a
   * read error close the handle without closing the session fd.
   */
  #poll(ch: DevChannel): void {
    if (this.#closing) return;
    const { Pipe, SOCKET } = PIPE!;
    const fd = dup(ch.fd);
    const handle = new Pipe(SOCKET);
    const r = handle.open(fd);
    if (r !== 0) {
      closeFd(fd);
      this.#end(new Error(`cannot watch /dev/fuse with the event loop (libuv error ${r})`));
      return;
    }
    const buffer = Buffer.allocUnsafeSlow(this.maxFrameSize);
    const sink = this.#sink!;
    const sock = new net.Socket({
      handle,
      readable: true,
      writable: false,
      onread: {
        buffer,
        callback: (n: number, buf: Buffer): boolean => {
          const frame = Buffer.allocUnsafe(n);
          buf.copy(frame, 0, 0, n);
          sink.onFrame(frame, ch, noop);
          if (this.#spin) this.#keepPolling(frame);
          return true;
        },
      },
    } as net.SocketConstructorOpts);
    this.#sockets.push(sock);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      this.#onReadError(err, () => this.#poll(ch));
    });
    sock.on('end', () => this.#end());
  }

  /**
   * Busy polling: for a while after each request, keep the event loop from sleeping
   * (a pending setImmediate makes libuv poll epoll with a zero timeout), so the next
   * request of a synchronous client is read without this thread going to sleep and
   * being woken again (on a VM, an inter-processor interrupt and a halt exit each
   * way). How long is decided by `SpinWindow`, which grows while requests keep
   * arriving just after the window closed and shrinks to nothing when they don't.
   */
  #keepPolling(frame: Buffer): void {
    // Allowed a single CPU (taskset, a cpuset, a one-CPU container), polling can only keep
    // the client from running: don't. Re-read now and then, since affinity can change.
    if ((++this.#frames & 4095) === 1) {
      // While steering, this thread's own CPUs are narrowed on purpose: count the process's.
      const steer = this.#steer;
      steer?.check();
      this.#oneCpu = (steer && steer.cpu !== -1 ? steer.base.length : os.availableParallelism()) <= 1;
    }
    if (this.#oneCpu) return;
    const now = performance.now();
    if (this.#idleSince > 0) this.#spin!.observe(now - this.#idleSince);
    this.#idleSince = 0;
    // fuse_in_header.pid (offset 32): the thread that made the request.
    if (this.#steer && frame.length >= 40) this.#steer.observe(frame.readUInt32LE(32), now);
    if (this.#spinning) return;
    this.#spinning = true;
    if (this.#replyThread && !this.#closing) this.#startReplyThread().spin(true);
    setImmediate(this.#spinTick);
  }

  #startReplyThread(): ReplyWriter {
    if (this.#replies) return this.#replies;
    const r = new ReplyWriter({ log: this.#log });
    this.#replies = r;
    if (this.#steerOn) {
      this.#steer = new ClientSteering({
        steerWriter: (cpu, base) => r.setAffinity(cpu === -1 ? base : [cpu]),
        log: this.#log,
      });
    }
    return r;
  }

  /** Runs after the request's synchronous work and replies: the thread is idle from here. */
  readonly #spinTick = (): void => {
    const now = performance.now();
    if (this.#idleSince === 0) this.#idleSince = now;
    if (!this.#closing && now - this.#idleSince < this.#spin!.window) {
      // A client on this same CPU can only send its next request once it runs: give it the CPU.
      schedYield();
      setImmediate(this.#spinTick);
    } else {
      this.#spinning = false;
      this.#replies?.spin(false);
    }
  };

  notify(iov: readonly Buffer[]): Promise<void> {
    if (this.#closing) return Promise.reject(Object.assign(new Error('transport closed'), { code: 'ENODEV' }));
    const fd = this.#channels[0]!.fd;
    const w = this.#notifyWriter();
    const id = this.#nextNotify++;
    // A notification must not overtake a reply queued before it (see reply-writer.ts).
    const r = this.#replies;
    const replies = r?.ready ? r.control : undefined;
    const after = replies ? r!.position() : 0;
    return new Promise<void>((resolve, reject) => {
      this.#notifyWaiting.set(id, { resolve, reject });
      w.postMessage({ id, fd, iov: iov.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)), replies, after });
    });
  }

  #notifyWriter(): Worker {
    if (this.#writerIdle) clearTimeout(this.#writerIdle);
    this.#writerIdle = undefined;
    if (this.#writer) return this.#writer;
    const w = new Worker(NOTIFY_WORKER, { eval: true });
    w.once('online', reapplyV8Flags); // a starting Worker resets them (sys/v8-flags.ts)
    w.unref();
    w.on('message', (m: { id: number; code?: string; message?: string }) => {
      const p = this.#notifyWaiting.get(m.id);
      if (!p) return;
      this.#notifyWaiting.delete(m.id);
      if (m.code) p.reject(Object.assign(new Error(m.message ?? m.code), { code: m.code }));
      else p.resolve();
      if (this.#notifyWaiting.size === 0 && !this.#closing) {
        this.#writerIdle = setTimeout(() => this.#stopWriter(), NOTIFY_WORKER_IDLE_MS);
        this.#writerIdle.unref();
      }
    });
    w.on('error', (e) => this.#failNotifications(e));
    this.#writer = w;
    return w;
  }

  #stopWriter(): void {
    const w = this.#writer;
    this.#writer = undefined;
    if (this.#writerIdle) clearTimeout(this.#writerIdle);
    this.#writerIdle = undefined;
    if (w) void w.terminate();
  }

  #failNotifications(e: Error): void {
    for (const p of this.#notifyWaiting.values()) p.reject(Object.assign(e, { code: (e as { code?: string }).code ?? 'EIO' }));
    this.#notifyWaiting.clear();
    this.#stopWriter();
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const s of this.#sockets) s.destroy();
    this.#steer?.release();
    await this.#replies?.close();
    this.#failNotifications(Object.assign(new Error('transport closed'), { code: 'ENODEV' }));
    for (const fd of this.#ownedFds) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    this.#finish();
  }

  #makeChannel(fd: number, id: number): DevChannel {
    return {
      id,
      fd,
      send: (iov: readonly Buffer[], onFail?: SendFailure): void => {
        // Inside a busy-poll window the reply thread writes it (and pays for waking the client).
        if (this.#spinning && this.#replies?.send(fd, iov, onFail)) return;
        if (iov.length === 1) fs.writeSync(fd, iov[0]!);
        else fs.writevSync(fd, iov as Buffer[]);
      },
    };
  }

  #issue(ch: DevChannel): void {
    if (this.#closing) return;
    const buf = this.#pool.pop() ?? Buffer.allocUnsafeSlow(this.maxFrameSize);
    fs.read(ch.fd, buf, 0, buf.length, null, (err, n) => this.#onRead(ch, buf, err, n));
  }

  #onRead(ch: DevChannel, buf: Buffer, err: NodeJS.ErrnoException | null, n: number): void {
    if (err) {
      this.#release(buf);
      this.#onReadError(err, () => this.#issue(ch));
      return;
    }
    this.#issue(ch);
    const sink = this.#sink!;
    if (n <= SMALL_FRAME) {
      const frame = Buffer.allocUnsafe(n);
      buf.copy(frame, 0, 0, n);
      this.#release(buf);
      sink.onFrame(frame, ch, noop);
    } else {
      sink.onFrame(buf.subarray(0, n), ch, () => this.#release(buf));
    }
  }

  #onReadError(err: NodeJS.ErrnoException, retry: () => void): void {
    switch (err.code) {
      case 'ENOENT': // the request was interrupted while we read it
      case 'EINTR':
      case 'EAGAIN':
        retry();
        return;
      case 'ENODEV': // unmounted (or aborted without ABORT_ERROR)
        this.#end();
        return;
      case 'ECONNABORTED':
        this.#end(Object.assign(new Error('the connection was aborted (through /sys/fs/fuse/connections/*/abort)'), { code: 'ECONNABORTED' }));
        return;
      default:
        if (this.#closing) return this.#finish();
        this.#end(Object.assign(new Error(`reading /dev/fuse failed: ${err.message}`), { code: err.code }));
    }
  }

  #release(buf: Buffer): void {
    if (this.#pool.length < this.#readers * this.#channels.length + 2) this.#pool.push(buf);
  }

  #end(error?: Error): void {
    this.#closing = true;
    if (this.#ended) return;
    this.#ended = true;
    this.#sink?.onClose(error);
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#sink?.onClose();
  }
}

function noop(): void {}
