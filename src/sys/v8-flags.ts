/**
 * V8 flags set at run time, remembered so they can be set again.
 *
 * Node resets V8's flags when it starts a Worker: measured on Node 20, after
 * `new Worker(…)` the main isolate's young generation grew to 32 MiB again
 * under allocation churn although `--semi-space-growth-factor=1` had been set
 * (2 MiB without the worker; setting the flag once more, after the worker is
 * up, restores it). So every place that starts a Worker calls `reapplyV8Flags()`
 * on the worker's 'online' event (earlier is too early: the reset happens as the
 * worker's thread starts).
 */
import v8 from 'node:v8';

const applied: string[] = [];

/** `v8.setFlagsFromString(flag)`, remembered for `reapplyV8Flags`. */
export function setV8Flag(flag: string): void {
  v8.setFlagsFromString(flag);
  if (!applied.includes(flag)) applied.push(flag);
}

/** Set every remembered flag again (after starting a Worker). */
export function reapplyV8Flags(): void {
  for (const f of applied) v8.setFlagsFromString(f);
}
