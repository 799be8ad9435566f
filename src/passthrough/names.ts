/**
 * Name and attribute operations of the share server: lookup, getattr, setattr,
 * readlink, mknod, mkdir, unlink, rmdir, symlink, link, rename, statfs, statx,
 * access. Every host call is relative to a held fd; changes run as the caller.
 */
import { fuseError } from '../errors.ts';
import { Fattr } from '../protocol/abi.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import * as sys from '../sys/fd.ts';
import { decodeDevToMakedev, isCode, STAT_MASK, type ShareCore } from './core.ts';
import { S_IFDIR, S_IFLNK, S_IFMT } from './inodes.ts';
import { mapId } from './options.ts';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const NOFOLLOW_EMPTY = sys.AT.EMPTY_PATH | sys.AT.SYMLINK_NOFOLLOW;

/** Is `mode` just `current` with set-user-ID and/or set-group-ID cleared? */
function isKillOnly(current: number, mode: number): boolean {
  return (current & 0o7777 & ~(S_ISUID | S_ISGID)) === mode && (current & (S_ISUID | S_ISGID)) !== 0;
}

type NameOps = Pick<
  LowLevelFs,
  'lookup' | 'getattr' | 'setattr' | 'readlink' | 'mknod' | 'mkdir' | 'unlink' | 'rmdir' | 'symlink' | 'link' | 'rename' | 'statfs' | 'statx' | 'access'
>;

