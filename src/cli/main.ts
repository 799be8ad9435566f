/**
 * `fusekit`: the command line. Dispatches to the command table in commands.ts.
 */
import { createRequire } from 'node:module';
import { COMMANDS } from './commands.ts';

function version(): string {
  const require = createRequire(import.meta.url);
  for (const p of ['../../../package.json', '../../package.json']) {
    try {
      return (require(p) as { version: string }).version;
    } catch {
      /* try the next layout */
    }
  }
  return 'unknown';
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'fusekit: FUSE filesystems in TypeScript, without libfuse',
    '',
    'Usage:',
    ...COMMANDS.map((c) => `  ${c.usage}`),
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `fusekit help <command>` or `fusekit <command> --help` for details.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    process.exitCode = name ? 0 : 2;
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`fusekit ${version()}\n`);
    return;
  }
  if (name === 'help') {
    const c = COMMANDS.find((x) => x.name === rest[0]);
    process.stdout.write(c ? `usage: ${c.usage}\n\n${c.help}\n` : `${usage()}\n`);
    return;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`fusekit: unknown command "${name}"\n\n${usage()}\n`);
    process.exitCode = 2;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${cmd.usage}\n\n${cmd.help}\n`);
    return;
  }
  process.exitCode = await cmd.run(rest);
}
