// Side-by-side measurement: every repetition runs each contender once, in a rotated order, so slow
// drift (thermal, page cache, noisy neighbours) hits all contenders alike; medians, then ratios.
import { cpuSeconds, log, median, processEnv, type LoadResult, type Server } from './lib.ts';

export interface Contender {
  /** Label in tables, e.g. "fusekit demo hello", "libfuse hello_ll". */
  name: string;
  /** The server being measured (for CPU accounting); absent for native baselines. */
  server?: Server;
  /** One measured run (a load-generator invocation). */
  run(): Promise<LoadResult>;
}

export interface Sample extends LoadResult {
  rep: number;
  /** Position in this repetition's order (0 = first). */
  position: number;
  /** Server CPU seconds (all threads and descendants) over the whole run, and that run's wall time. */
  serverCpuSeconds: number;
  wallSeconds: number;
}

export interface Measurement {
  metric: string;
  unit: string;
  contender: string;
  samples: Sample[];
  median: number;
  min: number;
  max: number;
  /** Medians of CPU use as a fraction of one core: server over the run, client over the measured period. */
  serverCpu: number;
  clientUser: number;
  clientSys: number;
  /** Median of value per server CPU-second (ops or MiB per second of server CPU); NaN without a server. */
  perServerCpu: number;
  serverUvUseIoUring: string;
}

export interface Comparison {
  metric: string;
  unit: string;
  subject: string;
  baseline: string;
  subjectMedian: number;
  baselineMedian: number;
  /** subjectMedian / baselineMedian; higher is better for every metric here (ops/s, MiB/s). */
  ratio: number;
  /** subject/baseline within each repetition (the two ran back to back). */
  pairedRatios: number[];
  /** Work per server CPU-second, subject / baseline: how efficiently each server uses the CPU. */
  efficiencyRatio: number;
}

/** Describe how UV_USE_IO_URING was set in a server's process tree ("1", "unset", "0/1" …). */
function uvSetting(server: Server | undefined): string {
  if (!server) return '—';
  const vals = server.pids().map((p) => processEnv(p, 'UV_USE_IO_URING') ?? 'unset');
  return [...new Set(vals)].join('/') || '?';
}

/**
 * Run `reps` repetitions of every contender. Repetition r runs the contenders rotated by r
 * (A B C, B C A, C A B, …), so each one is first, middle and last equally often.
 */
export async function alternate(metric: string, contenders: readonly Contender[], reps: number, warmup = 0): Promise<Measurement[]> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const n = contenders.length;
  // Uncounted runs first, each contender in turn: JIT warm-up for fusekit, caches for everyone.
  for (let w = 0; w < warmup; w++) {
    for (const c of contenders) await c.run();
    log(`${metric} [warm-up ${w + 1}/${warmup}] done`);
  }
  for (let rep = 0; rep < reps; rep++) {
    const order = contenders.map((_, i) => contenders[(i + rep) % n]!);
    const line: string[] = [];
    for (let position = 0; position < n; position++) {
      const c = order[position]!;
      const pids = c.server?.pids() ?? [];
      if (c.server && pids.length === 0) throw new Error(`${c.name}: server pid ${c.server.pid} has exited\n${c.server.output()}`);
      const cpu0 = cpuSeconds(pids);
      const t0 = performance.now();
      const r = await c.run();
      const wallSeconds = (performance.now() - t0) / 1000;
      // Re-read the tree: a server may have started helpers (threads are counted either way).
      const serverCpuSeconds = c.server ? cpuSeconds(c.server.pids()) - cpu0 : 0;
      samples.get(c.name)!.push({ ...r, rep, position, serverCpuSeconds, wallSeconds });
      line.push(`${c.name} ${r.value.toFixed(0)}`);
    }
    log(`${metric} [${rep + 1}/${reps}] ${line.join(', ')}`);
  }
  return contenders.map((c) => {
    const s = samples.get(c.name)!;
    const values = s.map((x) => x.value);
    return {
      metric,
      unit: s[0]?.unit ?? '',
      contender: c.name,
      samples: s,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      serverCpu: c.server ? median(s.map((x) => x.serverCpuSeconds / x.wallSeconds)) : NaN,
      clientUser: median(s.map((x) => x.clientUser / x.seconds)),
      clientSys: median(s.map((x) => x.clientSys / x.seconds)),
      perServerCpu: c.server ? median(s.map((x) => x.value / (x.serverCpuSeconds / x.wallSeconds))) : NaN,
      serverUvUseIoUring: uvSetting(c.server),
    };
  });
}

/** Ratios of the subject (measurements[0] unless named) against every other contender. */
export function compare(measurements: readonly Measurement[], subjectName?: string): Comparison[] {
  const subject = measurements.find((m) => m.contender === subjectName) ?? measurements[0];
  if (!subject) return [];
  return measurements
    .filter((m) => m !== subject)
    .map((b) => {
      const byRep = new Map(b.samples.map((s) => [s.rep, s.value]));
      const paired = subject.samples
        .filter((s) => byRep.has(s.rep))
        .map((s) => s.value / byRep.get(s.rep)!);
      return {
        metric: subject.metric,
        unit: subject.unit,
        subject: subject.contender,
        baseline: b.contender,
        subjectMedian: subject.median,
        baselineMedian: b.median,
        ratio: subject.median / b.median,
        pairedRatios: paired,
        efficiencyRatio: subject.perServerCpu / b.perServerCpu,
      };
    });
}
