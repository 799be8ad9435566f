/**
 * The one place that loads libc through koffi, plus the error convention every
 * binding in `sys/` follows.
 *
 * Every binding is a synchronous koffi call. On failure it throws a Node-style
 * system error, shaped like the errors `node:fs` throws:
 *
 * ```ts
 * Object.assign(new Error(`${syscall} ${path}: ${strerror}`), { code: 'ENOENT', errno: -2, syscall, path })
 * // without a path: `${syscall}: ${strerror}`, and no `path` property
 * ```
 *
 * so `toFuseError` (src/errors.ts) maps it by `code`. `errno` is negative, as
 * in Node's own `ErrnoException`.
 *
 * koffi does not capture errno for synchronous calls: `koffi.errno()` reads the
 * thread's errno when asked. `check()` reads it straight after the call with no
 * JS in between that could make another libc call, which is as early as we can.
 *
 * Syscall numbers are per architecture; `SYS` holds the few we call through
 * `syscall(2)` because glibc has no wrapper or its wrapper differs from the
 * kernel's per-thread semantics.
 */
import koffi from 'koffi';
import { constants } from 'node:os';

/** libc.so.6, loaded once for the process. */
export const libc = koffi.load('libc.so.6');

const strerrorFn = libc.func('const char *strerror(int errnum)');

const errnoNames: Record<number, string> = {};
for (const [name, n] of Object.entries(constants.errno as Record<string, number>)) {
  if (errnoNames[n] === undefined) errnoNames[n] = name;
}

/** A Node-style system error, as thrown by every binding in `sys/`. */
export interface SysError extends Error {
  code: string;
  /** Negative, as in Node's ErrnoException. */
  errno: number;
  syscall: string;
  path?: string;
}

/** The symbolic name of a positive errno (2 → 'ENOENT'), or `E<n>`. */
export function errnoCode(errno: number): string {
  return errnoNames[errno] ?? `E${errno}`;
}

/** Build the error for a positive `errno` (defaults to the thread's current errno). */
export function sysError(syscall: string, path?: string | Buffer | null, errno: number = koffi.errno()): SysError {
  const p = path == null ? undefined : typeof path === 'string' ? path : path.toString();
  let msg = messages.get(errno);
  if (msg === undefined) messages.set(errno, (msg = String(strerrorFn(errno) ?? `errno ${errno}`)));
  // No stack trace: a failed syscall is an answer (ENOENT for a lookup, EEXIST for a create), and
  // on the hot paths capturing the caller's stack cost more than the syscall itself. The message
  // names the call and the path, which is what a log line needs.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const err = new Error(p === undefined ? `${syscall}: ${msg}` : `${syscall} ${p}: ${msg}`) as SysError;
  Error.stackTraceLimit = limit;
  err.code = errnoCode(errno);
  err.errno = -errno;
  err.syscall = syscall;
  if (p !== undefined) err.path = p;
  return err;
}

/** strerror() results by errno (the text never changes for a process). */
const messages = new Map<number, string>();

/**
 * Return `ret` if it is not −1, else throw `sysError(syscall, path)` with the
 * errno the call left behind. Works for int, long and int64 returns.
 */
export function check<T extends number | bigint>(ret: T, syscall: string, path?: string | Buffer | null): T {
  if (ret === -1 || ret === -1n) {
    const errno = koffi.errno();
    throw sysError(syscall, path, errno);
  }
  return ret;
}

/**
 * Like `check`, except that failing with `quiet` (a positive errno) returns
 * undefined instead of throwing: for calls where that failure is an answer
 * (ENOENT for a lookup), so no Error is built on that path.
 */
export function checkUnless<T extends number | bigint>(ret: T, quiet: number, syscall: string, path?: string | Buffer | null): T | undefined {
  if (ret === -1 || ret === -1n) {
    const errno = koffi.errno();
    if (errno === quiet) return undefined;
    throw sysError(syscall, path, errno);
  }
  return ret;
}

/**
 * A path argument for a `const char *` parameter. Strings are passed as is
 * (koffi encodes UTF-8 and adds the NUL); Buffers hold raw bytes (file names
 * need not be UTF-8) and get a NUL appended unless they already end in one.
 */
export type PathLike = string | Buffer;

