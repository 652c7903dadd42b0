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
import { World, type AppOp, type RunResult, type WorldOptions } from './world';

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
  /**
   * Exhaustive: how many of the programs asked for (`total`, from index `from` of the `of` programs
   * `programsOf` lists) were fully explored.
   */
  programs?: { readonly done: number; readonly total: number; readonly from: number; readonly of: number };
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

/**
 * Every application program the exhaustive mode explores, in a fixed order. A region runs its own
 * operations in order and the scheduler interleaves the regions (an operation is a step like any
 * other), so a program is one sequence of operations per region: listing them as global sequences
 * would name each one many times over (1,296 lists for 405 programs at 4 operations in 2 regions).
 */
export function programsOf(options: WorldOptions): AppOp[][] {
  const regions = options.mode === 'one-way' ? [options.regions[0]] : options.regions;
  const slots = options.kinds.flatMap((kind) => options.keys.map((key) => ({ kind, key })));
  const splits = (n: number, parts: number): number[][] =>
    parts === 1
      ? [[n]]
      : Array.from({ length: n + 1 }, (_, i) => n - i).flatMap((first) =>
          splits(n - first, parts - 1).map((rest) => [first, ...rest]),
        );
  const sequences = (region: string, n: number): AppOp[][] =>
    n === 0
      ? [[]]
      : sequences(region, n - 1).flatMap((head) => slots.map((slot) => [...head, { region, ...slot }]));
  const programs: AppOp[][] = [];
  for (const split of splits(options.ops, regions.length)) {
    let partial: AppOp[][] = [[]];
    split.forEach((n, r) => {
      const tails = sequences(regions[r], n);
      partial = partial.flatMap((head) => tails.map((tail) => [...head, ...tail]));
    });
    programs.push(...partial);
  }
  return programs;
}

export interface ProgramRange {
  /** First program to explore (0-based index in `programsOf`). */
  readonly from: number;
  /** Last program to explore, inclusive. */
  readonly to: number;
}

export async function exhaustive(
  options: WorldOptions,
  limits: ExploreLimits & { readonly programs?: ProgramRange } = {},
): Promise<Summary> {
  const started = performance.now();
  const visited = options.visited ?? (limits.hash === false ? undefined : new StateCache());
  const opts: WorldOptions = { ...options, visited, reduce: options.reduce ?? true };
  const all = options.program ? [[...options.program]] : programsOf(options);
  const from = Math.min(limits.programs?.from ?? 0, all.length);
  const to = Math.min(limits.programs?.to ?? all.length - 1, all.length - 1);
  const summary: Summary = {
    mode: 'exhaustive',
    runs: 0,
    pruned: 0,
    states: 0,
    steps: 0,
    complete: false,
    failed: [],
    ms: 0,
    programs: { done: 0, total: Math.max(0, to - from + 1), from, of: all.length },
  };
  let lastProgress = started;
  let stopped = false;
  for (let p = from; p <= to && !stopped; p++) {
    const chooser = new ExhaustiveChooser();
    const program = { ...opts, program: all[p] };
    for (;;) {
      const run = await runWith(program, chooser);
      summary.runs += 1;
      summary.steps += run.steps;
      if (run.pruned) summary.pruned += 1;
      if (run.failures.length) {
        summary.failed.push(failedRun(run));
        if (limits.stopAtFailure ?? true) stopped = true;
      }
      if (!chooser.advance()) {
        summary.programs = { ...summary.programs!, done: summary.programs!.done + 1 };
        break;
      }
      if (stopped) break;
      const now = performance.now();
      if (
        (limits.maxRuns !== undefined && summary.runs >= limits.maxRuns) ||
        (limits.maxMs !== undefined && now - started >= limits.maxMs)
      ) {
        stopped = true;
        break;
      }
      if (limits.onProgress && now - lastProgress > 10_000) {
        lastProgress = now;
        summary.states = visited?.size ?? 0;
        summary.ms = now - started;
        limits.onProgress(summary);
      }
    }
  }
  summary.complete = summary.programs!.done === summary.programs!.total;
  summary.states = visited?.size ?? 0;
  summary.ms = performance.now() - started;
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
    options: {
      ...rest,
      // An exhaustive run's program was fixed, not drawn: the replay fixes it too.
      ...(failed.seed === undefined ? { program: failed.run.program, ops: failed.run.program.length } : {}),
      profile: options.profile ?? null,
      replicator: replicator.name,
    },
    choices: failed.choices,
    ...(failed.seed !== undefined ? { seed: failed.seed } : {}),
    failures: failed.failures,
  };
}
