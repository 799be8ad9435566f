#!/usr/bin/env -S UV_USE_IO_URING=1 node
// The fusekit command. libuv reads UV_USE_IO_URING once, when Node starts: the
// shebang sets it, and when started some other way (`node bin/fusekit.js`) the
// CLI re-executes itself with it set (see src/cli/main.ts).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((e) => {
  process.stderr.write(`fusekit: ${e?.stack ?? e}\n`);
  process.exit(1);
});
