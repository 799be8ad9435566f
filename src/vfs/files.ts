/**
 * Regular-file objects, one class per way of producing content.
 *
 * | kind        | content comes from            | served with          | `stat` size                  |
 * |-------------|-------------------------------|----------------------|------------------------------|
 * | static      | a Buffer held by the node     | page cache           | exact                        |
 * | generated   | `produce()` at each open      | DIRECT_IO, snapshot  | length of a fresh `produce()`, or 0 with `size: 'zero'` |
 * | attribute   | `show()` at open, `store()`   | DIRECT_IO, snapshot  | length of a fresh `show()`   |
 * | stream      | `push()` by code              | DIRECT_IO + STREAM   | 0 (a pipe has no size)       |
 * | callback    | `read(off, len)` / `write`    | page cache if `size` is given, else DIRECT_IO | `size()` or 0 |
 *
 * Why DIRECT_IO for generated content: with the page cache the kernel clamps
 * reads to `st_size` and shrinks `i_size` on a short read (fs/fuse/file.c
 * fuse_short_read), so content whose length is only known once produced must
 * bypass it. Its `stat` size is still truthful: it is the length the content
 * would have if produced now.
 */
import { constants } from 'node:fs';
import { FuseError, fuseError } from '../errors.ts';
import type { IoctlOut } from '../protocol/types.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import type { OpenFile } from './handles.ts';
import { type NodeOptions, VNode } from './inode.ts';

export const Poll = { IN: 0x1, PRI: 0x2, OUT: 0x4, ERR: 0x8, HUP: 0x10, RDNORM: 0x40, WRNORM: 0x100 } as const;

/** FOPEN_* bits a file kind asks for (the bridge adds KEEP_CACHE when allowed). */
export const Fopen = { DIRECT_IO: 0x1, KEEP_CACHE: 0x2, NONSEEKABLE: 0x4, STREAM: 0x10 } as const;

/** An ioctl handler: `input` holds the caller's bytes; return `{ result, data }` (data ≤ outSize bytes). */
export type IoctlHandler = (cmd: number, arg: bigint, input: Buffer, outSize: number, ctx: RequestContext) => IoctlOut | Promise<IoctlOut>;

export interface FileOptions extends NodeOptions {
  /**
   * Restricted ioctls on open handles of this file: `input` holds the `_IOC_SIZE` bytes the
   * caller passed for a write-direction command; return at most `outSize` bytes of `data`.
   * **Replies:** `result` becomes ioctl(2)'s return value (negative: −errno).
   * **Default:** ENOTTY ("inappropriate ioctl") for every command. **Side effects:** none.
   */
  ioctl?: IoctlHandler;
}

/** Content producers return text or bytes. */
export type Content = string | Buffer | Uint8Array;

/** The length in bytes of content, without copying a string into a Buffer. */
export function byteLength(c: Content): number {
  return typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength;
}

