import fc from 'fast-check';
import { MirrorHarness, ReplicatorFactory } from '../../support/mirror-harness';
import type { FaultProxy } from '../../support/fault-proxy';
import { lastWriterWins } from '../../../lambda/contract';

/**
 * The command model shared by the convergence properties: random interleavings of application writes,
 * stream pumps (random batch splits, duplicate batches, replays), regional outages/throttling, lost
 * answers (a replicated write that commits while its caller sees a failure and retries) and parked-queue
 * drains, over a small key space so that items collide.
 */

export const KEYS = ['k0', 'k1', 'k2'] as const;

export type Op =
  | { readonly t: 'save'; readonly r: number; readonly k: number }
  | { readonly t: 'put'; readonly r: number; readonly k: number }
  | { readonly t: 'replace'; readonly r: number; readonly k: number }
  | { readonly t: 'pumpAll'; readonly splits: number[] }
  | { readonly t: 'del'; readonly r: number; readonly k: number }
  | {
      readonly t: 'pump';
      readonly r: number;
      readonly splits: number[];
      readonly dup?: number;
      readonly replay?: number;
      readonly limit?: number;
    }
  | { readonly t: 'fault'; readonly r: number; readonly mode: 'down' | 'throttle' | 'reset' | 'ok' }
  /** From here until the region's next fault op (or the heal), a share of the writes sent to it commit and lose their answer. */
  | { readonly t: 'lostAnswer'; readonly r: number; readonly reset: boolean; readonly seed: number }
  | { readonly t: 'parked'; readonly r: number; readonly dup: boolean };

const sometimes = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/**
 * Share of the writes to a region in lost-answer mode that commit and then fail at the caller: a 500
 * InternalServerError, or (`reset`) a cut connection. DynamoDB can answer either after the write was
 * applied, and the caller's retry then meets its own effect (docs/platform.md#lost-answers).
 */
export const LOST_ANSWER_FRACTION = 0.2;

const lostAnswerArb = (r: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.record({ t: fc.constant('lostAnswer' as const), r, reset: fc.boolean(), seed: fc.nat() });

const splitsArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

const pumpArb = (r: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.record(
    {
      t: fc.constant('pump' as const),
      r,
      splits: splitsArb,
      dup: sometimes(fc.nat(30)),
      replay: sometimes(fc.nat(30)),
      limit: sometimes(fc.integer({ min: 1, max: 3 })),
    },
    { requiredKeys: ['t', 'r', 'splits'] },
  );

/** Every region writes: multi-active. */
export function multiActiveOps(regions: number, maxLength: number): fc.Arbitrary<Op[]> {
  const r = fc.nat(regions - 1);
  const k = fc.nat(KEYS.length - 1);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('save' as const), r, k }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), r, k }) },
    { weight: 5, arbitrary: pumpArb(r) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('fault' as const),
        r,
        mode: fc.constantFrom('down', 'throttle', 'reset', 'ok'),
      }),
    },
    { weight: 2, arbitrary: lostAnswerArb(r) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('parked' as const), r, dup: fc.boolean() }) },
  );
  return fc.array(op, { minLength: 4, maxLength, size: 'max' });
}

/** Only the source (region 0) writes and is pumped: one-way. Faults hit the replicas. */
export function oneWayOps(regions: number, maxLength: number): fc.Arbitrary<Op[]> {
  const k = fc.nat(KEYS.length - 1);
  const replica = fc.integer({ min: 1, max: regions - 1 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('save' as const), r: fc.constant(0), k }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('put' as const), r: fc.constant(0), k }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), r: fc.constant(0), k }) },
    { weight: 5, arbitrary: pumpArb(fc.constant(0)) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('fault' as const),
        r: replica,
        mode: fc.constantFrom('down', 'throttle', 'reset', 'ok'),
      }),
    },
    { weight: 2, arbitrary: lostAnswerArb(replica) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('parked' as const), r: replica, dup: fc.boolean() }) },
  );
  return fc.array(op, { minLength: 4, maxLength, size: 'max' });
}

type LostAnswerOp = Extract<Op, { t: 'lostAnswer' }>;

/** Puts `region` in lost-answer mode: the harness's view first (the region is up, traced), then the share. */
function loseAnswers(
  h: MirrorHarness,
  proxy: FaultProxy | undefined,
  region: string,
  op: LostAnswerOp,
): void {
  if (!proxy) throw new Error('lost answers need the FaultProxy the harness writes through');
  const mode = op.reset ? 'lost-answer-reset' : 'lost-answer';
  h.setFault(region, mode);
  proxy.setMode(region, mode, { fraction: LOST_ANSWER_FRACTION, writesOnly: true, seed: op.seed });
  h.trace.push(
    `  ${LOST_ANSWER_FRACTION * 100} % of the writes to ${region} lose their answer (seed ${op.seed})`,
  );
}

