/**
 * malloc_trim(3): give free heap memory back to the kernel. glibc keeps freed
 * chunks (Node Buffers of a few KiB to 128 KiB live there) in its arenas, so a
 * server's RSS stays at its peak after a burst unless it asks. Used by the vfs
 * framework after the kernel forgets many nodes.
 */
import { libc } from './ffi.ts';

let trim: ((pad: number) => number) | null | undefined;

/** Release free memory at the top and inside glibc's arenas. Returns false where unavailable (non-glibc). */
export function mallocTrim(): boolean {
  if (trim === undefined) {
    try {
      trim = libc.func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      trim = null;
    }
  }
  if (!trim) return false;
  trim(0);
  return true;
}

let mallopt: ((param: number, value: number) => number) | null | undefined;
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

/**
 * Fix glibc's trim and mmap thresholds (mallopt(3)) instead of letting them grow. By default
 * each free of a large mmapped block raises the mmap threshold to its size and the trim
 * threshold to twice that (up to 32/64 MiB), after which memory freed at the top of a *thread*
 * arena stays resident: malloc_trim(3) releases free chunks inside arenas and the top of the
 * main heap, but not the top of thread arenas. Process-wide; applies to existing arenas.
 * Returns false where unavailable (non-glibc).
 */
export function mallocFixThresholds(trim = 128 * 1024, mmap = 128 * 1024): boolean {
  if (mallopt === undefined) {
    try {
      mallopt = libc.func('int mallopt(int param, int value)') as (param: number, value: number) => number;
    } catch {
      mallopt = null;
    }
  }
  if (!mallopt) return false;
  return mallopt(M_TRIM_THRESHOLD, trim) === 1 && mallopt(M_MMAP_THRESHOLD, mmap) === 1;
}
