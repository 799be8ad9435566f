/**
 * Directory operations: opendir, readdir, readdirplus, releasedir, fsyncdir.
 *
 * Offsets are the host's own d_off cookies from getdents64 (hashes on ext4,
 * positions on tmpfs), so a listing resumes correctly across concurrent
 * changes exactly as it would natively. Each handle keeps the entries it read
 * but could not return, and seeks only when the kernel asks for another offset.
 */
import fs from 'node:fs';
import { fuseError } from '../errors.ts';
import { FopenFlag } from '../protocol/abi.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import { isCode, type Handle, type ShareCore } from './core.ts';
import { S_IFDIR, safeClose } from './inodes.ts';

type DirOps = Pick<LowLevelFs, 'opendir' | 'readdir' | 'readdirplus' | 'releasedir' | 'fsyncdir'>;

const DIRBUF = 32 * 1024;

function isDot(n: Buffer): boolean {
  return n[0] === 0x2e && (n.length === 1 || (n.length === 2 && n[1] === 0x2e));
}

export function dirOps(c: ShareCore): DirOps {
  const { table } = c;
  const buf = Buffer.allocUnsafe(DIRBUF);

  /** Yield entries from `cookie` on; `take` returns false to stop (the entry stays pending). */
  function walk(h: Handle, cookie: bigint, take: (e: sys.Dirent64) => boolean): void {
    if (cookie !== h.pos) {
      sys.lseekBig(h.fd, cookie, sys.SEEK.SET);
      h.pending = [];
      h.pos = cookie;
    }
    for (;;) {
      if (h.pending.length === 0) {
        h.pending = sys.getdents64(h.fd, buf);
        if (h.pending.length === 0) return;
      }
      const e = h.pending[0]!;
      if (!take(e)) return;
      h.pending.shift();
      h.pos = e.off;
    }
  }

  return {
    opendir(ctx, id) {
      const node = table.get(id);
      if (node.type !== S_IFDIR) throw fuseError('ENOTDIR');
      c.checkAccess(ctx, node, 4);
      const proc = c.procPath(node);
      const fd = c.caller.run(ctx, () => sys.openat(sys.AT.FDCWD, proc, sys.O.RDONLY | sys.O.DIRECTORY | sys.O.CLOEXEC));
      const fh = c.addHandle({ fd, node, flags: 0, dir: true });
      let openFlags = 0;
      if (c.o.cache === 'always') {
        openFlags |= FopenFlag.CACHE_DIR;
        if (node.cacheVersion === node.version) openFlags |= FopenFlag.KEEP_CACHE;
        node.cacheVersion = node.version;
      }
      return { fh, openFlags };
    },

    readdir(_ctx, _id, fh, cookie, out) {
      const h = c.handle(fh);
      const dev = devOf(h);
      walk(h, cookie, (e) => out.add(table.reportIno({ ino: e.ino, ...dev }), e.off, e.type, e.name));
    },

    readdirplus(_ctx, _id, fh, cookie, out) {
      const h = c.handle(fh);
      const parent = h.node;
      walk(h, cookie, (e) => {
        if (isDot(e.name)) {
          const entry = c.negative0();
          entry.attr.ino = e.ino;
          entry.attr.mode = S_IFDIR;
          return out.add(entry, e.off, e.name);
        }
        let r;
        try {
          r = c.resolve(parent, e.name);
        } catch (err) {
          if (isCode(err, 'ENOENT')) return true; // gone since getdents: skip it
          throw err;
        }
        if (!out.add(c.entry(r.node, r.st), e.off, e.name)) {
          table.dropIfUnused(r.node);
          return false;
        }
        c.hold(r.node, parent, e.name);
        return true;
      });
    },

    releasedir(_ctx, _id, fh) {
      const h = c.handles.get(fh);
      if (!h) return;
      c.handles.delete(fh);
      h.node.openFds.delete(h.fd);
      safeClose(h.fd);
      table.dropIfUnused(h.node);
    },

    fsyncdir(_ctx, _id, fh, datasync) {
      const fd = c.handle(fh).fd;
      return new Promise<void>((resolve, reject) => (datasync ? fs.fdatasync : fs.fsync)(fd, (e) => (e ? reject(e) : resolve())));
    },
  };

  function devOf(h: Handle): { dev_major: number; dev_minor: number } {
    const k = h.node.key.split(':');
    return { dev_major: Number(k[0]), dev_minor: Number(k[1]) };
  }
}
