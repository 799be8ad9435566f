/** Small helpers shared by unit tests that touch the real filesystem. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { close } from '../../src/sys/ffi.ts';

/** A private temp dir, removed when the test ends. */
export function tmp(t: { after(fn: () => void): void }, prefix = 'fusekit-sys-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run `fn` on `fd`, closing it afterwards whatever happens. */
export function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    close(fd);
  }
}
