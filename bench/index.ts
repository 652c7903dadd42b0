/**
 * `npm run bench`: what replication costs and how fast it goes, on DynamoDB Local. Machines are shared
 * and noisy (docs/platform.md#dynamodb-local): speeds are medians of REPS repetitions after one
 * discarded warm-up, each on fresh tables, and quoted as ratios to a ceiling measured in the same run.
 * Capacity units do not depend on the machine: they are what DynamoDB would bill.
 */
import { MIXES, measureCost, measureNaiveCost, type CostMode } from './cost';
import { startBenchEnv } from './env';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '../lib/config/load';
import { readAssembly } from '../lib/local/assembly';
import type { LocalPlan } from '../lib/local/plan';
import { synthesize } from '../lib/local/synth';
import { measureBundles } from './bundle';
import { measureLag, PROBE_READS_PER_SECOND, type LagFigures } from './lag';
import { operationsSection } from './operations';
import { measureShard, type ShardShape } from './shard';
import { measureThroughput } from './throughput';

const N = Number(process.env.BENCH_RECORDS ?? 400);
const REPS = Number(process.env.BENCH_REPS ?? 3);
/** `BENCH_ONLY=cost,throughput` runs only those sections (cost, throughput, shard, operations, bundle, lag). */
const ONLY = process.env.BENCH_ONLY?.split(',');
const wanted = (section: string) => !ONLY || ONLY.includes(section);

const fixed = (x: number, digits = 2) => x.toFixed(digits);

async function main(): Promise<void> {
  const env = await startBenchEnv();
  try {
    if (wanted('cost')) await costSection(env);
    if (wanted('throughput')) await throughputSection(env);
    if (wanted('shard')) await shardSection(env);
    if (wanted('operations')) await operationsSection(env);
    const plan = wanted('bundle') || wanted('lag') ? await synthesizeExample() : undefined;
    if (plan && wanted('bundle')) bundleSection(plan);
    if (plan && wanted('lag')) await lagSection(env, plan);
  } finally {
    await env.engine.stop();
  }
}

/** The three kinds of table side by side: a multi-active table's row names its conflict mode. */
const COST_LABELS: Record<CostMode, string> = {
  'multi-active': 'ddb-mirror multi-active, version',
  'last-writer-wins': 'ddb-mirror multi-active, last-writer-wins',
  'one-way': 'ddb-mirror one-way',
};

async function costSection(env: Awaited<ReturnType<typeof startBenchEnv>>): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const mix of MIXES) {
    for (const mode of ['multi-active', 'last-writer-wins', 'one-way'] as const) {
      const c = await measureCost(env, mode, mix, N);
      rows.push({
        mix: mix.name,
        replicator: COST_LABELS[mode],
        'WCU/record/target': fixed(c.targetWrite),
        'RCU/record/target': fixed(c.targetRead),
        'origin WCU/save': fixed(c.originWrite),
        'origin RCU/save': fixed(c.originRead),
        'echo WCU': c.echoWrite,
      });
    }
    const naive = await measureNaiveCost(env, mix, N);
    rows.push({
      mix: mix.name,
      replicator: "the article's GetItem + PutItem (unguarded)",
      'WCU/record/target': fixed(naive.targetWrite),
      'RCU/record/target': fixed(naive.targetRead),
      'origin WCU/save': '–',
      'origin RCU/save': '–',
      'echo WCU': '–',
    });
    rows.push({
      mix: mix.name,
      replicator: 'Global Tables (replicated write units)',
      'WCU/record/target': fixed(1),
      'RCU/record/target': fixed(0),
      'origin WCU/save': fixed(0),
      'origin RCU/save': fixed(0),
      'echo WCU': 0,
    });
  }
  process.stdout.write(
    `\nCost: capacity units as DynamoDB bills them, ${N} application writes per mix, items < 1 KB\n`,
  );
  console.table(rows);
}

async function throughputSection(env: Awaited<ReturnType<typeof startBenchEnv>>): Promise<void> {
  const results: Record<string, number[]> = {};
  for (let rep = -1; rep < REPS; rep++) {
    const figures = await measureThroughput(env, N);
    if (rep >= 0) for (const [name, v] of Object.entries(figures)) (results[name] ??= []).push(v);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ceiling = median(results['ceiling: PutItem/s']);
  const rows = Object.entries(results).map(([name, xs]) => ({
    measure: name,
    median: Math.round(median(xs)),
    runs: xs.map((x) => Math.round(x)).join(' / '),
    'vs ceiling': fixed(median(xs) / ceiling),
  }));
  process.stdout.write(
    `\nThroughput on one engine, ${N} records per repetition, ${REPS} repetitions, medians\n`,
  );
  console.table(rows);
}

/** Cross-region latency of the farthest pair (us-east-1 ↔ ap-southeast-2). */
const SHARD_LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 250);
const SHAPES: ShardShape[] = [
  { parallelization: 1, batchSize: 100, maxConcurrency: 10 },
  { parallelization: 4, batchSize: 100, maxConcurrency: 25 },
  { parallelization: 10, batchSize: 100, maxConcurrency: 10 },
  { parallelization: 10, batchSize: 100, maxConcurrency: 25 },
];

async function shardSection(env: Awaited<ReturnType<typeof startBenchEnv>>): Promise<void> {
  const n = Number(process.env.BENCH_SHARD_RECORDS ?? 1500);
  const figures = await measureShard(env, SHARD_LATENCY_MS, SHAPES, n);
  const rows = [
    {
      measure: `ceiling: PutItem/s through the proxy, 64 in flight`,
      'per second': Math.round(figures.ceiling),
      'vs ceiling': fixed(1),
    },
    ...SHAPES.map((shape) => ({
      measure: `one shard: record-targets/s, ParallelizationFactor ${shape.parallelization}, batch ${shape.batchSize}, ${shape.maxConcurrency} items in flight`,
      'per second': Math.round(figures.replicated.get(shape)!),
      'vs ceiling': fixed(figures.replicated.get(shape)! / figures.ceiling),
    })),
  ];
  process.stdout.write(
    `\nOne shard at ${SHARD_LATENCY_MS} ms per cross-region request, ${n} saves of existing items\n`,
  );
  console.table(rows);
}

