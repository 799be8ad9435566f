// Starting fusekit and the peer filesystems for suites. Every function mounts in the foreground,
// resolves once the mount is visible (lib.ts startServer) and returns a Server to stop() later.
// The binaries come from bench/peers.sh (bench/build/); bench/build/peers.json says which built.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDir, repoRoot, startServer, type Server } from './lib.ts';

export const fusekitBin = join(repoRoot, 'bin', 'fusekit.js');

/** Status of each peer from the last bench/peers.sh run: "ok" or why it is unavailable. */
export function peerStatus(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(buildDir, 'peers.json'), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Throws with the recorded reason unless bench/build/<name> exists. */
export function requirePeer(name: string): string {
  const exe = join(buildDir, name);
  if (!existsSync(exe)) throw new Error(`${name} unavailable: ${peerStatus()[name] ?? 'not built (run bench/peers.sh)'}`);
  return exe;
}

export interface FusekitOptions {
  /** Label in tables; default "fusekit <args without the mount point>". */
  name?: string;
  /** Extra environment, e.g. { UV_USE_IO_URING: '0' } (the CLI re-execs with 1 only when unset). */
  env?: NodeJS.ProcessEnv;
  /** Node flags before bin/fusekit.js (kept across the CLI's re-exec), e.g. ['--perf-basic-prof']. */
  nodeArgs?: string[];
}

/** `node bin/fusekit.js <args…>`; `mountpoint` must be the mount point named in args. */
export function startFusekit(args: string[], mountpoint: string, o: FusekitOptions = {}): Promise<Server> {
  if (!existsSync(fusekitBin)) throw new Error(`${fusekitBin} not found`);
  const name = o.name ?? `fusekit ${args.filter((a) => a !== mountpoint).join(' ')}`;
  return startServer({
    name,
    cmd: process.execPath,
    args: [...(o.nodeArgs ?? []), fusekitBin, ...args],
    mountpoint,
    env: { ...process.env, ...o.env },
  });
}

export interface PeerOptions {
  name?: string;
  /** libfuse's -s: one thread (the default is libfuse's multi-threaded loop). */
  single?: boolean;
  /** Extra command-line arguments before the mount point (e.g. ['-o', 'cache=always']). */
  extra?: string[];
}

const libfuseArgs = (o: PeerOptions, ...rest: string[]): string[] => ['-f', ...(o.single ? ['-s'] : []), ...(o.extra ?? []), ...rest];
const label = (base: string, o: PeerOptions): string => o.name ?? `${base}${o.single ? ' -s' : ''}`;

/** libfuse example hello_ll: a directory with /hello. */
export function startHelloLl(mountpoint: string, o: PeerOptions = {}): Promise<Server> {
  return startServer({ name: label('hello_ll', o), cmd: requirePeer('hello_ll'), args: libfuseArgs(o, mountpoint), mountpoint });
}

/** libfuse example null: mounts over a regular file (which must exist) and serves 4 GiB of zeros. */
export function startNull(file: string, o: PeerOptions = {}): Promise<Server> {
  return startServer({ name: label('null', o), cmd: requirePeer('null'), args: libfuseArgs(o, file), mountpoint: file });
}

/** libfuse example passthrough_ll: mirrors `source` (extra: e.g. ['-o', 'cache=always']). */
export function startPassthroughLl(source: string, mountpoint: string, o: PeerOptions = {}): Promise<Server> {
  return startServer({
    name: label('passthrough_ll', o),
    cmd: requirePeer('passthrough_ll'),
    args: libfuseArgs(o, '-o', `source=${source}`, mountpoint),
    mountpoint,
  });
}

/** go-fuse's loopback example (github.com/hanwen/go-fuse/v2/fs): `loopback -q MOUNTPOINT ORIGINAL`. */
export function startGoLoopback(source: string, mountpoint: string, o: Omit<PeerOptions, 'single'> = {}): Promise<Server> {
  return startServer({
    name: o.name ?? 'go-fuse loopback',
    cmd: requirePeer('loopback'),
    args: ['-q', ...(o.extra ?? []), mountpoint, source],
    mountpoint,
  });
}

/**
 * The walk floor (bench/floor/treefs_ll.c): a single-threaded libfuse server answering a fixed
 * tree from memory, with no system call in any handler. `shape` lists the tree as
 * `find DIR -printf '%y %P\n'` prints it.
 */
export function startTreefsLl(shape: string, mountpoint: string, o: Omit<PeerOptions, 'single'> = {}): Promise<Server> {
  return startServer({ name: o.name ?? 'treefs_ll (floor)', cmd: requirePeer('treefs_ll'), args: ['-f', '-o', `shape=${shape}`, ...(o.extra ?? []), mountpoint], mountpoint });
}

/** bindfs (Debian package, high-level libfuse): `bindfs -f SOURCE MOUNTPOINT`. */
export function startBindfs(source: string, mountpoint: string, o: Omit<PeerOptions, 'single'> = {}): Promise<Server> {
  return startServer({ name: o.name ?? 'bindfs', cmd: 'bindfs', args: ['-f', ...(o.extra ?? []), source, mountpoint], mountpoint });
}
