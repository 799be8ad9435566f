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
