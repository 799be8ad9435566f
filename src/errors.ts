/**
 * Error types shared by every layer. Imports nothing from the project.
 *
 * Match errors by `code`, or with `instanceof` (branded with Symbol.for so that
 * two copies of the package still recognise each other's errors).
 */
import { constants } from 'node:os';

const errnos = constants.errno as Record<string, number>;
const names: Record<number, string> = {};
for (const [k, v] of Object.entries(errnos)) if (names[v] === undefined) names[v] = k;

/** Positive errno values by name, from the platform (ENOENT → 2). */
export const Errno = errnos as Readonly<Record<string, number>> & {
  readonly EPERM: number; readonly ENOENT: number; readonly EIO: number; readonly EBADF: number;
  readonly EAGAIN: number; readonly ENOMEM: number; readonly EACCES: number; readonly EEXIST: number;
  readonly EXDEV: number; readonly ENODEV: number; readonly ENOTDIR: number; readonly EISDIR: number;
  readonly EINVAL: number; readonly EFBIG: number; readonly ENOSPC: number; readonly EROFS: number;
  readonly ERANGE: number; readonly ENOSYS: number; readonly ENOTEMPTY: number; readonly ELOOP: number;
  readonly ENAMETOOLONG: number; readonly ENODATA: number; readonly EINTR: number; readonly ENOTSUP: number;
  readonly EOPNOTSUPP: number; readonly ENOTCONN: number; readonly ECONNABORTED: number; readonly E2BIG: number;
  readonly EMLINK: number; readonly ENXIO: number; readonly ESTALE: number; readonly ETXTBSY: number;
  readonly EBUSY: number; readonly EOVERFLOW: number; readonly ENOTTY: number; readonly EDEADLK: number;
  readonly ENOLCK: number; readonly EMFILE: number; readonly ENFILE: number; readonly ESPIPE: number;
};

/** The errno's symbolic name, or `E<n>` if unknown. */
export function errnoName(errno: number): string {
  return names[errno] ?? `E${errno}`;
}

const FUSE_ERROR = Symbol.for('fusekit.FuseError');
const PROTOCOL_ERROR = Symbol.for('fusekit.ProtocolError');

/**
 * An error that becomes a FUSE error reply. `errno` is positive and never 0;
 * only the encoder negates it for `fuse_out_header.error`.
 */
export class FuseError extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(errno: number, message?: string, options?: ErrorOptions) {
    if (!Number.isInteger(errno) || errno <= 0 || errno >= 1000) {
      throw new RangeError(`FuseError needs an errno in 1..999, got ${errno}`);
    }
    const code = errnoName(errno);
    super(message ? `${code}: ${message}` : code, options);
    this.errno = errno;
    this.code = code;
  }

  override get name(): string {
    return 'FuseError';
  }

  get [FUSE_ERROR](): true {
    return true;
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[FUSE_ERROR] === true;
  }
}

/** Shorthand: `throw fuseError('ENOENT', 'no such child')`. */
export function fuseError(code: string, message?: string): FuseError {
  const n = errnos[code];
  if (n === undefined) throw new RangeError(`unknown errno name ${code}`);
  // Without a stack trace: these are answers (ENOENT, EEXIST, ENODEV), not bugs, and capturing the
  // stack was the most expensive part of a failed lookup. `new FuseError()` still captures one.
  return quietError(n, message);
}

/** A FuseError without a captured stack (see fuseError). */
function quietError(errno: number, message?: string, options?: ErrorOptions): FuseError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new FuseError(errno, message, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** What went wrong in a frame: kept apart from errno, mapped to a reply (or a drop) by the session. */
export type ProtocolErrorKind =
  | 'short-header'
  | 'short-body'
  | 'bad-length'
  | 'missing-nul'
  | 'unknown-opcode'
  | 'offset-range'
  | 'bad-extension'
  | 'bad-reply';

/** A malformed frame. Never escapes the session; becomes EINVAL, ENOSYS or EFBIG, or a logged drop. */
export class ProtocolError extends Error {
  readonly kind: ProtocolErrorKind;
  readonly code = 'EPROTO';

  constructor(kind: ProtocolErrorKind, message: string) {
    super(`${kind}: ${message}`);
    this.kind = kind;
  }

  override get name(): string {
    return 'ProtocolError';
  }

  get [PROTOCOL_ERROR](): true {
    return true;
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[PROTOCOL_ERROR] === true;
  }

  /** The errno a request that failed this way is answered with. */
  get errno(): number {
    switch (this.kind) {
      case 'unknown-opcode':
        return errnos.ENOSYS!;
      case 'offset-range':
        return errnos.EFBIG!;
      default:
        return errnos.EINVAL!;
    }
  }
}

/**
 * The errno a failure answers with, without building anything: a FuseError's
 * own, a Node/`sys` error's by `code` (or its numeric `errno`), and 0 for
 * anything else (a bug: the session logs it and answers EIO). Same mapping as
 * `toFuseError`, for the request path.
 */
export function errnoOf(e: unknown): number {
  if (e instanceof FuseError) return e.errno;
  if (typeof e === 'object' && e !== null) {
    const o = e as { code?: unknown; errno?: unknown };
    if (typeof o.code === 'string') {
      const n = errnos[o.code];
      if (n !== undefined) return n;
    }
    if (typeof o.errno === 'number' && o.errno !== 0 && Math.abs(o.errno) < 1000) return Math.abs(o.errno);
  }
  return 0;
}

/**
 * Map anything thrown by a handler to a FuseError. Node's system errors map by
 * their `code` (ENOENT, EACCES, …) or negative `errno` (the FuseError then has no
 * stack of its own; the original is its `cause`); anything else is EIO and
 * `unexpected` is true, so the caller logs it.
 */
export function toFuseError(e: unknown): { error: FuseError; unexpected: boolean } {
  if (e instanceof FuseError) return { error: e, unexpected: false };
  const errno = errnoOf(e);
  if (errno !== 0) return { error: quietError(errno, String((e as { message?: unknown }).message ?? ''), { cause: e }), unexpected: false };
  return { error: new FuseError(errnos.EIO!, 'handler failed', { cause: e }), unexpected: true };
}
