// Suite `engine`: the protocol engine's cost per request and its data path, against libfuse.
//
// round trips  open+close of /hello (OPEN, FLUSH, RELEASE) on `fusekit demo hello` vs libfuse's
//              hello_ll (multi-threaded default, and -s single-threaded like fusekit's event loop)
// throughput   sequential 128 KiB pread of /zero on `fusekit demo zero` vs libfuse's null (a
//              file-as-mountpoint filesystem, mounted on a regular file), O_DIRECT and buffered
//
// --aa          A/A calibration: use the libfuse peers as the "subject" too (no fusekit needed);
//               ratios should be ≈1.00 and their spread is the noise floor of this machine.
// --only=a,b    run only some metrics: roundtrip, direct, buffered.
// --no-single   skip the single-threaded (-s) peer variants.
// --variants=uring,threadpool  fusekit read strategies measured besides the default (poll); 'none' for none.
// --pin=none,same  CPU placement of client and server, one set of runs per mode:
//               none  = the scheduler decides (realistic, noisy: on a 2-vCPU VM a cross-CPU wake-up
//                       costs more than the request itself, and placement flips between runs);
//               same  = client and every server thread on the last CPU (stable; measures the CPU
//                       cost of a request: client + kernel + server);
//               split = client on CPU 0, server on CPU 1 (wake-up latency bound).
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { alternate, compare, type Comparison, type Contender, type Measurement } from '../compare.ts';
import { availableParallelism } from 'node:os';
import { allCpus, buildDir, log, makeTempDir, runLoad, setAffinity, type Server } from '../lib.ts';
import { fusekitBin, startFusekit, startHelloLl, startNull } from '../peers.ts';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.ts';

const BLOCK = '128K';

interface Mounted {
  name: string;
  server: Server;
  /** The file the load generator works on. */
  target: string;
}

type Starter = (tmp: string) => Promise<Mounted>;

/**
 * fusekit demo <demo> with a read strategy: undefined = the default (event-loop poll);
 * 'uring' runs Node with UV_USE_IO_URING=1 (libuv's io_uring, SQPOLL in Node 20); 'threadpool' = libuv pool reads.
 */
function fusekitDemo(demo: 'hello' | 'zero', read?: 'uring' | 'threadpool'): Starter {
  return async (tmp) => {
    const mp = join(tmp, `fusekit-${demo}${read ? '-' + read : ''}`);
    mkdirSync(mp);
    const name = `fusekit demo ${demo}${read ? ` (-o read=${read})` : ''}`;
    const args = ['demo', demo, mp, ...(read ? ['-o', `read=${read}`] : [])];
    const server = await startFusekit(args, mp, { name, env: read === 'uring' ? { UV_USE_IO_URING: '1' } : { UV_USE_IO_URING: '0' } });
    return { name, server, target: join(mp, demo) };
  };
}

function helloLl(single: boolean, prefix = ''): Starter {
  return async (tmp) => {
    const mp = join(tmp, `${prefix}hello_ll${single ? '-s' : ''}`);
    mkdirSync(mp);
    const server = await startHelloLl(mp, { single, name: `${prefix}hello_ll${single ? ' -s' : ''}` });
    return { name: server.name, server, target: join(mp, 'hello') };
  };
}

function nullFs(single: boolean, prefix = ''): Starter {
  return async (tmp) => {
    // libfuse 3's null mounts over a regular file and serves a 4 GiB file of zeros there.
    const file = join(tmp, `${prefix}null${single ? '-s' : ''}`);
    writeFileSync(file, '');
    const server = await startNull(file, { single, name: `${prefix}null${single ? ' -s' : ''}` });
    return { name: server.name, server, target: file };
  };
}

/** Start servers one by one (a failure stops the ones already started), measure, stop them all. */
async function withServers<T>(starters: Starter[], fn: (m: Mounted[]) => Promise<T>): Promise<T> {
  const tmp = makeTempDir('fusekit-bench-engine-');
  const mounted: Mounted[] = [];
  try {
    for (const s of starters) mounted.push(await s(tmp));
    log(`mounted: ${mounted.map((m) => `${m.name} (pid ${m.server.pid}, ${m.server.fstype})`).join('; ')}`);
    return await fn(mounted);
  } finally {
    for (const m of mounted.reverse()) await m.server.stop();
  }
}

const PIN_MODES = ['none', 'same', 'split'] as const;
type PinMode = (typeof PIN_MODES)[number];
interface Placement {
  label: string;
  client?: string;
  server: string;
}

function placement(mode: PinMode): Placement {
  const last = String(availableParallelism() - 1);
  switch (mode) {
    case 'none':
      return { label: 'unpinned', server: allCpus() };
    case 'same':
      return { label: `all on CPU ${last}`, client: last, server: last };
    case 'split':
      return { label: 'client CPU 0, server CPU 1', client: '0', server: '1' };
  }
}

