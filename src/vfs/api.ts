/**
 * The public node API of fusekit's virtual-filesystem framework.
 *
 * You describe a tree of *nodes* over your own objects (directories, files,
 * symlinks) and mount it; the framework answers the kernel. This page explains
 * the ideas the rest of the API assumes. Read it once; the bugs it prevents are
 * the ones every hand-written virtual filesystem has had (see docs/pitfalls.md).
 *
 * ## Inode number vs node id
 *
 * Every node object gets an **inode number** (`st_ino`) when it joins a tree,
 * from a monotonic 64-bit counter: numbers are never reused, so the pair
 * (inode, generation) never repeats, `find` never sees two directories with
 * the same number (no "File system loop detected"), and tools keyed on
 * `(st_dev, st_ino)` (rsync -H, backup and dedup tools) never conflate two
 * objects. The FUSE **node id**, the kernel's handle for an inode, is the same
 * number on every mount, so nothing needs translating.
 *
 * ## Lookup count and the kernel's nodes
 *
 * The kernel learns a node id from a LOOKUP reply (and from each READDIRPLUS
 * entry) and counts them: +1 per reply, −n per FORGET. A node must stay
 * answerable until its count is 0, even after it was removed. The framework
 * counts exactly, per mount, and keeps the object reachable while any mount
 * holds it. *Lazy* children (made by a directory's `lookup` callback) exist as
 * objects only while the kernel holds them or a file is open: memory grows with
 * what is accessed, not with what exists. When the kernel forgets them
 * (memory pressure, `echo 2 > /proc/sys/vm/drop_caches`) they are dropped, and
 * a later lookup rebuilds them with the **same** inode number and the same
 * chmod/chown: both live in a small memo kept by the directory.
 *
 * ## Dentries, caching and timeouts
 *
 * The kernel caches name → node bindings (dentries) for the *entry timeout* and
 * attributes for the *attribute timeout*; within them it does not ask again.
 * Content of files served through the page cache stays cached across opens
 * while the node's **version** is unchanged (FOPEN_KEEP_CACHE). Every change
 * made through this API (`set`, `store`, `changed()`, `add`, `remove`, chmod)
 * bumps the version and queues the right invalidation (INVAL_INODE, INVAL_ENTRY
 * or DELETE) for every mount, so long timeouts are safe. Content that changes
 * without the framework knowing (a generated file reading the clock) gets an
 * attribute timeout of 0 and is served with DIRECT_IO. The version is readable
 * as the xattr `user.fusekit.version`.
 *
 * ## Sizes
 *
 * `stat` never lies. Static and callback files with a known size are served
 * from the page cache at that size. Content whose length is only known once
 * produced (generated, attribute) is served with DIRECT_IO from a per-open
 * snapshot, and `stat` reports the length it would have if produced now; there
 * is no fake PAGE_SIZE as in sysfs (a short cached read makes the kernel shrink
 * the file). Streams report 0, like pipes.
 *
 * ## Object lifetime vs file lifetime
 *
 * An *object* lives from being added to a tree until `remove()`. An open *file*
 * lives from open(2) to the last close. They are independent: removing an
 * object (1) makes new lookups fail, (2) revokes open handles, so later reads
 * and writes answer ENODEV and blocked reads wake with ENODEV, (3) waits for
 * requests already running on it, and (4) invalidates the kernel's dentry and
 * attribute caches. After `remove()` resolves your code may drop the object it
 * described, whatever file descriptors remain.
 *
 * ## Interrupts
 *
 * When a caller gets a signal the kernel sends INTERRUPT. Blocking operations
 * (a stream read) listen to `ctx.signal` and answer EINTR. Your callbacks get
 * the `RequestContext` and may do the same.
 *
 * ## Self-deadlock
 *
 * Two classic deadlocks are designed out. A handler that removes its own node
 * (an attribute whose `store` deletes its directory) would wait for its own
 * request to finish: the framework knows which nodes the calling request holds
 * and does not wait for those. It sees the caller when `remove()` is called
 * synchronously from the handler; after an `await`, pass the handler's `ctx`
 * (`node.remove(ctx)`). And a notification
 * written from the handler of a related request can block forever in the
 * kernel: every invalidation is *queued* on the mount's notifier and written
 * off the request path. You never send notifications yourself.
 *
 * ## Atomic publication
 *
 * Build a subtree and attach it in one `add()` call, or add it `{ hidden: true }`
 * (it gets its inode numbers but stays invisible) and `activate()` it later: the
 * kernel never sees a half-built directory.
 */
