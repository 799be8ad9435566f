/** The busy-poll window's policy (pure: no device needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SPIN_US, SpinWindow } from './dev-fuse.ts';

test('SpinWindow starts at max/8 and keeps its size while requests come inside it', () => {
  const w = new SpinWindow(0.4);
  assert.equal(w.window, 0.05);
  for (let i = 0; i < 100; i++) w.observe(0.03);
  assert.equal(w.window, 0.05);
});

test('SpinWindow grows (doubling, capped at max) when a larger window would have caught the request', () => {
  const w = new SpinWindow(0.4);
  w.observe(0.08);
  assert.equal(w.window, 0.1);
  w.observe(0.3);
  assert.equal(w.window, 0.2);
  w.observe(0.35);
  w.observe(0.39);
  w.observe(0.4);
  assert.equal(w.window, 0.4);
});

test('SpinWindow halves on gaps longer than max and stops polling below max/32', () => {
  const w = new SpinWindow(0.4);
  w.observe(0.4); // grow to 0.1
  w.observe(0.4); // 0.2
  w.observe(0.4); // 0.4
  assert.equal(w.window, 0.4);
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) {
    w.observe(1000);
    seen.push(w.window);
  }
  assert.deepEqual(seen, [0.2, 0.1, 0.05, 0.025, 0.0125, 0]);
  // A burst of close requests brings it back.
  w.observe(0.02);
  assert.equal(w.window, 0.05);
});

test('the default window is a few hundred microseconds', () => {
  assert.ok(DEFAULT_SPIN_US >= 100 && DEFAULT_SPIN_US <= 1000, String(DEFAULT_SPIN_US));
});
