/**
 * The simulated world: 2 or 3 regions of one mirrored table (multi-active, or one-way from the first
 * region) in the in-memory engine, the real replicator per region behind the real local event source
 * (`DynamoStreamEventSource`: Lambda's resume-after-partial-failure, bisection, bounded retries and
 * on-failure rules), parking queues (`LocalQueue`) with their consumers, and the application's writes
 * made the way the contract says.
 *
 * Every call the code under test makes (a DynamoDB `send`, a park, a back-off sleep) becomes a
 * pending step; the scheduler lets microtasks settle until every actor is blocked on one, then asks
 * the chooser which step runs next and what its fault is. A step is one pending call, or one
 * application write, one `pollOnce` of a region's event source, one parked-message receive, one
 * operator replay of a discarded range, or one tombstone expiry. Nothing else moves: time advances
 * only when a sleep wakes or the world idles until a queue's visibility timeout.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createHash } from 'crypto';
import {
  RESERVED,
  canonical,
  compareSequence,
  tombstoneTableName,
  type ReplicatorSettings,
} from '../../lambda/contract';
import type { ParkedMessage } from '../../lambda/core/intents';
import { CollectingTelemetry } from '../../lambda/core/telemetry';
import type { ConsumerDeps } from '../../lambda/parked/consumer';
import type { ProcessDeps } from '../../lambda/replicator/process';
import {
  DynamoStreamEventSource,
  firstFailedIndex,
  type StreamOnFailureRecord,
} from '../../lib/local/event-source';
import { LocalQueue } from '../../lib/local/local-queue';
import { parseMappingProperties } from '../../lib/local/mapping-settings';
import type { Chooser } from './chooser';
import { installSimulatedGlobals, SimClock } from './clock';
import { SimDynamo, type SdkItem } from './engine';
import {
  drawProfile,
  faultAfter,
  faultBefore,
  describeProfile,
  internalServerError,
  SimulatedCrash,
  type Budget,
  type CallFault,
  type FaultProfile,
} from './faults';
import { History } from './history';
import type { StateCache } from './states';
import { checkFinalState, compareRaw, type Failure, type RawState } from './oracles';
import type { SimReplicator } from './replicators';
import { describeCommand, describeRecord, Trace, type TraceEntry } from './trace';

export const TABLE = 'Items';
export const TOMBSTONES = tombstoneTableName(TABLE);
export const PARTITION_KEY = 'pk';
export const VERSION = 'version';
export const DATA = 'data';
/** A Lambda invocation's time budget: far beyond any run's back-off, so no record runs out of time. */
const INVOCATION_BUDGET_MS = 60_000;
const VISIBILITY_TIMEOUT_SECONDS = 30;
/** Idle periods a run may wait out for parked messages (each up to a visibility timeout). */
const MAX_TICKS = 500;

export type OpKind = 'save' | 'put' | 'delete';
export interface AppOp {
  readonly region: string;
  readonly key: string;
  readonly kind: OpKind;
}

export interface WorldOptions {
  readonly mode: 'multi-active' | 'one-way';
  /** Multi-active: how conflicts resolve; under last-writer-wins the application keeps no version. */
  readonly conflicts?: 'version' | 'last-writer-wins';
  /** Region names sort in this order (the order key's tie-break compares them). */
  readonly regions: readonly string[];
  readonly keys: readonly string[];
  /** Application operations drawn by the chooser, unless `program` fixes them. */
  readonly ops: number;
  readonly kinds: readonly OpKind[];
  readonly program?: readonly AppOp[];
  readonly replicator: SimReplicator;
  /** Limits on disturbances (copied per run). */
  readonly budget: Budget;
  /** Fixed rates, or undefined to draw a profile per run (swarm). */
  readonly profile?: FaultProfile;
  /** Replicator settings. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxConcurrency: number;
  /** Event source mapping. */
  readonly batchSize: number;
  readonly maximumRetryAttempts: number;
  readonly bisect: boolean;
  /** Polls may hand over only the first new record (batch boundaries anywhere). */
  readonly splits: boolean;
  /** Back-off jitter drawn by the chooser (else always half the window). */
  readonly jitter: boolean;
  /** The operator replays every range the event source gave up on (`ddb-mirror replay`). */
  readonly replayDiscarded: boolean;
  readonly maxSteps: number;
  readonly maxLivenessSteps: number;
  readonly idempotence: boolean;
  /**
   * The per-step resurrection check, in a region that recorded a delete, of a save from before it:
   * `strict` fails as soon as its data shows up there again; `settled` once the change that brought
   * it back is settled (the call's invocation has returned or died, and the region's own replicator
   * has acknowledged the stream record: both places where a stale insert is undone); `off`.
   */
  readonly stepResurrection: 'strict' | 'settled' | 'off';
  /** Exhaustive exploration: states already explored, and sleep sets (partial-order reduction). */
  readonly visited?: StateCache;
  readonly reduce?: boolean;
}

export interface RunResult {
  readonly failures: readonly Failure[];
  /** The run reached a state explored before (or every enabled step was asleep) and stopped. */
  readonly pruned: boolean;
  readonly choices: readonly number[];
  readonly steps: number;
  readonly trace: Trace;
  readonly program: readonly AppOp[];
  readonly profile: FaultProfile;
  /** Engine contents at the end: two runs of one seed must agree. */
  readonly fingerprint: string;
  readonly counters: Readonly<Record<string, number>>;
}

type StepKind = 'send' | 'park' | 'wake' | 'app' | 'poll' | 'receive' | 'replay' | 'expire' | 'tick';

interface Step {
  readonly kind: StepKind;
  /** The unit of preemption: an application, an event source, a parked consumer, an operator. */
  readonly thread: string;
  /** Stable within a branch of the exploration (numbered per thread). */
  readonly id: string;
  /** What it does, without ids (state hashing merges states that differ only in numbering). */
  readonly what: string;
  /** What it reads or writes; steps that share nothing commute. */
  readonly resources: readonly string[];
  readonly weight?: number;
  run(): void;
}

interface Invocation {
  readonly id: string;
  readonly thread: string;
  /** Its input: with the answers it got, this determines what it does next (the code is deterministic). */
  readonly input: string;
  readonly responses: string[];
  calls: number;
  abandoned: boolean;
  readonly crash: (error: Error) => void;
  readonly crashed: Promise<never>;
  /** Stream records it was invoked on (region and sequence numbers), for the settled check. */
  readonly records?: { readonly region: string; readonly seqs: readonly string[] };
  /** A parked-message consumer that finished its message (it will not be delivered again). */
  done?: boolean;
}

