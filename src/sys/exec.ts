/**
 * execve(2): replace this process image, keeping its PID. Used by the CLI to
 * restart itself with environment variables that must be set before Node starts
 * (UV_USE_IO_URING), so that whoever started it keeps the right PID to signal.
 */
import koffi from 'koffi';

let execveFn: ((path: string, argv: (string | null)[], envp: (string | null)[]) => number) | undefined;

/** Never returns on success; throws with errno on failure. */
export function execve(file: string, argv: readonly string[], env: NodeJS.ProcessEnv): never {
  if (!execveFn) {
    const libc = koffi.load('libc.so.6');
    execveFn = libc.func('int execve(const char *path, const char **argv, const char **envp)') as typeof execveFn;
  }
  const envp = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  execveFn!(file, [...argv, null], [...envp, null]);
  const errno = koffi.errno();
  throw Object.assign(new Error(`execve ${file} failed (errno ${errno})`), { errno: -errno, syscall: 'execve' });
}
