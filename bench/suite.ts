// The contract between bench/run.ts and bench/suites/<name>.ts. A suite module exports `suite`.
import type { Comparison, Measurement } from './compare.ts';

export interface SuiteOptions {
  /** Repetitions per contender (≥ 1; default 5). */
  reps: number;
  /** Measured seconds per run, after the load generator's own warm-up (BENCH_WARMUP, default 0.5). */
  seconds: number;
  /** Suite-specific flags from the command line: --name=value (or --name → 'true'). */
  flags: Record<string, string>;
}

export interface SuiteResult {
  measurements: Measurement[];
  comparisons: Comparison[];
  /** Free-form remarks printed under the tables and saved in the JSON (caveats, skipped peers). */
  notes: string[];
}

export interface Suite {
  name: string;
  /** One line for `run.js --list`. */
  description: string;
  /** Suite-specific flags for `run.js --help`: [flag, explanation]. */
  flags?: [string, string][];
  /** Mount what it needs, measure, and unmount/stop everything it started (also on error). */
  run(opts: SuiteOptions): Promise<SuiteResult>;
}