interface RegionRuntime {
  readonly region: string;
  es?: DynamoStreamEventSource;
  /** Stream records handed to the event source. */
  read: number;
  /** Stream records the world has looked at (removals, trace). */
  seen: number;
  polls: number;
  busy: boolean;
  readonly discarded: StreamOnFailureRecord[];
  replays: number;
  replayBusy: boolean;
  readonly telemetry: CollectingTelemetry;
}

interface QueueRuntime {
  readonly origin: string;
  readonly target: string;
  readonly queue: LocalQueue;
  receives: number;
  busy: boolean;
}

/** Commands that change nothing: a lost answer is then only a failure. */
const READS = new Set([
  'GetItemCommand',
  'BatchGetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'DescribeTableCommand',
]);

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const never = <T>() => new Promise<T>(() => undefined);

export class World {
  readonly clock = new SimClock();
  readonly engine: SimDynamo;
  readonly history = new History();
  readonly trace = new Trace();
  readonly failures: Failure[] = [];
  readonly budget: Budget;
  readonly counters: Record<string, number> = {
    invocations: 0,
    crashes: 0,
    lostAnswers: 0,
    failedCalls: 0,
    parked: 0,
    parkedConsumed: 0,
    discardedBatches: 0,
    duplicates: 0,
    expiries: 0,
  };
  private profile!: FaultProfile;
  private program: AppOp[] = [];
  private readonly programLeft = new Map<string, AppOp[]>();
  private appDone = new Map<string, number>();
  private readonly runtimes = new Map<string, RegionRuntime>();
  private readonly queues = new Map<string, QueueRuntime>();
  private readonly pending = new Map<string, { readonly step: Step; readonly inv: Invocation }>();
  private readonly inflight = new Set<Invocation>();
  private readonly threadCounters = new Map<string, number>();
  /** Stream records an application write produced, by region and sequence number: the write's id. */
  private readonly appRecords = new Map<string, number>();
  private phase: TraceEntry['phase'] = 'safety';
  private stepCount = 0;
  private writesMade = 0;
  private lastThread?: string;
  private sleeping = new Map<string, Step>();
  private expiredAny = false;
  private ticks = 0;
  private readonly randomReads: string[] = [];
  /** The application write being made by the current step (its stream record is its own). */
  private appWriting = false;
  /** Who last wrote each region's copy of a key: the stream record and the invocation (if any). */
  private readonly writers = new Map<string, { readonly seq: string; readonly inv?: Invocation }>();
  /** Stream records each region's replicator has acknowledged. */
  private readonly acked = new Map<string, Set<string>>();

  constructor(
    readonly options: WorldOptions,
    private readonly chooser: Chooser,
  ) {
    this.engine = new SimDynamo({ now: () => this.clock.now() });
    this.budget = { ...options.budget };
    for (const region of options.regions) {
      this.engine.createTable(region, { name: TABLE, partitionKey: PARTITION_KEY, stream: true });
      this.engine.createTable(region, {
        name: TOMBSTONES,
        partitionKey: PARTITION_KEY,
        stream: false,
        ttlAttribute: '_ddbm_expires',
      });
      this.runtimes.set(region, this.regionRuntime(region));
      for (const target of this.peersOf(region)) {
        const queue = new LocalQueue({
          arn: `arn:aws:sqs:${region}:000000000000:parking-${target}`,
          visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
          clock: () => this.clock.now(),
        });
        this.queues.set(`${region}>${target}`, { origin: region, target, queue, receives: 0, busy: false });
      }
    }
  }

  // ------------------------------------------------------------------------------------------ setup

  get source(): string {
    return this.options.regions[0];
  }

  /** Regions whose replicator reads a stream: every region, or the one-way source. */
  private get replicating(): readonly string[] {
    return this.options.mode === 'multi-active' ? this.options.regions : [this.source];
  }

  private peersOf(region: string): string[] {
    if (this.options.mode === 'one-way' && region !== this.source) return [];
    return this.options.regions.filter((r) => r !== region);
  }

  settingsFor(region: string): ReplicatorSettings {
    const common = {
      table: TABLE,
      tombstoneTable: TOMBSTONES,
      region,
      partitionKey: PARTITION_KEY,
      peers: this.peersOf(region).map((p) => ({
        region: p,
        parkingQueueUrl: `sim://${region}/parking-${p}`,
      })),
      tombstoneTtlSeconds: 30 * 24 * 3600,
      excludeAttributes: [],
      maxConcurrency: this.options.maxConcurrency,
      maxAttempts: this.options.maxAttempts,
      baseDelayMs: this.options.baseDelayMs,
    };
    return this.options.mode === 'multi-active'
      ? this.options.conflicts === 'last-writer-wins'
        ? {
            ...common,
            mode: 'multi-active',
            versionAttribute: RESERVED.stampedVersion,
            conflicts: 'last-writer-wins',
          }
        : { ...common, mode: 'multi-active', versionAttribute: VERSION }
      : { ...common, mode: 'one-way' };
  }

