/**
 * memfs inodes: one object per file, directory, symlink or special file, with
 * its attributes, its payload (data, entries or target), its xattrs and the
 * three reference counts that decide when it may be freed: names (nlink), kernel
 * lookups and open handles.
 */
import { constants as C, readFileSync } from 'node:fs';
import type { Attr, EntryOut, NodeId } from '../protocol/types.ts';
import type { RequestContext } from '../session/lowlevel.ts';
import { FileData, CHUNK } from './memfs-data.ts';
import type { LockTable } from './memfs-locks.ts';

/** Mode bits node:fs does not export. */
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;

/** Entry and attribute timeout, seconds. Every change goes through the kernel, so caching is safe. */
export const TTL = 1;

/** A name in a directory, with its readdir cookie (the directory's insertion sequence). */
export interface DirEntry {
  node: Node;
  cookie: bigint;
}

export interface Time {
  sec: number;
  nsec: number;
}

/** Wall-clock now, with sub-millisecond resolution. */
export function now(): Time {
  const ms = performance.timeOrigin + performance.now();
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.floor((ms - sec * 1000) * 1e6)) };
}

export class Node {
  readonly id: NodeId;
  readonly generation: bigint;
  mode: number;
  uid: number;
  gid: number;
  rdev = 0;
  nlink: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
  /** References the kernel holds (entry replies minus FORGETs). */
  lookups = 0n;
  /** Open file and directory handles. */
  opens = 0;
  /** O_TMPFILE node not yet given a name: linkat may link it although nlink is 0. */
  linkable = false;
  readonly xattrs = new Map<string, Buffer>();
  /** Regular files. */
  data?: FileData;
  /** Directories: entries by name (latin1 key = the raw bytes), in cookie order. */
  entries?: Map<string, DirEntry>;
  /** Directories: next cookie; 1 and 2 are `.` and `..`. */
  nextCookie = 3n;
  /** Directories: the containing directory (itself for the root). */
  parent?: Node;
  /** Symlinks. */
  target?: Buffer;
  locks?: LockTable;

  constructor(id: NodeId, generation: bigint, mode: number, uid: number, gid: number) {
    this.id = id;
    this.generation = generation;
    this.mode = mode;
    this.uid = uid;
    this.gid = gid;
    const t = now();
    this.atime = t;
    this.mtime = t;
    this.ctime = t;
    this.nlink = this.isDir ? 2 : 1;
    if (this.isDir) this.entries = new Map();
    else if (this.isReg) this.data = new FileData();
  }

  get type(): number {
    return this.mode & C.S_IFMT;
  }
  get isDir(): boolean {
    return this.type === C.S_IFDIR;
  }
  get isReg(): boolean {
    return this.type === C.S_IFREG;
  }
  get isLink(): boolean {
    return this.type === C.S_IFLNK;
  }

  get size(): number {
    if (this.data) return this.data.size;
    if (this.target) return this.target.length;
    if (this.entries) return 4096;
    return 0;
  }

  get blocks(): number {
    if (this.data) return this.data.blocks;
    if (this.entries) return CHUNK / 512;
    return 0;
  }

  /** Metadata changed: bump ctime. */
  touchC(t = now()): void {
    this.ctime = t;
  }

  /** Content changed: bump mtime and ctime. */
  touchMC(t = now()): void {
    this.mtime = t;
    this.ctime = t;
  }

  /** Relatime: update atime on access only when it is older than mtime/ctime or a day old. */
  touchA(): void {
    const t = now();
    const older = (a: Time, b: Time): boolean => a.sec < b.sec || (a.sec === b.sec && a.nsec <= b.nsec);
    if (older(this.atime, this.mtime) || older(this.atime, this.ctime) || t.sec - this.atime.sec >= 86400) this.atime = t;
  }

  attr(): Attr {
    return {
      ino: this.id,
      size: this.size,
      blocks: this.blocks,
      atime: this.atime.sec, mtime: this.mtime.sec, ctime: this.ctime.sec,
      atimensec: this.atime.nsec, mtimensec: this.mtime.nsec, ctimensec: this.ctime.nsec,
      mode: this.mode,
      nlink: this.nlink,
      uid: this.uid,
      gid: this.gid,
      rdev: this.rdev,
      blksize: CHUNK,
      flags: 0,
    };
  }

  entry(): EntryOut {
    return { nodeid: this.id, generation: this.generation, entryValid: TTL, attrValid: TTL, entryValidNsec: 0, attrValidNsec: 0, attr: this.attr() };
  }

  /** Directory type for readdir (DT_*). */
  get dtype(): number {
    return this.type >>> 12;
  }
}

/**
 * Whether the caller is in group `gid`: its primary group, or a supplementary one.
 * The kernel sends supplementary groups only with CREATE (CREATE_SUPP_GROUP);
 * otherwise they are read from /proc/<pid>/status, as libfuse's fuse_req_getgroups does.
 */
export function inGroup(ctx: RequestContext, gid: number): boolean {
  if (ctx.gid === gid) return true;
  if (ctx.groups) return ctx.groups.includes(gid);
  if (ctx.pid <= 0) return false;
  try {
    const line = readFileSync(`/proc/${ctx.pid}/status`, 'latin1').match(/^Groups:(.*)$/m);
    return line ? line[1]!.trim().split(/\s+/).map(Number).includes(gid) : false;
  } catch {
    return false; // the caller is gone
  }
}

/**
 * access(2) semantics for `mask` (R_OK 4 | W_OK 2 | X_OK 1; 0 = existence).
 * root passes everything except X_OK on a file with no execute bit at all.
 */
export function permits(ctx: RequestContext, n: Node, mask: number): boolean {
  if (mask === 0) return true;
  if (ctx.uid === 0) return (mask & 1) === 0 || n.isDir || (n.mode & 0o111) !== 0;
  let bits: number;
  if (ctx.uid === n.uid) bits = (n.mode >> 6) & 7;
  else if (inGroup(ctx, n.gid)) bits = (n.mode >> 3) & 7;
  else bits = n.mode & 7;
  return (bits & mask) === mask;
}

/** The S_ISUID/S_ISGID bits Linux drops when an unprivileged caller writes or a file changes owner. */
export function killSuidSgid(mode: number): number {
  let m = mode & ~S_ISUID;
  // S_ISGID without group execute marks mandatory locking, not setgid: it stays.
  if ((m & (S_ISGID | C.S_IXGRP)) === (S_ISGID | C.S_IXGRP)) m &= ~S_ISGID;
  return m;
}
