/** `fusekit share <dir> <mountpoint> [options]`: serve a host directory. */
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseMountOptions } from '../mount.ts';
import { addIdMapping, emptyIdMap, type CachePolicy, type PassthroughMode, type ShareOptions } from '../passthrough/options.ts';
import { shareFs } from '../passthrough/share-fs.ts';
import { runForeground } from './run.ts';

const CACHES: readonly CachePolicy[] = ['never', 'metadata', 'auto', 'always'];
const PASSTHROUGH: readonly PassthroughMode[] = ['auto', 'on', 'off'];

export async function shareCommand(argv: string[]): Promise<number> {
  const log = (l: string): void => void process.stderr.write(`fusekit: ${l}\n`);
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        o: { type: 'string', multiple: true, short: 'o' },
        readonly: { type: 'boolean' },
        'map-uid': { type: 'string', multiple: true },
        'map-gid': { type: 'string', multiple: true },
        cache: { type: 'string', default: 'auto' },
        passthrough: { type: 'string', default: 'auto' },
        'no-default-permissions': { type: 'boolean' },
        private: { type: 'boolean' },
        'no-watch': { type: 'boolean' },
        'fd-cache': { type: 'string', default: '1024' },
        debug: { type: 'boolean', short: 'd' },
        unprivileged: { type: 'boolean' },
      },
    }));
  } catch (e) {
    process.stderr.write(`fusekit share: ${(e as Error).message}\n`);
    return 2;
  }
  const [source, mountpoint] = positionals;
  if (!source || !mountpoint || positionals.length > 2) {
    process.stderr.write('usage: fusekit share <dir> <mountpoint> [--readonly] [--cache=never|metadata|auto|always] [--passthrough=auto|on|off] [--private] [--map-uid H:C] [--map-gid H:C] [-o opt,...]\n');
    return 2;
  }
  const cache = values.cache as CachePolicy;
  const passthrough = values.passthrough as PassthroughMode;
  if (!CACHES.includes(cache)) return usageError(`--cache must be one of ${CACHES.join(', ')}`);
  if (!PASSTHROUGH.includes(passthrough)) return usageError(`--passthrough must be one of ${PASSTHROUGH.join(', ')}`);
  const fdCache = Number(values['fd-cache']);
  if (!Number.isInteger(fdCache) || fdCache < 16) return usageError('--fd-cache needs a whole number ≥ 16');
  const src = path.resolve(source);
  try {
    if (!statSync(src).isDirectory()) return usageError(`${src} is not a directory`);
  } catch (e) {
    return usageError(`${src}: ${(e as Error).message}`);
  }
  const uidMap = emptyIdMap();
  const gidMap = emptyIdMap();
  try {
    for (const s of values['map-uid'] ?? []) addIdMapping(uidMap, s, 'uid');
    for (const s of values['map-gid'] ?? []) addIdMapping(gidMap, s, 'gid');
  } catch (e) {
    return usageError((e as Error).message);
  }
  const root = process.getuid?.() === 0;
  // --private: only the mounting user may enter the mount (no allow_other). The server acts as the
  // caller, so the host already refuses what it would refuse natively, and with no other user to
  // keep out of cached dentries the kernel's own checks (default_permissions) only cost round
  // trips: a GETATTR of the parent after every change in a directory. `-o default_permissions`
  // turns them back on.
  const priv = values.private === true;
  const defaultPermissions = values['no-default-permissions'] !== true && !priv;
  const mopts = parseMountOptions(values.o ?? [], {
    fsname: src,
    subtype: 'fusekit-share',
    defaultPermissions,
    allowOther: root && !priv,
    readOnly: values.readonly === true,
  });
  if (values.debug) mopts.debug = true;
  if (values.unprivileged) mopts.unprivileged = true;
  const opts: ShareOptions = {
    source: src,
    readonly: values.readonly === true || mopts.readOnly === true,
    cache,
    passthrough,
    uidMap,
    gidMap,
    defaultPermissions: mopts.defaultPermissions === true,
    fdCache,
    watch: values['no-watch'] !== true,
    log,
  };
  const fsImpl = shareFs(opts);
  return runForeground(fsImpl, mountpoint, { ...mopts, log, label: `share ${src}, cache=${cache}`, onDevice: (fd) => fsImpl.setDevice(fd) });
}

function usageError(msg: string): number {
  process.stderr.write(`fusekit share: ${msg}\n`);
  return 2;
}
