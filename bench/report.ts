// Reporting for bench suites: the environment block, Markdown tables with ratios, JSON results.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Comparison, Measurement } from './compare.ts';

const here = dirname(fileURLToPath(import.meta.url));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

export interface Environment {
  date: string;
  host: string;
  kernel: string;
  distro: string;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  /** UV_USE_IO_URING in the runner's environment (servers may set their own; see each measurement). */
  uvUseIoUring: string;
  ioUringDisabled: string;
  fuseEnableUring: string;
  libfuse: string;
  go: string;
  git: string;
}

export function environment(repoRoot: string): Environment {
  const dirty = sh('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    date: new Date().toISOString(),
    host: sh('uname', ['-n']),
    kernel: sh('uname', ['-r']),
    distro: readTrim('/etc/debian_version') ? `Debian ${readTrim('/etc/debian_version')}` : sh('uname', ['-o']),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    uvUseIoUring: process.env.UV_USE_IO_URING ?? '(unset)',
    ioUringDisabled: readTrim('/proc/sys/kernel/io_uring_disabled') || '?',
    fuseEnableUring: readTrim('/sys/module/fuse/parameters/enable_uring') || '?',
    libfuse: sh('pkg-config', ['--modversion', 'fuse3']) || '?',
    go: sh('go', ['version']).replace(/^go version /, '') || '?',
    git: (sh('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']) || '?') + (dirty ? ' (dirty tree)' : ''),
  };
}

export function formatEnvironment(env: Environment): string {
  return [
    `- date: ${env.date}, host ${env.host}, git ${env.git}`,
    `- kernel ${env.kernel}, ${env.distro}, ${env.cpus} × ${env.cpuModel}, ${env.memGiB} GiB`,
    `- node ${env.node}; runner UV_USE_IO_URING=${env.uvUseIoUring}; kernel.io_uring_disabled=${env.ioUringDisabled}; fuse enable_uring=${env.fuseEnableUring}`,
    `- libfuse ${env.libfuse}; ${env.go}`,
  ].join('\n');
}

// ---- number formatting --------------------------------------------------------------------------

export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M ${unit}`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k ${unit}`;
  if (v >= 100) return `${v.toFixed(0)} ${unit}`;
  return `${v.toPrecision(3)} ${unit}`;
}

export const formatRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');
const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : 'n/a');

export function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${headers.map(esc).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** One row per (metric, baseline): subject median, baseline median, ratio of medians, paired range. */
export function comparisonTable(comparisons: readonly Comparison[]): string {
  return markdownTable(
    ['metric', 'subject', 'baseline', 'ratio', 'paired ratios min–max', 'per server CPU-s'],
    comparisons.map((c) => [
      c.metric,
      `${c.subject}: ${formatValue(c.subjectMedian, c.unit)}`,
      `${c.baseline}: ${formatValue(c.baselineMedian, c.unit)}`,
      `**${formatRatio(c.ratio)}**`,
      c.pairedRatios.length
        ? `${Math.min(...c.pairedRatios).toFixed(2)}–${Math.max(...c.pairedRatios).toFixed(2)}`
        : 'n/a',
      formatRatio(c.efficiencyRatio),
    ]),
  );
}

/** One row per (metric, contender) with spread and where the CPU went. */
export function detailTable(measurements: readonly Measurement[]): string {
  return markdownTable(
    ['metric', 'contender', 'median', 'min–max', 'server CPU', 'per server CPU-s', 'client user', 'client sys', 'server UV_USE_IO_URING'],
    measurements.map((m) => [
      m.metric,
      m.contender,
      formatValue(m.median, m.unit),
      `${formatValue(m.min, '').trim()}–${formatValue(m.max, '').trim()}`,
      pct(m.serverCpu),
      formatValue(m.perServerCpu, m.unit.replace(/\/s$/, '')),
      pct(m.clientUser),
      pct(m.clientSys),
      m.serverUvUseIoUring,
    ]),
  );
}

// ---- JSON results -------------------------------------------------------------------------------

/** Write bench/results/<suite>-<UTC date and time>.json (atomically) and return its path. */
export function writeResults(resultsDir: string, suite: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
  let path = join(resultsDir, `${suite}-${stamp}.json`);
  for (let i = 2; existsSync(path); i++) path = join(resultsDir, `${suite}-${stamp}-${i}.json`);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n');
  renameSync(tmp, path);
  return path;
}

/** The directory holding compiled suites (dist/bench/suites), next to this module. */
export const suitesDir = join(here, 'suites');
