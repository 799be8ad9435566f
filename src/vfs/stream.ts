/**
 * Streams, like tracefs's `trace_pipe`: code pushes records, readers consume them.
 *
 * - A read blocks until data arrives (O_NONBLOCK: EAGAIN), then returns what is
 *   buffered, up to the size asked. Readers share one queue: each byte goes to
 *   one reader, as with a pipe.
 * - poll/select/epoll work: FUSE_POLL answers POLLIN when data is buffered, and
 *   otherwise remembers the kernel's poll handle and wakes it (NOTIFY_POLL
 *   through the mount's notifier) at the next `push`.
 * - An interrupted read (a signal, e.g. Ctrl-C on `cat`) answers EINTR; a read
 *   blocked when the node is removed answers ENODEV; after `end()` reads return
 *   end of file once the buffer is drained.
 * - The buffer is bounded (`capacity`, default 1 MiB): the oldest bytes are
 *   dropped and counted in `lost`, like the kernel's ring buffer.
 */
import { constants } from 'node:fs';
import { fuseError } from '../errors.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import { Fopen, type FileOptions, Poll, toBuffer, type Content, VFile } from './files.ts';
import type { OpenFile } from './handles.ts';

export interface StreamOptions extends FileOptions {
  /** Most bytes buffered before the oldest are dropped. Default 1 MiB. */
  capacity?: number;
  /**
   * Accept writes from callers: each write(2) is handed to this callback.
   * **Replies:** the write's byte count, or the error thrown. **Default:** read-only (0444).
   * **Side effects:** none (push() what readers should see).
   */
  write?(data: Buffer, ctx: RequestContext): void | Promise<void>;
}

interface Waiter {
  wake: () => void;
}

/** A pipe-like file fed by `push()`. Served with DIRECT_IO, NONSEEKABLE and STREAM; size 0. */
export class StreamFile extends VFile {
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  #ended = false;
  readonly #capacity: number;
  readonly #waiters = new Set<Waiter>();
  /** Poll handles to wake at the next push, by kh. */
  readonly #pollers = new Map<bigint, (kh: bigint) => void>();
  readonly #write: StreamOptions['write'];
  /** Bytes dropped because nobody read them in time. */
  lost = 0;

  constructor(o: StreamOptions = {}) {
    super(o.write ? 0o644 : 0o444, o);
    this.#capacity = o.capacity ?? 1 << 20;
    this.#write = o.write;
  }

  get writable(): boolean {
    return this.#write !== undefined;
  }

  /** Bytes waiting to be read. */
  get buffered(): number {
    return this.#bytes;
  }

  /** Append data; wakes blocked readers and pollers. */
  push(data: Content): void {
    if (this.#ended) throw new Error(`push after end() on ${this.path}`);
    const b = Buffer.from(toBuffer(data));
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.#bytes += b.length;
    while (this.#bytes > this.#capacity && this.#chunks.length > 1) {
      const old = this.#chunks.shift()!;
      this.#bytes -= old.length;
      this.lost += old.length;
    }
    this.#wakeAll();
  }

  /** No more data: readers get end of file once the buffer is empty. */
  end(): void {
    this.#ended = true;
    this.#wakeAll();
  }

  #wakeAll(): void {
    for (const w of [...this.#waiters]) w.wake();
    for (const [kh, wake] of this.#pollers) wake(kh);
    this.#pollers.clear();
  }

  open(): number {
    return Fopen.DIRECT_IO | Fopen.NONSEEKABLE | Fopen.STREAM;
  }

  #take(size: number): Buffer {
    const out: Buffer[] = [];
    let n = 0;
    while (n < size && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const want = size - n;
      if (c.length <= want) {
        out.push(c);
        n += c.length;
        this.#chunks.shift();
      } else {
        out.push(c.subarray(0, want));
        this.#chunks[0] = c.subarray(want);
        n += want;
      }
    }
    this.#bytes -= n;
    return out.length === 1 ? out[0]! : Buffer.concat(out, n);
  }

  async read(h: OpenFile, _offset: number, size: number, ctx: RequestContext): Promise<Buffer> {
    for (;;) {
      h.check();
      if (this.#bytes > 0) return this.#take(size);
      if (this.#ended) return Buffer.alloc(0);
      if ((h.flags & constants.O_NONBLOCK) !== 0) throw fuseError('EAGAIN');
      if (ctx.signal.aborted) throw fuseError('EINTR');
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { wake: () => done(resolve) };
        const onAbort = (): void => done(() => reject(fuseError('EINTR', 'read interrupted')));
        const unRevoke = h.onRevoke(() => done(() => reject(fuseError('ENODEV', `${this.path} was removed`))));
        const done = (then: () => void): void => {
          this.#waiters.delete(w);
          ctx.signal.removeEventListener('abort', onAbort);
          unRevoke();
          then();
        };
        this.#waiters.add(w);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  override async write(_h: OpenFile, _offset: number, data: Buffer, ctx: RequestContext): Promise<number> {
    if (!this.#write) throw fuseError('EBADF');
    await this.#write(Buffer.from(data), ctx);
    return data.length;
  }

  override truncate(): void {
    if (!this.#write) throw fuseError('EPERM');
  }

  override poll(h: OpenFile, kh: bigint | undefined, _events: number, wake: (kh: bigint) => void): number {
    if (h.revoked) return Poll.ERR | Poll.HUP;
    let r = this.writable ? Poll.OUT | Poll.WRNORM : 0;
    if (this.#bytes > 0) r |= Poll.IN | Poll.RDNORM;
    else if (this.#ended) r |= Poll.HUP;
    else if (kh !== undefined) this.#pollers.set(kh, wake);
    return r;
  }
}