/** The load: 100 ops/s for 30 s over 3 regions, 5 % conflicting saves, 10 % deletes, 80 ms. */
const LAG = { rate: 100, durationSeconds: 30, latencyMs: 80, conflictRate: 0.05, deleteRate: 0.1 };
const LAG_SWEEP = [20, 30, 50, 100];
/** The headline figure, set against Global Tables: 50 ops/s for 30 s on every table of the example config. */
const LAG_ANCHOR = { ...LAG, rate: 50 };

const ROOT = join(__dirname, '..');
const CONFIG = join(ROOT, 'mirror.config.yaml');

/** The example app, synthesized as `cdk synth` would: the bundles and templates the sections use. */
async function synthesizeExample(): Promise<LocalPlan> {
  return readAssembly(
    await synthesize({
      configPath: CONFIG,
      cwd: ROOT,
      outdir: mkdtempSync(join(tmpdir(), 'ddbm-bench-cdk-')),
    }),
  );
}

/** Goals: at most 300 kB and 100 ms of module init (Lambda bills and waits for init on every cold start). */
function bundleSection(plan: LocalPlan): void {
  const runs = Number(process.env.BENCH_INIT_RUNS ?? 15);
  const rows = measureBundles(plan, runs).map((b) => ({
    bundle: b.name,
    'size (kB)': (b.bytes / 1024).toFixed(0),
    'module init, median (ms)': b.initMs.toFixed(0),
    runs: b.runs.map((x) => x.toFixed(0)).join(' / '),
  }));
  process.stdout.write(
    `\nFunction bundles as synthesized; module init in a fresh node ${process.version}, ${runs} runs\n`,
  );
  console.table(rows);
}

async function lagSection(env: Awaited<ReturnType<typeof startBenchEnv>>, plan: LocalPlan): Promise<void> {
  const config = loadConfig(CONFIG).tables;
  const multiActive = config.filter((t) => t.mode === 'multi-active');
  const ceiling = (await measureThroughput(env, N))['ceiling: PutItem/s'];
  const ms = (x: number | undefined) => `${Math.round(x ?? NaN)} ms`;
  const row = (label: string, tables: string, f: LagFigures) => ({
    scenario: label,
    tables,
    'lag p50': ms(f.everyPeer.p50),
    'lag p99': ms(f.everyPeer.p99),
    'requests/record/target': fixed(f.requestsPerRecordTarget),
    'converged after last write': `${(f.convergedMs / 1000).toFixed(1)} s`,
    divergent: f.divergentKeys,
    parked: f.parked,
    'conflicts lost': f.conflictsLost,
    'probe reads/s': `${f.probeReadsPerSecond.toFixed(0)} (every ${f.probeIntervalMs} ms)`,
  });
  const everyTable = config.map((t) => t.name).join(' + ');
  const onlyMultiActive = multiActive.map((t) => t.name).join(' + ');
  const anchor = await measureLag(plan, config, LAG_ANCHOR);
  const rows = [
    row(`${LAG_ANCHOR.rate} ops/s × ${LAG_ANCHOR.durationSeconds} s`, everyTable, anchor),
    {
      scenario: "Global Tables (AWS's figure)",
      tables: 'any',
      'lag p50': '–',
      'lag p99': '< 1000 ms (typically under 1 s)',
      'requests/record/target': '–',
      'converged after last write': '–',
      divergent: '–',
      parked: '–',
      'conflicts lost': '– (last writer wins, silently)',
      'probe reads/s': '–',
    },
    row(
      `${LAG.rate} ops/s × ${LAG.durationSeconds} s`,
      onlyMultiActive,
      await measureLag(plan, multiActive, LAG),
    ),
  ];
  let highest: number | undefined;
  for (const rate of LAG_SWEEP) {
    const f = await measureLag(plan, multiActive, { ...LAG, rate, durationSeconds: 10 });
    rows.push(row(`${rate} ops/s × 10 s`, onlyMultiActive, f));
    if ((f.everyPeer.p99 ?? Infinity) < 1000 && f.divergentKeys === 0) highest = rate;
  }
  process.stdout.write(
    `\nLag on the local mirror of the example config (real bundles, 250 ms stream polling, ${LAG.latencyMs} ms per cross-region request; ` +
      `${LAG.conflictRate * 100} % conflicting saves, ${LAG.deleteRate * 100} % deletes), ack → visible in every peer, ` +
      `read by a probe of at most ${PROBE_READS_PER_SECOND} reads/s; requests/record/target: DynamoDB requests the replicators and ` +
      `parked-record consumers sent to peers (their proxies' counts) per acknowledged application write and target ` +
      `(below 1 where a later change of the same key in the same batch made a save unnecessary to send)\n`,
  );
  console.table(rows);
  process.stdout.write(
    `${LAG_ANCHOR.rate} ops/s on the example config: lag p50 ${ms(anchor.everyPeer.p50)}, p99 ${ms(anchor.everyPeer.p99)} ` +
      `(Global Tables: typically under 1 s), ${fixed(anchor.requestsPerRecordTarget)} requests per record per target; ` +
      `highest rate tried with lag p99 < 1 s: ${highest ?? 'none'} ops/s; the engine's PutItem ceiling in this run: ${Math.round(ceiling)}/s\n`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
