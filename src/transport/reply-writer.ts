/**
 * The reply writer: a second thread that writes replies while the event loop
 * goes back to reading requests.
 *
 * Why: a reply's write(2) is where the kernel wakes the client that waits for
 * it, and when that client's CPU is idle the waker pays for the wake-up. On a
 * VM whose idle vCPUs halt, that is an inter-processor interrupt and a VM exit,
 * charged to the writing thread: measured on the 2-vCPU bench host, the reply to
 * a synchronous request took 14 µs to write, the reply to a RELEASE (which
 * nobody waits for) 1.7 µs. A single-threaded server stalls for those 14 µs
 * while the client's next request waits; libfuse's thread pool hides them
 * because another thread reads the next request meanwhile. Here the event loop
 * copies the reply into a shared ring (well under a microsecond) and this thread
 * does the write(2) and takes the stall.
 *
 * How: a SharedArrayBuffer of `slots` slots of `slotSize` bytes, each with its
 * length, fd and result, and a control block (head, tail, state, spin, stop).
 * The event loop owns `head`; the writer owns `tail`. While the transport's
 * busy-poll window is open (`spin(true)`) the writer polls the ring, yielding the
 * CPU (sched_yield) between polls so a client on the same CPU runs at once; when
 * the window closes it drains the ring and sleeps on a futex (Atomics.wait). The
 * transport only queues replies while the window is open, so the event loop
 * never pays a futex wake per reply: replies outside a window (the first of a
 * burst, replies too big for a slot, a full ring) are written inline as before.
 *
 * Failures: a queued reply's fate is known only later. The writer records each
 * slot's errno; the owner `sweep`s finished slots (before reusing one, and when
 * the writer posts that one failed) and calls the `onFail` the reply was queued
 * with, so the session can give back lookup references and handles the kernel
 * never received, exactly as for an inline write that threw.
 *
 * Ordering: replies to different requests need no order; a notification must
 * not overtake a reply queued before it (an INVAL_ENTRY would otherwise reach
 * the kernel before the LOOKUP reply that creates the dentry). `position()` and
 * `waitFor()` give the notification writer that barrier.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CPUSET_BYTES, errnoCode, writeCpuSet } from '../sys/ffi.ts';
import { reapplyV8Flags } from '../sys/v8-flags.ts';
import type { SendFailure } from './transport.ts';

/** Control block indices (Int32). */
const HEAD = 0;
const TAIL = 1;
const STATE = 2;
const SPIN = 3;
const STOP = 4;
const READY = 5;
/** Bumped when `affinity` holds a new CPU set for the thread. */
const AFFINITY_GEN = 6;
const CTRL_INTS = 8;
/** STATE values. */
const AWAKE = 0;
const ASLEEP = 1;
/** Per-slot metadata (Int32): length, fd, result (positive errno or 0). */
const META = 3;

