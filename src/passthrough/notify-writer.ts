/**
 * Host-change notifications, written from a worker thread.
 *
 * Why not the session's notifier: its frames are written with an async
 * `fs.writev`, which under UV_USE_IO_URING=1 runs inside the io_uring
 * submission thread. A notification can block in the kernel — INVAL_ENTRY
 * takes the parent directory's inode lock, which a LOOKUP in flight holds
 * until we answer it — and while it blocks, that thread submits none of the
 * /dev/fuse reads that would bring the answer in: the mount deadlocks
 * (observed: iou-sqp thread in fuse_reverse_inval_entry, a python `open`
 * in fuse_lookup). Host changes arrive at any time, so the share must expect
 * this. Here the same bounded, coalescing NotifyQueue (session/notify.ts) sends
 * through a dedicated worker that does a plain blocking writev: a blocked
 * notification waits there, and request handling goes on.
 */
import { Worker } from 'node:worker_threads';
import { NotifyQueue } from '../session/notify.ts';
import type { NodeId } from '../protocol/types.ts';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', ({ id, fd, iov }) => {
  try {
    fs.writevSync(fd, iov.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
    parentPort.postMessage({ id });
  } catch (e) {
    parentPort.postMessage({ id, code: e.code || 'EIO', message: e.message });
  }
});
`;

export interface NotifyWriterOptions {
  fd: number;
  minor: () => number;
  flags: () => bigint;
  heldNodes: () => Iterable<NodeId>;
  log: (l: string) => void;
  limit?: number;
}

/** A NotifyQueue whose frames a worker thread writes to /dev/fuse. */
export function workerNotifier(o: NotifyWriterOptions): { queue: NotifyQueue; close(): void } {
  const worker = new Worker(WORKER, { eval: true });
  worker.unref();
  let next = 1;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  worker.on('message', (m: { id: number; code?: string; message?: string }) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.code) w.reject(Object.assign(new Error(m.message ?? m.code), { code: m.code }));
    else w.resolve();
  });
  worker.on('error', (e) => o.log(`notification writer failed: ${e.message}`));
  const queue = new NotifyQueue({
    send: (iov) =>
      new Promise<void>((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, fd: o.fd, iov: iov.map((b) => new Uint8Array(b)) });
      }),
    minor: o.minor,
    flags: o.flags,
    heldNodes: o.heldNodes,
    limit: o.limit,
    log: o.log,
  });
  return {
    queue,
    close() {
      queue.close();
      for (const w of waiting.values()) w.reject(Object.assign(new Error('closed'), { code: 'ENOTCONN' }));
      waiting.clear();
      void worker.terminate();
    },
  };
}
