/**
 * `sh`/`ok` for the share tests, with stdin closed from the start: the shared
 * harness writes an (empty) stdin after spawning, which raises an uncaught
 * EPIPE when a quick command has already exited.
 */
import { spawn } from 'node:child_process';
import type { ShResult } from '../helpers/mount.ts';

export function sh(command: string, o: { uid?: number; gid?: number; timeoutMs?: number; cwd?: string } = {}): Promise<ShResult> {
  const argv = o.uid !== undefined
    ? ['setpriv', `--reuid=${o.uid}`, `--regid=${o.gid ?? o.uid}`, '--clear-groups', 'bash', '-c', command]
    : ['bash', '-c', command];
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[sh: timed out after ${o.timeoutMs ?? 30000} ms]`;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function ok(command: string, o: Parameters<typeof sh>[1] = {}): Promise<string> {
  const r = await sh(command, o);
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${command}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
