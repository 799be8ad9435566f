#!/usr/bin/env node
// The fusekit command (src/cli/main.ts).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((e) => {
  process.stderr.write(`fusekit: ${e?.stack ?? e}\n`);
  process.exit(1);
});
