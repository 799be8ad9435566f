#!/usr/bin/env node
// The fusekit command (src/cli/main.ts).
import { setV8Flag } from '../dist/src/sys/v8-flags.js';

// Virtual-filesystem servers (src/vfs: `mount`, and the tracefs/procfs/json demos) keep V8's
// young generation at its initial size so a big walk does not leave a grown one behind
// (TreeOptions.reclaim). The flag only works if set before the young generation first grows,
// which happens while the CLI's modules load: the tree's own setFlagsFromString comes too late.
// setV8Flag remembers it, because starting a Worker (the transport's reply and notification
// threads) resets V8's flags and the transport sets them again (src/sys/v8-flags.ts).
const [cmd, sub] = process.argv.slice(2);
if ((cmd === 'mount' || (cmd === 'demo' && ['tracefs', 'procfs', 'json'].includes(sub))) && process.env.FUSEKIT_VFS_RECLAIM !== '0') {
  setV8Flag('--semi-space-growth-factor=1');
}
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((e) => {
  process.stderr.write(`fusekit: ${e?.stack ?? e}\n`);
  process.exit(1);
});