  private regionRuntime(region: string): RegionRuntime {
    const rt: RegionRuntime = {
      region,
      read: 0,
      seen: 0,
      polls: 0,
      busy: false,
      discarded: [],
      replays: 0,
      replayBusy: false,
      telemetry: new CollectingTelemetry(),
    };
    if (!this.replicatingRegion(region)) return rt;
    const es = new DynamoStreamEventSource({
      reader: { poll: async () => this.readStream(rt) },
      invoke: (event) => this.invokeReplicator(region, `es:${region}`, event),
      settings: parseMappingProperties({
        BatchSize: this.options.batchSize,
        BisectBatchOnFunctionError: this.options.bisect,
        MaximumRetryAttempts: this.options.maximumRetryAttempts,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: `arn:aws:sqs:${region}:000000000000:on-failure` } },
      }),
      streamArn: `arn:aws:dynamodb:${region}:000000000000:table/${TABLE}/stream/sim`,
      clock: () => this.clock.now(),
      onFailure: (_destination, record) => {
        rt.discarded.push(record);
        this.counters.discardedBatches += 1;
        const info = record.DDBStreamBatchInfo;
        this.note(`${region} event source gave up on ${info.batchSize} records (on-failure message)`);
      },
    });
    es.setDeliveries(() => this.deliveries());
    rt.es = es;
    return rt;
  }

  private replicatingRegion(region: string): boolean {
    return this.options.mode === 'multi-active' || region === this.options.regions[0];
  }

  private rt(region: string): RegionRuntime {
    const rt = this.runtimes.get(region);
    if (!rt) throw new Error(`unknown region ${region}`);
    return rt;
  }

  private chooseProgram(): AppOp[] {
    if (this.options.program) return [...this.options.program];
    const regions = this.options.mode === 'one-way' ? [this.source] : this.options.regions;
    const ops: AppOp[] = [];
    for (let i = 0; i < this.options.ops; i++) {
      const region = regions[this.chooser.choose('program', regions.length)];
      const kind = this.options.kinds[this.chooser.choose('program', this.options.kinds.length)];
      const key = this.options.keys[this.chooser.choose('program', this.options.keys.length)];
      ops.push({ region, key, kind });
    }
    return ops;
  }

  // ------------------------------------------------------------------------------------------ the run

  async run(): Promise<RunResult> {
    const restore = installSimulatedGlobals(this.clock, (stack) => this.randomReads.push(stack));
    let pruned = false;
    try {
      this.profile = this.options.profile ?? drawProfile(this.chooser);
      this.program = this.chooseProgram();
      for (const region of this.options.regions)
        this.programLeft.set(
          region,
          this.program.filter((op) => op.region === region),
        );
      this.trace.header.push(
        `program: ${this.program.map((op) => `${op.region}:${op.kind} ${op.key}`).join(', ') || '(none)'}`,
        `profile: ${describeProfile(this.profile)}`,
      );
      pruned = await this.loop('safety');
      if (!pruned && !this.failures.length) await this.loop('liveness');
      if (!pruned && !this.failures.length) this.checkQuiescent();
      if (!pruned && !this.failures.length) this.failures.push(...checkFinalState(this.finalView()));
      if (!pruned && !this.failures.length && this.options.idempotence) {
        if (this.expiredAny)
          this.trace.header.push('idempotence not checked: a tombstone expired (replays may then resurrect)');
        else await this.checkIdempotence();
      }
      if (this.randomReads.length)
        this.failures.push({
          oracle: 'determinism',
          message: `Math.random was read ${this.randomReads.length} times during the run:\n${this.randomReads[0]}`,
        });
    } catch (e) {
      this.failures.push({ oracle: 'simulator', message: (e as Error).stack ?? String(e) });
    } finally {
      restore();
    }
    return {
      failures: this.failures,
      pruned,
      choices: this.chooser.choices.map((c) => c.value),
      steps: this.stepCount,
      trace: this.trace,
      program: this.program,
      profile: this.profile,
      fingerprint: this.failures.some((f) => f.oracle === 'simulator') ? '' : this.engine.fingerprint(),
      counters: { ...this.counters, steps: this.stepCount },
    };
  }

  /** Runs steps until nothing is enabled. True when the run was pruned (exploration only). */
  private async loop(phase: TraceEntry['phase']): Promise<boolean> {
    this.phase = phase;
    const max = phase === 'safety' ? this.options.maxSteps : this.options.maxLivenessSteps;
    this.sleeping = new Map();
    for (let steps = 0; ;) {
      await settle();
      if (this.failures.length) return false;
      const enabled = this.enabledSteps();
      if (!enabled.length) {
        if (this.tick()) continue;
        return false;
      }
      if (steps >= max) {
        if (phase === 'safety') return false;
        this.failures.push({
          oracle: 'liveness',
          message: `still busy after ${max} steps with faults off: ${enabled.map((s) => s.id).join(', ')}`,
        });
        return false;
      }
      if (phase === 'safety' && this.options.visited && !this.chooser.replaying) {
        const b = this.budget;
        const limits = [b.preemptions, b.failures, b.ambiguous, b.duplicates, b.expiries];
        const asleep = [...this.sleeping.values()].map((s) => `${s.thread}:${s.what}`);
        if (this.options.visited.visit(this.stateHash(enabled), this.lastThread ?? '', limits, asleep))
          return true;
      }
      const step = this.pick(enabled);
      if (!step) return true;
      steps += 1;
      this.stepCount += 1;
      this.trace.add({
        step: this.stepCount,
        at: this.clock.elapsed(),
        phase,
        thread: step.thread,
        label: `${step.id} ${step.what}`,
      });
      step.run();
      if (phase === 'safety' && this.options.stepResurrection !== 'off') {
        if (this.options.stepResurrection === 'settled') await settle();
        this.checkResurrectionNow();
      }
    }
  }

  private pick(enabled: Step[]): Step | undefined {
    const sorted = [...enabled].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const awake = this.options.reduce ? sorted.filter((s) => !this.sleeping.has(s.id)) : sorted;
    if (!awake.length) return undefined;
    const cont = awake.filter((s) => s.thread === this.lastThread);
    const ordered = [...cont, ...awake.filter((s) => s.thread !== this.lastThread)];
    let bound = ordered.length;
    if (this.phase !== 'safety') bound = 1;
    else if (cont.length && this.budget.preemptions <= 0) bound = cont.length;
    const i = this.chooser.choose('step', bound, {
      weights: ordered.map((s) => s.weight ?? 1),
      labels: () => ordered.slice(0, bound).map((s) => `${s.id} ${s.what}`),
    });
    const chosen = ordered[i];
    if (this.phase === 'safety' && cont.length && chosen.thread !== this.lastThread)
      this.budget.preemptions -= 1;
    if (this.options.reduce) {
      // Sleep sets: a step explored in an earlier sibling branch need not run first here as long as
      // everything run since commutes with it.
      const next = new Map<string, Step>();
      for (const s of [...this.sleeping.values(), ...ordered.slice(0, i)])
        if (independent(s, chosen)) next.set(s.id, s);
      this.sleeping = next;
    }
    this.lastThread = chosen.thread;
    return chosen;
  }

  /** Nothing can run now, but a parked message becomes visible later (a delay, or a visibility timeout). */
  private tick(): boolean {
    const idle = [...this.queues.values()].filter((q) => !q.busy);
    if (!idle.some((q) => q.queue.size > q.queue.visibleCount)) return false;
    // A second at a time, then longer: delays are seconds, a visibility timeout half a minute.
    for (
      let wait = 1000, i = 0;
      !idle.some((q) => q.queue.visibleCount > 0);
      wait = Math.min(wait * 2, 30_000)
    ) {
      if (++i > 100) return false;
      this.clock.advanceTo(this.clock.now() + wait);
    }
    if (++this.ticks > MAX_TICKS) {
      this.failures.push({
        oracle: 'liveness',
        message: `parked messages still waiting after ${MAX_TICKS} idle periods`,
      });
      return false;
    }
    this.trace.add({
      step: this.stepCount,
      at: this.clock.elapsed(),
      phase: this.phase,
      thread: 'clock',
      label: `idle until parked messages are visible again`,
    });
    return true;
  }

  private enabledSteps(): Step[] {
    const steps: Step[] = [...this.pending.values()].map((p) => p.step);
    if (this.phase === 'safety')
      for (const [region, left] of this.programLeft) {
        if (!left.length) continue;
        const op = left[0];
        const n = (this.appDone.get(region) ?? 0) + 1;
        steps.push({
          kind: 'app',
          thread: `app:${region}`,
          id: `app:${region}#${n}`,
          what: `${op.kind} ${op.key}`,
          resources: [`w:${region}:${TABLE}`],
          run: () => this.runApp(op),
        });
      }
    for (const rt of this.runtimes.values()) {
      const es = rt.es;
      if (es && !rt.busy && (this.unread(rt) > 0 || es.pending > 0))
        steps.push({
          kind: 'poll',
          thread: `es:${rt.region}`,
          id: `es:${rt.region}@${rt.polls + 1}`,
          what: `poll (${this.unread(rt)} new, ${es.pending} pending)`,
          resources: [`r:${rt.region}:${TABLE}`],
          run: () => this.runPoll(rt),
        });
      if (this.options.replayDiscarded && rt.discarded.length && !rt.replayBusy)
        steps.push({
          kind: 'replay',
          thread: `rp:${rt.region}`,
          id: `rp:${rt.region}@${rt.replays + 1}`,
          what: `replay a discarded range`,
          resources: [`r:${rt.region}:${TABLE}`],
          run: () => this.runReplay(rt),
        });
    }
    for (const q of this.queues.values())
      if (!q.busy && q.queue.visibleCount > 0)
        steps.push({
          kind: 'receive',
          thread: `pq:${q.origin}>${q.target}`,
          id: `pq:${q.origin}>${q.target}@${q.receives + 1}`,
          what: `receive a parked message`,
          resources: [`w:q:${q.origin}>${q.target}`, 'r:time'],
          run: () => this.runReceive(q),
        });
    if (
      this.phase === 'safety' &&
      this.budget.expiries > 0 &&
      this.profile.expiry > 0 &&
      !steps.some((s) => s.kind !== 'app') &&
      this.quiet()
    )
      for (const region of this.options.regions)
        for (const item of this.engine.items(region, TOMBSTONES)) {
          const key = item[PARTITION_KEY]?.S ?? '?';
          steps.push({
            kind: 'expire',
            thread: `ttl:${region}`,
            id: `ttl:${region}@${key}`,
            what: `tombstone of ${key} expires`,
            resources: ['all'],
            weight: this.profile.expiry,
            run: () => this.runExpire(region, item),
          });
        }
    return steps;
  }

  /** No call pending, no invocation running, nothing unread, queued or discarded. */
  private quiet(): boolean {
    if (this.pending.size || this.inflight.size) return false;
    for (const rt of this.runtimes.values())
      if (rt.busy || rt.replayBusy || rt.discarded.length || (rt.es && (this.unread(rt) || rt.es.pending)))
        return false;
    for (const q of this.queues.values()) if (q.busy || q.queue.size) return false;
    return true;
  }

  private checkQuiescent(): void {
    if (this.inflight.size)
      this.failures.push({
        oracle: 'liveness',
        message: `invocations never finished: ${[...this.inflight].map((i) => i.id).join(', ')}`,
      });
  }

  // ------------------------------------------------------------------------------------------ steps

  private runApp(op: AppOp): void {
    const left = this.programLeft.get(op.region)!;
    left.shift();
    this.appDone.set(op.region, (this.appDone.get(op.region) ?? 0) + 1);
    const region = op.region;
    const Key = { [PARTITION_KEY]: { S: op.key } };
    const data = `${region}${this.writesMade++}`;
    this.appWriting = true;
    try {
      if (op.kind === 'delete') {
        const out = this.engine.execute(
          region,
          new DeleteItemCommand({ TableName: TABLE, Key, ReturnValues: 'ALL_OLD' }),
        ) as { Attributes?: SdkItem };
        const old = out.Attributes?.[DATA]?.S;
        if (!out.Attributes) this.note('nothing to delete');
        else {
          const w = this.history.recordDelete(region, op.key, old ?? '?', this.stepCount);
          this.noteAppRecord(region, w.id);
        }
      } else {
        let out: { Attributes?: SdkItem };
        let version: string | undefined;
        const lww = this.options.conflicts === 'last-writer-wins';
        if (op.kind === 'save' && lww) {
          out = this.engine.execute(
            region,
            new UpdateItemCommand({
              TableName: TABLE,
              Key,
              UpdateExpression: 'SET #d = :d',
              ExpressionAttributeNames: { '#d': DATA },
              ExpressionAttributeValues: { ':d': { S: data } },
              ReturnValues: 'ALL_OLD',
            }),
          ) as { Attributes?: SdkItem };
        } else if (lww) {
          out = this.engine.execute(
            region,
            new PutItemCommand({
              TableName: TABLE,
              Item: { ...Key, [DATA]: { S: data } },
              ReturnValues: 'ALL_OLD',
            }),
          ) as { Attributes?: SdkItem };
        } else if (op.kind === 'save') {
          out = this.engine.execute(
            region,
            new UpdateItemCommand({
              TableName: TABLE,
              Key,
              UpdateExpression: 'ADD #v :one SET #d = :d',
              ExpressionAttributeNames: { '#v': VERSION, '#d': DATA },
              ExpressionAttributeValues: { ':one': { N: '1' }, ':d': { S: data } },
              ReturnValues: 'ALL_OLD',
            }),
          ) as { Attributes?: SdkItem };
          version = String(Number(out.Attributes?.[VERSION]?.N ?? '0') + 1);
        } else {
          // A whole-item save: read, then PutItem the next version (drops every `_ddbm_` attribute).
          const current = this.engine.getItem(region, TABLE, Key);
          version = String(Number(current?.[VERSION]?.N ?? '0') + 1);
          out = this.engine.execute(
            region,
            new PutItemCommand({
              TableName: TABLE,
              Item: { ...Key, [VERSION]: { N: version }, [DATA]: { S: data } },
              ReturnValues: 'ALL_OLD',
            }),
          ) as { Attributes?: SdkItem };
        }
        const old = out.Attributes?.[DATA]?.S;
        const w = this.history.recordSave(region, op.key, op.kind, data, version, old, this.stepCount);
        this.note(`wrote ${data}${version === undefined ? '' : ` v${version}`} on ${old ?? 'nothing'}`);
        this.noteAppRecord(region, w.id);
      }
    } finally {
      this.appWriting = false;
    }
  }

  /** Remembers which stream record the application write just made (a REMOVE is acknowledged later). */
  private noteAppRecord(region: string, writeId: number): void {
    const records = this.engine.stream(region, TABLE);
    const last = records[records.length - 1];
    const seq = last?.dynamodb?.SequenceNumber;
    if (seq && !this.appRecords.has(`${region}:${seq}`)) this.appRecords.set(`${region}:${seq}`, writeId);
    this.afterMutation(region);
  }

  private runPoll(rt: RegionRuntime): void {
    rt.polls += 1;
    rt.busy = true;
    rt.es!.pollOnce().then(
      () => {
        rt.busy = false;
      },
      (e) => {
        rt.busy = false;
        this.failures.push({ oracle: 'simulator', message: `event source failed: ${(e as Error).stack}` });
      },
    );
  }

  /** The event source's reader: new records of the region's stream, sometimes only the first. */
  private readStream(rt: RegionRuntime) {
    const records = this.engine.stream(rt.region, TABLE);
    const unread = records.length - rt.read;
    if (unread <= 0) return [];
    let n = unread;
    if (this.phase === 'safety' && this.options.splits && unread > 1 && this.profile.split > 0) {
      const p = this.profile.split;
      if (this.chooser.choose('batch', 2, { weights: [1 - p, p] }) === 1) n = 1;
    }
    const batch = records.slice(rt.read, rt.read + n);
    rt.read += n;
    return [{ shardId: 'shardId-00000001', records: batch as DynamoDBRecord[] }];
  }

  private unread(rt: RegionRuntime): number {
    return this.engine.stream(rt.region, TABLE).length - rt.read;
  }

  private deliveries(): number {
    if (this.phase !== 'safety' || this.budget.duplicates <= 0 || this.profile.duplicate <= 0) return 1;
    const p = this.profile.duplicate;
    if (this.chooser.choose('duplicate', 2, { weights: [1 - p, p] }) === 0) return 1;
    this.budget.duplicates -= 1;
    this.counters.duplicates += 1;
    this.note('this batch is delivered twice');
    return 2;
  }

  /** One invocation of the replicator on `event` (event source, operator replay or re-delivery). */
  private invokeReplicator(
    region: string,
    thread: string,
    event: DynamoDBStreamEvent,
  ): Promise<DynamoDBBatchResponse> {
    const seqs = event.Records.map((r) => r.dynamodb?.SequenceNumber ?? '');
    const inv = this.invocation(thread, event.Records.map(recordId).join(','), { region, seqs });
    this.counters.invocations += 1;
    this.note(`${inv.id} invoked on [${event.Records.map(describeRecord).join(' | ')}]`);
    const run = this.options.replicator.processBatch(event, this.processDeps(inv, region));
    return Promise.race([run, inv.crashed]).then(
      (response) => {
        this.inflight.delete(inv);
        this.acknowledged(region, event.Records, response);
        const failed = response?.batchItemFailures?.length ?? 0;
        this.note(`${inv.id} returned${failed ? ` ${failed} failed records` : ' ok'}`);
        return response;
      },
      (e) => {
        this.inflight.delete(inv);
        if (!(e instanceof SimulatedCrash)) this.note(`${inv.id} threw ${(e as Error).message}`);
        throw e;
      },
    );
  }

  /** Records the replicator acknowledged: an application delete among them is now recorded here. */
  private acknowledged(region: string, records: readonly DynamoDBRecord[], response: unknown): void {
    const failedAt = firstFailedIndex(records, response);
    let acked = this.acked.get(region);
    if (!acked) this.acked.set(region, (acked = new Set()));
    for (const r of failedAt < 0 ? records : records.slice(0, failedAt)) {
      acked.add(r.dynamodb?.SequenceNumber ?? '');
      if (r.eventName !== 'REMOVE') continue;
      const id = this.appRecords.get(`${region}:${r.dynamodb?.SequenceNumber}`);
      if (id !== undefined) this.history.markApplied(region, this.history.writes[id].key, id);
    }
  }

  private runReplay(rt: RegionRuntime): void {
    const info = rt.discarded[0].DDBStreamBatchInfo;
    rt.replays += 1;
    rt.replayBusy = true;
    const records = this.engine
      .stream(rt.region, TABLE)
      .filter(
        (r) =>
          compareSequence(r.dynamodb?.SequenceNumber ?? '0', info.startSequenceNumber) >= 0 &&
          compareSequence(r.dynamodb?.SequenceNumber ?? '0', info.endSequenceNumber) <= 0,
      ) as DynamoDBRecord[];
    this.invokeReplicator(rt.region, `rp:${rt.region}`, { Records: records }).then(
      (response) => {
        rt.replayBusy = false;
        if (!response?.batchItemFailures?.length) rt.discarded.shift();
      },
      () => {
        rt.replayBusy = false;
      },
    );
  }

  private runReceive(q: QueueRuntime): void {
    q.receives += 1;
    const [message] = q.queue.receive({ maxMessages: 1 });
    if (!message) return;
    q.busy = true;
    const inv = this.invocation(`pq:${q.origin}>${q.target}`, stripVolatile(message.body));
    this.counters.invocations += 1;
    this.note(`${inv.id} applies a parked ${describeParked(message.body)}`);
    const deps: ConsumerDeps = {
      settings: this.settingsFor(q.origin),
      clients: this.clients(inv),
      telemetry: this.rt(q.origin).telemetry,
      ...this.retryClock(inv),
    };
    Promise.race([this.options.replicator.applyParkedBody(message.body, deps), inv.crashed]).then(
      (result) => {
        this.inflight.delete(inv);
        q.busy = false;
        this.note(`${inv.id} ${result.status}`);
        if (result.status === 'done') {
          inv.done = true;
          q.queue.delete(message.receiptHandle);
          this.counters.parkedConsumed += 1;
        } else if (result.status === 'invalid')
          this.failures.push({
            oracle: 'parking',
            message: `a parked message was refused: ${result.reason}`,
          });
      },
      (e) => {
        this.inflight.delete(inv);
        q.busy = false;
        if (!(e instanceof SimulatedCrash))
          this.failures.push({
            oracle: 'simulator',
            message: `parked consumer threw: ${(e as Error).stack}`,
          });
      },
    );
  }

  private runExpire(region: string, item: SdkItem): void {
    this.budget.expiries -= 1;
    this.counters.expiries += 1;
    this.expiredAny = true;
    // TTL removes an item only after its expiry time (each region's sweep at its own moment after it):
    // time moves past the tombstone's expiry first, for every region alike (docs/replication.md,
    // invariant 5). Offered only when the world is quiet, so nothing parked ages past its limit.
    const expires = Number(item['_ddbm_expires']?.N);
    if (Number.isFinite(expires) && this.clock.now() < expires * 1000 + 1000)
      this.clock.advanceTo(expires * 1000 + 1000);
    this.engine.expire(region, TOMBSTONES, { [PARTITION_KEY]: item[PARTITION_KEY] });
  }

  // ------------------------------------------------------------------------------------------ actors

  private invocation(
    thread: string,
    input: string,
    records?: { readonly region: string; readonly seqs: readonly string[] },
  ): Invocation {
    const n = (this.threadCounters.get(thread) ?? 0) + 1;
    this.threadCounters.set(thread, n);
    let crash!: (error: Error) => void;
    const crashed = new Promise<never>((_resolve, reject) => {
      crash = reject;
    });
    crashed.catch(() => undefined);
    const inv: Invocation = {
      id: `${thread}#${n}`,
      thread,
      input,
      responses: [],
      calls: 0,
      abandoned: false,
      crash,
      crashed,
      ...(records ? { records } : {}),
    };
    this.inflight.add(inv);
    return inv;
  }

  private processDeps(inv: Invocation, region: string): ProcessDeps {
    return {
      settings: this.settingsFor(region),
      clients: this.clients(inv),
      parker: {
        park: (target, message, options?: { readonly delaySeconds?: number }) =>
          this.park(inv, region, target, message, options?.delaySeconds ?? 0),
      },
      telemetry: this.rt(region).telemetry,
      nowSeconds: () => Math.floor(this.clock.now() / 1000),
      ...this.retryClock(inv),
    };
  }

  private retryClock(inv: Invocation) {
    return {
      deadline: this.clock.now() + INVOCATION_BUDGET_MS,
      now: () => this.clock.now(),
      sleep: (ms: number) => this.sleep(inv, ms),
      random: () => (this.options.jitter ? (this.chooser.choose('jitter', 4) + 0.5) / 4 : 0.5),
    };
  }

  private clients(inv: Invocation): Record<string, DynamoDBClient> {
    return Object.fromEntries(
      this.options.regions.map((r) => [
        r,
        {
          send: (command: { readonly input: unknown }) => this.call(inv, r, command),
        } as unknown as DynamoDBClient,
      ]),
    );
  }

  /** A pending step that, when run, settles the caller's promise. */
  private enqueue(
    inv: Invocation,
    kind: StepKind,
    what: string,
    resources: readonly string[],
    run: () => void,
  ): void {
    inv.calls += 1;
    const id = `${inv.id}/${inv.calls}`;
    this.pending.set(id, {
      inv,
      step: {
        kind,
        thread: inv.thread,
        id,
        what,
        resources,
        run: () => {
          this.pending.delete(id);
          run();
        },
      },
    });
  }

  private call(inv: Invocation, region: string, command: { readonly input: unknown }): Promise<unknown> {
    if (inv.abandoned) return never();
    const first = inv.calls === 0;
    return new Promise((resolve, reject) => {
      this.enqueue(
        inv,
        'send',
        `→ ${region} ${describeCommand(command)}`,
        commandResources(region, command),
        () => {
          const before = this.faultBefore(first);
          if (before === 'crash-before') return this.crash(inv, `before ${describeCommand(command)}`);
          if (before === 'fail') {
            this.counters.failedCalls += 1;
            inv.responses.push('500');
            return reject(internalServerError());
          }
          let output: unknown;
          let error: unknown;
          try {
            output = this.engine.execute(region, command);
          } catch (e) {
            error = e;
          }
          this.afterMutation(region, inv);
          const answer = error ? `${(error as Error).name}` : summarizeOutput(output);
          this.note(`${error ? 'threw' : 'answered'} ${answer}`);
          if (error && !isServiceError(error))
            this.failures.push({
              oracle: 'simulator',
              message: `the engine failed on ${describeCommand(command)}: ${(error as Error).stack}`,
            });
          const committed = !error && !READS.has(command.constructor.name);
          const after = this.faultAfter(committed, first);
          if (after === 'crash-after') return this.crash(inv, `after ${describeCommand(command)}`);
          if (after === 'lost') {
            this.counters.lostAnswers += 1;
            inv.responses.push(`lost ${answer}`);
            return reject(internalServerError());
          }
          inv.responses.push(answer);
          if (error) reject(error);
          else resolve(output);
        },
      );
    });
  }

  private sleep(inv: Invocation, ms: number): Promise<void> {
    if (inv.abandoned) return never();
    const at = this.clock.now() + ms;
    return new Promise((resolve) =>
      this.enqueue(inv, 'wake', `wakes after ${ms} ms`, ['w:time'], () => {
        this.clock.advanceTo(at);
        resolve();
      }),
    );
  }

  private park(
    inv: Invocation,
    origin: string,
    target: string,
    message: ParkedMessage,
    delaySeconds: number,
  ): Promise<void> {
    if (inv.abandoned) return never();
    const q = this.queues.get(`${origin}>${target}`);
    if (!q) return Promise.reject(new Error(`no parking queue from ${origin} to ${target}`));
    const first = inv.calls === 0;
    return new Promise((resolve, reject) =>
      this.enqueue(
        inv,
        'park',
        `park ${describeParked(JSON.stringify(message))} for ${target}`,
        [`w:q:${origin}>${target}`, 'r:time'],
        () => {
          const before = this.faultBefore(first);
          if (before === 'crash-before') return this.crash(inv, 'before parking');
          if (before === 'fail') {
            this.counters.failedCalls += 1;
            inv.responses.push('park-500');
            return reject(internalServerError());
          }
          q.queue.send(JSON.stringify(message), { delaySeconds });
          this.counters.parked += 1;
          const after = this.faultAfter(true, first);
          if (after === 'crash-after') return this.crash(inv, 'after parking');
          if (after === 'lost') {
            this.counters.lostAnswers += 1;
            inv.responses.push('parked, answer lost');
            return reject(internalServerError());
          }
          inv.responses.push('parked');
          resolve();
        },
      ),
    );
  }

  private faultBefore(first: boolean): 'none' | 'fail' | 'crash-before' {
    if (this.phase !== 'safety') return 'none';
    return this.marked(faultBefore(this.chooser, this.budget, this.profile, first));
  }

  private faultAfter(committed: boolean, first: boolean): 'none' | 'lost' | 'crash-after' {
    if (this.phase !== 'safety') return 'none';
    return this.marked(faultAfter(this.chooser, this.budget, this.profile, { committed, first }));
  }

  /** Shows a fault on the step's trace line. */
  private marked<F extends CallFault>(fault: F): F {
    const entry = this.trace.entries[this.trace.entries.length - 1];
    if (entry && fault !== 'none') (entry as { fault?: string }).fault = fault;
    return fault;
  }

  /** The sandbox dies: its calls never answer, the event source (or queue) sees a function error. */
  private crash(inv: Invocation, where: string): void {
    inv.abandoned = true;
    this.counters.crashes += 1;
    for (const [id, p] of this.pending) if (p.inv === inv) this.pending.delete(id);
    this.inflight.delete(inv);
    this.note(`${inv.id} crashed ${where}`);
    inv.crash(new SimulatedCrash(where));
  }

  /** Looks at the stream records a step produced: removals tell the history what each region saw. */
  private afterMutation(region: string, inv?: Invocation): void {
    const rt = this.rt(region);
    const records = this.engine.stream(region, TABLE);
    for (; rt.seen < records.length; rt.seen++) {
      const r = records[rt.seen] as DynamoDBRecord;
      this.note(`${region} stream: ${describeRecord(r)}`);
      const key = r.dynamodb?.Keys?.[PARTITION_KEY]?.S ?? '?';
      this.writers.set(`${region}|${key}`, {
        seq: r.dynamodb?.SequenceNumber ?? '',
        ...(inv ? { inv } : {}),
      });
      if (r.eventName !== 'REMOVE') continue;
      const removed = r.dynamodb?.OldImage?.[DATA]?.S;
      this.history.noteRemoval(region, key, removed);
      // A replicator's (or TTL's) removal of a state applies every delete of exactly that state here.
      if (!this.appWriting && removed !== undefined)
        for (const d of this.history.deathsOf(removed)) this.history.markApplied(region, key, d);
    }
  }

  private note(text: string): void {
    this.trace.note(text);
  }

  // ------------------------------------------------------------------------------------------ oracles

  private checkResurrectionNow(): void {
    for (const region of this.options.regions)
      for (const key of this.options.keys) {
        const data = this.engine.getItem(region, TABLE, { [PARTITION_KEY]: { S: key } })?.[DATA]?.S;
        if (data === undefined) continue;
        const by = this.history.forbids(region, key, data);
        if (!by || (this.options.stepResurrection === 'settled' && !this.settled(region, key))) continue;
        const save = this.history.save(data);
        const when =
          this.options.stepResurrection === 'settled'
            ? ', and the change that brought it back is settled'
            : '';
        this.failures.push({
          oracle: 'resurrection',
          message:
            `${region} holds ${key}=${data} again after recording ${this.history.describe(by)}, ` +
            `which happened after ${save ? this.history.describe(save) : data}${when}`,
        });
        return;
      }
  }

  /**
   * The change that last wrote `key` in `region` is settled: nothing will look at it again. Its
   * writer is done with its input (every record it was invoked on acknowledged, or its parked
   * message consumed: a crashed or failed invocation is delivered again), and the region's own
   * replicator has acknowledged the stream record the change made.
   */
  private settled(region: string, key: string): boolean {
    const w = this.writers.get(`${region}|${key}`);
    if (!w) return true;
    const inv = w.inv;
    if (inv) {
      // A crashed invocation is delivered again, even a duplicate of a batch another delivery already
      // acknowledged (the event source retries a function error), and its retry looks at the write again.
      if (this.inflight.has(inv) || inv.abandoned) return false;
      if (inv.records) {
        const acked = this.acked.get(inv.records.region);
        if (!inv.records.seqs.every((seq) => acked?.has(seq))) return false;
      } else if (!inv.done) return false;
    }
    // A write parked for this region is applied again, and meets (and checks) what its earlier attempt
    // left there: a one-way put whose answer was lost before it parked is undone by that retry.
    if (this.parkedFor(region, key)) return false;
    // Any record of the key not yet acknowledged (in flight, pending, or given up on and waiting for the
    // operator's replay) is applied again, and its retry looks at what the region holds.
    if (this.unacknowledged(key)) return false;
    return !this.replicatingRegion(region) || (this.acked.get(region)?.has(w.seq) ?? false);
  }

  /** A stream record of `key` that its region's replicator has not acknowledged. */
  private unacknowledged(key: string): boolean {
    for (const region of this.options.regions) {
      if (!this.replicatingRegion(region)) continue;
      const acked = this.acked.get(region);
      for (const r of this.engine.stream(region, TABLE))
        if (r.dynamodb?.Keys?.[PARTITION_KEY]?.S === key && !acked?.has(r.dynamodb.SequenceNumber ?? ''))
          return true;
    }
    return false;
  }

  /** A parked message for `key` waits (or is being applied) on a queue into `region`. */
  private parkedFor(region: string, key: string): boolean {
    for (const q of this.queues.values()) {
      if (q.target !== region) continue;
      // In flight or waiting: a received message stays on the queue until its consumer deletes it.
      for (const body of q.queue.peek()) {
        const parked = JSON.parse(body) as { intent?: { key?: Record<string, { S?: string }> } };
        if (parked.intent?.key?.[PARTITION_KEY]?.S === key) return true;
      }
    }
    return false;
  }

  private finalView() {
    const items: Record<string, SdkItem[]> = {};
    for (const region of this.options.regions) items[region] = this.engine.items(region, TABLE);
    return {
      mode: this.options.mode,
      regions: this.options.regions,
      keyNames: [PARTITION_KEY],
      items,
      history: this.history,
    };
  }

  private rawState(): RawState {
    const out: Record<string, { items: string[]; tombstones: string[] }> = {};
    for (const region of this.options.regions)
      out[region] = {
        items: this.engine.items(region, TABLE).map(canonical).sort(),
        tombstones: this.engine.items(region, TOMBSTONES).map(canonical).sort(),
      };
    return out;
  }

  /** Every region's whole stream delivered again (TRIM_HORIZON), then drained: nothing may change. */
  private async checkIdempotence(): Promise<void> {
    const before = this.rawState();
    this.phase = 'idempotence';
    const failedRegions: string[] = [];
    for (const region of this.replicating) {
      const records = this.engine.stream(region, TABLE) as DynamoDBRecord[];
      if (!records.length) continue;
      this.trace.add({
        step: this.stepCount,
        at: this.clock.elapsed(),
        phase: 'idempotence',
        thread: `idem:${region}`,
        label: `re-deliver all ${records.length} records of ${region}'s stream`,
      });
      this.invokeReplicator(region, `idem:${region}`, { Records: records }).then(
        (response) => {
          if (response?.batchItemFailures?.length) failedRegions.push(region);
        },
        () => failedRegions.push(region),
      );
    }
    await this.loop('idempotence');
    if (this.failures.length) return;
    const after = this.rawState();
    const changes = compareRaw(before, after);
    if (failedRegions.length) changes.unshift(`re-delivered records failed in ${failedRegions.join(', ')}`);
    if (changes.length) this.failures.push({ oracle: 'idempotence', message: changes.join('\n') });
  }

  // ------------------------------------------------------------------------------------------ hashing

  /**
   * The state a run is in, as far as its future depends on it: the engine's contents, every pending
   * step, each invocation's input and the answers it got (the code is deterministic, so these fix
   * what it does next), the event sources' positions and retry counts, the queues, what is left of
   * the program and the history the oracles judge by. Time counts in whole seconds (what tombstone
   * expiries store); every deadline is a minute away. The thread that ran last, the budgets left and
   * the sleep set are kept beside it (states.ts).
   */
  private stateHash(enabled: readonly Step[]): string {
    const parts: string[] = [
      this.engine.fingerprint(),
      `t=${Math.floor(this.clock.now() / 1000)}`,
      this.history.summary(),
      enabled
        .map((s) => `${s.thread}:${s.what}`)
        .sort()
        .join(';'),
      [...this.inflight]
        .map((i) => `${i.thread}|${i.input}|${i.responses.join(',')}`)
        .sort()
        .join(';'),
    ];
    for (const [region, left] of this.programLeft)
      parts.push(`${region}:${left.map((op) => `${op.kind}${op.key}`).join(',')}`);
    // What the settled-resurrection check reads: who wrote each copy, and whether that is settled.
    for (const [at, w] of this.writers) {
      const [region, key] = at.split('|');
      parts.push(`${at}=${w.seq}:${this.settled(region, key)}`);
    }
    for (const rt of this.runtimes.values())
      parts.push(
        `${rt.region}:${rt.read}:${rt.busy}:${rt.replayBusy}:${eventSourceState(rt.es)}:` +
          rt.discarded
            .map(
              (d) => `${d.DDBStreamBatchInfo.startSequenceNumber}-${d.DDBStreamBatchInfo.endSequenceNumber}`,
            )
            .join(','),
      );
    for (const [id, q] of this.queues)
      parts.push(
        `${id}:${q.busy}:${q.queue.visibleCount}/${q.queue.inFlightCount}:` +
          q.queue.peek().map(stripVolatile).join(';'),
      );
    return createHash('sha1').update(parts.join('\n')).digest('base64');
  }
}

