/**
 * The /dev/fuse transport: reads request frames from the device and writes
 * replies back to the fd that delivered each request.
 *
 * Reading strategy (measured; see README "Decisions" and bench/): the main thread
 * keeps `readers` reads in flight per fd with `fs.read`. When the process started
 * with `UV_USE_IO_URING=1`, libuv submits those reads to io_uring, and they
 * complete on the event loop with no thread hop; this is the fastest option
 * measured from Node (≈0.8× libfuse's C examples). Without io_uring, each pending
 * read parks one libuv threadpool thread, so the transport keeps a single read in
 * flight to leave the pool to the filesystem (the `fusekit` command always starts
 * with io_uring; embedders should set the variable before Node starts).
 *
 * Replies are written synchronously (writev): the kernel consumes a reply inside
 * write(2) without waiting on us. Notifications are written asynchronously,
 * because INVAL_INODE can wait on page locks held by reads that need us to answer.
 */
import fs from 'node:fs';
import type { Channel, FrameSink, Transport } from './transport.ts';

/** True when libuv was told at start-up to use io_uring for file I/O. */
export const IO_URING_ACTIVE: boolean = process.env.UV_USE_IO_URING === '1';

/** Frames up to this size are copied out so the big read buffer goes straight back to the pool. */
const SMALL_FRAME = 4096;

export interface DevFuseOptions {
  /** The /dev/fuse session fd (from mount(2) or fusermount3). */
  fd: number;
  /** Reads kept in flight per fd. Default: 4 with io_uring, else 1. */
  readers?: number;
  /** Extra fds cloned with FUSE_DEV_IOC_CLONE (each its own kernel processing queue). Default 0. */
  clones?: number;
  /** Opens a clone of the session fd; needed when `clones` > 0. */
  cloneFd?: (sessionFd: number) => number;
  /** Read buffer size: at least max_write + 4096. Default 1 MiB + 4 KiB. */
  bufferSize?: number;
  log?: (line: string) => void;
}

interface DevChannel extends Channel {
  readonly fd: number;
  pending: number;
}

export class DevFuseTransport implements Transport {
  readonly maxFrameSize: number;
  readonly description: string;
  readonly #channels: DevChannel[] = [];
  readonly #readers: number;
  readonly #pool: Buffer[] = [];
  readonly #ownedFds: number[] = [];
  #sink: FrameSink | undefined;
  #closing = false;
  #ended = false;

  constructor(o: DevFuseOptions) {
    this.maxFrameSize = Math.max(o.bufferSize ?? (1 << 20) + 4096, 8192);
    this.#readers = Math.max(1, o.readers ?? (IO_URING_ACTIVE ? 4 : 1));
    const fds = [o.fd];
    for (let i = 0; i < (o.clones ?? 0); i++) {
      if (!o.cloneFd) throw new Error('clones need a cloneFd function');
      const c = o.cloneFd(o.fd);
      fds.push(c);
      this.#ownedFds.push(c);
    }
    fds.forEach((fd, id) => this.#channels.push(this.#makeChannel(fd, id)));
    this.description = `/dev/fuse fd ${fds.join(',')}, ${IO_URING_ACTIVE ? 'io_uring' : 'threadpool'} reads, ${this.#readers} in flight per fd`;
  }

  start(sink: FrameSink): void {
    if (this.#sink) throw new Error('DevFuseTransport started twice');
    this.#sink = sink;
    for (const ch of this.#channels) for (let i = 0; i < this.#readers; i++) this.#issue(ch);
  }

  notify(iov: readonly Buffer[]): Promise<void> {
    const fd = this.#channels[0]!.fd;
    return new Promise((resolve, reject) => {
      fs.writev(fd, iov as Buffer[], null, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
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
      pending: 0,
      send(iov: readonly Buffer[]): void {
        if (iov.length === 1) fs.writeSync(fd, iov[0]!);
        else fs.writevSync(fd, iov as Buffer[]);
      },
    };
  }

  #issue(ch: DevChannel): void {
    if (this.#closing) return;
    const buf = this.#pool.pop() ?? Buffer.allocUnsafeSlow(this.maxFrameSize);
    ch.pending++;
    fs.read(ch.fd, buf, 0, buf.length, null, (err, n) => this.#onRead(ch, buf, err, n));
  }

  #onRead(ch: DevChannel, buf: Buffer, err: NodeJS.ErrnoException | null, n: number): void {
    ch.pending--;
    if (err) {
      this.#release(buf);
      switch (err.code) {
        case 'ENOENT': // the request was interrupted before we read it
        case 'EINTR':
        case 'EAGAIN':
          this.#issue(ch);
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
          return;
      }
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
