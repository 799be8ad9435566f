// Suite `share`: `fusekit share` against the native directory, libfuse's passthrough_ll and
// go-fuse's loopback, side by side (alternate() rotates the order every repetition).
//
// seq-read / seq-write  fio, 1 GiB sequential (bs 1 MiB), on the local disk; fusekit with kernel
//                       passthrough (default) and without (--passthrough=off). Reads are warm
//                       (page cache): what passthrough buys is the kernel's own read path.
// create-stat-unlink    10,000 small files (100 B): create+write, stat, unlink; ops/s.
// find-du               `find` + `du -s` over 50,000 files after dropping dentries and inodes.
// tar-x-rm              `tar x` of a source tree (/usr/include/linux + /usr/include/x86_64-linux-gnu)
//                       and `rm -rf` of it.
// Metadata runs use a private tmpfs as backing store (the root ext4 varies ~10× run to run).
// Bars (issue 4): passthrough seq I/O ≥ 0.9× native; metadata ≥ 1× passthrough_ll; none < 0.8×.
// Metadata contenders also include `fusekit share --private` (only the mounting user: no
// allow_other, so no default_permissions), the configuration default passthrough_ll runs in.
//
// --reps=N (default 3), --size=MiB for fio (default 1024), --files=N for find-du (default 50000).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { alternate, compare, type Comparison, type Contender, type Measurement } from '../compare.ts';
import { buildDir, log, makeTempDir, onCleanup, repoRoot, runCommand, startServer, type LoadResult, type Server } from '../lib.ts';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.ts';

const fusekitBin = join(repoRoot, 'bin', 'fusekit.js');

async function sh(cmd: string): Promise<string> {
  const r = await runCommand('bash', ['-c', cmd]);
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function timed(unit: string, work: number, fn: () => Promise<unknown>, before?: () => void): () => Promise<LoadResult> {
  return async () => {
    before?.();
    const t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000;
    return { value: work / seconds, unit, clientUser: 0, clientSys: 0, seconds };
  };
}

interface Target {
  name: string;
  /** Where the workload runs (the mount point, or the directory itself for native). */
  dir: string;
  /** The directory the server shares. */
  src: string;
  server?: Server;
}

/** Start every contender over its own backing directory under `root`. */
async function targets(root: string, kinds: readonly string[]): Promise<Target[]> {
  const out: Target[] = [];
  for (const k of kinds) {
    const src = join(root, `src-${k}`);
    const mp = join(root, `mnt-${k}`);
    mkdirSync(src);
    if (k === 'native') {
      out.push({ name: 'native', dir: src, src });
      continue;
    }
    mkdirSync(mp);
    let server: Server;
    if (k === 'share' || k === 'share-nopt' || k === 'share-private') {
      const flag = k === 'share-nopt' ? ['--passthrough=off'] : k === 'share-private' ? ['--private'] : [];
      const args = [fusekitBin, 'share', src, mp, ...flag];
      server = await startServer({ name: `fusekit share${flag.length ? ` ${flag[0]}` : ''}`, cmd: process.execPath, args, mountpoint: mp });
    } else if (k === 'passthrough_ll') {
      server = await startServer({ name: 'libfuse passthrough_ll', cmd: join(buildDir, 'passthrough_ll'), args: ['-f', '-o', `source=${src}`, mp], mountpoint: mp });
    } else if (k === 'passthrough_ll-matched') {
      // The same features as the share's defaults: the kernel checks permissions (so it refreshes a
      // directory's attributes after every change in it) and xattrs are served (so every write(2)
      // asks for security.capability), which passthrough_ll's defaults skip.
      server = await startServer({ name: 'libfuse passthrough_ll -o default_permissions,xattr', cmd: join(buildDir, 'passthrough_ll'), args: ['-f', '-o', `source=${src},default_permissions,xattr`, mp], mountpoint: mp });
    } else {
      server = await startServer({ name: 'go-fuse loopback', cmd: join(buildDir, 'loopback'), args: ['-q', mp, src], mountpoint: mp });
    }
    out.push({ name: server.name, dir: mp, src, server });
  }
  return out;
}

/** Failures by contender and metric (a peer that runs out of fds fails, it doesn't stop the suite). */
const failures: string[] = [];

/**
 * Uncounted runs of each metadata workload per contender before the measured ones: a fresh
 * fusekit server runs its first ~20,000 requests before V8 has optimized the handlers (the
 * first tar x + rm -rf ran at half speed), and every contender's caches settle.
 */
const WARMUP = 1;

function contenders(ts: readonly Target[], run: (t: Target) => () => Promise<LoadResult>, metric = ''): Contender[] {
  return ts.map((t) => ({
    name: t.name,
    server: t.server,
    run: async () => {
      try {
        return await run(t)();
      } catch (e) {
        const msg = (e as Error).message.split('\n').find((l) => /Too many open files|error|failed|saw/i.test(l)) ?? (e as Error).message.slice(0, 200);
        failures.push(`${t.name} failed ${metric}: ${msg.slice(0, 200)}`);
        return { value: 0, unit: '', clientUser: 0, clientSys: 0, seconds: 1 };
      }
    },
  }));
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '2');
}

