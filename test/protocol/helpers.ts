/** Shared helpers for the protocol tests. */
import {
  DirentPacker, encodeAttrOut, encodeBmapOut, encodeCopyFileRangeOut, encodeCreateOut, encodeEntryOut, encodeError,
  encodeGetxattrOut, encodeInitOut, encodeIoctlOut, encodeLkOut, encodeLseekOut, encodeNotifyDelete,
  encodeNotifyIncEpoch, encodeNotifyInvalEntry, encodeNotifyInvalInode, encodeNotifyPoll, encodeNotifyPrune,
  encodeNotifyResend, encodeNotifyRetrieve, encodeNotifyStore, encodeOpenOut, encodePollOut, encodeReply,
  encodeStatfsOut, encodeStatxOut, encodeWriteOut,
} from '../../src/protocol/encode.ts';
import type { Notification, Reply } from '../../src/protocol/client.ts';
import type { OpName } from '../../src/protocol/decode.ts';

/** Hex, 8 bytes per line, so a failed comparison diffs like the fixture reads. */
export function hex(b: Buffer | readonly Buffer[] | number[]): string {
  const buf = Array.isArray(b) && (b.length === 0 || typeof b[0] === 'number')
    ? Buffer.from(b as number[])
    : Buffer.isBuffer(b) ? b : Buffer.concat(b as Buffer[]);
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i += 8) lines.push(buf.subarray(i, i + 8).toString('hex').replace(/(..)(?!$)/g, '$1 '));
  return lines.join('\n');
}

/** Buffers become `hex:…` strings so deepStrictEqual compares contents, not views. */
export function norm(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `hex:${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = norm(x);
    return o;
  }
  return v;
}

/** Re-encode a decoded reply with our encoder (the round-trip direction). */
export function reencodeReply(op: OpName, r: Reply): Buffer[] | Buffer {
  if (r.error !== 0) return encodeError(r.unique, r.error);
  const b = r.body as any;
  const u = r.unique;
  switch (op) {
    case 'lookup': case 'mknod': case 'mkdir': case 'symlink': case 'link': return encodeReply(u, encodeEntryOut(b));
    case 'getattr': case 'setattr': return encodeReply(u, encodeAttrOut(b));
    case 'readlink': case 'read': return encodeReply(u, b.data);
    case 'open': case 'opendir': return encodeReply(u, encodeOpenOut(b));
    case 'create': case 'tmpfile': return encodeReply(u, encodeCreateOut(b));
    case 'write': case 'copy_file_range': return encodeReply(u, encodeWriteOut(b.size));
    case 'copy_file_range_64': return encodeReply(u, encodeCopyFileRangeOut(b.bytesCopied));
    case 'statfs': return encodeReply(u, encodeStatfsOut(b));
    case 'getxattr': case 'listxattr': return encodeReply(u, 'size' in b ? encodeGetxattrOut(b.size) : b.data);
    case 'init': return encodeReply(u, encodeInitOut(b));
    case 'readdir': {
      const p = new DirentPacker(65536);
      for (const e of b.entries) p.add(e.ino, e.off, e.type, e.name);
      return encodeReply(u, p.finish());
    }
    case 'readdirplus': {
      const p = new DirentPacker(65536);
      for (const e of b.entries) p.addPlus(e.entry, e.off, e.type, e.name);
      return encodeReply(u, p.finish());
    }
    case 'getlk': return encodeReply(u, encodeLkOut(b));
    case 'bmap': return encodeReply(u, encodeBmapOut(b.block));
    case 'ioctl': return encodeReply(u, encodeIoctlOut(b));
    case 'poll': return encodeReply(u, encodePollOut(b.revents));
    case 'lseek': return encodeReply(u, encodeLseekOut(b.offset));
    case 'statx': return encodeReply(u, encodeStatxOut(b));
    default: return encodeReply(u);
  }
}

/** Re-encode a decoded notification with our encoder. */
export function reencodeNotification(n: Notification): Buffer[] {
  const b = n.body as any;
  switch (n.name) {
    case 'POLL': return encodeNotifyPoll(b.kh);
    case 'INVAL_INODE': return encodeNotifyInvalInode(b.ino, b.off, b.len);
    case 'INVAL_ENTRY': return encodeNotifyInvalEntry(b.parent, b.name, b.flags);
    case 'STORE': return encodeNotifyStore(b.nodeid, b.offset, b.data);
    case 'RETRIEVE': return encodeNotifyRetrieve(b.notifyUnique, b.nodeid, b.offset, b.size);
    case 'DELETE': return encodeNotifyDelete(b.parent, b.child, b.name);
    case 'RESEND': return encodeNotifyResend();
    case 'INC_EPOCH': return encodeNotifyIncEpoch();
    case 'PRUNE': return encodeNotifyPrune(b.nodeids);
  }
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
