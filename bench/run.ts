// Benchmark runner: `node dist/bench/run.js [suite…] [--reps=N] [--seconds=S] [--suite-flag=…]`.
// Builds the peers (bench/peers.sh), prints the environment, runs each suite (bench/suites/*.ts,
// each exporting `suite`), prints Markdown tables of ratios and writes bench/results/<suite>-<date>.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  benchDir,
  buildDir,
  comparisonTable,
  detailTable,
  environment,
  formatEnvironment,
  installSignalCleanup,
  log,
  repoRoot,
  resultsDir,
  runCleanups,
  suitesDir,
  writeResults,
} from './lib.ts';
import type { Suite, SuiteOptions } from './suite.ts';

async function loadSuites(): Promise<Map<string, Suite>> {
  const suites = new Map<string, Suite>();
  const files = existsSync(suitesDir) ? readdirSync(suitesDir).filter((f) => /^[\w-]+\.js$/.test(f) && !f.endsWith('.test.js')) : [];
  for (const f of files.sort()) {
    const mod = (await import(pathToFileURL(join(suitesDir, f)).href)) as { suite?: Suite };
    if (mod.suite && typeof mod.suite.run === 'function') suites.set(mod.suite.name, mod.suite);
  }
  return suites;
}

function usage(suites: Map<string, Suite>): string {
  const lines = [
    'usage: node dist/bench/run.js [suite…] [--reps=N] [--seconds=S] [--no-build] [--list] [--<suite flag>=…]',
    '  no suite: run them all. Results: bench/results/<suite>-<date>.json',
    '',
    'suites:',
  ];
  for (const s of suites.values()) {
    lines.push(`  ${s.name.padEnd(10)} ${s.description}`);
    for (const [flag, why] of s.flags ?? []) lines.push(`      --${flag.padEnd(20)} ${why}`);
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const suites = await loadSuites();
  const names: string[] = [];
  const flags: Record<string, string> = {};
  for (const a of process.argv.slice(2)) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (m) flags[m[1]!] = m[2] ?? 'true';
    else names.push(a);
  }
  if (flags.help || flags.h) {
    console.log(usage(suites));
    return 0;
  }
  if (flags.list) {
    for (const s of suites.values()) console.log(`${s.name}\t${s.description}`);
    return 0;
  }
  const chosen = names.length ? names : [...suites.keys()];
  for (const n of chosen) {
    if (!suites.has(n)) {
      console.error(`unknown suite "${n}"\n\n${usage(suites)}`);
      return 2;
    }
  }
  const opts: SuiteOptions = {
    reps: Math.max(1, Number(flags.reps ?? 5) || 5),
    seconds: Math.max(0.1, Number(flags.seconds ?? 3) || 3),
    flags,
  };
  if (process.getuid?.() !== 0) log('warning: not root; mounts may fail (the suites expect root and /dev/fuse)');

  if (flags['no-build'] !== 'true') {
    const r = spawnSync('bash', [join(benchDir, 'peers.sh')], { stdio: 'inherit' });
    if (r.status !== 0) {
      console.error('bench/peers.sh failed');
      return 1;
    }
  }
  log(`peers and load generators in ${buildDir}`);

  installSignalCleanup();
  const env = environment(repoRoot);
  console.log(`## Environment\n\n${formatEnvironment(env)}\n- ${opts.reps} repetitions × ${opts.seconds} s per contender (rotated order), medians\n`);

  let failed = 0;
  for (const name of chosen) {
    const suite = suites.get(name)!;
    log(`suite ${name}: ${suite.description}`);
    const started = Date.now();
    try {
      const res = await suite.run(opts);
      const out = [`## ${name}\n`, comparisonTable(res.comparisons), '', detailTable(res.measurements)];
      if (res.notes.length) out.push('', ...res.notes.map((n) => `- ${n}`));
      console.log(out.join('\n') + '\n');
      const file = writeResults(resultsDir, name, {
        suite: name,
        description: suite.description,
        environment: env,
        options: opts,
        durationSeconds: (Date.now() - started) / 1000,
        comparisons: res.comparisons,
        measurements: res.measurements,
        notes: res.notes,
      });
      log(`results: ${file}`);
    } catch (e) {
      failed++;
      console.error(`suite ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    } finally {
      await runCleanups();
    }
  }
  return failed ? 1 : 0;
}

main().then(
  async (code) => {
    await runCleanups();
    process.exitCode = code;
  },
  async (e: unknown) => {
    console.error(e);
    await runCleanups();
    process.exitCode = 1;
  },
);