export function cpath(p: PathLike): string | Buffer {
  if (typeof p === 'string') {
    if (p.includes('\0')) throw Object.assign(new TypeError('path contains a NUL byte'), { code: 'ERR_INVALID_ARG_VALUE' });
    return p;
  }
  const nul = p.indexOf(0);
  if (nul === p.length - 1) return p;
  if (nul !== -1) throw Object.assign(new TypeError('path contains a NUL byte'), { code: 'ERR_INVALID_ARG_VALUE' });
  const b = Buffer.allocUnsafe(p.length + 1);
  p.copy(b);
  b[p.length] = 0;
  return b;
}

/** Syscall numbers for the calls we make through `syscall(2)`. */
interface SysNumbers {
  readonly setgroups: number;
  readonly setfsuid: number;
  readonly setfsgid: number;
  readonly openat2: number;
}

const SYS_BY_ARCH: Readonly<Record<string, SysNumbers>> = {
  x64: { setgroups: 116, setfsuid: 122, setfsgid: 123, openat2: 437 },
  arm64: { setgroups: 159, setfsuid: 151, setfsgid: 152, openat2: 437 },
};

function pickSys(): SysNumbers {
  const t = SYS_BY_ARCH[process.arch];
  if (!t) throw new Error(`fusekit sys: no syscall table for ${process.arch}`);
  return t;
}

/** Per-architecture syscall numbers (x64, arm64). */
export const SYS = pickSys();

/**
 * `long syscall(long nr, ...)`. Variadic: pass each argument as a type/value
 * pair, e.g. `syscall(SYS.setfsuid, 'uint32_t', uid)`.
 */
export const syscall = libc.func('long syscall(long number, ...)');

/** `int close(int)`, shared by several modules. */
const closeFn = libc.func('int close(int fd)');
const dupFn = libc.func('int fcntl(int fd, int cmd, int arg)');
const F_DUPFD_CLOEXEC = 1030;

/** A close-on-exec duplicate of `fd` (fcntl F_DUPFD_CLOEXEC). */
export function dup(fd: number): number {
  return check(dupFn(fd, F_DUPFD_CLOEXEC, 0) as number, 'dup');
}

const schedYieldFn = libc.func('int sched_yield()');

/** sched_yield(2): let another runnable thread on this CPU run first. Cannot fail on Linux. */
export function schedYield(): void {
  schedYieldFn();
}

const getAffinityFn = libc.func('int sched_getaffinity(int pid, size_t size, void *mask)');
const setAffinityFn = libc.func('int sched_setaffinity(int pid, size_t size, const void *mask)');
/** cpu_set_t bytes: room for 1,024 CPUs, glibc's CPU_SETSIZE. */
export const CPUSET_BYTES = 128;

/** Fill `mask` (CPUSET_BYTES long) as a cpu_set_t holding exactly `cpus`. */
export function writeCpuSet(mask: Uint8Array, cpus: readonly number[]): void {
  mask.fill(0);
  for (const c of cpus) if (c >= 0 && c < CPUSET_BYTES * 8) mask[c >> 3]! |= 1 << (c & 7);
}

/** The CPUs the calling thread may run on (sched_getaffinity(0)), ascending. */
export function threadAffinity(): number[] {
  const m = Buffer.alloc(CPUSET_BYTES);
  check(getAffinityFn(0, CPUSET_BYTES, m) as number, 'sched_getaffinity');
  const cpus: number[] = [];
  for (let i = 0; i < CPUSET_BYTES * 8; i++) if ((m[i >> 3]! & (1 << (i & 7))) !== 0) cpus.push(i);
  return cpus;
}

/** Restrict the calling thread to `cpus` (sched_setaffinity(0)); other threads keep theirs. */
export function setThreadAffinity(cpus: readonly number[]): void {
  const m = Buffer.allocUnsafe(CPUSET_BYTES);
  writeCpuSet(m, cpus);
  check(setAffinityFn(0, CPUSET_BYTES, m) as number, 'sched_setaffinity');
}

/** close(2). EINTR is not retried: on Linux the fd is released anyway. */
export function close(fd: number): void {
  check(closeFn(fd), 'close');
}

/** AT_* flags and AT_FDCWD (fcntl.h). */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  REMOVEDIR: 0x200,
  HANDLE_FID: 0x200,
  SYMLINK_FOLLOW: 0x400,
  NO_AUTOMOUNT: 0x800,
  EMPTY_PATH: 0x1000,
  STATX_SYNC_AS_STAT: 0x0000,
  STATX_FORCE_SYNC: 0x2000,
  STATX_DONT_SYNC: 0x4000,
  HANDLE_MNT_ID_UNIQUE: 0x001,
} as const;
