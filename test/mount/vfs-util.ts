/**
 * Shell helpers for the vfs mount tests. Like `ok`/`sh` of test/helpers/mount.ts,
 * but stdin is closed at spawn ('ignore'), so a command that exits at once cannot
 * make writing its stdin fail with EPIPE (an uncaught error in the shared helper).
 */
import { spawn } from 'node:child_process';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sh(command: string, o: { timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[timed out after ${o.timeoutMs ?? 30000} ms]`;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function ok(command: string, o: { timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(command, o);
  if (r.code !== 0) throw new Error(`command failed (${r.code}): ${command}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Run a python3 script (from a heredoc) with `arg` as argv[1]; returns stdout. */
export function py(script: string, arg: string, timeoutMs = 30_000): Promise<string> {
  return ok(`python3 - ${JSON.stringify(arg)} <<'PY'\n${script}\nPY`, { timeoutMs });
}
