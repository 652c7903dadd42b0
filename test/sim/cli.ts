/**
 * `npm run simulate -- [options]`: explores the deterministic simulator's worlds and reports what it
 * explored and every oracle failure (with the seed or choice list that replays it). The last line
 * holds the figures; the exit code is 1 when anything failed.
 *
 *   --mode exhaustive|swarm   exhaustive: every interleaving within the bounds (default);
 *                             swarm: seeded random runs with a fault profile per seed
 *   --regions 2|3             regions of the mirrored table (default 2)
 *   --ops N                   application operations per run (exhaustive default 4, swarm 8)
 *   --keys N                  keys the operations pick from (exhaustive default 1, swarm 2)
 *   --kinds save,delete,put   kinds of application operation
 *   --one-way                 a one-way table (the first region is the source)
 *   --program a:save,b:delete fix the application's operations instead of enumerating them
 *   --programs FROM-TO        exhaustive: only programs FROM..TO (0-based) of the canonical list (one
 *                             sequence of operations per region; 405 at the default bounds), so that a
 *                             long exploration can be split into parts that each complete
 *   --no-crash --no-lost      leave crashes / lost answers out of the faults
 *   --preemptions N --faults N --failures N --duplicates N --expiries N
 *                             exhaustive bounds: preemptions, lost answers + crashes, failures before
 *                             commit, duplicate deliveries, tombstone expiries (3, 1, 0, 2, 0)
 *   --retry-attempts N        the event source's MaximumRetryAttempts (exhaustive 10, swarm 3)
 *   --no-replay               discarded ranges are never replayed by an operator
 *   --no-reduce --no-hash     exhaustive without sleep sets / without state hashing
 *   --seeds N --seed S        swarm: N seeds from S (default 200 from 1); with --mode swarm and
 *                             --seeds 1, --seed S runs that one seed
 *   --time-limit SECONDS      stop exploring after this long (reported as incomplete); exhaustive
 *                             runs stop after 600 s unless told otherwise (0: no limit)
 *   --max-runs N              stop after N runs
 *   --replicator NAME         tree (default), blind-to-tombstones, article-generous, article-faithful
 *   --replay FILE             run a saved failure again and print its trace
 *   --out DIR                 where failures are saved (default .ddb-mirror/simulate)
 *   --all-failures            keep exploring after a failure
 *   --traces N                how many failures to print with their traces (default 3)
 *   --step-resurrection M     settled (default): a deleted save may not show again in a region that
 *                             recorded the delete once the change that brought it back is settled;
 *                             strict: not even for a step; off: judged at the end of a run only
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import {
  EXHAUSTIVE_BUDGET,
  exhaustive,
  optionsOfReplay,
  replay,
  replayFile,
  swarm,
  swarmOptions,
  worldOptions,
  type Summary,
} from './explore';
import { replicatorNamed } from './replicators';
import type { ReplayFile } from './trace';
import type { AppOp, OpKind, WorldOptions } from './world';

interface Args {
  readonly flags: Map<string, string | true>;
}

function parse(argv: readonly string[]): Args {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const name = a.slice(2);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(name, next);
      i++;
    } else flags.set(name, true);
  }
  return { flags };
}

function num(args: Args, name: string, fallback: number): number {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

const REGION_NAMES = ['a', 'b', 'c'];

function optionsFrom(args: Args, mode: 'exhaustive' | 'swarm'): WorldOptions {
  const regions = num(args, 'regions', 2);
  if (regions < 2 || regions > 3) throw new Error('--regions must be 2 or 3');
  const base = mode === 'swarm' ? swarmOptions() : worldOptions();
  const keys = num(args, 'keys', base.keys.length);
  const kinds = (args.flags.get('kinds') as string | undefined)?.split(',') as OpKind[] | undefined;
  for (const k of kinds ?? [])
    if (!['save', 'delete', 'put'].includes(k)) throw new Error(`unknown operation kind ${k}`);
  const budget =
    mode === 'exhaustive'
      ? {
          preemptions: num(args, 'preemptions', EXHAUSTIVE_BUDGET.preemptions),
          ambiguous: num(args, 'faults', EXHAUSTIVE_BUDGET.ambiguous),
          failures: num(args, 'failures', EXHAUSTIVE_BUDGET.failures),
          duplicates: num(args, 'duplicates', EXHAUSTIVE_BUDGET.duplicates),
          expiries: num(args, 'expiries', EXHAUSTIVE_BUDGET.expiries),
        }
      : { ...base.budget, expiries: num(args, 'expiries', base.budget.expiries) };
  const program = args.flags.get('program');
  const profile = base.profile && {
    ...base.profile,
    ...(args.flags.has('no-crash') ? { crash: 0 } : {}),
    ...(args.flags.has('no-lost') ? { lost: 0 } : {}),
  };
  return {
    ...base,
    ...(profile ? { profile } : {}),
    ...(typeof program === 'string' ? { program: parseProgram(program) } : {}),
    mode: args.flags.has('one-way') ? 'one-way' : 'multi-active',
    ...(args.flags.has('lww') ? { conflicts: 'last-writer-wins' as const } : {}),
    regions: REGION_NAMES.slice(0, regions),
    keys: Array.from({ length: Math.max(1, keys) }, (_, i) => (keys <= 1 ? 'k' : `k${i + 1}`)),
    ops: typeof program === 'string' ? program.split(',').length : num(args, 'ops', base.ops),
    kinds: kinds ?? base.kinds,
    budget,
    maximumRetryAttempts: num(args, 'retry-attempts', base.maximumRetryAttempts),
    replayDiscarded: !args.flags.has('no-replay'),
    stepResurrection: stepResurrection(args),
    replicator: replicatorNamed((args.flags.get('replicator') as string | undefined) ?? 'tree'),
    ...(mode === 'exhaustive' ? { reduce: !args.flags.has('no-reduce') } : {}),
  };
}

function stepResurrection(args: Args): WorldOptions['stepResurrection'] {
  const v = args.flags.get('step-resurrection') ?? 'settled';
  if (v !== 'settled' && v !== 'strict' && v !== 'off')
    throw new Error('--step-resurrection must be settled, strict or off');
  return v;
}

/** `a:save,b:delete` (key `k`) or `a:save:k1,…`. */
function parseProgram(text: string): AppOp[] {
  return text.split(',').map((part) => {
    const [region, kind, key] = part.split(':');
    if (!REGION_NAMES.includes(region) || !['save', 'delete', 'put'].includes(kind))
      throw new Error(`--program: ${part} is not region:save|delete|put[:key]`);
    return { region, kind: kind as OpKind, key: key ?? 'k' };
  });
}

