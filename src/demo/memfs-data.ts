/**
 * The contents of a memfs regular file: a sparse map of 4 KiB chunks.
 *
 * A chunk exists only where data was written or space was allocated, so a 1 TiB
 * file with one byte at the end costs one chunk. Missing chunks read as zeros
 * and are holes for SEEK_HOLE/SEEK_DATA. `blocks` (512-byte units) counts the
 * allocated chunks, like tmpfs counts pages.
 */

/** Chunk size: one page, which is also st_blksize. */
export const CHUNK = 4096;

export class FileData {
  /** Logical size (st_size); chunks past it may exist after fallocate KEEP_SIZE. */
  size = 0;
  readonly #chunks = new Map<number, Buffer>();

  /** Allocated chunks. */
  get chunkCount(): number {
    return this.#chunks.size;
  }

  /** st_blocks: allocated bytes in 512-byte units. */
  get blocks(): number {
    return this.#chunks.size * (CHUNK / 512);
  }

  /** Read up to `len` bytes at `off`, clamped to the size. */
  read(off: number, len: number): Buffer {
    const end = Math.min(this.size, off + len);
    if (end <= off) return Buffer.alloc(0);
    const out = Buffer.alloc(end - off);
    for (let pos = off; pos < end; ) {
      const ci = Math.floor(pos / CHUNK);
      const co = pos - ci * CHUNK;
      const n = Math.min(CHUNK - co, end - pos);
      const c = this.#chunks.get(ci);
      if (c) c.copy(out, pos - off, co, co + n);
      pos += n;
    }
    return out;
  }

  /** Write `data` at `off`, extending the size. Returns the number of chunks newly allocated. */
  write(off: number, data: Buffer): number {
    let added = 0;
    for (let pos = off, i = 0; i < data.length; ) {
      const ci = Math.floor(pos / CHUNK);
      const co = pos - ci * CHUNK;
      const n = Math.min(CHUNK - co, data.length - i);
      let c = this.#chunks.get(ci);
      if (!c) {
        c = Buffer.alloc(CHUNK);
        this.#chunks.set(ci, c);
        added++;
      }
      data.copy(c, co, i, i + n);
      pos += n;
      i += n;
    }
    if (off + data.length > this.size) this.size = off + data.length;
    return added;
  }

  /** Chunks a write of `len` bytes at `off` would allocate (for ENOSPC checks). */
  wouldAllocate(off: number, len: number): number {
    if (len <= 0) return 0;
    const first = Math.floor(off / CHUNK);
    const last = Math.floor((off + len - 1) / CHUNK);
    return last - first + 1 - this.#allocatedIn(first, last);
  }