/**
 * Steps commute when neither writes what the other reads or writes. Resources are `r:` or `w:` and a
 * table of a region (`a:Items`), a parking queue (`q:a>b`) or the clock (`time`: a wake moves it;
 * tombstone writes store expiries and queues hide messages by it); `all` conflicts with everything.
 */
function independent(a: Step, b: Step): boolean {
  if (a.resources.includes('all') || b.resources.includes('all')) return false;
  for (const x of a.resources)
    for (const y of b.resources)
      if (x.slice(2) === y.slice(2) && (x.startsWith('w:') || y.startsWith('w:'))) return false;
  return true;
}

/** What a DynamoDB command reads or writes: its tables in `region`, and time for tombstone writes. */
function commandResources(region: string, command: { readonly input: unknown }): string[] {
  const input = command.input as {
    TableName?: string;
    TransactItems?: Record<string, { TableName?: string }>[];
  };
  const tables = input.TransactItems
    ? input.TransactItems.flatMap((t) => Object.values(t).map((x) => x.TableName ?? '?'))
    : [input.TableName ?? '?'];
  const mode = READS.has(command.constructor.name) ? 'r' : 'w';
  const out = [...new Set(tables)].map((t) => `${mode}:${region}:${t}`);
  if (mode === 'w' && tables.includes(TOMBSTONES)) out.push('r:time');
  return out;
}

