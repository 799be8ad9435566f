/**
 * Extended attributes: the f* calls on open fds and the path calls, following
 * (`getxattr`…) and not following (`lgetxattr`…) a final symlink.
 *
 * O_PATH fds don't support f*xattr (EBADF). For those, use the following
 * variants on `/proc/self/fd/N`: the magic link resolves to the fd's file. The
 * `l*` variants on that path would act on the /proc link itself.
 *
 * Values are Buffers; names are strings with their namespace prefix
 * (`user.`, `trusted.`, `security.`, `system.`). Reads probe the size first
 * and retry if the value grew in between (ERANGE).
 */
import { check, checkUnless, cpath, libc, sysError, type PathLike } from './ffi.ts';

/** setxattr flags. */
export const XATTR = {
  /** Fail with EEXIST if the attribute exists. */
  CREATE: 1,
  /** Fail with ENODATA if the attribute does not exist. */
  REPLACE: 2,
} as const;

const fgetxattrFn = libc.func('long fgetxattr(int fd, const char *name, void *value, size_t size)');
const fsetxattrFn = libc.func('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)');
const flistxattrFn = libc.func('long flistxattr(int fd, void *list, size_t size)');
const fremovexattrFn = libc.func('int fremovexattr(int fd, const char *name)');
const getxattrFn = libc.func('long getxattr(const char *path, const char *name, void *value, size_t size)');
const lgetxattrFn = libc.func('long lgetxattr(const char *path, const char *name, void *value, size_t size)');
const setxattrFn = libc.func('int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const lsetxattrFn = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const listxattrFn = libc.func('long listxattr(const char *path, void *list, size_t size)');
const llistxattrFn = libc.func('long llistxattr(const char *path, void *list, size_t size)');
const removexattrFn = libc.func('int removexattr(const char *path, const char *name)');
const lremovexattrFn = libc.func('int lremovexattr(const char *path, const char *name)');

/** Probe-then-read loop shared by get and list: `call(buf, size)` returns bytes or −1. */
function readSized(call: (buf: Buffer | null, size: number) => number, syscall: string, path?: PathLike): Buffer {
  return readSizedUnless(call, 0, syscall, path)!;
}

/** `readSized`, but failing with `quiet` (ENODATA: no such attribute) returns undefined, building no error. */
function readSizedUnless(call: (buf: Buffer | null, size: number) => number, quiet: number, syscall: string, path?: PathLike): Buffer | undefined {
  for (let attempt = 0; ; attempt++) {
    const size = checkUnless(call(null, 0), quiet, syscall, path); // quiet 0: no failure is quiet
    if (size === undefined) return undefined;
    if (size === 0) return Buffer.alloc(0);
    const buf = Buffer.allocUnsafe(size);
    const n = call(buf, size);
    if (n >= 0) return buf.subarray(0, n);
    const err = sysError(syscall, path);
    if (-err.errno === quiet) return undefined; // removed between the two calls
    if (err.code !== 'ERANGE' || attempt >= 16) throw err;
  }
}

/** ENODATA: the attribute does not exist. */
const ENODATA = 61;

/** Split a NUL-separated name list. */
export function parseXattrList(list: Buffer): string[] {
  const names: string[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === 0) {
      if (i > start) names.push(list.toString('utf8', start, i));
      start = i + 1;
    }
  }
  return names;
}

/** fgetxattr(2): the value of `name` (ENODATA if absent). */
export function fgetxattr(fd: number, name: string): Buffer {
  return readSized((b, n) => fgetxattrFn(fd, name, b, n) as number, 'fgetxattr', name);
}

/**
 * fgetxattr(2), or undefined when the file has no attribute `name`. The common answer
 * (the kernel asks for security.capability before a file's first write and at every
 * chown) then costs no error object.
 */
export function fgetxattrIfExists(fd: number, name: string): Buffer | undefined {
  return readSizedUnless((b, n) => fgetxattrFn(fd, name, b, n) as number, ENODATA, 'fgetxattr', name);
}

/** fsetxattr(2) with XATTR.CREATE / XATTR.REPLACE (0 = either). */
export function fsetxattr(fd: number, name: string, value: Buffer, flags = 0): void {
  check(fsetxattrFn(fd, name, value, value.length, flags) as number, 'fsetxattr', name);
}

/** flistxattr(2): the attribute names (only those the caller may see). */
export function flistxattr(fd: number): string[] {
  return parseXattrList(readSized((b, n) => flistxattrFn(fd, b, n) as number, 'flistxattr'));
}

/** flistxattr(2), the raw NUL-separated list (what FUSE LISTXATTR replies). */
export function flistxattrRaw(fd: number): Buffer {
  return readSized((b, n) => flistxattrFn(fd, b, n) as number, 'flistxattr');
}

/** fremovexattr(2). */
export function fremovexattr(fd: number, name: string): void {
  check(fremovexattrFn(fd, name) as number, 'fremovexattr', name);
}

/** getxattr(2), following a final symlink (use on /proc/self/fd/N). */
export function getxattr(path: PathLike, name: string): Buffer {
  const p = cpath(path);
  return readSized((b, n) => getxattrFn(p, name, b, n) as number, 'getxattr', path);
}

/** getxattr(2), or undefined when there is no attribute `name` (see fgetxattrIfExists). */
export function getxattrIfExists(path: PathLike, name: string): Buffer | undefined {
  const p = cpath(path);
  return readSizedUnless((b, n) => getxattrFn(p, name, b, n) as number, ENODATA, 'getxattr', path);
}

/** lgetxattr(2): like getxattr, on a final symlink itself. */
export function lgetxattr(path: PathLike, name: string): Buffer {
  const p = cpath(path);
  return readSized((b, n) => lgetxattrFn(p, name, b, n) as number, 'lgetxattr', path);
}

/** setxattr(2), following a final symlink. */
export function setxattr(path: PathLike, name: string, value: Buffer, flags = 0): void {
  check(setxattrFn(cpath(path), name, value, value.length, flags) as number, 'setxattr', path);
}

/** lsetxattr(2). */
export function lsetxattr(path: PathLike, name: string, value: Buffer, flags = 0): void {
  check(lsetxattrFn(cpath(path), name, value, value.length, flags) as number, 'lsetxattr', path);
}

/** listxattr(2), following a final symlink. */
export function listxattr(path: PathLike): string[] {
  const p = cpath(path);
  return parseXattrList(readSized((b, n) => listxattrFn(p, b, n) as number, 'listxattr', path));
}

/** llistxattr(2). */
export function llistxattr(path: PathLike): string[] {
  const p = cpath(path);
  return parseXattrList(readSized((b, n) => llistxattrFn(p, b, n) as number, 'llistxattr', path));
}

/** removexattr(2), following a final symlink. */
export function removexattr(path: PathLike, name: string): void {
  check(removexattrFn(cpath(path), name) as number, 'removexattr', path);
}

/** lremovexattr(2). */
export function lremovexattr(path: PathLike, name: string): void {
  check(lremovexattrFn(cpath(path), name) as number, 'lremovexattr', path);
}
