/**
 * Ways to explore the worlds:
 * - `exhaustive`: every choice list within the budgets (odometer order), with state hashing (a run
 *   that reaches a state explored before stops there) and sleep sets (steps on different regions'
 *   tables that do not observe each other are run in one order only);
 * - `swarm`: seeded random runs, each seed drawing its own fault profile (some kinds off);
 * - `replay`: one recorded choice list;
 * - `determinism`: the same seed twice must make the same choices and end in the same state.
 */
import { ExhaustiveChooser, RandomChooser, ReplayChooser, type Chooser } from './chooser';
import { EVEN_PROFILE, UNBOUNDED, type Budget } from './faults';
import type { Failure } from './oracles';
import { treeReplicator } from './replicators';
import { StateCache } from './states';
import type { ReplayFile } from './trace';
import { World, type RunResult, type WorldOptions } from './world';

/** The bounds of the exhaustive profile (2 regions, one key). */
export const EXHAUSTIVE_BUDGET: Budget = {
  preemptions: 3,
  failures: 0,
  ambiguous: 1,
  duplicates: 2,
  expiries: 0,
};

export function worldOptions(overrides: Partial<WorldOptions> = {}): WorldOptions {
  return {
    mode: 'multi-active',
    regions: ['a', 'b'],
    keys: ['k'],
    ops: 4,
    kinds: ['save', 'delete', 'put'],
    replicator: treeReplicator,
    budget: EXHAUSTIVE_BUDGET,
    profile: EVEN_PROFILE,
    maxAttempts: 2,
    baseDelayMs: 100,
    maxConcurrency: 4,
    batchSize: 10,
    maximumRetryAttempts: 10,
    bisect: true,
    splits: true,
    jitter: false,
    replayDiscarded: true,
    maxSteps: 400,
    maxLivenessSteps: 2000,
    idempotence: true,
    stepResurrection: 'settled',
    ...overrides,
  };
}

/** Swarm runs: no budgets but the profile's rates; more keys and operations. */
export function swarmOptions(overrides: Partial<WorldOptions> = {}): WorldOptions {
  return worldOptions({
    keys: ['k1', 'k2'],
    ops: 8,
    budget: {
      preemptions: UNBOUNDED,
      failures: UNBOUNDED,
      ambiguous: UNBOUNDED,
      duplicates: UNBOUNDED,
      expiries: 2,
    },
    profile: undefined,
    jitter: true,
    maximumRetryAttempts: 3,
    ...overrides,
  });
}

export interface FailedRun {
  readonly failures: readonly Failure[];
  readonly choices: readonly number[];
  readonly seed?: number;
  readonly trace: string;
  readonly run: RunResult;
}

export interface Summary {
  readonly mode: 'exhaustive' | 'swarm' | 'replay';
  runs: number;
  /** Runs that stopped at a state explored before, or where every enabled step was asleep. */
  pruned: number;
  /** Distinct states met at step decisions (exhaustive). */
  states: number;
  steps: number;
  /** Every choice list within the bounds was run. */
  complete: boolean;
  /** Exhaustive runs stopped early: how many application programs were fully explored, of how many. */
  programs?: { readonly done: number; readonly total: number };
  readonly failed: FailedRun[];
  ms: number;
}

export async function runWith(options: WorldOptions, chooser: Chooser): Promise<RunResult> {
  return new World(options, chooser).run();
}

function failedRun(run: RunResult, seed?: number): FailedRun {
  return {
    failures: run.failures,
    choices: run.choices,
    ...(seed !== undefined ? { seed } : {}),
    trace: run.trace.format(),
    run,
  };
}

export interface ExploreLimits {
  /** Stop after this many runs (the summary then says incomplete). */
  readonly maxRuns?: number;
  /** Stop after this long (ms of real time: the simulator's own budget, not the world's). */
  readonly maxMs?: number;
  /** Stop at the first failing run. @default true */
  readonly stopAtFailure?: boolean;
  /** Exhaustive: skip states explored before. @default true */
  readonly hash?: boolean;
  readonly onProgress?: (summary: Summary) => void;
}

