/**
 * Run a filesystem in the foreground until it is unmounted or signalled: the
 * shared tail of `fusekit demo`, `fusekit mount` and `fusekit share`.
 */
import { mount, type MountOptions } from '../mount.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import { unmount as sysUnmount } from '../sys/mount.ts';

export interface ForegroundOptions extends MountOptions {
  /** Shown in the "mounted" line. */
  label: string;
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
