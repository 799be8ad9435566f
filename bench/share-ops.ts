// The share server's CPU per request, without the kernel: replays the request mix of `tar x` and
// `rm -rf` (what the kernel sends for each regular file, measured in the server during the share
// suite's tar workload) through a Session into a share of a fresh directory, and prints µs per file
// and per request kind. A profiling tool, not a benchmark with a bar: compare builds with it (run
// it from each build's dist/), and profile it with
// `perf record -g node --perf-basic-prof dist/bench/share-ops.js` (V8's own sampling profiler
// charges nearly everything to the FFI calls).
//
//   node dist/bench/share-ops.js [--dir=/dev/shm/x] [--files=1000] [--rounds=20] [--watch=0]
//
// Per file: LOOKUP (negative), CREATE (O_EXCL), GETXATTR security.capability (the first write's
// capability check), the parent's GETATTR (default_permissions re-reads it after the change),
// GETXATTR again (chown's), SETATTR uid+gid, SETATTR mode, SETATTR times, FLUSH, RELEASE; then per
// file UNLINK and the parent's GETATTR, and FORGET. Run as root (ids, file handles) on a tmpfs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shareFs } from '../src/passthrough/share-fs.ts';
import { emptyIdMap } from '../src/passthrough/options.ts';
import { decodeReply, encodeRequest } from '../src/protocol/client.ts';
import type { OpName } from '../src/protocol/decode.ts';
import { Session } from '../src/session/session.ts';
import type { Channel, Transport } from '../src/transport/transport.ts';

const flags = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const files = Number(flags.files ?? 1000);
const rounds = Number(flags.rounds ?? 20);
const base = flags.dir ?? fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'fusekit-share-ops-'));
const source = path.join(base, 'src');
fs.mkdirSync(source, { recursive: true });

const fsImpl = shareFs({
  source, readonly: false, cache: 'auto', passthrough: 'off', uidMap: emptyIdMap(), gidMap: emptyIdMap(),
  defaultPermissions: true, fdCache: 4096, watch: flags.watch !== '0', log: (l) => console.error(l),
});
let last: Buffer | undefined;
const channel: Channel = { id: 0, send: (iov) => void (last = Buffer.concat(iov)) };
const transport: Transport = {
  maxFrameSize: (1 << 20) + 4096, description: 'share-ops', start() {}, notify: async () => {}, close: async () => {},
};
const session = new Session(fsImpl, transport, { log: (l) => console.error(l) });
const noop = (): void => {};
const times = new Map<string, { n: number; ns: bigint }>();
let timing = false;
let unique = 1n;

function req(op: OpName, nodeid: bigint, body: object, label: string = op): Buffer | undefined {
  const frame = encodeRequest({ unique: ++unique, nodeid, uid: 0, gid: 0, pid: process.pid }, op, body as never);
  last = undefined;
  const t0 = process.hrtime.bigint();
  session.onFrame(frame, channel, noop);
  if (timing) {
    const t = times.get(label) ?? { n: 0, ns: 0n };
    t.n++;
    t.ns += process.hrtime.bigint() - t0;
    times.set(label, t);
  }
  return last;
}

const setattr = (valid: number, extra: object = {}): object => ({
  valid, fh: 0n, size: 0n, lockOwner: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0, mode: 0, uid: 0, gid: 0, ...extra,
});
const names = Array.from({ length: files }, (_, i) => Buffer.from(`file${i}.h`));
const held: bigint[] = [];

function round(): void {
  for (const name of names) {
    req('lookup', 1n, { name });
    const r = decodeReply('create', req('create', 1n, { name, flags: 0o301 | 0o2000000, mode: 0o100644, umask: 0o22, openFlags: 0 })!);
    if (r.error !== 0 || !r.body) throw new Error(`CREATE ${name} failed: errno ${r.error}`);
    const id = r.body.entry.nodeid;
    const fh = r.body.open.fh;
    held.push(id);
    req('getxattr', id, { name: 'security.capability', size: 0 });
    req('getattr', 1n, { getattrFlags: 0, fh: 0n });
    req('getxattr', id, { name: 'security.capability', size: 0 });
    req('setattr', id, setattr(2 | 4), 'setattr chown');
    req('setattr', id, setattr(1, { mode: 0o644 }), 'setattr chmod');
    req('setattr', id, setattr(16 | 32, { atime: 1000n, mtime: 1000n }), 'setattr utimes');
    req('flush', id, { fh, lockOwner: 1n });
    req('release', id, { fh, flags: 0o1, releaseFlags: 0, lockOwner: 1n });
  }
  for (const name of names) {
    req('unlink', 1n, { name });
    req('getattr', 1n, { getattrFlags: 0, fh: 0n });
  }
  for (const id of held.splice(0)) session.onFrame(encodeRequest({ unique: ++unique, nodeid: id }, 'forget', { nlookup: 1n }), channel, noop);
}

try {
  req('init', 0n, { major: 7, minor: 45, maxReadahead: 131072, flags: (1n << 63n) - 1n });
  await session.initialized();
  for (let r = 0; r < 3; r++) round(); // warm-up: the JIT settles
  timing = true;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) round();
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / rounds / files;
  console.log(`share-ops: ${files} files × ${rounds} rounds, watch ${flags.watch !== '0' ? 'on' : 'off'}, ${source}`);
  for (const [k, t] of [...times].sort((a, b) => Number(b[1].ns - a[1].ns))) {
    console.log(`  ${k.padEnd(16)} ${(Number(t.ns) / t.n / 1e3).toFixed(2).padStart(7)} µs × ${t.n / rounds / files} per file`);
  }
  console.log(`per file: ${us.toFixed(2)} µs (12 requests; ${fsImpl.stats().nodes} nodes left)`);
} finally {
  await fsImpl.destroy?.();
  fsImpl.core.table.close();
  if (!flags.dir) fs.rmSync(base, { recursive: true, force: true });
  else fs.rmSync(source, { recursive: true, force: true });
}
process.exit(0);
