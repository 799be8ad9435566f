/** The share's inode table: nodes found by name (statx + file handle, no fd) and their first reopen. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as sys from '../sys/fd.ts';
import { tmp, withFd } from '../../test/helpers/tmp.ts';
import { InodeTable } from './inodes.ts';

const skip = process.getuid?.() !== 0 ? 'open_by_handle_at needs CAP_DAC_READ_SEARCH (root)' : false;

function table(dir: string): InodeTable {
  return new InodeTable(dir, { fdCache: 16, useHandles: true, log: () => {} });
}

function byName(dirFd: number, name: string): { st: sys.Statx; h: { handle: Buffer; mountId: number } } {
  return { st: sys.statx(dirFd, name, sys.AT.SYMLINK_NOFOLLOW), h: sys.nameToHandleAt(dirFd, name, 0) };
}

test('a node found by name is one node per inode, and reopens by handle to the same inode', { skip }, (t) => {
  const dir = tmp(t, 'fusekit-inodes-');
  fs.writeFileSync(path.join(dir, 'a'), 'A');
  fs.linkSync(path.join(dir, 'a'), path.join(dir, 'hard'));
  const tb = table(dir);
  t.after(() => tb.close());
  withFd(sys.openat(sys.AT.FDCWD, dir, sys.O.PATH | sys.O.CLOEXEC), (dfd) => {
    const a = byName(dfd, 'a');
    const node = tb.internByName(a.st, a.h)!;
    assert.ok(node, 'made without an fd');
    assert.equal(node.ino, a.st.ino);
    const l = byName(dfd, 'hard');
    assert.equal(tb.internByName(l.st, l.h), node, 'a hard link is the same node');
    const fd = tb.fd(node);
    assert.equal(sys.statx(fd, '', sys.AT.EMPTY_PATH).ino, a.st.ino);
  });
});

test('a name replaced between statx and name_to_handle_at never reaches the other file', { skip }, (t) => {
  const dir = tmp(t, 'fusekit-inodes-');
  fs.writeFileSync(path.join(dir, 'a'), 'A');
  fs.writeFileSync(path.join(dir, 'b'), 'B');
  const tb = table(dir);
  t.after(() => tb.close());
  withFd(sys.openat(sys.AT.FDCWD, dir, sys.O.PATH | sys.O.CLOEXEC), (dfd) => {
    // The race, staged: statx saw "a", then the name came to mean "b" before the handle was taken.
    const st = sys.statx(dfd, 'a', sys.AT.SYMLINK_NOFOLLOW);
    const h = sys.nameToHandleAt(dfd, 'b', 0);
    const node = tb.internByName(st, h)!;
    assert.throws(() => tb.fd(node), (e: { code?: string }) => e.code === 'ENOENT');
    // The honest pair is still fine.
    const b = byName(dfd, 'b');
    const nb = tb.internByName(b.st, b.h)!;
    assert.notEqual(nb, node);
    assert.equal(sys.statx(tb.fd(nb), '', sys.AT.EMPTY_PATH).ino, b.st.ino);
  });
});