async function fio(dir: string, rw: 'read' | 'write', sizeMiB: number): Promise<LoadResult> {
  const out = await sh(`fio --name=seq --filename='${dir}/fio.dat' --rw=${rw} --bs=1M --size=${sizeMiB}M --ioengine=psync --invalidate=0 ${rw === 'write' ? '--end_fsync=1' : ''} --output-format=json`);
  const j = JSON.parse(out.slice(out.indexOf('{'))) as { jobs: { read: { bw_bytes: number }; write: { bw_bytes: number } }[] };
  const bw = j.jobs[0]![rw].bw_bytes / (1024 * 1024);
  return { value: bw, unit: 'MiB/s', clientUser: 0, clientSys: 0, seconds: sizeMiB / bw };
}

export const suite: Suite = {
  name: 'share',
  description: 'fusekit share vs native, passthrough_ll and go-fuse loopback: fio seq 1 GiB, create/stat/unlink 10k, find+du 50k, tar x + rm -rf',
  flags: [['reps=N', 'repetitions (default 3)'], ['size=MiB', 'fio size (default 1024)'], ['files=N', 'find-du files (default 50000)'], ['only=a,b', 'workloads to run']],
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    if (process.getuid?.() !== 0) throw new Error('the share suite needs root (tmpfs, drop_caches, passthrough)');
    const reps = Number(opts.flags.reps ?? Math.min(opts.reps, 3));
    const size = Number(opts.flags.size ?? 1024);
    const files = Number(opts.flags.files ?? 50_000);
    const only = opts.flags.only?.split(',');
    const want = (w: string): boolean => !only || only.includes(w);
    const notes: string[] = [];
    const measurements: Measurement[] = [];
    const comparisons: Comparison[] = [];
    const peers = ['passthrough_ll', 'loopback'].filter((p) => existsSync(join(buildDir, p)));
    const stopAll = async (ts: Target[]): Promise<void> => {
      for (const t of ts) await t.server?.stop();
    };
    const add = (ms: Measurement[], subject: string): void => {
      measurements.push(...ms);
      comparisons.push(...compare(ms, subject));
      if (ms.some((m) => m.contender === 'fusekit share --private')) {
        comparisons.push(...compare(ms, 'fusekit share --private').filter((c) => c.baseline.startsWith('libfuse passthrough_ll') || c.baseline === 'go-fuse loopback'));
      }
    };

    // ── sequential I/O on the local disk ──
    if (want('seq')) {
      const disk = makeTempDir('fusekit-bench-share-io-');
      const ts = await targets(disk, ['native', 'share', 'share-nopt', ...peers]);
      try {
        add(await alternate(`seq-write ${size} MiB`, contenders(ts, (t) => () => fio(t.dir, 'write', size)), reps), 'fusekit share');
        add(await alternate(`seq-read ${size} MiB (warm)`, contenders(ts, (t) => () => fio(t.dir, 'read', size)), reps), 'fusekit share');
      } finally {
        await stopAll(ts);
      }
    }

    // ── metadata on tmpfs ──
    const tmp = makeTempDir('fusekit-bench-share-md-');
    await sh(`mount -t tmpfs -o size=8g,nr_inodes=4000000 fusekit-bench '${tmp}'`);
    onCleanup(() => void spawnSync('umount', ['-l', tmp]));
    // Two like-for-like pairs: the default share (other users let in, so the kernel checks modes)
    // against passthrough_ll with the same features, and `share --private` (only the mounting
    // user, as passthrough_ll's own default mount) against default passthrough_ll.
    const ts = await targets(tmp, ['share', 'share-private', 'native', ...peers, ...(peers.includes('passthrough_ll') ? ['passthrough_ll-matched'] : [])]);
    try {
      if (want('meta')) {
        const py = `import os,sys
d=sys.argv[1]; n=10000
for i in range(n):
    fd=os.open('%s/f%05d'%(d,i),os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'*100); os.close(fd)
for i in range(n): os.stat('%s/f%05d'%(d,i))
for i in range(n): os.unlink('%s/f%05d'%(d,i))`;
        writeFileSync(join(tmp, 'csu.py'), py);
        add(await alternate('create+stat+unlink 10k', contenders(ts, (t) => timed('ops/s', 30_000, () => sh(`python3 '${tmp}/csu.py' '${t.dir}'`))), Math.max(reps, 3), WARMUP), 'fusekit share');
      }
      if (want('find')) {
        for (const t of ts) {
          const src = t.src;
          await sh(`python3 -c "
import os
for d in range(${Math.ceil(files / 500)}):
    p='${src}/tree/d%03d'%d; os.makedirs(p)
    for f in range(500): open('%s/f%03d'%(p,f),'w').write('x'*10)"`);
        }
        const entries = Math.ceil(files / 500) * 501 + 1;
        add(await alternate(`find+du ${files} files (cold)`, contenders(ts, (t) => timed('entries/s', entries, async () => {
          const n = Number((await sh(`find '${t.dir}/tree' | wc -l; du -s '${t.dir}/tree' > /dev/null`)).trim());
          if (n !== entries) throw new Error(`${t.name}: find saw ${n}, expected ${entries}`);
        }, dropCaches), 'find+du'), Math.max(reps, 3)), 'fusekit share');
        // Remove the tree on the host side (a peer that ran out of fds cannot delete through its
        // mount), then make the kernel forget the deleted nodes, so that peer closes its fds
        // again before the next workload.
        for (const t of ts) await sh(`rm -rf '${t.src}/tree'`);
        dropCaches();
      }
      if (want('tar')) {
        const tarball = join(tmp, 'src.tar');
        await sh(`tar cf '${tarball}' -C /usr/include linux x86_64-linux-gnu`);
        const count = Number((await sh(`tar tf '${tarball}' | wc -l`)).trim());
        notes.push(`tar workload: ${count} entries from /usr/include/{linux,x86_64-linux-gnu}`);
        add(await alternate('tar x + rm -rf', contenders(ts, (t) => timed('entries/s', count, () => sh(`mkdir '${t.dir}/x' && tar xf '${tarball}' -C '${t.dir}/x' && rm -rf '${t.dir}/x'`))), Math.max(reps, 3), WARMUP), 'fusekit share');
      }
    } finally {
      await stopAll(ts);
    }
    notes.push(...[...new Set(failures)].slice(0, 20));
    for (const c of comparisons) {
      const isIo = c.metric.startsWith('seq');
      if (isIo && c.baseline === 'native') notes.push(`${c.metric}: passthrough ${c.ratio.toFixed(2)}× native (bar ≥ 0.9): ${c.ratio >= 0.9 ? 'MET' : 'NOT MET'}`);
      if (!isIo && c.baseline.startsWith('libfuse passthrough_ll -o') && Number.isFinite(c.ratio)) notes.push(`${c.metric}: ${c.subject} ${c.ratio.toFixed(2)}× passthrough_ll -o default_permissions,xattr (the default share's features)`);
      if (!isIo && c.baseline === 'libfuse passthrough_ll' && Number.isFinite(c.ratio)) notes.push(`${c.metric}: ${c.subject} ${c.ratio.toFixed(2)}× passthrough_ll (bar ≥ 1): ${c.ratio >= 1 ? 'MET' : c.ratio >= 0.8 ? 'NOT MET (≥ 0.8)' : 'NOT MET (< 0.8)'}`);
    }
    log('share suite done');
    return { measurements, comparisons, notes };
  },
};
