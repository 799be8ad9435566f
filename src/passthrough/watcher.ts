/**
 * Coherence with the host: inotify watches on the directories the kernel
 * holds, turned into INVAL_INODE / INVAL_ENTRY / DELETE notifications.
 *
 * - A directory is watched from the moment the kernel first holds it (lookup,
 *   create, readdirplus) until it is forgotten; a directory watch also reports
 *   changes to the files in it (by name), so held files need no watch of their
 *   own. The kernel holds every ancestor of what it holds, so held files are
 *   covered. (Not covered: a host change to a hard link's *other* name in a
 *   directory the kernel does not hold; attribute timeouts still apply there.)
 * - Events go to `ctx.notifier`'s bounded, coalescing queue, which never
 *   blocks request handling.
 * - IN_Q_OVERFLOW (events lost) revalidates everything: INC_EPOCH plus an
 *   INVAL_INODE of every held node, and every change version moves on.
 * - The inotify fd is non-blocking and drained every POLL_MS on a timer: at
 *   most POLL_MS of added latency, no thread parked in read(2), and nothing
 *   that keeps the process alive after unmount.
 * - Echo suppression: changes made through the mount are already known to the
 *   kernel. A name operation (create, unlink, rename…) marks (dir, name) and an
 *   attribute or data change marks the node itself (two timestamps on it); a
 *   matching event within ECHO_MS is dropped, so a create through the mount does
 *   not invalidate the dentry the kernel just made. A host change to the same
 *   name or node within that window is missed (attribute timeouts still apply).
 *   Marking a node is two stores; the name marks were once every kind, and
 *   building and queueing their keys cost a tenth of a tar extraction's server
 *   time (seven marks per file, five of them attribute or data marks).
 */
import fs from 'node:fs';
import type { NodeId } from '../protocol/types.ts';
import { addWatch, IN, inotifyInit, parseEvents, rmWatch, type InotifyEvent } from '../sys/inotify.ts';
import type { ShareCore } from './core.ts';
import { EchoMarks } from './echo.ts';
import { S_IFDIR, safeClose, type Node } from './inodes.ts';

export const POLL_MS = 10;
const ECHO_MS = 250;
/** Most echo marks kept (250 ms of changes at 260k changes/s). */
const ECHO_MAX = 65536;
const MASK = IN.MODIFY | IN.ATTRIB | IN.CREATE | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR;

/** A name mark's key. Node ids stay below 2^53; a Number formats faster than a BigInt (10 vs 24 ns). */
function echoKey(parent: NodeId, name: string): string {
  return `${Number(parent)}/${name}`;
}

export class Watcher {
  readonly #c: ShareCore;
  readonly #fd: number;
  readonly #wds = new Map<number, NodeId>();
  readonly #echo = new EchoMarks(ECHO_MS, ECHO_MAX);
  readonly #buf = Buffer.allocUnsafe(64 * 1024);
  readonly #timer: NodeJS.Timeout;
  #full = false;
  /** Counters, for tests and logs. */
  readonly stats = { events: 0, echoes: 0, overflows: 0, watches: 0 };

  constructor(c: ShareCore) {
    this.#c = c;
    this.#fd = inotifyInit();
    this.#timer = setInterval(() => this.#drain(), POLL_MS);
    this.#timer.unref();
  }

