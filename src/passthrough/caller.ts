/**
 * Acting as the caller: per-thread fsuid/fsgid/supplementary groups and the
 * caller's umask around one synchronous host call.
 *
 * Why not create-then-fchown: doing the call *as* the caller gets every rule
 * right the way the host applies it — ownership of new files, a setgid parent
 * passing its group on, sticky directories, permission checks when the mount
 * runs without default_permissions, quotas, the suid/sgid clearing of chmod
 * and chown — and it never leaves a root-owned file behind when the chown
 * would fail. The calls are synchronous koffi calls on the JS thread, so the
 * credentials are switched and restored with nothing asynchronous in between;
 * libuv pool threads and io_uring submissions keep root's credentials.
 *
 * Supplementary groups come from /proc/<pid>/status (cached briefly per pid),
 * because FUSE sends only the caller's uid and primary gid.
 */
import { readFileSync } from 'node:fs';
import type { RequestContext } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import { mapId, type ShareOptions } from './options.ts';

const GROUPS_TTL_MS = 200;

export class Caller {
  readonly #o: ShareOptions;
  readonly #root: boolean;
  readonly #ownGroups: number[];
  readonly #groups = new Map<number, { at: number; groups: number[] }>();

  constructor(o: ShareOptions) {
    this.#o = o;
    this.#root = process.getuid?.() === 0;
    this.#ownGroups = process.getgroups?.() ?? [];
  }

  get isRoot(): boolean {
    return this.#root;
  }

  hostUid(ctx: RequestContext): number {
    return mapId(this.#o.uidMap.toHost, ctx.uid);
  }

  hostGid(ctx: RequestContext): number {
    return mapId(this.#o.gidMap.toHost, ctx.gid);
  }

  /** Host supplementary groups of the caller (empty if unknown). */
  groups(ctx: RequestContext): number[] {
    if (ctx.pid === 0) return [];
    const now = Date.now();
    const c = this.#groups.get(ctx.pid);
    if (c && now - c.at < GROUPS_TTL_MS) return c.groups;
    let groups: number[] = [];
    try {
      const s = readFileSync(`/proc/${ctx.pid}/status`, 'latin1');
      const m = /^Groups:\s*(.*)$/m.exec(s);
      if (m) groups = m[1]!.trim().split(/\s+/).filter(Boolean).map((g) => mapId(this.#o.gidMap.toHost, Number(g)));
    } catch {
      groups = [];
    }
    if (this.#groups.size > 1024) this.#groups.clear();
    this.#groups.set(ctx.pid, { at: now, groups });
    return groups;
  }

  /**
   * Run `fn` with the caller's filesystem credentials (and `umask`, if given).
   * Get every fd `fn` needs *before* calling this: a cold node is reopened with
   * open_by_handle_at, which needs CAP_DAC_READ_SEARCH, and a non-zero fsuid drops it
   * (the call would fail with EPERM as soon as the node's fd had left the LRU).
   */
  run<T>(ctx: RequestContext, fn: () => T, umask?: number): T {
    const prevMask = umask === undefined ? undefined : sys.umask(umask);
    try {
      if (!this.#root) return fn();
      const uid = this.hostUid(ctx);
      const gid = this.hostGid(ctx);
      if (uid === 0 && gid === 0) return fn();
      sys.setgroupsThread(this.groups(ctx));
      sys.setfsgid(gid);
      sys.setfsuid(uid);
      try {
        return fn();
      } finally {
        sys.setfsuid(0);
        sys.setfsgid(0);
        sys.setgroupsThread(this.#ownGroups);
      }
    } finally {
      if (prevMask !== undefined) sys.umask(prevMask);
    }
  }
}