  /** Allocated chunks with index in [first, last], in time bounded by min(span, allocated). */
  #allocatedIn(first: number, last: number): number {
    let n = 0;
    if (last - first + 1 <= this.#chunks.size) {
      for (let ci = first; ci <= last; ci++) if (this.#chunks.has(ci)) n++;
    } else {
      for (const ci of this.#chunks.keys()) if (ci >= first && ci <= last) n++;
    }
    return n;
  }

  /** Set the size; shrinking drops whole chunks past it and zeroes the tail of the last one. Returns chunks freed. */
  truncate(size: number): number {
    let freed = 0;
    if (size < this.size || this.#chunks.size > 0) {
      const keep = Math.ceil(size / CHUNK);
      for (const ci of [...this.#chunks.keys()]) {
        if (ci >= keep) {
          this.#chunks.delete(ci);
          freed++;
        }
      }
      const tail = size % CHUNK;
      if (tail !== 0) this.#chunks.get(keep - 1)?.fill(0, tail);
    }
    this.size = size;
    return freed;
  }

  /** Allocate zeroed chunks over [off, off+len) (fallocate mode 0 / KEEP_SIZE). Returns chunks added. */
  allocate(off: number, len: number): number {
    let added = 0;
    if (len <= 0) return 0;
    const last = Math.floor((off + len - 1) / CHUNK);
    for (let ci = Math.floor(off / CHUNK); ci <= last; ci++) {
      if (!this.#chunks.has(ci)) {
        this.#chunks.set(ci, Buffer.alloc(CHUNK));
        added++;
      }
    }
    return added;
  }

  /** Deallocate [off, off+len): whole chunks go, partial ones are zeroed. Returns chunks freed. */
  punch(off: number, len: number): number {
    if (len <= 0) return 0;
    const end = off + len;
    const firstWhole = Math.ceil(off / CHUNK);
    const endWhole = Math.floor(end / CHUNK); // exclusive
    // Partial chunks at either end are zeroed in place.
    const zeroIn = (ci: number, from: number, to: number): void => {
      this.#chunks.get(ci)?.fill(0, from - ci * CHUNK, to - ci * CHUNK);
    };
    if (firstWhole > endWhole) {
      zeroIn(Math.floor(off / CHUNK), off, end); // inside one chunk
      return 0;
    }
    if (off < firstWhole * CHUNK) zeroIn(firstWhole - 1, off, firstWhole * CHUNK);
    if (end > endWhole * CHUNK) zeroIn(endWhole, endWhole * CHUNK, end);
    // Whole chunks go; walk whichever is smaller, the range or the map (a 1 PiB punch is cheap).
    let freed = 0;
    if (endWhole - firstWhole <= this.#chunks.size) {
      for (let ci = firstWhole; ci < endWhole; ci++) if (this.#chunks.delete(ci)) freed++;
    } else {
      for (const ci of [...this.#chunks.keys()]) if (ci >= firstWhole && ci < endWhole && this.#chunks.delete(ci)) freed++;
    }
    return freed;
  }

  /** Zero [off, off+len) and leave it allocated (FALLOC_FL_ZERO_RANGE). Returns chunks added. */
  zero(off: number, len: number): number {
    const added = this.allocate(off, len);
    const end = off + len;
    for (let pos = off; pos < end; ) {
      const ci = Math.floor(pos / CHUNK);
      const co = pos - ci * CHUNK;
      const n = Math.min(CHUNK - co, end - pos);
      this.#chunks.get(ci)!.fill(0, co, co + n);
      pos += n;
    }
    return added;
  }

  /**
   * Split [off, off+len) at chunk boundaries into pieces that are holes or data,
   * merging neighbours of the same kind. `at` is relative to `off`.
   */
  pieces(off: number, len: number): { at: number; len: number; hole: boolean }[] {
    const out: { at: number; len: number; hole: boolean }[] = [];
    for (let pos = off; pos < off + len; ) {
      const ci = Math.floor(pos / CHUNK);
      const n = Math.min((ci + 1) * CHUNK, off + len) - pos;
      const hole = !this.#chunks.has(ci);
      const last = out[out.length - 1];
      if (last && last.hole === hole) last.len += n;
      else out.push({ at: pos - off, len: n, hole });
      pos += n;
    }
    return out;
  }

  /** SEEK_DATA: the first offset ≥ off inside an allocated chunk, or undefined (ENXIO). */
  seekData(off: number): number | undefined {
    if (off >= this.size) return undefined;
    let best: number | undefined;
    const first = Math.floor(off / CHUNK);
    for (const ci of this.#chunks.keys()) {
      if (ci >= first && (best === undefined || ci < best)) best = ci;
    }
    if (best === undefined) return undefined;
    const at = Math.max(off, best * CHUNK);
    return at < this.size ? at : undefined;
  }

  /** SEEK_HOLE: the first offset ≥ off not in an allocated chunk, or the size; undefined past EOF (ENXIO). */
  seekHole(off: number): number | undefined {
    if (off >= this.size) return undefined;
    let ci = Math.floor(off / CHUNK);
    while (this.#chunks.has(ci) && ci * CHUNK < this.size) ci++;
    return Math.min(this.size, Math.max(off, ci * CHUNK));
  }
}