import { type DirOptions, VDir } from './dir.ts';
import {
  AttributeFile,
  type AttributeOptions,
  CallbackFile,
  type CallbackFileOptions,
  type Content,
  GeneratedFile,
  type GeneratedFileOptions,
  StaticFile,
  type StaticFileOptions,
} from './files.ts';
import { type NodeOptions, type VNode, VSymlink } from './inode.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import { StreamFile, type StreamOptions } from './stream.ts';

/**
 * A directory with static `children` (added now, in one step) and optional lazy
 * callbacks in `opts` (`lookup`, `list`) and change hooks (`mkdir`, `rmdir`,
 * `create`, `unlink`). Default mode 0755.
 * **Replies:** LOOKUP finds static children first, then asks `opts.lookup`.
 * **Side effects:** none until mounted; then each LOOKUP/READDIRPLUS reply takes one lookup reference.
 */
export function dir(children: Record<string, VNode> = {}, opts: DirOptions = {}): VDir {
  const d = new VDir(opts);
  for (const [name, child] of Object.entries(children)) d.add(name, child);
  return d;
}

/**
 * A directory whose children are produced on demand by `opts.lookup(name)` and
 * listed by `opts.list()`. Nothing is built until accessed; see `DirOptions`.
 */
export function lazyDir(opts: DirOptions & Required<Pick<DirOptions, 'lookup'>>): VDir {
  return new VDir(opts);
}

/**
 * A file with fixed content held in memory (mode 0444, or 0644 with `writable`).
 * Served from the page cache; `set()` replaces the content and invalidates it.
 * **Default:** writes answer EACCES unless `writable`.
 */
export function file(content: Content = '', opts: StaticFileOptions = {}): StaticFile {
  return new StaticFile(content, opts);
}

/**
 * A seq_file-like file: `produce()` runs at each open and its result is that
 * handle's snapshot. Served with DIRECT_IO; `stat` reports the length of a
 * fresh `produce()` (or 0 with `size: 'zero'`). Attribute timeout 0.
 * **Default:** read-only.
 */
export function generated(produce: (ctx: RequestContext | undefined) => Content | Promise<Content>, opts: GeneratedFileOptions = {}): GeneratedFile {
  return new GeneratedFile(produce, opts);
}

/**
 * A sysfs-style attribute: `show()` gives the value, `store(text)` parses and
 * applies a write. Throw `invalid('why')` from `store` for bad input: the caller
 * gets EINVAL and the reason is logged. Mode 0644 with `store`, else 0444.
 */
export function attribute(opts: AttributeOptions): AttributeFile {
  return new AttributeFile(opts);
}

/**
 * A trace_pipe-like stream: code calls `push()`, readers block until data
 * arrives, poll/select/epoll work, interrupted reads answer EINTR.
 */
export function stream(opts: StreamOptions = {}): StreamFile {
  return new StreamFile(opts);
}

/**
 * A file backed by your `read(offset, size)` and optional `write(offset, data)`,
 * `truncate(size)` and `size()` callbacks. With `size` it uses the page cache,
 * otherwise DIRECT_IO and `stat` size 0.
 */
export function callbackFile(opts: CallbackFileOptions): CallbackFile {
  return new CallbackFile(opts);
}

/** A symbolic link to `target` (never resolved by the framework). Mode 0777. */
export function symlink(target: string, opts: NodeOptions = {}): VSymlink {
  return new VSymlink(target, opts);
}
