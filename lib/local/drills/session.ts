import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableModel } from '../../config/model';
import type { EventSourceNotice } from '../event-source';
import { LOCAL_CREDENTIALS } from '../mirror';
import type { LocalPlan } from '../plan';
import type { RunHandles, RunHooks, RunStreamSource } from '../run-hooks';
import { sleep } from '../workload';
import type { DrillName } from './catalog';
import { FaultInjector, RegionUnreachableError } from './faults';
import { WriteLedger } from './ledger';

/** The knobs of a drill run; the CLI fills them from its options. */
export interface DrillSettings {
  /** How long the fault lasts, seconds. @default 30 */
  readonly forSeconds: number;
  /** throttle: share of function requests failed. @default 0.2 */
  readonly fraction: number;
  /** outage: the region taken down. @default - the last region that is no one-way source */
  readonly region?: string;
  /** outage-long: the stream retention modelled (the record age of the mappings that feed the dead region). @default max(8, forSeconds / 2) */
  readonly streamRetentionSeconds?: number;
  /** Multiplies every queue's visibility timeout, so parked records come back within the drill. @default 1/60 */
  readonly visibilityScale: number;
  /** Workload before the fault (warm-up and a baseline), seconds. @default 10 */
  readonly leadSeconds: number;
  /** Workload after the fault, seconds. @default 10 */
  readonly tailSeconds: number;
  /** How long to wait for the mirror to catch up after the fault, ms. @default 180000 */
  readonly recoveryTimeoutMs: number;
}

export const DRILL_DEFAULTS: DrillSettings = {
  forSeconds: 30,
  fraction: 0.2,
  visibilityScale: 1 / 60,
  leadSeconds: 10,
  tailSeconds: 10,
  recoveryTimeoutMs: 180_000,
};

/** What a drill needs from the command that runs it, beyond the plan: only region-added uses it. */
export interface DrillContext {
  /** The config the plan was synthesized from (absent when the run started from an assembly). */
  readonly configPath?: string;
  /** Where the CDK app is synthesized from. */
  readonly cwd: string;
  /** Runs `ddb-mirror backfill` with these arguments; its exit code. */
  readonly backfill?: (
    argv: readonly string[],
    io: { readonly out: NodeJS.WritableStream; readonly err: NodeJS.WritableStream; readonly cwd: string },
  ) => Promise<number>;
}

/** A drill's fault, scripted against a running session. */
export interface Scenario {
  readonly name: DrillName;
  /** What it will inject and when, one line, printed before the run. */
  plan(session: DrillSession): string;
  /** How long the fault lasts, seconds (0: one moment). */
  windowSeconds(settings: DrillSettings): number;
  /** Once everything runs, before the workload. */
  prepare?(session: DrillSession): void;
  /** Starts at the window; resolves when the fault is over. */
  inject(session: DrillSession): Promise<void>;
  /** The live status line while the fault lasts. */
  status?(session: DrillSession): string;
  /** Its own figures (`key=value` for the verdict line) and problems, once the run is over. */
  conclude?(session: DrillSession): Promise<ScenarioFindings> | ScenarioFindings;
}

export interface ScenarioFindings {
  readonly fields?: Readonly<Record<string, string>>;
  /** What went wrong; any problem fails the drill. */
  readonly problems?: readonly string[];
  /** Written into the report as is. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** `table key` of items the drill wrote itself (not the workload's), left out of the lost check. */
  readonly ownKeys?: readonly string[];
}

export interface TimelineEvent {
  /** ms since the workload started. */
  readonly t: number;
  readonly text: string;
}

/**
 * One drill on one local mirror run: the hooks the run calls, the injector every proxy consults, the
 * workload's ledger, the timeline of what was injected and when, and the recovery measurement.
 */
export class DrillSession {
  readonly injector: FaultInjector;
  readonly ledger = new WriteLedger();
  readonly timeline: TimelineEvent[] = [];
  /** Epoch ms: the workload's start, and the fault's window. */
  startedAt = 0;
  window?: { start: number; end?: number };
  recoveredAt?: number;
  private handlesValue?: RunHandles;
  private schedule?: Promise<void>;
  private statusTimer?: NodeJS.Timeout;
  private readonly noticeListeners: ((source: RunStreamSource, notice: EventSourceNotice) => void)[] = [];
  private readonly workloadClients = new Map<string, DynamoDBClient>();

