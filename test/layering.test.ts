/**
 * Import direction, read from the sources: cli → {passthrough, vfs, demo} → session → protocol.
 * sys and errors.ts import nothing else from the project; protocol does no I/O.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/mount.ts';

const SRC = path.join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** The layer of a source file: its first directory under src/, or the file name at the top. */
function layer(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0]!.replace(/\.ts$/, '') : rel[0]!;
}

/** What each layer may import from the project. */
const ALLOWED: Record<string, string[]> = {
  errors: [],
  sys: [],
  protocol: ['errors'],
  transport: ['errors', 'sys'],
  session: ['errors', 'protocol', 'sys', 'transport'], // transport: the interface only (next test)
  mount: ['errors', 'protocol', 'session', 'transport', 'sys'],
  vfs: ['errors', 'protocol', 'session', 'transport', 'sys', 'mount'],
  passthrough: ['errors', 'protocol', 'session', 'transport', 'sys', 'mount'],
  demo: ['errors', 'protocol', 'session'],
  cli: ['errors', 'protocol', 'session', 'transport', 'sys', 'mount', 'vfs', 'passthrough', 'demo'],
  index: ['errors', 'protocol', 'session', 'transport', 'sys', 'mount', 'vfs', 'passthrough', 'demo'],
};

test('every import goes down the layer stack', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const from = layer(f);
    const allowed = ALLOWED[from];
    assert.ok(allowed, `no layering rule for ${path.relative(ROOT, f)} (layer "${from}")`);
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) {
        if (from === 'protocol' && /^node:(fs|child_process|net|dgram|worker_threads)/.test(spec)) bad.push(`${path.relative(ROOT, f)} does I/O through ${spec}`);
        continue;
      }
      const to = layer(path.resolve(path.dirname(f), spec));
      if (to !== from && !allowed.includes(to)) bad.push(`${path.relative(ROOT, f)} (${from}) imports ${spec} (${to})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('session reaches transports only through the interface', () => {
  for (const f of files(path.join(SRC, 'session'))) {
    for (const spec of imports(f)) {
      if (spec.includes('/transport/')) assert.match(spec, /transport\/transport\.ts$/, `${path.relative(ROOT, f)} imports ${spec}`);
    }
  }
});