/**
 * Runs the commands; data values are unique per command (`<region letter><index>`) so divergences read
 * easily. Lost answers need the harness's fault proxy. Returns the regions still losing answers at the
 * end, with the op that set them.
 */
export async function runOps(
  h: MirrorHarness,
  ops: readonly Op[],
  proxy?: FaultProxy,
): Promise<Map<string, LostAnswerOp>> {
  const regions = h.regions;
  const losing = new Map<string, LostAnswerOp>();
  for (const [i, op] of ops.entries()) {
    const region = 'r' in op ? regions[op.r % regions.length] : regions[0];
    switch (op.t) {
      case 'save':
        await h.save(region, KEYS[op.k], `${'abcdef'[op.r]}${i}`);
        break;
      case 'put':
        await h.put(region, KEYS[op.k], {
          data: { S: `${'abcdef'[op.r]}${i}p` },
          // Under last-writer-wins the application keeps no version.
          ...(lastWriterWins(h.ctx.settingsFor(region)) ? {} : { version: { N: String(i + 1) } }),
        });
        break;
      case 'replace':
        await h.replace(region, KEYS[op.k], `${'abcdef'[op.r]}${i}r`);
        break;
      case 'del':
        await h.remove(region, KEYS[op.k]);
        break;
      case 'pumpAll':
        await h.pumpConcurrently(regions, { splits: op.splits });
        break;
      case 'pump':
        await h.pump(region, {
          splits: op.splits,
          duplicate: op.dup,
          replayFrom: op.replay,
          limit: op.limit,
        });
        break;
      case 'fault':
        losing.delete(region);
        if (op.mode === 'down') h.setDown(region, true);
        else if (op.mode === 'ok') h.setDown(region, false);
        else h.setFault(region, op.mode);
        break;
      case 'lostAnswer':
        loseAnswers(h, proxy, region, op);
        losing.set(region, op);
        break;
      case 'parked':
        if (!h.isDown(region)) await h.drainParked(region, { duplicate: op.dup });
        break;
    }
  }
  return losing;
}

export interface ScenarioOptions {
  readonly regions: readonly string[];
  readonly mode: 'one-way' | 'multi-active';
  readonly replicator: ReplicatorFactory;
  readonly proxy: FaultProxy;
  readonly seed: number;
  /** Parallel batches per region's stream (MirrorHarnessOptions.lanes). @default 1 */
  readonly lanes?: number;
  /** Multi-active conflict resolution (MirrorHarnessOptions.conflicts). @default 'version' */
  readonly conflicts?: 'version' | 'last-writer-wins';
}

/**
 * Runs the commands, heals every region (but those losing answers), drains, heals the rest, and returns
 * the harness for the checks.
 */
export async function runScenario(options: ScenarioOptions, ops: readonly Op[]): Promise<MirrorHarness> {
  const h = await MirrorHarness.create({
    regions: options.regions,
    mode: options.mode,
    replicator: options.replicator,
    proxy: options.proxy,
    seed: options.seed,
    ...(options.lanes ? { lanes: options.lanes } : {}),
    ...(options.conflicts ? { conflicts: options.conflicts } : {}),
  });
  const losing = await runOps(h, ops, options.proxy);
  h.heal();
  // Lost answers stay on through the drain: unlike an outage they stop nothing, and most replicated
  // writes happen there. The checks then run on a healed mirror.
  for (const [region, op] of losing) loseAnswers(h, options.proxy, region, op);
  await h.drain();
  if (losing.size) h.heal();
  return h;
}

/** The failure text: the divergent keys per region and the full schedule that led there. */
export function explain(h: MirrorHarness, divergence: unknown): string {
  return [
    `replicator: ${h.replicator.name}`,
    `divergence: ${JSON.stringify(divergence, null, 1)}`,
    'schedule:',
    ...h.trace.map((l) => `  ${l}`),
    ...(h.invocationErrors.length ? ['invocation errors:', ...h.invocationErrors.slice(0, 5)] : []),
  ].join('\n');
}

