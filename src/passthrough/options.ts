/**
 * Options of the share server and the cache policies they select.
 *
 * Cache policies (timeouts in seconds; "page cache" is the kernel's cache of
 * file data for this mount; with kernel passthrough the data cache is the
 * host's own, so only the metadata rows apply):
 *
 * | policy   | entry/attr | negative entries | page cache on open                  | readdir cache |
 * |----------|------------|------------------|-------------------------------------|---------------|
 * | never    | 0          | not cached       | DIRECT_IO: no page cache at all     | no            |
 * | metadata | 1          | 1                | dropped on every open               | no            |
 * | auto     | 1          | 1                | kept if the change version is unchanged since the last open (KEEP_CACHE) | no |
 * | always   | 86400      | 86400            | kept if the change version is unchanged (KEEP_CACHE) | CACHE_DIR |
 *
 * Every policy also gets the host-change notifications of watcher.ts, so
 * `always` stays coherent with outside changes through INVAL_* notifications
 * rather than through timeouts.
 */

export type CachePolicy = 'never' | 'metadata' | 'auto' | 'always';
export type PassthroughMode = 'auto' | 'on' | 'off';

/** One direction of an id mapping: host id ↔ client id. */
export interface IdMap {
  /** host → client */
  toClient: Map<number, number>;
  /** client → host */
  toHost: Map<number, number>;
}

export interface ShareOptions {
  /** The host directory to share. */
  source: string;
  readonly: boolean;
  cache: CachePolicy;
  passthrough: PassthroughMode;
  uidMap: IdMap;
  gidMap: IdMap;
  /** True when the mount uses default_permissions (the kernel checks modes); false: the server checks. */
  defaultPermissions: boolean;
  /** Bound of the LRU of O_PATH fds kept for hot inodes held by file handle. */
  fdCache: number;
  /** Watch held directories with inotify and invalidate the kernel's caches on host changes. */
  watch: boolean;
  log: (line: string) => void;
}

export interface Timeouts {
  entry: number;
  attr: number;
  negative: number;
}

export function timeoutsFor(p: CachePolicy): Timeouts {
  switch (p) {
    case 'never':
      return { entry: 0, attr: 0, negative: 0 };
    case 'metadata':
    case 'auto':
      return { entry: 1, attr: 1, negative: 1 };
    case 'always':
      return { entry: 86400, attr: 86400, negative: 86400 };
  }
}

export function emptyIdMap(): IdMap {
  return { toClient: new Map(), toHost: new Map() };
}

/** Parse "host:client" into `map`; throws on bad input. */
export function addIdMapping(map: IdMap, spec: string, what: string): void {
  const m = /^(\d+):(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`--map-${what} needs host:client (two numbers), got "${spec}"`);
  const host = Number(m[1]);
  const client = Number(m[2]);
  map.toClient.set(host, client);
  map.toHost.set(client, host);
}

/** Map an id; unmapped ids pass through unchanged (−1 stays −1). */
export function mapId(m: Map<number, number>, id: number): number {
  if (id === -1 || id === 0xffffffff) return id;
  return m.get(id) ?? id;
}
