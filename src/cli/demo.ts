/** `fusekit demo <name> <mountpoint>` */
import type { LowLevelFs } from '../session/lowlevel.ts';
import { parseServeArgs, runForeground } from './run.ts';

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
  const usage = `fusekit demo <${Object.keys(DEMOS).join('|')}> <mountpoint> [-o opt,...] [--debug]`;
  const args = parseServeArgs(argv, usage, (name) => ({ fsname: `fusekit-${name}`, subtype: name }));
  if (!args) return 2;
  const make = DEMOS[args.what];
  if (!make) {
    process.stderr.write(`fusekit: unknown demo "${args.what}"; choose one of ${Object.keys(DEMOS).join(', ')}\n`);
    return 2;
  }
  // memfs is writable: let the kernel check mode bits, unless the user chose options.
  if (args.what === 'memfs' && !args.userOptions) args.opts.defaultPermissions = true;
  return runForeground(await make(), args.mountpoint, { ...args.opts, label: `demo ${args.what}` });
}
