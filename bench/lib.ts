// Shared helpers for bench suites: paths, temp dirs and cleanup, FUSE server processes (start and
// wait for the mount, stop by PID and unmount), load-generator runs, CPU accounting and medians.
// Reporting (Markdown tables, JSON results, environment) lives in report.ts and is re-exported.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export * from './report.ts';

/** The repository root: the nearest ancestor of this module with a package.json named fusekit. */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'fusekit') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the fusekit repository root');
    dir = up;
  }
})();
export const benchDir = join(repoRoot, 'bench');
export const buildDir = join(benchDir, 'build');
export const resultsDir = join(benchDir, 'results');

export const log = (...args: unknown[]): void => {
  console.error('bench:', ...args);
};

// ---- cleanup ------------------------------------------------------------------------------------

type CleanupFn = () => Promise<void> | void;
const cleanups: CleanupFn[] = [];

/** Register an undo action; they run in reverse order from runCleanups() or on SIGINT/SIGTERM. */
export function onCleanup(fn: CleanupFn): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.lastIndexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (e) {
      log('cleanup failed:', e instanceof Error ? e.message : e);
    }
  }
}

let signalsInstalled = false;
/** Make Ctrl-C and SIGTERM unmount, stop our servers and remove temp dirs before exiting. */
export function installSignalCleanup(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}

/** A private temp directory under os.tmpdir(), removed at cleanup (after the mounts inside it). */
export function makeTempDir(prefix = 'fusekit-bench-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => {
    if (mountsUnder(dir).length > 0) {
      log(`not removing ${dir}: still has mounts ${mountsUnder(dir).join(', ')}`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---- mounts -------------------------------------------------------------------------------------

export interface MountEntry {
  mountpoint: string;
  fstype: string;
  source: string;
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0) continue;
    out.push({ mountpoint: unescapeMount(f[4]!), fstype: f[dash + 1]!, source: unescapeMount(f[dash + 2]!) });
  }
  return out;
}

export const isMounted = (path: string): boolean => readMounts().some((m) => m.mountpoint === resolve(path));
export const mountsUnder = (dir: string): string[] =>
  readMounts()
    .map((m) => m.mountpoint)
    .filter((p) => p === dir || p.startsWith(dir + '/'));

/** fusermount3 -u, then umount, then umount -l. Returns true once the path is no longer mounted. */
export function unmount(path: string): boolean {
  const attempts: [string, string[]][] = [
    ['fusermount3', ['-u', path]],
    ['umount', [path]],
    ['umount', ['-l', path]],
  ];
  for (const [cmd, args] of attempts) {
    if (!isMounted(path)) return true;
    spawnSync(cmd, args, { stdio: 'ignore' });
  }
  return !isMounted(path);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- server processes ---------------------------------------------------------------------------

export interface ServerSpec {
  /** Short label for logs and tables, e.g. "fusekit demo hello" or "hello_ll". */
  name: string;
  cmd: string;
  args: string[];
  /** Directory or regular file the server mounts on; we wait for it in /proc/self/mountinfo. */
  mountpoint: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly mountpoint: string;
  readonly fstype: string;
  /** Last few KiB of the server's stdout+stderr. */
  output(): string;
  /** Our process and its descendants (e.g. a CLI that re-execs itself). */
  pids(): number[];
  stop(): Promise<void>;
}

class Tail {
  #buf = '';
  push(chunk: Buffer): void {
    this.#buf = (this.#buf + chunk.toString('utf8')).slice(-8192);
  }
  toString(): string {
    return this.#buf;
  }
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!exited(child) && Date.now() < end) await sleep(20);
  return exited(child);
}

/** Start a FUSE server in the foreground and resolve once its mount is visible. */
export async function startServer(spec: ServerSpec): Promise<Server> {
  const mountpoint = resolve(spec.mountpoint);
  if (isMounted(mountpoint)) throw new Error(`${mountpoint} is already a mount point`);
  const tail = new Tail();
  const child = spawn(spec.cmd, spec.args, { env: spec.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Always drain the pipes so a chatty server never blocks on a full pipe.
  child.stdout!.on('data', (c: Buffer) => tail.push(c));
  child.stderr!.on('data', (c: Buffer) => tail.push(c));
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  let failure: Error | undefined;
  void spawnError.then((e) => (failure = e));
  const pid = child.pid;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (isMounted(mountpoint) && !unmount(mountpoint)) log(`${spec.name}: could not unmount ${mountpoint}`);
    if (!exited(child) && !(await waitExit(child, 5000))) {
      log(`${spec.name}: pid ${pid} still running after unmount; SIGTERM`);
      child.kill('SIGTERM');
      if (!(await waitExit(child, 3000))) {
        log(`${spec.name}: pid ${pid} ignored SIGTERM; SIGKILL`);
        child.kill('SIGKILL');
        await waitExit(child, 2000);
      }
    }
    if (isMounted(mountpoint)) unmount(mountpoint);
    undo();
  };
  const undo = onCleanup(stop);

  const server: Server = {
    name: spec.name,
    pid: pid ?? -1,
    mountpoint,
    fstype: '',
    output: () => tail.toString(),
    pids: () => (pid === undefined || exited(child) ? [] : processTree(pid)),
    stop,
  };

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 15000);
  for (;;) {
    const m = readMounts().find((e) => e.mountpoint === mountpoint);
    if (m) return { ...server, fstype: m.fstype };
    if (failure || exited(child) || Date.now() > deadline) {
      await stop();
      const why = failure
        ? failure.message
        : exited(child)
          ? `exited (${child.exitCode ?? child.signalCode})`
          : 'timed out waiting for the mount';
      throw new Error(`${spec.name}: ${why}\n${tail.toString().trim()}`);
    }
    await sleep(10);
  }
}

// ---- CPU accounting -----------------------------------------------------------------------------

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  } catch {
    return undefined;
  }
}

