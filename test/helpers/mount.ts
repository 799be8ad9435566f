/**
 * Mount-test harness: start a real `fusekit` server process on a private
 * mountpoint, drive it with real programs, and always clean up — unmount, stop
 * the server's process group by PID, remove the temp dir — pass or fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/test/helpers). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin/fusekit.js');

/** Why mount tests cannot run here, or undefined when they can. */
export function fuseUnavailable(): string | undefined {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse on this machine';
  if (process.getuid?.() !== 0 && !existsSync('/usr/bin/fusermount3')) return 'not root and no fusermount3';
  return undefined;
}

/** Options for `skip` in node:test, printed loudly once when mount tests cannot run. */
export const SKIP_MOUNT: string | false = (() => {
  const why = fuseUnavailable();
  if (why) process.stderr.write(`\n*** MOUNT TESTS SKIPPED: ${why} ***\n\n`);
  return why ?? false;
})();

/** The /proc/self/mountinfo line of `mountpoint` (the kernel escapes backslashes and spaces), if mounted. */
function mountInfoLine(mountpoint: string): string | undefined {
  const mi = readFileSync('/proc/self/mountinfo', 'utf8');
  const esc = mountpoint.replace(/\\/g, '\\134').replace(/ /g, '\\040');
  return mi.split('\n').find((l) => l.split(' ')[4] === esc);
}

export function isMounted(mountpoint: string): boolean {
  return mountInfoLine(mountpoint) !== undefined;
}

/**
 * The superblock options of the mount at `mountpoint` (mountinfo's last field: for FUSE
 * `rw,user_id=0,group_id=0,default_permissions,allow_other`, …). Throws if nothing is mounted there.
 */
export function mountOptions(mountpoint: string): string[] {
  const line = mountInfoLine(mountpoint);
  if (line === undefined) throw new Error(`${mountpoint} is not mounted`);
  const after = line.split(' - ')[1]!.split(' ');
  return after[2]!.split(',');
}

export interface ServerOptions {
  /** Run the server as this uid/gid (through setpriv); default: the test's own. */
  uid?: number;
  gid?: number;
  env?: Record<string, string>;
  /** ms to wait for the mount. */
  timeoutMs?: number;
  /** Use this existing directory as the private base (it is still removed at stop). */
  base?: string;
  /** Program to run instead of bin/fusekit.js (argv[0]), e.g. a fixture script. */
  program?: string[];
}

export interface Server {
  readonly pid: number;
  readonly mountpoint: string;
  /** The private temp dir holding the mountpoint (and anything else the test puts there). */
  readonly base: string;
  readonly child: ChildProcess;
  /** Everything the server printed so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code when the server exits. */
  readonly exited: Promise<number | null>;
  /** Unmount, stop the process group, remove the temp dir. Idempotent; never throws. */
  stop(): Promise<void>;
}

/**
 * Start `fusekit <args>` where the string `{mnt}` in args is replaced by a fresh
 * mountpoint (and `{base}` by its private temp dir). Resolves once mounted.
 */
export async function startServer(args: string[], o: ServerOptions = {}): Promise<Server> {
  const base = o.base ?? mkdtempSync(path.join(os.tmpdir(), 'fusekit-test-'));
  const mountpoint = path.join(base, 'mnt');
  mkdirSync(mountpoint, { recursive: true });
  if (o.uid !== undefined) {
    chmodSync(base, 0o755);
    spawnSync('chown', ['-R', `${o.uid}:${o.gid ?? o.uid}`, base]);
  }
  const argv = [...(o.program ?? [process.execPath, BIN]), ...args.map((a) => a.replaceAll('{mnt}', mountpoint).replaceAll('{base}', base))];
  const cmd = o.uid !== undefined ? ['setpriv', `--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups', ...argv] : argv;
  const child = spawn(cmd[0]!, cmd.slice(1), {
    detached: true, // own process group, so stop() can signal everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let stopped = false;
  const server: Server = {
    pid: child.pid!,
    mountpoint,
    base,
    child,
    output: () => out,
    exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer(child, mountpoint, exited, o.uid !== undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + (o.timeoutMs ?? 15000);
  let done = false;
  void exited.then(() => (done = true));
  while (!(isMounted(mountpoint) && /mounted /.test(out))) {
    if (done || Date.now() > deadline) {
      await server.stop();
      throw new Error(`server did not mount ${mountpoint} (${done ? 'it exited' : 'timeout'}); output:\n${out}`);
    }
    await sleep(20);
  }
  return server;
}

async function stopServer(child: ChildProcess, mountpoint: string, exited: Promise<number | null>, user: boolean): Promise<void> {
  if (isMounted(mountpoint)) {
    const r = user ? spawnSync('fusermount3', ['-u', '-z', mountpoint]) : spawnSync('umount', [mountpoint]);
    if (r.status !== 0 && isMounted(mountpoint)) spawnSync(user ? 'fusermount3' : 'umount', user ? ['-u', '-z', mountpoint] : ['-l', mountpoint]);
  }
  const pid = child.pid!;
  const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!gone) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const gone2 = await Promise.race([exited.then(() => true), sleep(2000).then(() => false)]);
    if (!gone2) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await exited;
    }
  }
  // Anything else left in the group (a helper the server spawned) goes too.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* none left */
  }
  if (isMounted(mountpoint)) spawnSync('umount', ['-l', mountpoint]);
}

/** Run `fn` against a server, stopping it afterwards whatever happens. */
export async function withServer<T>(args: string[], fn: (s: Server) => Promise<T>, o: ServerOptions = {}): Promise<T> {
  const s = await startServer(args, o);
  try {
    return await fn(s);
  } catch (e) {
    (e as Error).message += `\n--- server output ---\n${s.output()}`;
    throw e;
  } finally {
    await s.stop();
  }
}

export interface ShResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a shell command (bash -c), asynchronously so this process keeps serving
 * anything it may host. `uid` runs it through setpriv as another user. `cwd` is
 * entered by the shell itself (exit 125 if it cannot): spawn's own chdir would
 * happen as root, before setpriv, and root may not enter a user's mount. Stdin
 * is closed unless `input` is given, so a command that exits at once cannot fail
 * the test with EPIPE. Never rejects: a spawn failure resolves with code -1.
 */
export function sh(command: string, o: { cwd?: string; uid?: number; gid?: number; input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ShResult> {
  const script = o.cwd !== undefined ? `cd ${JSON.stringify(o.cwd)} || exit 125\n${command}` : command;
  const argv = o.uid !== undefined
    ? ['setpriv', `--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups', 'bash', '-c', script]
    : ['bash', '-c', script];
  const timeoutMs = o.timeoutMs ?? 60000;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...o.env },
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: `${stderr}spawn failed: ${e.message}` }));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[sh: timed out after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(o.input);
    }
  });
}

/** Like sh, but throws with the output unless the command exits 0. Returns stdout. */
export async function ok(command: string, o: Parameters<typeof sh>[1] = {}): Promise<string> {
  const r = await sh(command, o);
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${command}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A uid/gid for "ordinary user" tests: created once (useradd) if missing. */
export function testUser(name = 'fusekit-test'): { uid: number; gid: number } {
  let r = spawnSync('id', ['-u', name]);
  if (r.status !== 0) {
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    r = spawnSync('id', ['-u', name]);
    if (r.status !== 0) throw new Error(`could not create user ${name}`);
  }
  const uid = Number(r.stdout.toString().trim());
  const gid = Number(spawnSync('id', ['-g', name]).stdout.toString().trim());
  return { uid, gid };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
