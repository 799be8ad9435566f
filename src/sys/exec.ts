/**
 * execve(2): replace this process image, keeping its PID. Used by the CLI to
 * restart itself with environment variables that must be set before Node starts
 * (UV_USE_IO_URING), so that whoever started it keeps the right PID to signal.
 */
import koffi from 'koffi';

type ExecveFn = (path: string, argv: (string | null)[], envp: (string | null)[]) => number;
let execveFn: ExecveFn | undefined;
let fcntlFn: ((fd: number, cmd: number, arg: number) => number) | undefined;
const F_SETFD = 2;

/** Never returns on success; throws with errno on failure. */
export function execve(file: string, argv: readonly string[], env: NodeJS.ProcessEnv): never {
  if (!execveFn) {
    const libc = koffi.load('libc.so.6');
    execveFn = libc.func('int execve(const char *path, const char **argv, const char **envp)') as unknown as ExecveFn;
    fcntlFn = libc.func('int fcntl(int fd, int cmd, int arg)') as unknown as typeof fcntlFn;
  }
  // Node marks its stdio descriptors close-on-exec; the new image must inherit them.
  for (const fd of [0, 1, 2]) fcntlFn!(fd, F_SETFD, 0);
  const envp = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  execveFn!(file, [...argv, null], [...envp, null]);
  const errno = koffi.errno();
  throw Object.assign(new Error(`execve ${file} failed (errno ${errno})`), { errno: -errno, syscall: 'execve' });
}