  watch(node: Node): void {
    if (node.type !== S_IFDIR || node.wd !== undefined || this.#full) return;
    try {
      const wd = addWatch(this.#fd, this.#c.procPath(node), MASK);
      node.wd = wd;
      this.#wds.set(wd, node.id);
      this.stats.watches = this.#wds.size;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOSPC') {
        this.#full = true;
        this.#c.o.log('inotify watch limit reached (fs.inotify.max_user_watches): further directories rely on timeouts');
      }
    }
  }

  unwatch(node: Node): void {
    if (node.wd === undefined) return;
    const wd = node.wd;
    node.wd = undefined;
    if (this.#wds.get(wd) !== node.id) return;
    this.#wds.delete(wd);
    try {
      rmWatch(this.#fd, wd);
    } catch {
      /* already gone (directory deleted) */
    }
  }

  /** A name changed through the mount (created, removed, renamed): drop the matching host event (see EchoMarks). */
  self(parent: NodeId, name: Buffer | string): void {
    const n = typeof name === 'string' ? name : name.toString('latin1');
    this.#echo.mark(echoKey(parent, n), performance.now());
  }

  /** `node`'s attributes ('a') or data ('m') changed through the mount: drop the host's events for it for a while. */
  selfNode(node: Node, kind: 'a' | 'm'): void {
    const until = performance.now() + ECHO_MS;
    if (kind === 'a') node.echoAttr = until;
    else node.echoData = until;
  }

  close(): void {
    clearInterval(this.#timer);
    safeClose(this.#fd);
  }

  #drain(): void {
    for (let i = 0; i < 64; i++) {
      let n: number;
      try {
        n = fs.readSync(this.#fd, this.#buf, 0, this.#buf.length, null);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') this.#c.o.log(`inotify read failed: ${(e as Error).message}`);
        return;
      }
      if (n <= 0) return;
      for (const ev of parseEvents(this.#buf, n)) this.#event(ev);
    }
  }

  #isEcho(parent: NodeId, name: string): boolean {
    if (!this.#echo.isEcho(echoKey(parent, name), performance.now())) return false;
    this.stats.echoes++;
    return true;
  }

  #event(ev: InotifyEvent): void {
    this.stats.events++;
    const notifier = this.#c.notifier;
    if ((ev.mask & IN.Q_OVERFLOW) !== 0) {
      this.stats.overflows++;
      this.revalidateAll();
      return;
    }
    if ((ev.mask & IN.IGNORED) !== 0) {
      this.#wds.delete(ev.wd);
      return;
    }
    const dirId = this.#wds.get(ev.wd);
    if (dirId === undefined || !notifier) return;
    const { table } = this.#c;
    const dir = table.find(dirId);
    if (!dir) return;
    if (!ev.name) {
      dir.version++;
      notifier.invalInode(dirId, (ev.mask & IN.ATTRIB) !== 0 ? -1 : 0, 0);
      return;
    }
    const key = ev.name.toString('latin1');
    if ((ev.mask & (IN.CREATE | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO)) !== 0) {
      if (this.#isEcho(dirId, key)) return;
      dir.version++;
      const kidId = dir.kids?.get(key);
      const kid = kidId !== undefined ? table.find(kidId) : undefined;
      if ((ev.mask & (IN.DELETE | IN.MOVED_FROM)) !== 0 && kid) {
        kid.version++;
        notifier.delete(dirId, kid.id, ev.name);
        notifier.invalInode(kid.id, -1, 0);
      } else {
        notifier.invalEntry(dirId, ev.name);
      }
      notifier.invalInode(dirId, 0, 0);
      return;
    }
    const attr = (ev.mask & IN.ATTRIB) !== 0;
    let kid: Node | undefined;
    const kidId = dir.kids?.get(key);
    if (kidId !== undefined) kid = table.find(kidId);
    if (!kid) {
      try {
        kid = this.#c.resolve(dir, ev.name).node;
        if (kid.nlookup === 0n) {
          table.dropIfUnused(kid);
          return;
        }
      } catch {
        return;
      }
    }
    if ((attr ? kid.echoAttr : kid.echoData) >= performance.now()) {
      this.stats.echoes++;
      return;
    }
    kid.version++;
    // Data events for a file open through the mount are (almost always) our own writes, or the
    // kernel's own passthrough writes, which it already knows about: keep the version moving but
    // don't make the kernel drop what it has. A host write racing an open writer is the
    // documented exception (attribute timeouts still apply).
    if (!attr && (kid.openFds.size > 0 || kid.backing)) {
      this.stats.echoes++;
      return;
    }
    notifier.invalInode(kid.id, attr ? -1 : 0, 0);
  }

  /** Events were lost: every cached dentry and inode of this mount is suspect. */
  revalidateAll(): void {
    const notifier = this.#c.notifier;
    if (!notifier) return;
    notifier.incEpoch();
    for (const n of this.#c.table.nodes()) {
      n.version++;
      if (n.nlookup > 0n) notifier.invalInode(n.id, 0, 0);
    }
  }
}