/** The writer thread (CommonJS, evaluated). */
const WRITER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const koffi = require(workerData.koffi);
const libc = koffi.load('libc.so.6');
const schedYield = libc.func('int sched_yield()');
const setAffinity = libc.func('int sched_setaffinity(int pid, size_t size, const void *mask)');
const { slots, slotSize } = workerData;
const data = new Uint8Array(workerData.data);
const ctrl = new Int32Array(workerData.ctrl);
const meta = new Int32Array(workerData.meta);
const cpuset = Buffer.from(workerData.affinity);
const mask = slots - 1;
let tail = Atomics.load(ctrl, ${TAIL});
let affinityGen = 0;
Atomics.store(ctrl, ${READY}, 1);
for (;;) {
  const gen = Atomics.load(ctrl, ${AFFINITY_GEN});
  if (gen !== affinityGen) {
    affinityGen = gen;
    setAffinity(0, ${CPUSET_BYTES}, Buffer.from(cpuset)); // failure: stay where we are
  }
  const head = Atomics.load(ctrl, ${HEAD});
  if (head !== tail) {
    const slot = tail & mask;
    let result = 0;
    try {
      fs.writeSync(meta[slot * ${META} + 1], data, slot * slotSize, meta[slot * ${META}]);
    } catch (e) {
      result = typeof e.errno === 'number' && e.errno < 0 ? -e.errno : 5;
    }
    meta[slot * ${META} + 2] = result;
    tail = (tail + 1) | 0;
    Atomics.store(ctrl, ${TAIL}, tail);
    Atomics.notify(ctrl, ${TAIL});
    if (result !== 0) parentPort.postMessage(tail);
    continue;
  }
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  if (Atomics.load(ctrl, ${SPIN}) === 1) {
    schedYield();
    continue;
  }
  Atomics.store(ctrl, ${STATE}, ${ASLEEP});
  if (Atomics.load(ctrl, ${HEAD}) === tail && Atomics.load(ctrl, ${SPIN}) === 0 && Atomics.load(ctrl, ${STOP}) === 0) {
    Atomics.wait(ctrl, ${HEAD}, tail);
  }
  Atomics.store(ctrl, ${STATE}, ${AWAKE});
}
`;

export interface ReplyWriterOptions {
  /** Ring slots, a power of two. Default 64. */
  slots?: number;
  /** Largest reply queued (bytes); bigger ones are written inline. Default 16 KiB. */
  slotSize?: number;
  log?: (line: string) => void;
}

export class ReplyWriter {
  readonly slots: number;
  readonly slotSize: number;
  readonly #data: Buffer;
  readonly #ctrl: Int32Array;
  readonly #meta: Int32Array;
  readonly #affinity: Uint8Array;
  readonly #onFail: (SendFailure | undefined)[];
  readonly #worker: Worker;
  readonly #log: (line: string) => void;
  #head = 0;
  /** Slots below this sequence number have been swept. */
  #swept = 0;
  #spin = false;
  #closed = false;
  #failed = false;
  #closing: Promise<void> | undefined;

  constructor(o: ReplyWriterOptions = {}) {
    this.slots = o.slots ?? 64;
    if (this.slots < 2 || (this.slots & (this.slots - 1)) !== 0) throw new RangeError(`slots must be a power of two ≥ 2, not ${this.slots}`);
    this.slotSize = o.slotSize ?? 16384;
    this.#log = o.log ?? (() => {});
    const data = new SharedArrayBuffer(this.slots * this.slotSize);
    const ctrl = new SharedArrayBuffer(CTRL_INTS * 4);
    const meta = new SharedArrayBuffer(this.slots * META * 4);
    const affinity = new SharedArrayBuffer(CPUSET_BYTES);
    this.#affinity = new Uint8Array(affinity);
    this.#data = Buffer.from(data);
    this.#ctrl = new Int32Array(ctrl);
    this.#meta = new Int32Array(meta);
    this.#onFail = new Array<SendFailure | undefined>(this.slots).fill(undefined);
    const koffi = createRequire(import.meta.url).resolve('koffi');
    // The loop allocates a little per turn (koffi calls): a small young generation of its own.
    this.#worker = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: { koffi, data, ctrl, meta, affinity, slots: this.slots, slotSize: this.slotSize },
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.#worker.once('online', reapplyV8Flags); // a starting Worker resets them (sys/v8-flags.ts)
    this.#worker.on('message', () => this.sweep());
    this.#worker.on('error', (e) => {
      this.#log(`reply writer thread failed: ${e.message}; writing replies inline`);
      this.#closed = true;
      this.#failed = true;
      this.#drainInline();
    });
    this.#worker.unref(); // after the listeners: adding one re-refs the worker
  }

  /** True once the thread runs and the ring is open. */
  get ready(): boolean {
    return !this.#closed && Atomics.load(this.#ctrl, READY) === 1;
  }

  /**
   * Queue one reply for `fd`. False (nothing queued) when the writer is not
   * running, the reply is larger than a slot, or the ring is full: write it inline.
   */
  send(fd: number, iov: readonly Buffer[], onFail?: SendFailure): boolean {
    if (!this.ready) return false;
    let total = 0;
    for (const b of iov) total += b.length;
    if (total > this.slotSize) return false;
    const tail = Atomics.load(this.#ctrl, TAIL);
    if (((this.#head - tail) | 0) >= this.slots) return false;
    // The slot we are about to reuse last held reply head − slots: report it first if it failed.
    this.#sweepTo(tail);
    const slot = this.#head & (this.slots - 1);
    let off = slot * this.slotSize;
    for (const b of iov) off += b.copy(this.#data, off);
    const m = slot * META;
    this.#meta[m] = total;
    this.#meta[m + 1] = fd;
    this.#meta[m + 2] = 0;
    this.#onFail[slot] = onFail;
    this.#head = (this.#head + 1) | 0;
    Atomics.store(this.#ctrl, HEAD, this.#head);
    if (Atomics.load(this.#ctrl, STATE) === ASLEEP) Atomics.notify(this.#ctrl, HEAD);
    return true;
  }

  /** Keep the thread polling (true: the transport's busy-poll window is open) or let it sleep. */
  spin(on: boolean): void {
    if (on === this.#spin || this.#closed) return;
    this.#spin = on;
    Atomics.store(this.#ctrl, SPIN, on ? 1 : 0);
    if (on && Atomics.load(this.#ctrl, STATE) === ASLEEP) Atomics.notify(this.#ctrl, HEAD);
  }

  /**
   * Move the thread to `cpus` (see steer.ts). It applies the set at its next turn
   * through the ring; a sleeping thread, when it next wakes.
   */
  setAffinity(cpus: readonly number[]): void {
    writeCpuSet(this.#affinity, cpus);
    Atomics.add(this.#ctrl, AFFINITY_GEN, 1);
  }

  /** How many replies have been queued so far (a position to wait for). */
  position(): number {
    return this.#head;
  }

  /** The shared control block, for `waitFor` in another thread. */
  get control(): SharedArrayBuffer {
    return this.#ctrl.buffer as SharedArrayBuffer;
  }

  /** Report the failures among finished slots. */
  sweep(): void {
    this.#sweepTo(Atomics.load(this.#ctrl, TAIL));
  }

  #sweepTo(tail: number): void {
    while (this.#swept !== tail) {
      const slot = this.#swept & (this.slots - 1);
      const cb = this.#onFail[slot];
      const errno = this.#meta[slot * META + 2]!;
      this.#onFail[slot] = undefined;
      this.#swept = (this.#swept + 1) | 0;
      if (errno !== 0) {
        const code = errnoCode(errno);
        const err = Object.assign(new Error(`write /dev/fuse: ${code}`), { code, errno: -errno });
        if (cb) cb(err);
        else if (code !== 'ENOENT' && code !== 'ENODEV' && code !== 'ECONNABORTED') this.#log(`a queued reply failed: ${code}`);
      }
    }
  }

  /** Let queued replies go out (up to `ms`), stop the thread, and report what failed. Idempotent. */
  close(ms = 1000): Promise<void> {
    this.#closing ??= this.#close(ms);
    return this.#closing;
  }

  async #close(ms: number): Promise<void> {
    this.#closed = true;
    const until = Date.now() + ms;
    while (Atomics.load(this.#ctrl, TAIL) !== this.#head && Atomics.load(this.#ctrl, READY) === 1 && !this.#failed && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1));
    }
    Atomics.store(this.#ctrl, STOP, 1);
    Atomics.notify(this.#ctrl, HEAD);
    await this.#worker.terminate();
    this.#drainInline();
  }

  /**
   * The thread is gone: write what it left in the ring from here, then report
   * failures. The first slot may have been written just before the thread
   * stopped (it had not advanced `tail` yet); the kernel then answers ENOENT,
   * which is taken as delivered rather than undoing references the kernel has.
   */
  #drainInline(): void {
    const first = Atomics.load(this.#ctrl, TAIL);
    let tail = first;
    while (tail !== this.#head) {
      const slot = tail & (this.slots - 1);
      const m = slot * META;
      try {
        fs.writeSync(this.#meta[m + 1]!, this.#data, slot * this.slotSize, this.#meta[m]!);
      } catch (e) {
        const errno = (e as { errno?: number }).errno;
        const n = typeof errno === 'number' && errno < 0 ? -errno : 5;
        if (!(tail === first && n === 2)) this.#meta[m + 2] = n;
      }
      tail = (tail + 1) | 0;
      Atomics.store(this.#ctrl, TAIL, tail);
    }
    this.sweep();
  }
}

/**
 * `waitForReplies(ctrl, position, ms)`, as source for an evaluated worker (the
 * notification writer): block that thread until the writer whose control block
 * is `ctrl` (an Int32Array over `control`) has written every reply queued before
 * `position`, or `ms` have passed. Blocking there is fine: it is not the event loop.
 */
export const WAIT_FOR_REPLIES_SOURCE = `
function waitForReplies(ctrl, position, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const tail = Atomics.load(ctrl, ${TAIL});
    if (((tail - position) | 0) >= 0) return;
    const left = until - Date.now();
    if (left <= 0) return;
    Atomics.wait(ctrl, ${TAIL}, tail, Math.min(left, 10));
  }
}
`;
