import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EchoMarks } from './echo.ts';

test('a mark suppresses its echo until it expires, then not', () => {
  const e = new EchoMarks(250, 1000);
  e.mark('1/n/a', 0);
  assert.equal(e.isEcho('1/n/a', 100), true);
  assert.equal(e.isEcho('1/n/b', 100), false);
  assert.equal(e.isEcho('1/n/a', 251), false);
});

test('renewing a mark extends it', () => {
  const e = new EchoMarks(250, 1000);
  e.mark('1/n/a', 0);
  e.mark('1/n/a', 200);
  assert.equal(e.isEcho('1/n/a', 400), true);
});

test('expired marks are dropped as new ones come, and each mark looks at O(1) old ones', () => {
  const e = new EchoMarks(250, 1_000_000);
  // 20,000 marks per simulated 250 ms (80k changes/s) for two seconds: ~20,000 live at any time.
  const n = 160_000;
  for (let i = 0; i < n; i++) e.mark(`1/n/f${i}`, (i * 250) / 20_000);
  assert.ok(e.size <= 20_001, `live marks ${e.size}`);
  // Each mark visits its own entry plus the expired ones it drops: under 3 per mark on average.
  // (Scanning the whole map per mark, as before, visits ~20,000 per mark here.)
  assert.ok(e.visited < 3 * n, `visited ${e.visited} for ${n} marks`);
  assert.equal(e.isEcho(`1/n/f${n - 1}`, 2000), true);
  assert.equal(e.isEcho('1/n/f0', 2000), false);
});

test('past the cap the oldest live marks go', () => {
  const e = new EchoMarks(250, 100);
  for (let i = 0; i < 1000; i++) e.mark(`k${i}`, 0);
  assert.equal(e.size, 100);
  assert.equal(e.isEcho('k999', 1), true);
  assert.equal(e.isEcho('k0', 1), false);
});
