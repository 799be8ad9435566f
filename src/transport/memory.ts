/**
 * An in-memory transport: frames in, frames out, no kernel and no mount.
 *
 * The test side plays the kernel: `request(frame)` delivers a request frame and
 * resolves with the reply frame of the same unique; `post(frame)` delivers a frame
 * that gets no reply (FORGET, BATCH_FORGET, NOTIFY_REPLY) and resolves once the
 * session has finished with it. Notifications are collected in `notifications`
 * and announced to `onNotify` listeners. Replies for a unique nobody waits for
 * fail with ENOENT, exactly as /dev/fuse does for an interrupted request
 * (thrown, or with `queued`, reported a moment later through `onFail`).
 */
import type { Channel, FrameSink, Transport } from './transport.ts';

export interface MemoryTransportOptions {
  /** Largest frame delivered; bounds max_write like a /dev/fuse read buffer. Default 1 MiB + 4 KiB. */
  maxFrameSize?: number;
  /**
   * Behave like a transport that queues replies (dev-fuse's reply thread): a reply
   * that fails is reported later through the sender's `onFail` instead of throwing.
   */
  queued?: boolean;
}

function enoent(what: string): Error {
  return Object.assign(new Error(`${what}: no such request`), { code: 'ENOENT', errno: -2 });
}

export class MemoryTransport implements Transport {
  readonly maxFrameSize: number;
  readonly description = 'memory';
  /** Every notification frame sent, oldest first. */
  readonly notifications: Buffer[] = [];
  /** Every reply frame sent, oldest first (for exactly-once checks). */
  readonly replies: Buffer[] = [];
  #sink: FrameSink | undefined;
  #waiting = new Map<bigint, (frame: Buffer) => void>();
  #notifyListeners: ((frame: Buffer) => void)[] = [];
  #closed = false;
  readonly #channel: Channel;

  constructor(o: MemoryTransportOptions = {}) {
    this.maxFrameSize = o.maxFrameSize ?? (1 << 20) + 4096;
    const deliver = (iov: readonly Buffer[]): void => {
      if (this.#closed) throw Object.assign(new Error('transport closed'), { code: 'ENODEV', errno: -19 });
      const frame = Buffer.concat(iov);
      if (frame.length < 16 || frame.readUInt32LE(0) !== frame.length) {
        throw Object.assign(new Error('reply length does not match its header'), { code: 'EINVAL', errno: -22 });
      }
      const unique = frame.readBigUInt64LE(8);
      const w = this.#waiting.get(unique);
      if (!w) throw enoent(`reply to ${unique}`);
      this.#waiting.delete(unique);
      this.replies.push(frame);
      w(frame);
    };
    this.#channel = {
      id: 0,
      send: (iov, onFail) => {
        if (!o.queued) return deliver(iov);
        const copy = iov.map((b) => Buffer.from(b));
        setImmediate(() => {
          try {
            deliver(copy);
          } catch (e) {
            onFail?.(e as Error & { code: string });
          }
        });
      },
    };
  }

  start(sink: FrameSink): void {
    if (this.#sink) throw new Error('MemoryTransport started twice');
    this.#sink = sink;
  }

  /** Deliver a request and resolve with its reply frame. */
  request(frame: Buffer): Promise<Buffer> {
    const sink = this.#need();
    const unique = frame.length >= 16 ? frame.readBigUInt64LE(8) : 0n;
    if (this.#waiting.has(unique)) return Promise.reject(new Error(`unique ${unique} is already waiting`));
    const p = new Promise<Buffer>((resolve) => this.#waiting.set(unique, resolve));
    sink.onFrame(Buffer.from(frame), this.#channel, () => {});
    return p;
  }

  /** Deliver a frame that gets no reply; resolves when the session is done with it. */
  post(frame: Buffer): Promise<void> {
    const sink = this.#need();
    return new Promise((resolve) => sink.onFrame(Buffer.from(frame), this.#channel, resolve));
  }

  /** Stop waiting for a reply, as the kernel does after an abort: a late reply then fails with ENOENT. */
  forgetWaiter(unique: bigint): void {
    this.#waiting.delete(unique);
  }

  onNotify(listener: (frame: Buffer) => void): void {
    this.#notifyListeners.push(listener);
  }

  async notify(iov: readonly Buffer[]): Promise<void> {
    if (this.#closed) throw Object.assign(new Error('transport closed'), { code: 'ENODEV', errno: -19 });
    const frame = Buffer.concat(iov);
    this.notifications.push(frame);
    for (const l of this.#notifyListeners) l(frame);
  }

  /** End the connection, as an unmount would. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink?.onClose();
  }

  #need(): FrameSink {
    if (!this.#sink) throw new Error('MemoryTransport is not started');
    if (this.#closed) throw new Error('MemoryTransport is closed');
    return this.#sink;
  }
}
