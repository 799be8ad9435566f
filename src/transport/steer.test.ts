/** Client steering's policy, with the /proc lookup and the affinity calls played by the test. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSteering, INTERVAL_MS, lastCpu, SAMPLES } from './steer.ts';

/** A steering object over CPUs 0–3 whose client runs wherever `where` says. */
function rig(base: number[] = [0, 1, 2, 3]) {
  const log: string[] = [];
  const state = { where: 0, loop: [...base] as readonly number[], writer: [...base] as readonly number[], lookups: 0 };
  const s = new ClientSteering({
    base,
    lastCpu: () => {
      state.lookups++;
      return state.where;
    },
    setAffinity: (cpus) => (state.loop = [...cpus]),
    getAffinity: () => [...state.loop],
    steerWriter: (cpu, b) => (state.writer = cpu === -1 ? [...b] : [cpu]),
    log: (l) => log.push(l),
  });
  let now = 1000;
  /** One request from pid 4242, INTERVAL_MS after the previous one. */
  const request = (): void => s.observe(4242, (now += INTERVAL_MS));
  return { s, state, log, request };
}

test('after SAMPLES lookups that agree, the reply thread goes to the client\'s CPU and the event loop leaves it', () => {
  const { s, state, request } = rig();
  state.where = 2;
  for (let i = 0; i < SAMPLES - 1; i++) request();
  assert.equal(s.cpu, -1, 'not before enough samples');
  request();
  assert.equal(s.cpu, 2);
  assert.deepEqual(state.writer, [2]);
  assert.deepEqual(state.loop, [0, 1, 3]);
});

test('a client that moves is followed; clients on different CPUs get everything back', () => {
  const { s, state, request } = rig();
  state.where = 1;
  for (let i = 0; i < SAMPLES; i++) request();
  assert.equal(s.cpu, 1);
  state.where = 3;
  request();
  assert.equal(s.cpu, -1, 'disagreeing samples: unsteered');
  assert.deepEqual(state.loop, [0, 1, 2, 3]);
  assert.deepEqual(state.writer, [0, 1, 2, 3]);
  for (let i = 1; i < SAMPLES; i++) request();
  assert.equal(s.cpu, 3, 'steered again once the samples agree on the new CPU');
  assert.deepEqual(state.loop, [0, 1, 2]);
  s.release();
  assert.equal(s.cpu, -1);
  assert.deepEqual(state.loop, [0, 1, 2, 3]);
});

test('an affinity set from outside (taskset) wins: it becomes the new base, and steering starts over within it', () => {
  const { s, state, request } = rig();
  state.where = 2;
  for (let i = 0; i < SAMPLES; i++) request();
  assert.equal(s.cpu, 2);
  state.loop = [1]; // taskset -a -p -c 1 <server>
  request();
  assert.equal(s.cpu, -1);
  assert.deepEqual(s.base, [1]);
  assert.deepEqual(state.writer, [1], 'the reply thread gets the new set');
  state.where = 1;
  for (let i = 0; i < SAMPLES * 2; i++) request();
  assert.equal(s.cpu, -1, 'one CPU: nothing to steer');
  assert.deepEqual(state.loop, [1], 'and our affinity calls never widen what the administrator set');
  state.loop = [0, 1, 2, 3];
  assert.equal(s.check(), true);
  for (let i = 0; i < SAMPLES; i++) request();
  assert.equal(s.cpu, 1);
});

test('lookups are rate-limited and skip pid 0 (the kernel) and our own process', () => {
  const { s, state } = rig();
  s.observe(4242, 100);
  s.observe(4242, 100 + INTERVAL_MS / 2);
  assert.equal(state.lookups, 1);
  s.observe(0, 1000);
  s.observe(process.pid, 2000);
  assert.equal(state.lookups, 1);
});

test('with one CPU, or a CPU outside the process\'s set, nothing is steered', () => {
  const one = rig([3]);
  one.state.where = 3;
  for (let i = 0; i < SAMPLES * 2; i++) one.request();
  assert.equal(one.state.lookups, 0);
  const outside = rig([0, 1]);
  outside.state.where = 5;
  for (let i = 0; i < SAMPLES * 2; i++) outside.request();
  assert.equal(outside.s.cpu, -1);
});

test('an affinity call that fails turns steering off, with a log line', () => {
  const log: string[] = [];
  let calls = 0;
  const s = new ClientSteering({
    base: [0, 1],
    lastCpu: () => 1,
    getAffinity: () => [0, 1],
    setAffinity: () => {
      calls++;
      throw Object.assign(new Error('sched_setaffinity: Invalid argument'), { code: 'EINVAL' });
    },
    steerWriter: () => {},
    log: (l) => log.push(l),
  });
  for (let i = 0; i < SAMPLES * 3; i++) s.observe(7, i * INTERVAL_MS);
  assert.equal(calls, 1);
  assert.equal(s.cpu, -1);
  assert.match(log.join('\n'), /client steering disabled: sched_setaffinity: Invalid argument/);
});

test('lastCpu reads a real thread\'s CPU from /proc, and −1 for a thread that does not exist', () => {
  const cpu = lastCpu(process.pid);
  assert.ok(Number.isInteger(cpu) && cpu >= 0, String(cpu));
  assert.equal(lastCpu(2 ** 30), -1);
});
