/** `fusekit unmount <mountpoint> [--lazy]` */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { unmount } from '../sys/mount.ts';

export async function unmountCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { lazy: { type: 'boolean', short: 'z' } } });
  if (positionals.length !== 1) {
    process.stderr.write('usage: fusekit unmount <mountpoint> [--lazy]\n');
    return 2;
  }
  const mp = path.resolve(positionals[0]!);
  try {
    unmount(mp, { lazy: values.lazy === true, fusermount: process.getuid?.() !== 0 });
  } catch (e) {
    process.stderr.write(`fusekit: cannot unmount ${mp}: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}