export function nameOps(c: ShareCore): NameOps {
  const { table } = c;
  return {
    lookup(ctx, parent, rawName) {
      const p = table.get(parent);
      const name = c.name(rawName);
      c.checkAccess(ctx, p, 1);
      try {
        return c.enterIfExists(p, name) ?? c.negative();
      } catch (e) {
        if (isCode(e, 'ENOENT')) return c.negative(); // the fd-per-inode path, or a race
        throw e;
      }
    },

    getattr(_ctx, id, fh) {
      const node = table.get(id);
      if (fh !== undefined) {
        const h = c.handles.get(fh);
        if (h) {
          const st = sys.statx(h.fd, '', NOFOLLOW_EMPTY, STAT_MASK);
          c.observe(node, st);
          return { attrValid: c.t.attr, attrValidNsec: 0, attr: c.attr(node, st) };
        }
      }
      const st = c.stat(node);
      return { attrValid: c.t.attr, attrValidNsec: 0, attr: c.attr(node, st) };
    },

    setattr(ctx, id, a) {
      c.writable();
      const node = table.get(id);
      const h = (a.valid & Fattr.FH) !== 0 ? c.handles.get(a.fh) : undefined;
      const fd = h?.fd ?? table.fd(node);
      if ((a.valid & Fattr.MODE) !== 0) {
        const mode = a.mode & 0o7777;
        if (node.type === S_IFLNK) throw fuseError('EOPNOTSUPP', 'symlinks have no mode');
        const run = (): void => sys.fchmodFd(fd, mode);
        // The kernel clears suid/sgid after a write by sending a chmod as the writer, who
        // may not own the file: a pure privilege drop is done with the server's rights.
        // A root caller has them anyway, so only others need the current mode looked up.
        const killOnly = c.caller.hostUid(ctx) !== 0 && isKillOnly(c.stat(node).mode, mode);
        if (killOnly) run();
        else c.caller.run(ctx, run);
      }
      if ((a.valid & (Fattr.UID | Fattr.GID)) !== 0) {
        const uid = (a.valid & Fattr.UID) !== 0 ? mapId(c.o.uidMap.toHost, a.uid) : -1;
        const gid = (a.valid & Fattr.GID) !== 0 ? mapId(c.o.gidMap.toHost, a.gid) : -1;
        c.caller.run(ctx, () => sys.fchownat(fd, '', uid, gid, sys.AT.EMPTY_PATH));
      }
      if ((a.valid & Fattr.SIZE) !== 0) {
        if (node.type === S_IFDIR) throw fuseError('EISDIR');
        if (h && (h.flags & 3) !== sys.O.RDONLY) {
          sys.ftruncate(h.fd, a.size);
        } else {
          c.caller.run(ctx, () => {
            const wfd = sys.openat(sys.AT.FDCWD, `/proc/self/fd/${fd}`, sys.O.WRONLY | sys.O.CLOEXEC | sys.O.NONBLOCK);
            try {
              sys.ftruncate(wfd, a.size);
            } finally {
              sys.close(wfd);
            }
          });
        }
        node.version++;
      }
      if ((a.valid & (Fattr.ATIME | Fattr.MTIME | Fattr.ATIME_NOW | Fattr.MTIME_NOW)) !== 0) {
        const at: sys.TimeSpec = (a.valid & Fattr.ATIME_NOW) !== 0 ? 'now' : (a.valid & Fattr.ATIME) !== 0 ? { sec: a.atime, nsec: a.atimensec } : 'omit';
        const mt: sys.TimeSpec = (a.valid & Fattr.MTIME_NOW) !== 0 ? 'now' : (a.valid & Fattr.MTIME) !== 0 ? { sec: a.mtime, nsec: a.mtimensec } : 'omit';
        c.caller.run(ctx, () => sys.utimensat(fd, '', at, mt, sys.AT.EMPTY_PATH));
      }
      if ((a.valid & Fattr.KILL_SUIDGID) !== 0) c.killPriv(node);
      c.selfNode(node, 'a');
      const st = h ? sys.statx(h.fd, '', NOFOLLOW_EMPTY, STAT_MASK) : c.stat(node);
      c.observe(node, st);
      return { attrValid: c.t.attr, attrValidNsec: 0, attr: c.attr(node, st) };
    },

    readlink(_ctx, id) {
      const node = table.get(id);
      if (node.type !== S_IFLNK) throw fuseError('EINVAL');
      return sys.readlinkat(table.fd(node), '');
    },

    mknod(ctx, parent, rawName, mode, rdev, umask) {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.selfChange(parent, name);
      const pfd = table.fd(p); // as the server: reopening by handle needs CAP_DAC_READ_SEARCH
      c.caller.run(ctx, () => sys.mknodat(pfd, name, mode, decodeDevToMakedev(rdev)), umask);
      return c.enter(p, name);
    },

    mkdir(ctx, parent, rawName, mode, umask) {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.selfChange(parent, name);
      const pfd = table.fd(p);
      c.caller.run(ctx, () => sys.mkdirat(pfd, name, mode & 0o7777), umask);
      return c.enter(p, name);
    },

    unlink(ctx, parent, rawName) {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.selfChange(parent, name);
      // The node lives on (kernel references); its nlink changed, which the host reports as
      // IN_ATTRIB on the name. A name the kernel holds no node for needs no mark: the watcher
      // finds nothing to invalidate for it.
      const kid = p.kids?.get(name.toString('latin1'));
      const k = kid !== undefined ? table.find(kid) : undefined;
      if (k) c.selfNode(k, 'a');
      const pfd = table.fd(p);
      c.caller.run(ctx, () => sys.unlinkat(pfd, name, 0));
      if (k) k.version++;
    },

    rmdir(ctx, parent, rawName) {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.selfChange(parent, name);
      const pfd = table.fd(p);
      c.caller.run(ctx, () => sys.unlinkat(pfd, name, sys.AT.REMOVEDIR));
    },

    symlink(ctx, parent, rawName, target) {
      c.writable();
      const p = table.get(parent);
      const name = c.name(rawName);
      c.selfChange(parent, name);
      const pfd = table.fd(p);
      c.caller.run(ctx, () => sys.symlinkat(target, pfd, name));
      return c.enter(p, name);
    },

    link(ctx, id, newparent, rawName) {
      c.writable();
      const node = table.get(id);
      const p = table.get(newparent);
      const name = c.name(rawName);
      c.selfChange(newparent, name);
      c.selfNode(node, 'a');
      const src = c.procPath(node);
      const pfd = table.fd(p);
      // Link through the magic link: works without CAP_DAC_READ_SEARCH, and the host applies
      // protected_hardlinks to the caller as for a native link(2).
      c.caller.run(ctx, () => sys.linkat(sys.AT.FDCWD, src, pfd, name, sys.AT.SYMLINK_FOLLOW));
      node.version++;
      return c.enter(p, name);
    },

    rename(ctx, parent, rawName, newparent, rawNew, flags) {
      c.writable();
      const p = table.get(parent);
      const np = table.get(newparent);
      const name = c.name(rawName);
      const newname = c.name(rawNew);
      c.selfChange(parent, name);
      c.selfChange(newparent, newname);
      const pfd = table.fd(p);
      const npfd = table.fd(np);
      c.caller.run(ctx, () => sys.renameat2(pfd, name, npfd, newname, flags));
    },

    statfs(_ctx, id) {
      const s = sys.fstatvfs(table.fd(table.get(id)));
      return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: s.namelen, frsize: s.frsize };
    },

    statx(_ctx, id, fh, sxFlags, sxMask) {
      const node = table.get(id);
      const fd = (fh !== undefined ? c.handles.get(fh)?.fd : undefined) ?? table.fd(node);
      const sync = sxFlags & (sys.AT.STATX_FORCE_SYNC | sys.AT.STATX_DONT_SYNC);
      const st = sys.statx(fd, '', NOFOLLOW_EMPTY | sync, (sxMask | STAT_MASK) >>> 0);
      c.observe(node, st);
      return { attrValid: c.t.attr, attrValidNsec: 0, flags: 0, statx: c.wireStatx(node, st) };
    },

    access(ctx, id, mask) {
      const node = table.get(id);
      const st = c.stat(node);
      if ((mask & 2) !== 0 && c.o.readonly) throw fuseError('EROFS');
      c.checkAccess(ctx, node, mask & 7, st);
      void S_IFMT;
    },
  };
}
