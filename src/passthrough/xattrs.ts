/**
 * Extended attributes (POSIX ACLs included) through `/proc/self/fd/N`, which
 * works for every file type on an O_PATH fd and acts on a symlink itself, not
 * its target. Changes run as the caller, so the host applies its ownership
 * and namespace rules (user.* only on regular files and directories, trusted.*
 * for root, ACL updates only by the owner).
 *
 * `user.fusekit.version` is virtual: it reads the node's change version and
 * cannot be set or removed (EPERM). It is not listed, so copies (cp -a,
 * rsync -X) don't carry it to other filesystems.
 */
import { fuseError } from '../errors.ts';
import type { LowLevelFs } from '../session/lowlevel.ts';
import * as x from '../sys/xattr.ts';
import type { ShareCore } from './core.ts';
import { openFdOf } from './inodes.ts';

export const VERSION_XATTR = 'user.fusekit.version';

/**
 * The answer to most GETXATTRs, one shared error (nothing reads it but the session, for its
 * errno). Building an error per absent attribute cost a third of the request.
 */
const NO_SUCH_ATTRIBUTE = fuseError('ENODATA', 'no such attribute');

type XattrOps = Pick<LowLevelFs, 'getxattr' | 'setxattr' | 'listxattr' | 'removexattr'>;

export function xattrOps(c: ShareCore): XattrOps {
  const { table } = c;
  return {
    getxattr(ctx, id, name) {
      const node = table.get(id);
      if (name === VERSION_XATTR) {
        c.stat(node); // fold in changes made behind our back
        return Buffer.from(String(node.version));
      }
      // An open file's own fd skips resolving /proc/self/fd/N (the kernel asks for
      // security.capability on the first write and on every chown of an open file).
      const open = openFdOf(node);
      let v: Buffer | undefined;
      if (open !== undefined) v = c.caller.run(ctx, () => x.fgetxattrIfExists(open, name));
      else {
        const p = c.procPath(node);
        v = c.caller.run(ctx, () => x.getxattrIfExists(p, name));
      }
      if (v === undefined) throw NO_SUCH_ATTRIBUTE;
      return v;
    },

    setxattr(ctx, id, name, value, flags) {
      c.writable();
      if (name === VERSION_XATTR) throw fuseError('EPERM', `${VERSION_XATTR} is read-only`);
      const node = table.get(id);
      const p = c.procPath(node);
      c.caller.run(ctx, () => x.setxattr(p, name, value, flags));
      node.version++;
      c.selfNode(node, 'a');
    },

    listxattr(ctx, id) {
      const p = c.procPath(table.get(id));
      return c.caller.run(ctx, () => x.listxattr(p));
    },

    removexattr(ctx, id, name) {
      c.writable();
      if (name === VERSION_XATTR) throw fuseError('EPERM', `${VERSION_XATTR} is read-only`);
      const node = table.get(id);
      const p = c.procPath(node);
      c.caller.run(ctx, () => x.removexattr(p, name));
      node.version++;
      c.selfNode(node, 'a');
    },
  };
}