export function toBuffer(c: Content): Buffer {
  return typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/** The base of every regular file: the operations the bridge calls. */
export abstract class VFile extends VNode {
  readonly type = constants.S_IFREG;
  readonly ioctlHandler: IoctlHandler | undefined;

  constructor(defaultMode: number, o: FileOptions) {
    super(defaultMode, o);
    this.ioctlHandler = o.ioctl;
  }

  /** Whether writes are possible at all (the mode bits are checked separately). */
  abstract get writable(): boolean;
  /** FOPEN bits for a new handle; may fill the handle's snapshot. */
  abstract open(h: OpenFile, ctx: RequestContext): Promise<number> | number;
  abstract read(h: OpenFile, offset: number, size: number, ctx: RequestContext): Promise<Buffer> | Buffer;
  write(_h: OpenFile, _offset: number, _data: Buffer, _ctx: RequestContext): Promise<number> | number {
    throw fuseError('EBADF', `${this.path} is not writable`);
  }
  /** truncate(2) / O_TRUNC. */
  truncate(_size: number, _ctx: RequestContext): Promise<void> | void {
    throw fuseError('EPERM', `${this.path} cannot be truncated`);
  }
  /** The size `stat` reports; may produce content to be truthful. */
  statSize(): Promise<number> | number {
    return this.size();
  }
  /** Readiness for poll(2). `kh` is set when the kernel wants a wake-up later. */
  poll(_h: OpenFile, _kh: bigint | undefined, _events: number, _wake: (kh: bigint) => void): number {
    return Poll.IN | Poll.RDNORM | (this.writable ? Poll.OUT | Poll.WRNORM : 0);
  }
  /** A handle went away (RELEASE or revocation). */
  closed(_h: OpenFile): void {}
  /** Whether content is served through the page cache (then KEEP_CACHE follows the version). */
  get cached(): boolean {
    return false;
  }
}

function slice(b: Buffer, offset: number, size: number): Buffer {
  return b.subarray(Math.min(offset, b.length), Math.min(offset + size, b.length));
}

// ── static ───────────────────────────────────────────────────────────────────

export interface StaticFileOptions extends FileOptions {
  /** Accept writes and truncation from callers (mode defaults to 0644 then). Default false. */
  writable?: boolean;
}

/** Content held in memory. Served from the page cache; KEEP_CACHE while the version is unchanged. */
export class StaticFile extends VFile {
  #content: Buffer;
  readonly #writable: boolean;

  constructor(content: Content, o: StaticFileOptions = {}) {
    super(o.writable ? 0o644 : 0o444, o);
    this.#content = toBuffer(content);
    this.#writable = o.writable === true;
  }

  get writable(): boolean {
    return this.#writable;
  }
  override get cached(): boolean {
    return true;
  }
  /** The current content (a view; do not modify it). */
  get content(): Buffer {
    return this.#content;
  }
  /** Replace the content from code; the kernel's cached pages and size are invalidated. */
  set(content: Content): void {
    this.#content = Buffer.from(toBuffer(content));
    this.changed();
  }
  override size(): number {
    return this.#content.length;
  }
  open(): number {
    return 0;
  }
  read(_h: OpenFile, offset: number, size: number): Buffer {
    return slice(this.#content, offset, size);
  }
  override write(_h: OpenFile, offset: number, data: Buffer): number {
    if (!this.#writable) throw fuseError('EBADF');
    const end = offset + data.length;
    if (end > this.#content.length) {
      const grown = Buffer.alloc(end);
      this.#content.copy(grown);
      this.#content = grown;
    } else {
      this.#content = Buffer.from(this.#content); // copy-on-write: open snapshots of other kinds are unaffected
    }
    data.copy(this.#content, offset);
    this.touch(); // the kernel already has these bytes in its cache; other mounts are told by the bridge
    return data.length;
  }
  override truncate(size: number): void {
    if (!this.#writable) throw fuseError('EPERM');
    const b = Buffer.alloc(size);
    this.#content.copy(b, 0, 0, Math.min(size, this.#content.length));
    this.#content = b;
    this.touch();
  }
}

// ── generated (seq_file) ─────────────────────────────────────────────────────

export interface GeneratedFileOptions extends FileOptions {
  /**
   * `'produce'` (default): `stat` produces the content to report its true length.
   * `'zero'`: `stat` says 0 without producing (procfs style) — for producers
   * too expensive to run on every `stat`; `read` still returns everything.
   */
  size?: 'produce' | 'zero';
}

/**
 * Content produced at open and held per handle (seq_file): a reader sees one
 * consistent version however it chunks its reads. Default attribute timeout 0,
 * since what `produce` reads can change without the framework knowing; call
 * `changed()` and set `cache.attr` if your code announces every change.
 */
export class GeneratedFile extends VFile {
  readonly produce: (ctx: RequestContext | undefined) => Content | Promise<Content>;
  readonly #sizing: 'produce' | 'zero';

  constructor(produce: (ctx: RequestContext | undefined) => Content | Promise<Content>, o: GeneratedFileOptions = {}) {
    super(0o444, o);
    this.produce = produce;
    this.#sizing = o.size ?? 'produce';
  }
  get writable(): boolean {
    return false;
  }
  override defaultAttrTimeout(): number {
    return 0;
  }
  async open(h: OpenFile, ctx: RequestContext): Promise<number> {
    h.snapshot = toBuffer(await this.produce(ctx));
    return Fopen.DIRECT_IO;
  }
  read(h: OpenFile, offset: number, size: number): Buffer {
    return slice(h.snapshot ?? Buffer.alloc(0), offset, size);
  }
  override statSize(): Promise<number> | number {
    if (this.#sizing === 'zero') return 0;
    const c = this.produce(undefined);
    return c instanceof Promise ? c.then(byteLength) : byteLength(c);
  }
}

// ── attribute (sysfs show/store) ─────────────────────────────────────────────

export interface AttributeOptions extends FileOptions {
  /**
   * The current value as text (a trailing newline is customary). Called at each open for
   * reading (the handle's snapshot) and at each `stat` (the size).
   * **Replies:** the bytes read. **Side effects:** none.
   */
  show(): Content;
  /**
   * Parse and apply a written value (the bytes of one write(2), as text). Throw
   * `invalid('reason')` for bad input: the caller gets EINVAL and the reason is
   * logged. **Replies:** the write's byte count, or the error thrown.
   * **Default:** read-only (mode 0444; writes get EACCES/EBADF).
   * **Side effects:** the version is bumped and every mount's caches of this file are invalidated.
   */
  store?(value: string, ctx: RequestContext): void | Promise<void>;
}

/** Bad input to an attribute: answers EINVAL; the message goes to the log. */
export function invalid(reason: string): FuseError {
  return new FuseError(22, reason);
}

/**
 * One value per file, like a sysfs attribute. Reads show a snapshot taken at
 * open; each write(2) is one `store()`. After a successful store the node's
 * version is bumped and every mount's caches are invalidated.
 */
export class AttributeFile extends VFile {
  readonly ops: AttributeOptions;

  constructor(o: AttributeOptions) {
    super(o.store ? 0o644 : 0o444, o);
    this.ops = o;
  }
  get writable(): boolean {
    return this.ops.store !== undefined;
  }
  open(h: OpenFile): number {
    if ((h.flags & 3) !== constants.O_WRONLY) h.snapshot = toBuffer(this.ops.show());
    return Fopen.DIRECT_IO;
  }
  read(h: OpenFile, offset: number, size: number): Buffer {
    return slice(h.snapshot ?? Buffer.alloc(0), offset, size);
  }
  override async write(_h: OpenFile, _offset: number, data: Buffer, ctx: RequestContext): Promise<number> {
    if (!this.ops.store) throw fuseError('EBADF');
    await this.ops.store(data.toString(), ctx);
    this.changed();
    return data.length;
  }
  /** O_TRUNC on an attribute is accepted and means nothing (as in sysfs). */
  override truncate(): void {
    if (!this.ops.store) throw fuseError('EPERM');
  }
  override statSize(): number {
    return byteLength(this.ops.show());
  }
}

// ── callback ─────────────────────────────────────────────────────────────────

export interface CallbackFileOptions extends FileOptions {
  /**
   * Bytes at [offset, offset+size); fewer only at end of file (more are cut).
   * **Replies:** the bytes read. **Side effects:** none.
   */
  read(offset: number, size: number, ctx: RequestContext): Content | Promise<Content>;
  /**
   * Write at offset. **Replies:** the bytes taken (the write's result).
   * **Default:** read-only (mode 0444). **Side effects:** version and mtime bumped; other
   * mounts of the tree are told (the writing mount's kernel already has the bytes).
   */
  write?(offset: number, data: Buffer, ctx: RequestContext): number | Promise<number>;
  /** truncate(2) and O_TRUNC. **Replies:** success or the error thrown. **Default:** EPERM. */
  truncate?(size: number, ctx: RequestContext): void | Promise<void>;
  /**
   * The current size. When given, content goes through the page cache (call
   * `changed()` when it changes behind the kernel's back); when absent the file
   * is served with DIRECT_IO and `stat` reports 0.
   */
  size?(): number;
}

/** A file whose bytes come from the user's callbacks, with offsets. */
export class CallbackFile extends VFile {
  readonly ops: CallbackFileOptions;

  constructor(o: CallbackFileOptions) {
    super(o.write ? 0o644 : 0o444, o);
    this.ops = o;
  }
  get writable(): boolean {
    return this.ops.write !== undefined;
  }
  override get cached(): boolean {
    return this.ops.size !== undefined;
  }
  override size(): number {
    return this.ops.size?.() ?? 0;
  }
  open(): number {
    return this.ops.size ? 0 : Fopen.DIRECT_IO;
  }
  async read(_h: OpenFile, offset: number, size: number, ctx: RequestContext): Promise<Buffer> {
    const b = toBuffer(await this.ops.read(offset, size, ctx));
    return b.length > size ? b.subarray(0, size) : b;
  }
  override async write(_h: OpenFile, offset: number, data: Buffer, ctx: RequestContext): Promise<number> {
    if (!this.ops.write) throw fuseError('EBADF');
    const n = await this.ops.write(offset, data, ctx);
    this.touch();
    return n;
  }
  override async truncate(size: number, ctx: RequestContext): Promise<void> {
    if (!this.ops.truncate) throw fuseError('EPERM');
    await this.ops.truncate(size, ctx);
    this.touch();
  }
}