  constructor(
    readonly scenario: Scenario,
    readonly settings: DrillSettings,
    readonly plan: LocalPlan,
    /** The config's tables; region-added replaces them with the grown config's. */
    public tables: readonly TableModel[],
    readonly seed: number,
    private readonly signal?: AbortSignal,
    readonly context: DrillContext = { cwd: process.cwd() },
  ) {
    this.injector = new FaultInjector(seed);
  }

  get name(): DrillName {
    return this.scenario.name;
  }

  /** The run's parts: set once the run has started. */
  get handles(): RunHandles {
    if (!this.handlesValue) throw new Error(`drill ${this.name}: the run has not started`);
    return this.handlesValue;
  }

  get aborted(): boolean {
    return this.signal?.aborted ?? false;
  }

  /** A line in the output and the timeline: `[drill outage] +12.3s text`. */
  log(text: string): void {
    const t = Date.now() - this.startedAt;
    this.timeline.push({ t, text });
    this.handlesValue?.say(`[drill ${this.name}] +${(t / 1000).toFixed(1)}s ${text}`);
  }

  /** Calls `listener` with every stream notice of the run. */
  onNotice(listener: (source: RunStreamSource, notice: EventSourceNotice) => void): void {
    this.noticeListeners.push(listener);
  }

  /** Waits `ms`, or less when the run is interrupted. */
  wait(ms: number): Promise<void> {
    return sleep(ms, this.signal);
  }

  hooks(): RunHooks {
    return {
      onStart: (handles) => this.start(handles),
      workloadClient: (region) => this.workloadClient(region),
      onOperation: (op, outcome) => this.ledger.record(op, outcome),
      onStreamNotice: (source, notice) => this.noticeListeners.forEach((l) => l(source, notice)),
      beforeDrain: () => this.finishSchedule(),
    };
  }

  private async start(handles: RunHandles): Promise<void> {
    this.handlesValue = handles;
    const warm = await this.warmUp();
    this.startedAt = Date.now();
    this.log(warm);
    for (const fn of handles.functions.values()) fn.proxy.faults = this.injector;
    this.scaleVisibility();
    this.scenario.prepare?.(this);
    this.schedule = this.runSchedule();
  }

  /**
   * Every sandbox of every function invoked once with an empty batch before the workload: the drill
   * then measures the fault, not a burst of cold starts (which a loaded machine takes seconds over).
   */
  private async warmUp(): Promise<string> {
    const started = Date.now();
    // Only functions an event source invokes: a scheduled one (the divergence sampler) would take the
    // empty batch for a run of its own.
    const invoked = new Set(
      [...this.handles.streamSources, ...this.handles.queueSources].map((x) => x.functionName),
    );
    const hosts = [...this.handles.functions]
      .filter(([name]) => invoked.has(name))
      .flatMap(([, f]) => f.hosts);
    this.handles.status(`drill ${this.name}: warming ${hosts.length} function sandboxes`);
    await Promise.all(hosts.map((h) => h.invoke({ Records: [] }).catch(() => undefined)));
    this.handles.status(undefined);
    return `${hosts.length} function sandboxes warmed in ${((Date.now() - started) / 1000).toFixed(1)}s (one empty batch each), so the drill measures the fault, not cold starts`;
  }

  /** Parked records wait out their queue's visibility timeout; scaled so they come back within the drill. */
  private scaleVisibility(): void {
    const scale = this.settings.visibilityScale;
    if (scale === 1) return;
    const before = new Set<number>();
    for (const q of this.handles.queues.all()) {
      before.add(q.visibilityTimeoutSeconds);
      q.setVisibilityTimeout(q.visibilityTimeoutSeconds * scale);
    }
    const seconds = [...before].sort((a, b) => b - a);
    this.log(
      `queues' visibility timeout ${seconds.map((s) => `${s}s`).join('/')} scaled by ${formatScale(scale)} → ` +
        `${seconds.map((s) => `${round(s * scale)}s`).join('/')} (--visibility-scale), so parked records come back within the drill`,
    );
  }