/**
 * The event source's lanes (what is read but not checkpointed, and each batch's invoke count), read
 * through its private fields for hashing only; without them, what it reports publicly.
 */
function eventSourceState(es: DynamoStreamEventSource | undefined): string {
  if (!es) return '-';
  const shards = (
    es as unknown as {
      shards?: Map<
        string,
        { backlog: DynamoDBRecord[]; work: { records: DynamoDBRecord[]; invokeCount: number }[] }
      >;
    }
  ).shards;
  if (!(shards instanceof Map)) return `${es.pending}:${JSON.stringify(es.counters)}`;
  return [...shards.entries()]
    .map(
      ([id, s]) =>
        `${id}[${s.backlog.map(recordId).join(',')}][${s.work
          .map((w) => `${w.invokeCount}:${w.records.map(recordId).join(',')}`)
          .join('|')}]`,
    )
    .join(';');
}

function recordId(r: DynamoDBRecord): string {
  return (r.dynamodb?.SequenceNumber ?? '?').replace(/^0+/, '');
}

/** A parked message without what differs between equal messages (when and why it was parked). */
function stripVolatile(body: string): string {
  try {
    const { parkedAt: _at, reason: _why, ...rest } = JSON.parse(body) as Record<string, unknown>;
    return canonical(rest);
  } catch {
    return body;
  }
}

function describeParked(body: string): string {
  try {
    const m = JSON.parse(body) as ParkedMessage;
    const key = Object.values(m.intent.key)[0]?.S ?? '?';
    const data = m.intent.op === 'put' ? `=${m.intent.item.data?.S ?? '-'}` : '';
    return `${m.intent.op} ${key}${data} from ${m.origin}`;
  } catch {
    return 'message';
  }
}

function summarizeOutput(output: unknown): string {
  const o = (output ?? {}) as { Attributes?: SdkItem; Item?: SdkItem };
  const item = o.Attributes ?? o.Item;
  if (!item) return 'ok';
  return `ok ${item[DATA]?.S ?? ''}${item[VERSION]?.N ? ` v${item[VERSION].N}` : ''}${
    item._ddbm_ord?.S ? ` ord=${item._ddbm_ord.S}` : ''
  }`.trim();
}

/** An error DynamoDB itself would return (as opposed to a gap in the engine). */
function isServiceError(e: unknown): boolean {
  const x = e as { name?: string; $fault?: string; $metadata?: unknown };
  return !!x && (x.$fault !== undefined || x.$metadata !== undefined || /Exception$/.test(x.name ?? ''));
}