/** fast-check parameters: reproducible with FC_SEED (and FC_PATH) from a failure report. */
export function fcParams(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() ^ (Math.random() * 0x100000000);
  return {
    numRuns,
    seed,
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
    verbose: fc.VerbosityLevel.Verbose,
  };
}

/**
 * Idempotence: after a drain, re-deliver every batch each region ever delivered (in order), drain
 * again, and compare everything stored — `_ddbm_` stamps and tombstones included — with before.
 * Returns a description of what changed, or undefined.
 */
export async function redeliveryChanges(h: MirrorHarness): Promise<string | undefined> {
  const before = await h.rawState();
  const failed: string[] = [];
  for (const region of h.regions)
    for (const batch of [...h.batches(region)]) if (await h.redeliver(region, batch)) failed.push(region);
  await h.drain();
  const after = await h.rawState();
  const changes: string[] = [];
  if (failed.length) changes.push(`re-delivered batches reported failures in ${failed.join(', ')}`);
  for (const region of h.regions) {
    for (const part of ['items', 'tombstones'] as const) {
      const b = before[region][part].join('\n');
      const a = after[region][part].join('\n');
      if (a !== b) changes.push(`${region} ${part}:\n  before: ${b}\n  after:  ${a}`);
    }
  }
  return changes.length ? changes.join('\n') : undefined;
}

/** What a property checks after a scenario has drained: a description of the failure, or undefined. */
export type ScenarioCheck = (h: MirrorHarness) => Promise<string | undefined>;

/** Every region holds the same application-visible items. */
export const converged: ScenarioCheck = async (h) => {
  const divergence = await h.divergence();
  return divergence.length ? explain(h, divergence) : undefined;
};

/** Re-delivering every earlier batch changes nothing stored (see redeliveryChanges). */
export const redeliveryIsIdempotent: ScenarioCheck = async (h) => {
  const changes = await redeliveryChanges(h);
  return changes ? `${changes}\n${explain(h, [])}` : undefined;
};

/** The property behind every convergence test: random commands, heal, drain, then `check`. */
export function scenarioProperty(
  options: Omit<ScenarioOptions, 'seed'>,
  commands: fc.Arbitrary<Op[]>,
  check: ScenarioCheck,
  tally?: Tally,
): fc.IAsyncPropertyWithHooks<[Op[], number]> {
  const lostAnswers = () => options.regions.reduce((n, r) => n + options.proxy.stats(r).lost, 0);
  return fc.asyncProperty(commands, fc.nat(), async (ops, seed) => {
    const lostBefore = lostAnswers();
    const h = await runScenario({ ...options, seed }, ops);
    tally?.add(h, ops, lostAnswers() - lostBefore);
    const failure = await check(h);
    if (failure) throw new Error(failure);
  });
}

/** Asserts the property over `runs` runs and prints what the runs exercised, pass or fail. */
export async function assertScenarios(
  options: Omit<ScenarioOptions, 'seed'>,
  commands: fc.Arbitrary<Op[]>,
  check: ScenarioCheck,
  runs: number,
): Promise<void> {
  const tally = new Tally();
  try {
    await fc.assert(scenarioProperty(options, commands, check, tally), fcParams(runs));
  } finally {
    console.log(`${expect.getState().currentTestName}: ${tally}`);
  }
}

/** Sums what the runs of one property actually exercised, for the test output. */
export class Tally {
  runs = 0;
  ops = 0;
  maxOps = 0;
  invocations = 0;
  recordsDelivered = 0;
  failedBatches = 0;
  parked = 0;
  parkedConsumed = 0;
  lostAnswers = 0;

  add(h: MirrorHarness, ops: readonly Op[], lostAnswers = 0): void {
    this.lostAnswers += lostAnswers;
    this.runs += 1;
    this.ops += ops.length;
    this.maxOps = Math.max(this.maxOps, ops.length);
    this.invocations += h.stats.invocations;
    this.recordsDelivered += h.stats.recordsDelivered;
    this.failedBatches += h.stats.failedBatches;
    this.parked += h.stats.parked;
    this.parkedConsumed += h.stats.parkedConsumed;
  }

  toString(): string {
    const mean = this.runs ? (this.ops / this.runs).toFixed(1) : '0';
    return (
      `${this.runs} runs, ${mean} ops/run (max ${this.maxOps}), ${this.invocations} invocations, ` +
      `${this.recordsDelivered} records delivered, ${this.failedBatches} partially failed batches, ` +
      `${this.parked} parked / ${this.parkedConsumed} consumed, ${this.lostAnswers} committed writes lost their answer`
    );
  }
}