/** pid and all its live descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** User+system CPU seconds consumed so far by the given processes (all their threads). */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  }
  return ticks / clockTicks;
}

/** The value of an environment variable as the process saw it at exec (/proc/PID/environ). */
export function processEnv(pid: number, key: string): string | undefined {
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      if (kv.startsWith(key + '=')) return kv.slice(key.length + 1);
    }
  } catch {
    /* gone */
  }
  return undefined;
}

// ---- load generators ----------------------------------------------------------------------------

export interface LoadResult {
  value: number;
  unit: string;
  /** Client (load generator) CPU seconds during the measured period. */
  clientUser: number;
  clientSys: number;
  /** Measured wall seconds reported by the load generator. */
  seconds: number;
}

export interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion without blocking the event loop. */
export function runCommand(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunOutput> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', rej);
    child.once('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

/**
 * Run one of the C load generators in bench/build (openclose, readloop). Their stdout contract:
 * line 1 "<number> <unit>", line 2 "cpu <user s> <sys s> <wall s>" for the measured period.
 */
export async function runLoad(tool: string, args: string[], cpus?: string): Promise<LoadResult> {
  const exe = join(buildDir, tool);
  const r = cpus ? await runCommand('taskset', ['-c', cpus, exe, ...args]) : await runCommand(exe, args);
  const lines = r.stdout.trim().split('\n');
  const m = /^([0-9.]+)\s+(\S+)/.exec(lines[0] ?? '');
  const c = /^cpu\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)/.exec(lines[1] ?? '');
  if (r.code !== 0 || !m || !c) {
    throw new Error(`${tool} ${args.join(' ')} failed (${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return { value: Number(m[1]), unit: m[2]!, clientUser: Number(c[1]), clientSys: Number(c[2]), seconds: Number(c[3]) };
}

// ---- CPU affinity -------------------------------------------------------------------------------

/** "0-N" for every CPU this runner may use. */
export const allCpus = (): string => `0-${Math.max(0, availableParallelism() - 1)}`;

/** Pin every thread of the given processes to a CPU list ("0", "1", "0-1"); new threads inherit it. */
export function setAffinity(pids: number[], cpus: string): void {
  for (const pid of pids) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0 && existsSync(`/proc/${pid}`)) throw new Error(`taskset -a -p -c ${cpus} ${pid}: ${r.stderr.trim()}`);
  }
}

// ---- statistics ---------------------------------------------------------------------------------

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run `fn` n times and return every result and the median. */
export async function medianOf(n: number, fn: (i: number) => Promise<number>): Promise<{ runs: number[]; median: number }> {
  const runs: number[] = [];
  for (let i = 0; i < n; i++) runs.push(await fn(i));
  return { runs, median: median(runs) };
}
