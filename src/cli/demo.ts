/** `fusekit demo <name> <mountpoint>` */
import { parseArgs } from 'node:util';
import { parseMountOptions } from '../mount.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import { runForeground } from './run.ts';

/** Built-in examples by name; each loads lazily. */
export const DEMOS: Record<string, () => Promise<LowLevelFs>> = {
  hello: async () => (await import('../demo/hello.ts')).helloFs(),
  zero: async () => (await import('../demo/zero.ts')).zeroFs(),
  tracefs: async () => new (await import('../vfs/bridge.ts')).TreeBridge((await import('../vfs/examples/tracefs.ts')).tracefs()),
  procfs: async () => new (await import('../vfs/bridge.ts')).TreeBridge((await import('../vfs/examples/procfs.ts')).procfs()),
  json: async () => new (await import('../vfs/bridge.ts')).TreeBridge((await import('../vfs/examples/json.ts')).default()),
  memfs: async () => (await import('../demo/memfs.ts')).memFs(),
};

export async function demoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      o: { type: 'string', multiple: true, short: 'o' },
      debug: { type: 'boolean', short: 'd' },
      unprivileged: { type: 'boolean' },
    },
  });
  const [name, mountpoint] = positionals;
  if (!name || !mountpoint || positionals.length > 2) {
    process.stderr.write(`usage: fusekit demo <${Object.keys(DEMOS).join('|')}> <mountpoint> [-o opt,...] [--debug]\n`);
    return 2;
  }
  const make = DEMOS[name];
  if (!make) {
    process.stderr.write(`fusekit: unknown demo "${name}"; choose one of ${Object.keys(DEMOS).join(', ')}\n`);
    return 2;
  }
  const opts = parseMountOptions(values.o ?? [], { fsname: `fusekit-${name}`, subtype: name });
  // memfs is writable: let the kernel check mode bits, unless the user chose options.
  if (name === 'memfs' && !values.o) opts.defaultPermissions = true;
  if (values.debug) opts.debug = true;
  if (values.unprivileged) opts.unprivileged = true;
  return runForeground(await make(), mountpoint, { ...opts, label: `demo ${name}` });
}
