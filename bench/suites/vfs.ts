// Suite `vfs`: what the virtual-filesystem framework costs, on `fusekit demo tracefs`.
//
// memory   server RSS of `demo tracefs` vs `demo hello`, each freshly started: before any access,
//          after `find` of the whole tree + `cat` of every `id` file, and after
//          `echo 2 > /proc/sys/vm/drop_caches` (the kernel forgets every node).
//          Bars: tracefs − hello < 5 MB before access; after the forget, within 10% of before.
// walk     an lstat walk (`find <dir> -printf '%s'`: one fstatat per entry) started with no dentries
//          cached (drop_caches before every run), over the tracefs mount vs a native directory of
//          the same shape (empty files) built on the local disk in the same run. Bar: ≤ 2× the time.
//          References in the same rotation: tracefs with `-o spin=0`; the floor, a single-threaded
//          libfuse server answering the same tree from memory with no syscalls (bench/floor/
//          treefs_ll.c: what the FUSE round trips alone cost here); and libfuse's passthrough_ll
//          and go-fuse's loopback serving the native tree (what a C or Go server costs here).
//
// --reps=N (default 3).  Needs root (drop_caches, mounts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { alternate, compare, type Measurement, type Sample } from '../compare.ts';
import { log, makeTempDir, repoRoot, runCommand, sleep, startServer, type LoadResult, type Server } from '../lib.ts';
import { peerStatus, startGoLoopback, startPassthroughLl, startTreefsLl } from '../peers.ts';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.ts';

const fusekitBin = join(repoRoot, 'bin', 'fusekit.js');
const MB = 1024 * 1024;

/** Resident set size of a server's whole process tree, in MB. */
function rssMB(server: Server): number {
  let kb = 0;
  for (const pid of server.pids()) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) kb += Number(m[1]);
  }
  return (kb * 1024) / MB;
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '2');
}

async function demo(tmp: string, name: string, rep: number): Promise<Server> {
  const mp = join(tmp, `${name}-${rep}`);
  mkdirSync(mp);
  return startServer({ name: `fusekit demo ${name}`, cmd: process.execPath, args: [fusekitBin, 'demo', name, mp], mountpoint: mp });
}

