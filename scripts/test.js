#!/usr/bin/env node
// Runs every test file under dist/ (unit tests beside the code, and test/**) with node:test.
// Mount tests need root and /dev/fuse; they skip loudly without them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
for (const d of ['dist/src', 'dist/test']) {
  try { walk(join(root, d)); } catch { /* absent */ }
}
const filter = process.argv.slice(2);
const chosen = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
if (chosen.length === 0) {
  console.error('no test files found; did the build run?');
  process.exit(1);
}
const env = { ...process.env };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
