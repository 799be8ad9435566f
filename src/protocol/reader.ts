/**
 * A bounds-checked little-endian cursor over one request frame.
 * Every read past the end throws ProtocolError; nothing here does I/O.
 */
import { ProtocolError } from '../errors.ts';

const TWO32 = 4294967296;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError('short-body', `${what}: need ${n} bytes, have ${this.end - this.pos}`);
    }
  }

  skip(n: number): void {
    this.need(n, 'padding');
    this.pos += n;
  }

  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  s32(): number {
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  s64(): bigint {
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A u64 byte count or offset as a number; values of 2^53 or more throw a RangeError mapped to EFBIG. */
  u64n(): number {
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    if (hi >= 0x200000) throw new ProtocolError('offset-range', `64-bit offset ${(BigInt(hi) << 32n) | BigInt(lo)} is beyond 2^53`);
    return hi * TWO32 + lo;
  }

  /** A s64 as a number (for lseek and inval offsets); beyond ±2^53 throws. */
  s64n(): number {
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ProtocolError('offset-range', `64-bit offset ${v} is beyond 2^53`);
    }
    return Number(v);
  }

  /** A NUL-terminated name, returned without its NUL, as a view into the frame. */
  cstr(what: string): Buffer {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new ProtocolError('missing-nul', `${what} is not NUL-terminated`);
    const s = this.buf.subarray(this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  rest(): Buffer {
    const s = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return s;
  }
}