export async function exhaustive(options: WorldOptions, limits: ExploreLimits = {}): Promise<Summary> {
  const started = performance.now();
  const visited = options.visited ?? (limits.hash === false ? undefined : new StateCache());
  const opts: WorldOptions = { ...options, visited, reduce: options.reduce ?? true };
  const chooser = new ExhaustiveChooser();
  const summary: Summary = {
    mode: 'exhaustive',
    runs: 0,
    pruned: 0,
    states: 0,
    steps: 0,
    complete: false,
    failed: [],
    ms: 0,
  };
  let lastProgress = started;
  for (;;) {
    const run = await runWith(opts, chooser);
    summary.runs += 1;
    summary.steps += run.steps;
    if (run.pruned) summary.pruned += 1;
    if (run.failures.length) {
      summary.failed.push(failedRun(run));
      if (limits.stopAtFailure ?? true) break;
    }
    if (!chooser.advance()) {
      summary.complete = true;
      break;
    }
    if (limits.maxRuns !== undefined && summary.runs >= limits.maxRuns) break;
    const now = performance.now();
    if (limits.maxMs !== undefined && now - started >= limits.maxMs) break;
    if (limits.onProgress && now - lastProgress > 10_000) {
      lastProgress = now;
      summary.states = visited?.size ?? 0;
      summary.ms = now - started;
      limits.onProgress(summary);
    }
  }
  summary.states = visited?.size ?? 0;
  summary.ms = performance.now() - started;
  if (!summary.complete && !options.program) summary.programs = chooser.progress('program');
  return summary;
}

export async function swarm(
  options: WorldOptions,
  seeds: readonly number[],
  limits: ExploreLimits = {},
): Promise<Summary> {
  const started = performance.now();
  const summary: Summary = {
    mode: 'swarm',
    runs: 0,
    pruned: 0,
    states: 0,
    steps: 0,
    complete: true,
    failed: [],
    ms: 0,
  };
  let lastProgress = started;
  for (const seed of seeds) {
    const run = await runWith(options, new RandomChooser(seed));
    summary.runs += 1;
    summary.steps += run.steps;
    if (run.failures.length) {
      summary.failed.push(failedRun(run, seed));
      if (limits.stopAtFailure ?? true) break;
    }
    const now = performance.now();
    if (limits.maxMs !== undefined && now - started >= limits.maxMs) {
      summary.complete = false;
      break;
    }
    if (limits.onProgress && now - lastProgress > 10_000) {
      lastProgress = now;
      summary.ms = now - started;
      limits.onProgress(summary);
    }
  }
  summary.ms = performance.now() - started;
  return summary;
}

/** The options a replay file was recorded with (see `replayFile`). */
export function optionsOfReplay(
  stored: Record<string, unknown>,
  replicator: WorldOptions['replicator'],
): WorldOptions {
  const { profile, replicator: _name, ...rest } = stored as Partial<WorldOptions> & { profile?: unknown };
  return {
    ...worldOptions(),
    ...rest,
    profile: profile === null ? undefined : (profile as WorldOptions['profile']),
    replicator,
  };
}

/** Runs one recorded choice list again. */
export async function replay(options: WorldOptions, choices: readonly number[]): Promise<RunResult> {
  return runWith(options, new ReplayChooser(choices));
}

/**
 * FoundationDB's "unseed" check: a seed run twice must make the same number of choices, take the
 * same steps and end with the same engine contents. Anything that reads real time or randomness
 * outside the chooser breaks it.
 */
export async function determinismProblems(options: WorldOptions, seed: number): Promise<string[]> {
  const a = await runWith(options, new RandomChooser(seed));
  const b = await runWith(options, new RandomChooser(seed));
  const problems: string[] = [];
  if (a.choices.length !== b.choices.length)
    problems.push(`choices: ${a.choices.length} then ${b.choices.length}`);
  else if (a.choices.some((c, i) => c !== b.choices[i])) problems.push('choices differ');
  if (a.steps !== b.steps) problems.push(`steps: ${a.steps} then ${b.steps}`);
  if (a.fingerprint !== b.fingerprint) problems.push('final engine contents differ');
  const ta = a.trace.format();
  const tb = b.trace.format();
  if (ta !== tb) problems.push('traces differ');
  for (const f of [...a.failures, ...b.failures].filter((x) => x.oracle === 'determinism'))
    problems.push(f.message);
  return problems;
}

export function replayFile(options: WorldOptions, failed: FailedRun): ReplayFile {
  const { replicator, visited: _v, ...rest } = options;
  return {
    // null: the profile was drawn by the chooser (a swarm run), and is drawn again on replay.
    options: { ...rest, profile: options.profile ?? null, replicator: replicator.name },
    choices: failed.choices,
    ...(failed.seed !== undefined ? { seed: failed.seed } : {}),
    failures: failed.failures,
  };
}