function contender(m: Mounted, pin: Placement, tool: string, args: (target: string) => string[]): Contender {
  return {
    name: m.name,
    server: m.server,
    run: () => {
      setAffinity(m.server.pids(), pin.server);
      return runLoad(tool, args(m.target), pin.client);
    },
  };
}

export const suite: Suite = {
  name: 'engine',
  description: 'fusekit demo hello/zero vs libfuse hello_ll/null: open+close round trips, 128 KiB reads',
  flags: [
    ['aa', 'A/A calibration: libfuse peers as the subject too (ratios ≈1, spread = noise)'],
    ['only=roundtrip,direct,buffered', 'run only these metrics'],
    ['no-single', 'skip the single-threaded (-s) libfuse variants'],
    ['variants=uring,threadpool', "fusekit read strategies measured besides the default poll ('none' for none)"],
    ['pin=none,same', 'CPU placements to run: none (scheduler), same (one CPU), split (client 0, server 1)'],
  ],
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const aa = opts.flags.aa === 'true';
    const single = opts.flags['no-single'] !== 'true';
    const variants = (opts.flags.variants ?? 'uring,threadpool').split(',').filter((v): v is 'uring' | 'threadpool' => v === 'uring' || v === 'threadpool');
    const only = new Set((opts.flags.only ?? 'roundtrip,direct,buffered').split(','));
    const secs = String(opts.seconds);
    const pins = (opts.flags.pin ?? 'none,same').split(',').map((p) => {
      if (!(PIN_MODES as readonly string[]).includes(p)) throw new Error(`--pin: unknown mode ${p}`);
      if (p !== 'none' && availableParallelism() < 2 && p === 'split') throw new Error('--pin=split needs 2 CPUs');
      return placement(p as PinMode);
    });
    const notes: string[] = [];
    const measurements: Measurement[] = [];
    const comparisons: Comparison[] = [];

    for (const tool of ['openclose', 'readloop', 'hello_ll', 'null']) {
      if (!existsSync(join(buildDir, tool))) throw new Error(`${join(buildDir, tool)} missing; run bench/peers.sh`);
    }
    if (!aa && !existsSync(fusekitBin)) throw new Error(`${fusekitBin} not found (use --aa to calibrate with peers only)`);
    if (aa) notes.push('A/A calibration run: the "subject" is a second instance of the libfuse peer.');

    if (only.has('roundtrip')) {
      const starters = aa ? [helloLl(false, 'A ')] : [fusekitDemo('hello')];
      if (!aa) for (const v of variants) starters.push(fusekitDemo('hello', v));
      starters.push(helloLl(false));
      if (single) starters.push(helloLl(true));
      await withServers(starters, async (mounted) => {
        for (const pin of pins) {
          const metric = `open+close /hello · ${pin.label}`;
          const ms = await alternate(metric, mounted.map((m) => contender(m, pin, 'openclose', (t) => [t, secs])), opts.reps);
          measurements.push(...ms);
          comparisons.push(...compare(ms));
        }
      });
    }

    const reads = [...only].filter((x) => x === 'direct' || x === 'buffered');
    if (reads.length > 0) {
      const starters = aa ? [nullFs(false, 'A ')] : [fusekitDemo('zero')];
      if (!aa) for (const v of variants) starters.push(fusekitDemo('zero', v));
      starters.push(nullFs(false));
      if (single) starters.push(nullFs(true));
      await withServers(starters, async (mounted) => {
        for (const mode of reads) {
          for (const pin of pins) {
            const metric = `${BLOCK}iB reads ${mode === 'direct' ? 'O_DIRECT' : 'buffered'} · ${pin.label}`;
            const ms = await alternate(metric, mounted.map((m) => contender(m, pin, 'readloop', (t) => [t, BLOCK, secs, mode])), opts.reps);
            measurements.push(...ms);
            comparisons.push(...compare(ms));
          }
        }
      });
    }

    notes.push(
      'open+close: each iteration is OPEN + FLUSH + RELEASE unless the server answered FLUSH with ENOSYS once (hello_ll has no flush handler, so the kernel stops sending FLUSH to it).',
      'reads: sequential from offset 0, wrapping at 1 GiB (null is 4 GiB, /zero 1 TiB); buffered runs drop the page cache on each wrap (POSIX_FADV_DONTNEED), so every pass reaches the server through kernel readahead.',
      'server CPU = user+sys of the server process tree over the whole run (incl. 0.5 s warm-up) per wall second; client user/sys = load generator over the measured period, per wall second (1 = one core).',
    );
    return { measurements, comparisons, notes };
  },
};
