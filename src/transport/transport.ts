/**
 * The transport contract: move whole frames, nothing else.
 *
 * A transport knows nothing of opcodes. It hands each request frame to the sink
 * together with the channel it arrived on, and the session answers on that same
 * channel (the kernel requires replies on the fd, or clone, that delivered the
 * request). Notifications may go out on any channel.
 */

/** Where replies for a frame go. */
export interface Channel {
  /** Stable id, for traces. */
  readonly id: number;
  /**
   * Send one frame as pieces (header first); the pieces may be reused as soon as
   * this returns. Throws an Error with `code` if the write fails at once; `ENOENT`
   * means the request was already interrupted or aborted, which is not an error.
   * A transport may also queue the frame and write it a little later (dev-fuse's
   * reply thread); if that write fails, `onFail` is called then, from the event
   * loop, with the same kind of error.
   */
  send(iov: readonly Buffer[], onFail?: SendFailure): void;
}

/** How a queued frame's failed write is reported (`err.code`: ENOENT, ENODEV, …). */
export type SendFailure = (err: Error & { code: string }) => void;

/** Receives frames from a transport. */
export interface FrameSink {
  /**
   * One request frame. `frame` stays valid until `done()` is called; call it once,
   * after the reply is sent (or at once, for requests that get no reply).
   */
  onFrame(frame: Buffer, channel: Channel, done: () => void): void;
  /** The transport ended: `error` is undefined for a clean unmount. */
  onClose(error?: Error): void;
}

export interface Transport {
  /** Largest request frame this transport can deliver (bounds max_write). */
  readonly maxFrameSize: number;
  /** Human description for logs ("dev-fuse fd=7, io_uring, 4 readers"). */
  readonly description: string;
  /** Begin delivering frames. Called once. */
  start(sink: FrameSink): void;
  /**
   * Send a notification (unique 0) on any channel, without blocking the caller's
   * thread: the kernel may hold a notification write until pages under I/O are
   * released (INVAL_INODE waits for reads in flight), and those reads need this
   * process to answer them. Rejects like Channel.send throws.
   */
  notify(iov: readonly Buffer[]): Promise<void>;
  /** Stop reading and release resources. Idempotent. */
  close(): Promise<void>;
}