  private async runSchedule(): Promise<void> {
    await this.wait(this.settings.leadSeconds * 1000);
    await this.untilReplicating();
    if (this.aborted) return;
    this.window = { start: Date.now() };
    this.statusTimer = setInterval(() => this.showStatus(), 500);
    try {
      await this.scenario.inject(this);
    } finally {
      this.window.end = Date.now();
      clearInterval(this.statusTimer);
    }
    await this.measureRecovery();
    this.handles.status(undefined);
  }

  /**
   * A fault before any write has reached another region tests nothing (on a loaded machine the first
   * batches can take longer than the lead): waits, bounded, until one has.
   */
  private async untilReplicating(): Promise<void> {
    const deadline = Date.now() + this.settings.recoveryTimeoutMs;
    if (this.handles.stats.lagSeries.length) return;
    this.handles.status(`drill ${this.name}: waiting for a first write to reach another region`);
    while (!this.aborted && !this.handles.stats.lagSeries.length && Date.now() < deadline)
      await this.wait(250);
    this.log(`replication flowing: the fault starts now, not at +${this.settings.leadSeconds}s`);
  }

  private showStatus(): void {
    const seconds = ((Date.now() - (this.window?.start ?? Date.now())) / 1000).toFixed(0);
    const custom = this.scenario.status?.(this);
    this.handles.status(`drill ${this.name}: ${custom ?? `fault for ${seconds}s`}`);
  }

  /**
   * Recovered: every stream record read before the fault ended has been delivered and checkpointed by
   * its event source (applied, found stale, deferred or parked), no parked record waits (the drill's own
   * poison aside), and no event source is paused.
   */
  private async measureRecovery(): Promise<void> {
    const end = this.window!.end!;
    const deadline = end + this.settings.recoveryTimeoutMs;
    while (!this.aborted && Date.now() < deadline) {
      const behind = this.streamsBehind(end);
      const queued = this.parkedWaiting();
      if (behind === 0 && queued === 0) {
        this.recoveredAt = Date.now();
        this.log(
          `recovered in ${((this.recoveredAt - end) / 1000).toFixed(1)}s: every stream record from before the fault's end is processed, nothing parked is waiting`,
        );
        return;
      }
      this.handles.status(
        `drill ${this.name}: catching up: ${behind} event sources still on records from before the fault's end, ${queued} parked records waiting`,
      );
      await this.wait(250);
    }
    if (!this.aborted)
      this.log(
        `not recovered within ${Math.round(this.settings.recoveryTimeoutMs / 1000)}s of the fault's end`,
      );
  }

  /** Stream sources paused, or still holding a record they read at or before `since` (epoch ms). */
  streamsBehind(since: number): number {
    return this.handles.streamSources.filter(
      (x) => x.source.isPaused || (x.source.oldestPendingReadAt ?? Infinity) <= since,
    ).length;
  }

  /** Messages in the parking queues, less those the drill itself caused on purpose (`excludeParked`). */
  parkedWaiting(): number {
    let n = 0;
    for (const { queue } of this.handles.queueSources)
      n += this.excludeParked ? queue.peek().filter((b) => !this.excludeParked!(b)).length : queue.size;
    return n;
  }

  /** Set by a scenario whose own parked record never drains (the poison). */
  excludeParked?: (body: string) => boolean;

  private async finishSchedule(): Promise<void> {
    await this.schedule;
  }

  /** The workload's own client per region, which refuses writes while the drill has that region down. */
  private workloadClient(region: string): DynamoDBClient {
    let client = this.workloadClients.get(region);
    if (client) return client;
    client = new DynamoDBClient({
      region,
      endpoint: this.handles.endpoint,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 5,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        if (this.injector.refusesApplication(region)) throw new RegionUnreachableError(region);
        return next(args);
      },
      { step: 'initialize', name: 'drillRegionDown' },
    );
    this.workloadClients.set(region, client);
    return client;
  }

  /** Stops what the session started itself (its workload clients). */
  close(): void {
    clearInterval(this.statusTimer);
    this.workloadClients.forEach((c) => c.destroy());
    this.workloadClients.clear();
  }
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function formatScale(scale: number): string {
  return scale < 1 && Number.isInteger(1 / scale) ? `1/${1 / scale}` : String(scale);
}
