/** Shell helpers for the vfs mount tests: the shared harness's `sh` and `ok`, plus `py`. */
import { ok } from '../helpers/mount.ts';

export { ok, sh } from '../helpers/mount.ts';
export type { ShResult as Run } from '../helpers/mount.ts';

/** Run a python3 script (from a heredoc) with `arg` as argv[1]; returns stdout. */
export function py(script: string, arg: string, timeoutMs = 30_000): Promise<string> {
  return ok(`python3 - ${JSON.stringify(arg)} <<'PY'\n${script}\nPY`, { timeoutMs });
}