function saveFailures(dir: string, options: WorldOptions, summary: Summary): string[] {
  if (!summary.failed.length) return [];
  mkdirSync(dir, { recursive: true });
  return summary.failed.map((f, i) => {
    const file = join(dir, `failure-${summary.mode}-${f.seed ?? i}.json`);
    writeFileSync(file, JSON.stringify(replayFile(options, f), null, 1));
    return file;
  });
}

function line(summary: Summary, options: WorldOptions): string {
  const seconds = (summary.ms / 1000).toFixed(1);
  return (
    `simulate: mode=${summary.mode} table=${options.mode} regions=${options.regions.length} ` +
    `ops=${options.ops} keys=${options.keys.length} replicator=${options.replicator.name} ` +
    `runs=${summary.runs} states=${summary.states} pruned=${summary.pruned} steps=${summary.steps} ` +
    `complete=${summary.complete ? 'yes' : 'no'} ${programsText(summary)}` +
    `time=${seconds}s failures=${summary.failed.length}`
  );
}

/** `programs=405/405`, or for a range `programs=12/100 of 405 from 200`. */
function programsText(summary: Summary): string {
  const p = summary.programs;
  if (!p) return '';
  const range = p.total === p.of ? '' : ` of ${p.of} from ${p.from}`;
  return `programs=${p.done}/${p.total}${range} `;
}

