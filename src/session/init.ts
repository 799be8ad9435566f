/**
 * INIT negotiation: what we ask the kernel for, given what it offers and what
 * the filesystem implements.
 *
 * Rules (fs/fuse/inode.c process_init_reply): reply major 7; only flags the kernel
 * offered; INIT_EXT whenever a bit ≥ 32 is set, or flags2 is ignored; PASSTHROUGH
 * needs max_stack_depth 1..2 and excludes WRITEBACK_CACHE; max_write ≥ 4096.
 */
import { FILESYSTEM_MAX_STACK_DEPTH, InitFlag, KERNEL_MINOR_VERSION, KERNEL_VERSION, MIN_KERNEL_MINOR_VERSION } from '../protocol/abi.ts';
import type { InitIn, InitOut } from '../protocol/types.ts';
import type { ConnectionInfo, LowLevelFs } from './lowlevel.ts';

export interface InitLimits {
  /** Largest WRITE payload the transport can carry. */
  maxWrite: number;
}

/** The outcome of INIT, kept by the session. */
export interface Negotiated {
  minor: number;
  /** What we asked for and the kernel granted. */
  flags: bigint;
  /** Everything the kernel offered, including HAS_* capability bits that are never "wanted". */
  capable: bigint;
  maxWrite: number;
  out: InitOut;
}

const PAGE = 4096;
const MAX_PAGES_LIMIT = 256;

/** Defaults the session wants when the kernel offers them, before the filesystem's `init` adjusts them. */
export function defaultWant(fs: LowLevelFs): bigint {
  let w =
    InitFlag.ASYNC_READ |
    InitFlag.BIG_WRITES |
    InitFlag.MAX_PAGES |
    InitFlag.PARALLEL_DIROPS |
    InitFlag.AUTO_INVAL_DATA |
    InitFlag.ASYNC_DIO |
    InitFlag.SETXATTR_EXT |
    InitFlag.HAS_IOCTL_DIR |
    InitFlag.ABORT_ERROR;
  if (fs.readdirplus) w |= InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO;
  if (fs.getlk && fs.setlk) w |= InitFlag.POSIX_LOCKS;
  if (fs.setlk) w |= InitFlag.FLOCK_LOCKS;
  return w;
}

/**
 * Build the INIT reply, after letting the filesystem adjust `conn` through `initHook`.
 * Throws for a kernel that is not major 7 or older than 7.31: the session then
 * answers INIT with EPROTO and ends.
 */
export async function negotiate(
  fs: LowLevelFs,
  initIn: InitIn,
  limits: InitLimits,
  initHook: (conn: ConnectionInfo) => Promise<void> | void,
): Promise<Negotiated> {
  if (initIn.major !== KERNEL_VERSION || initIn.minor < MIN_KERNEL_MINOR_VERSION) {
    throw new Error(`unsupported kernel protocol ${initIn.major}.${initIn.minor}; fusekit needs 7.${MIN_KERNEL_MINOR_VERSION} or newer`);
  }
  const minor = Math.min(initIn.minor, KERNEL_MINOR_VERSION);
  const maxWrite = Math.max(PAGE, Math.min(limits.maxWrite, MAX_PAGES_LIMIT * PAGE));
  const conn: ConnectionInfo = {
    major: initIn.major,
    minor: initIn.minor,
    capable: initIn.flags,
    want: defaultWant(fs),
    maxReadahead: initIn.maxReadahead,
    maxWrite,
    maxBackground: 64,
    congestionThreshold: 48,
    timeGran: 1,
    maxPages: Math.ceil(maxWrite / PAGE),
    maxStackDepth: 0,
    requestTimeout: 0,
  };
  await initHook(conn);

  let flags = conn.want & initIn.flags;
  if ((flags & InitFlag.PASSTHROUGH) !== 0n) {
    if (conn.maxStackDepth < 1 || conn.maxStackDepth > FILESYSTEM_MAX_STACK_DEPTH) conn.maxStackDepth = 1;
    flags &= ~InitFlag.WRITEBACK_CACHE;
  } else {
    conn.maxStackDepth = 0;
  }
  if (conn.requestTimeout > 0) flags |= InitFlag.REQUEST_TIMEOUT & initIn.flags;
  if (flags >> 32n !== 0n) flags |= InitFlag.INIT_EXT & initIn.flags;
  const out: InitOut = {
    major: KERNEL_VERSION,
    minor,
    maxReadahead: Math.min(conn.maxReadahead, initIn.maxReadahead),
    flags,
    maxBackground: conn.maxBackground,
    congestionThreshold: conn.congestionThreshold,
    maxWrite: Math.max(PAGE, Math.min(conn.maxWrite, maxWrite)),
    timeGran: conn.timeGran,
    maxPages: Math.min(MAX_PAGES_LIMIT, Math.max(1, conn.maxPages)),
    mapAlignment: 0,
    maxStackDepth: conn.maxStackDepth,
    requestTimeout: (flags & InitFlag.REQUEST_TIMEOUT) !== 0n ? conn.requestTimeout : 0,
  };
  return { minor, flags, capable: initIn.flags, maxWrite: out.maxWrite, out };
}

/** Names of the set InitFlag bits, for traces. */
export function initFlagNames(flags: bigint): string[] {
  return Object.entries(InitFlag)
    .filter(([, v]) => (flags & v) !== 0n)
    .map(([k]) => k);
}