async function sh(cmd: string): Promise<string> {
  const r = await runCommand('bash', ['-c', cmd]);
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function measurement(metric: string, unit: string, contender: string, values: number[]): Measurement {
  const samples: Sample[] = values.map((value, rep) => ({ value, unit, clientUser: 0, clientSys: 0, seconds: 1, rep, position: 0, serverCpuSeconds: 0, wallSeconds: 1 }));
  const sorted = [...values].sort((a, b) => a - b);
  const med = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return {
    metric, unit, contender, samples, median: med, min: sorted[0]!, max: sorted[sorted.length - 1]!,
    serverCpu: NaN, clientUser: NaN, clientSys: NaN, perServerCpu: NaN, serverUvUseIoUring: '—',
  } as Measurement;
}

/** Time one cold lstat walk; the value is entries per second (higher is better). */
async function coldWalk(dir: string, expect: number): Promise<LoadResult> {
  dropCaches();
  await sleep(200);
  const t0 = performance.now();
  const out = await sh(`find ${dir} -printf '%s\\n' | wc -l`);
  const seconds = (performance.now() - t0) / 1000;
  const n = Number(out.trim());
  if (Math.abs(n - expect) > 1) throw new Error(`walk of ${dir} saw ${n} entries, expected ${expect}`);
  return { value: n / seconds, unit: 'entries/s', clientUser: 0, clientSys: 0, seconds };
}

export const suite: Suite = {
  name: 'vfs',
  description: 'vfs framework: tracefs server RSS (before/after walk/after forget) vs hello; cold lstat walk vs native',
  flags: [['reps=N', 'repetitions (default 3)']],
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    if (process.getuid?.() !== 0) throw new Error('the vfs suite needs root (drop_caches and mounts)');
    const reps = Number(opts.flags.reps ?? Math.min(opts.reps, 3));
    const tmp = makeTempDir('fusekit-bench-vfs-');
    const notes: string[] = [];
    const rss = { hello: [] as number[], before: [] as number[], warm: [] as number[], walked: [] as number[], forgotten: [] as number[] };
    let shape: string[] = [];
    try {
      // ── memory ──
      for (let rep = 0; rep < reps; rep++) {
        const hello = await demo(tmp, 'hello', rep);
        const trace = await demo(tmp, 'tracefs', rep);
        try {
          await sleep(1500); // let start-up garbage settle
          rss.hello.push(rssMB(hello));
          rss.before.push(rssMB(trace));
          // Warm-up: a small walk (3 subsystems, ~570 entries) and a forget, so one-time costs
          // (compiled code, first-use buffers) are paid; what remains after the full walk beyond
          // this is memory per accessed node.
          const mp = trace.mountpoint;
          await sh(`find ${mp}/events/sched ${mp}/events/irq ${mp}/events/subsys050 -printf '%s\\n' > /dev/null; cat ${mp}/events/sched/*/id > /dev/null`);
          dropCaches();
          await sleep(3000);
          rss.warm.push(rssMB(trace));
          const list = await sh(`find ${trace.mountpoint} -printf '%y %P\\n'`);
          await sh(`find ${trace.mountpoint} -name id -exec cat {} + > /dev/null`);
          if (rep === 0) shape = list.trim().split('\n');
          await sleep(500);
          rss.walked.push(rssMB(trace));
          dropCaches();
          await sleep(3000); // FORGETs arrive, lazy nodes are dropped, V8 collects
          rss.forgotten.push(rssMB(trace));
          log(`vfs memory [${rep + 1}/${reps}] hello ${rss.hello.at(-1)!.toFixed(1)} MB, tracefs ${rss.before.at(-1)!.toFixed(1)} → warm ${rss.warm.at(-1)!.toFixed(1)} → walked ${rss.walked.at(-1)!.toFixed(1)} → forgotten ${rss.forgotten.at(-1)!.toFixed(1)} MB`);
        } finally {
          await trace.stop();
          await hello.stop();
        }
      }
      const ms = [
        measurement('server RSS, idle', 'MB', 'fusekit demo hello', rss.hello),
        measurement('server RSS, before access', 'MB', 'fusekit demo tracefs', rss.before),
        measurement('server RSS, after a small walk + drop_caches (warm)', 'MB', 'fusekit demo tracefs', rss.warm),
        measurement('server RSS, after find + cat */id', 'MB', 'fusekit demo tracefs', rss.walked),
        measurement('server RSS, after drop_caches', 'MB', 'fusekit demo tracefs', rss.forgotten),
      ];
      const extra = ms[1]!.median - ms[0]!.median;
      const back = ms[4]!.median / ms[1]!.median - 1;
      const backWarm = ms[4]!.median / ms[2]!.median - 1;
      notes.push(`tracefs before access costs ${extra.toFixed(1)} MB more RSS than hello (bar < 5 MB): ${extra < 5 ? 'MET' : 'NOT MET'}`);
      notes.push(`after drop_caches RSS is ${(back * 100).toFixed(1)}% from before access (bar within 10%): ${Math.abs(back) <= 0.1 ? 'MET' : 'NOT MET'}; peak after the walk ${ms[3]!.median.toFixed(1)} MB`);
      notes.push(`after drop_caches RSS is ${(backWarm * 100).toFixed(1)}% from the warm state (after a 570-entry walk and its forget): the one-time warm-up is ${(ms[2]!.median - ms[1]!.median).toFixed(1)} MB; memory per accessed node is ${Math.abs(backWarm) <= 0.1 ? 'given back' : 'NOT given back'}`);

      // ── walk ──
      const trace = await demo(tmp, 'tracefs', 99);
      const native = join(tmp, 'native');
      mkdirSync(native);
      for (const line of shape) {
        const type = line[0];
        const rel = line.slice(2);
        if (!rel) continue;
        if (type === 'd') mkdirSync(join(native, rel), { recursive: true });
        else writeFileSync(join(native, rel), '');
      }
      const entries = shape.length;
      // References: the same tracefs without busy polling, and C and Go FUSE servers passing the
      // native tree through (their own walk cost: how far any FUSE server is from native here).
      const refs: Server[] = [];
      const ref = async (name: string, start: (mp: string) => Promise<Server>): Promise<void> => {
        const mp = join(tmp, name);
        mkdirSync(mp);
        try {
          refs.push(await start(mp));
        } catch (e) {
          notes.push(`${name}: not measured (${(e as Error).message})`);
        }
      };
      await ref('nospin', (mp) => startServer({ name: 'fusekit demo tracefs -o spin=0', cmd: process.execPath, args: [fusekitBin, 'demo', 'tracefs', mp, '-o', 'spin=0'], mountpoint: mp }));
      // The floor: a C server answering the same tree from memory (no syscalls in its handlers).
      // What it takes beyond native is what the FUSE round trips alone cost on this machine.
      const shapeFile = join(tmp, 'shape.txt');
      writeFileSync(shapeFile, shape.join('\n') + '\n');
      if (peerStatus().treefs_ll === 'ok') await ref('floor', (mp) => startTreefsLl(shapeFile, mp, { name: 'floor: libfuse treefs_ll, tree in memory' }));
      if (peerStatus().passthrough_ll === 'ok') await ref('passthrough_ll', (mp) => startPassthroughLl(native, mp, { name: 'libfuse passthrough_ll over the native tree' }));
      if (peerStatus().loopback === 'ok') await ref('loopback', (mp) => startGoLoopback(native, mp, { name: 'go-fuse loopback over the native tree' }));
      let walk: Measurement[];
      try {
        walk = await alternate('cold lstat walk', [
          { name: 'fusekit demo tracefs', server: trace, run: () => coldWalk(trace.mountpoint, entries) },
          { name: 'native (same shape, local disk)', run: () => coldWalk(native, entries) },
          ...refs.map((r) => ({ name: r.name, server: r, run: () => coldWalk(r.mountpoint, entries) })),
        ], Math.max(reps, 3));
      } finally {
        await trace.stop();
        for (const r of refs) await r.stop();
      }
      const cmp = compare(walk, 'fusekit demo tracefs');
      const nativeMedian = walk.find((m) => m.contender.startsWith('native'))!.median;
      const slow = nativeMedian / walk[0]!.median;
      notes.push(`cold lstat walk of ${entries} entries: tracefs takes ${slow.toFixed(2)}× the native time (bar ≤ 2×): ${slow <= 2 ? 'MET' : 'NOT MET'}`);
      for (const m of walk.slice(2)) notes.push(`${m.contender}: ${(nativeMedian / m.median).toFixed(2)}× the native time`);
      const floor = walk.find((m) => m.contender.startsWith('floor'));
      if (floor) {
        const floorSlow = nativeMedian / floor.median;
        notes.push(`the floor (a C server answering from memory) takes ${floorSlow.toFixed(2)}× the native time: the ≤ 2× bar is ${floorSlow <= 2 ? 'within' : 'out of'} reach of any FUSE server here; tracefs takes ${(floor.median / walk[0]!.median).toFixed(2)}× the floor's time`);
      }
      return { measurements: [...ms, ...walk], comparisons: cmp, notes };
    } catch (e) {
      throw e; // the temp dir (and anything mounted in it) is cleaned up by makeTempDir's cleanup
    }
  },
};
