import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { close } from './fd.ts';
import { IN, addWatch, inotifyInit, parseEvents, rmWatch } from './inotify.ts';

test('inotify reports create, modify, move and delete with names', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusekit-sys-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ifd = inotifyInit();
  try {
    const wd = addWatch(ifd, dir, IN.CREATE | IN.MODIFY | IN.MOVED_FROM | IN.MOVED_TO | IN.DELETE | IN.ONLYDIR);
    assert.ok(wd >= 1);
    assert.equal(addWatch(ifd, dir, IN.CREATE | IN.MODIFY | IN.MOVED_FROM | IN.MOVED_TO | IN.DELETE), wd, 'same inode, same wd');
    const buf = Buffer.alloc(65536);
    // Non-blocking: nothing to read yet.
    assert.throws(() => fs.readSync(ifd, buf), { code: 'EAGAIN' });
    fs.writeFileSync(path.join(dir, 'a'), 'x');
    fs.renameSync(path.join(dir, 'a'), path.join(dir, 'b'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.unlinkSync(path.join(dir, 'b'));
    const n = await new Promise<number>((res, rej) => fs.read(ifd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));
    const evs = parseEvents(buf, n);
    const seen = evs.map((e) => [e.mask & ~IN.ISDIR, e.name?.toString(), e.wd]);
    assert.deepEqual(seen, [
      [IN.CREATE, 'a', wd],
      [IN.MODIFY, 'a', wd],
      [IN.MOVED_FROM, 'a', wd],
      [IN.MOVED_TO, 'b', wd],
      [IN.CREATE, 'sub', wd],
      [IN.DELETE, 'b', wd],
    ]);
    assert.ok(evs[4]!.mask & IN.ISDIR);
    assert.ok(evs[2]!.cookie !== 0 && evs[2]!.cookie === evs[3]!.cookie, 'a rename pairs by cookie');
    rmWatch(ifd, wd);
    const m = fs.readSync(ifd, buf);
    assert.deepEqual(parseEvents(buf, m).map((e) => [e.wd, e.mask, e.name]), [[wd, IN.IGNORED, undefined]]);
    assert.throws(() => rmWatch(ifd, wd), { code: 'EINVAL' });
    assert.throws(() => addWatch(ifd, path.join(dir, 'nope'), IN.CREATE), { code: 'ENOENT', path: path.join(dir, 'nope') });
  } finally {
    close(ifd);
  }
});
