/**
 * Run a filesystem in the foreground until it is unmounted or signalled: the
 * shared tail of `fusekit demo`, `fusekit mount` and `fusekit share`.
 */
import { parseArgs } from 'node:util';
import { mount, parseMountOptions, type MountOptions } from '../mount.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import { unmount as sysUnmount } from '../sys/mount.ts';

export interface ForegroundOptions extends MountOptions {
  /** Shown in the "mounted" line. */
  label: string;
}

/** What `<what> <mountpoint> [-o opt,...] [--debug] [--unprivileged]` said. */
export interface ServeArgs {
  what: string;
  mountpoint: string;
  opts: MountOptions;
  /** The user gave -o options (so defaults that are only a convenience should not be added). */
  userOptions: boolean;
}

/**
 * Parse the command line shared by `fusekit demo` and `fusekit mount`. Prints
 * `usage` and returns undefined when the positionals are wrong.
 */
export function parseServeArgs(argv: string[], usage: string, defaults: (what: string) => MountOptions): ServeArgs | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      o: { type: 'string', multiple: true, short: 'o' },
      debug: { type: 'boolean', short: 'd' },
      unprivileged: { type: 'boolean' },
    },
  });
  const [what, mountpoint] = positionals;
  if (!what || !mountpoint || positionals.length > 2) {
    process.stderr.write(`usage: ${usage}\n`);
    return undefined;
  }
  const opts = parseMountOptions(values.o ?? [], defaults(what));
  if (values.debug) opts.debug = true;
  if (values.unprivileged) opts.unprivileged = true;
  return { what, mountpoint, opts, userOptions: values.o !== undefined };
}

/** Mount, report, and serve until the session ends. Resolves with the exit code. */
export async function runForeground(fsImpl: LowLevelFs, mountpoint: string, o: ForegroundOptions): Promise<number> {
  const log = o.log ?? ((l: string) => process.stderr.write(`fusekit: ${l}\n`));
  const handle = await mount(fsImpl, mountpoint, { ...o, log });
  log(`mounted ${handle.mountpoint} (${o.label}, pid ${process.pid}); unmount with \`fusekit unmount ${handle.mountpoint}\` or Ctrl-C`);

  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      log(`${sig} again: detaching ${handle.mountpoint} lazily`);
      void handle.unmount({ lazy: true });
      return;
    }
    signalled = true;
    log(`${sig}: unmounting ${handle.mountpoint}`);
    handle.unmount().catch((e: Error) => {
      log(`unmount failed (${e.message}); detaching lazily`);
      return handle.unmount({ lazy: true });
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const end = await handle.closed;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  if (end.error) {
    log(`session ended: ${end.error.message}`);
    // An aborted connection leaves a dead mount behind (ENOTCONN); detach it so nothing is left.
    try {
      sysUnmount(handle.mountpoint, { lazy: true, fusermount: process.getuid?.() !== 0 });
    } catch {
      /* already gone */
    }
    return 1;
  }
  log(`unmounted ${handle.mountpoint}`);
  return 0;
}