/** `--programs 10-19`: that range of program indices (0-based, inclusive). */
function programRange(args: Args): { from: number; to: number } | undefined {
  const v = args.flags.get('programs');
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d+)-(\d+)$/.exec(v) : null;
  if (!m || Number(m[1]) > Number(m[2]))
    throw new Error(`--programs must be FROM-TO (0-based, FROM <= TO), got ${v}`);
  return { from: Number(m[1]), to: Number(m[2]) };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parse(argv);
  const file = args.flags.get('replay');
  if (typeof file === 'string') {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as ReplayFile;
    const stored = saved.options as Record<string, unknown> & { replicator: string };
    const options = optionsOfReplay(stored, replicatorNamed(stored.replicator));
    const run = await replay(options, saved.choices);
    console.log(run.trace.format());
    for (const f of run.failures) console.log(`\nFAILED ${f.oracle}: ${f.message}`);
    console.log(
      `simulate: mode=replay file=${file} steps=${run.steps} choices=${run.choices.length} failures=${run.failures.length}`,
    );
    return run.failures.length ? 1 : 0;
  }
  const mode = (args.flags.get('mode') as string | undefined) ?? 'exhaustive';
  if (mode !== 'exhaustive' && mode !== 'swarm') throw new Error('--mode must be exhaustive or swarm');
  const options = optionsFrom(args, mode);
  const seconds = num(args, 'time-limit', mode === 'exhaustive' ? 600 : 0);
  const limits = {
    ...(args.flags.has('max-runs') ? { maxRuns: num(args, 'max-runs', 0) } : {}),
    ...(seconds > 0 ? { maxMs: seconds * 1000 } : {}),
    stopAtFailure: !args.flags.has('all-failures'),
    onProgress: (s: Summary) =>
      console.log(
        `  … ${s.runs} runs, ${s.states} states, ${s.pruned} pruned, ${(s.ms / 1000).toFixed(0)} s, ${s.failed.length} failures`,
      ),
  };
  console.log(
    `exploring ${options.mode} ${options.regions.length} regions, ${options.ops} operations on ${options.keys.length} key(s), ` +
      `kinds ${options.kinds.join('/')}, replicator ${options.replicator.name}` +
      (mode === 'exhaustive' ? `, bounds ${JSON.stringify(options.budget)}` : ''),
  );
  let summary: Summary;
  if (mode === 'exhaustive') {
    const programs = programRange(args);
    summary = await exhaustive(options, {
      ...limits,
      hash: !args.flags.has('no-hash'),
      ...(programs ? { programs } : {}),
      onProgress: (s: Summary) =>
        console.log(
          `  … ${s.runs} runs, ${s.states} states, ${s.pruned} pruned, programs ${s.programs?.done ?? 0}/${s.programs?.total ?? 1}, ${(s.ms / 1000).toFixed(0)} s, ${s.failed.length} failures`,
        ),
    });
  } else {
    const count = num(args, 'seeds', 200);
    const from = num(args, 'seed', 1);
    summary = await swarm(
      options,
      Array.from({ length: count }, (_, i) => from + i),
      limits,
    );
  }
  const files = saveFailures(
    (args.flags.get('out') as string | undefined) ?? join('.ddb-mirror', 'simulate'),
    options,
    summary,
  );
  const traces = num(args, 'traces', 3);
  summary.failed.slice(0, traces).forEach((f, i) => {
    console.log(`\n==== failure ${i + 1}${f.seed !== undefined ? ` (seed ${f.seed})` : ''}`);
    for (const x of f.failures) console.log(`${x.oracle}: ${x.message}`);
    console.log(`choices: ${JSON.stringify(f.choices)}`);
    console.log(`replay: npm run simulate -- --replay ${files[i]}`);
    console.log(f.trace);
  });
  if (summary.failed.length) {
    const byOracle = new Map<string, number>();
    for (const f of summary.failed)
      for (const x of f.failures) byOracle.set(x.oracle, (byOracle.get(x.oracle) ?? 0) + 1);
    console.log(
      `\nfailed runs: ${summary.failed.length} (${[...byOracle].map(([o, n]) => `${o} ${n}`).join(', ')})`,
    );
  }
  console.log(line(summary, options));
  return summary.failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error((e as Error).message);
    console.log('simulate: error');
    process.exit(2);
  },
);
