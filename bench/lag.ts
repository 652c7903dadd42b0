/**
 * Replication lag under load on the local mirror: the real replicator bundles, Lambda-like stream
 * polling (250 ms), and `latencyMs` added to every cross-region request by each function's proxy.
 * Lag is measured from outside, from a write's acknowledgement to its visibility in every peer, on a
 * sample of the writes, by a probe whose own reads are bounded (PROBE_READS_PER_SECOND), once every
 * replicator sandbox is warm; convergence is the time from the last write until every region agrees.
 * The functions' proxies count the requests the replicators send to their peers.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { tableRegions, type TableModel } from '../lib/config/model';
import type { ProxyFaults } from '../lib/local/aws-proxy';
import { runLocalMirror } from '../lib/local/mirror';
import type { LocalPlan } from '../lib/local/plan';
import { percentiles, type Percentiles } from '../lib/local/report';
import type { RunHandles } from '../lib/local/run-hooks';

export interface LagScenario {
  /** Application operations per second, over every region. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly latencyMs: number;
  /** Share of operations that save one item in two regions at once. */
  readonly conflictRate: number;
  /** Share of operations that delete an item (a fifth of creates bring a deleted key back). */
  readonly deleteRate: number;
}

export interface LagFigures {
  /** Acknowledgement → visible in every peer, per sampled write. */
  readonly everyPeer: Percentiles;
  /** Acknowledgement → visible in one peer, per sampled write and peer. */
  readonly perPeer: Percentiles;
  /** Last write → every region holds the same items. */
  readonly convergedMs: number;
  readonly divergentKeys: number;
  readonly parked: number;
  readonly deferred: number;
  readonly conflictsLost: number;
  readonly operations: number;
  /**
   * DynamoDB requests the replicators and parked-record consumers sent to peer regions, per
   * acknowledged application write and target it must reach.
   */
  readonly requestsPerRecordTarget: number;
  /** The lag probe's reads per second of workload, and the interval between its rounds. */
  readonly probeReadsPerSecond: number;
  readonly probeIntervalMs: number;
}

/**
 * The lag probe's budget: one BatchGetItem per target region and table per round, rounds spaced so
 * that they stay under this many reads per second whatever the backlog. The probe reads the engine
 * directly, not through the functions' proxies, so its reads are none of the replicators'.
 */
export const PROBE_READS_PER_SECOND = 40;

/** Runs one scenario on a fresh engine; the workload writes `tables`. */
export async function measureLag(
  plan: LocalPlan,
  tables: readonly TableModel[],
  scenario: LagScenario,
): Promise<LagFigures> {
  // A probe round reads each target region of each table once.
  const groups = tables.reduce(
    (n, t) => n + (t.mode === 'one-way' ? tableRegions(t).length - 1 : tableRegions(t).length),
    0,
  );
  const probeIntervalMs = Math.ceil((1000 * groups) / PROBE_READS_PER_SECOND);
  const counters = new RequestCounters(tables);
  const result = await runLocalMirror({
    plan,
    tables,
    workload: {
      seed: 5,
      rate: scenario.rate,
      durationSeconds: scenario.durationSeconds,
      conflictRate: scenario.conflictRate,
      deleteRate: scenario.deleteRate,
    },
    crossRegionLatencyMs: scenario.latencyMs,
    // A 20 % sample: enough writes for a p99, few enough keys per probe round.
    lagSampling: { every: 5, intervalMs: probeIntervalMs },
    outDir: mkdtempSync(join(tmpdir(), 'ddbm-bench-lag-')),
    drainTimeoutMs: 60_000,
    // The divergence samplers' reads would weigh on the lag measured.
    runSchedules: false,
    hooks: {
      onStart: (handles) => counters.attach(handles, plan.regions),
      beforeDrain: async () => counters.stopProbe(),
      onOperation: (op, outcome) => counters.written(op.table, op.region, outcome.acknowledged),
    },
  });
  const report = result.report;
  const byWrite = new Map<string, number>();
  for (const o of report.lagSeries) byWrite.set(o.writeId, Math.max(byWrite.get(o.writeId) ?? 0, o.lagMs));
  const sum = (f: (p: (typeof report.pairs)[number]) => number) => report.pairs.reduce((n, p) => n + f(p), 0);
  return {
    everyPeer: percentiles([...byWrite.values()]),
    perPeer: percentiles(report.lagSeries.map((o) => o.lagMs)),
    convergedMs: report.timings.drainMs ?? Number.NaN,
    divergentKeys: report.divergentKeys,
    parked: sum((p) => p.parked),
    deferred: sum((p) => p.deferred),
    conflictsLost: sum((p) => p.conflictsLost),
    operations: report.workload?.operations ?? 0,
    requestsPerRecordTarget: counters.recordTargets
      ? counters.peerRequests / counters.recordTargets
      : Number.NaN,
    probeReadsPerSecond: counters.probeReadsPerSecond,
    probeIntervalMs,
  };
}

/**
 * What the run's proxies, clients and workload see: the DynamoDB requests each replicator and parked-record
 * consumer signs for another region than its own (its function proxy's fault hook is called for every
 * DynamoDB call, and never fails one here); the record-targets those requests serve, counted from the
 * workload's acknowledged writes (each is one stream record in its region, to be sent to every target
 * of its table; the metrics count a waiting record twice, parked and deferred, and a parked one again
 * where it is consumed); and the lag probe's BatchGetItems on the run's clients while the workload runs.
 */
class RequestCounters {
  peerRequests = 0;
  recordTargets = 0;
  private probeReads = 0;
  private probeFrom = 0;
  private probeTo?: number;
  private readonly tables: ReadonlyMap<string, TableModel>;

  constructor(tables: readonly TableModel[]) {
    this.tables = new Map(tables.map((t) => [t.name, t]));
  }

  written(table: string, region: string, acknowledged: boolean): void {
    const t = this.tables.get(table);
    if (!t || !acknowledged) return;
    const targets =
      t.mode === 'one-way' ? (region === t.source ? t.replicas.length : 0) : t.regions.length - 1;
    this.recordTargets += targets;
  }

  /**
   * Hooks the counters in, then warms every sandbox of the replicators with an empty batch (as the
   * drills do): the lag then measures replication, not the first cold starts of a fresh run.
   */
  async attach(handles: RunHandles, regions: readonly string[]): Promise<void> {
    const home = new Map(
      [...handles.streamSources, ...handles.queueSources].map((s) => [s.functionName, s.region]),
    );
    const counter: ProxyFaults = {
      faultFor: (call) => {
        const region = home.get(call.functionName);
        if (region !== undefined && call.region !== region) this.peerRequests += 1;
        return undefined;
      },
    };
    for (const fn of handles.functions.values()) fn.proxy.faults = counter;
    for (const region of regions)
      handles.clientFor(region).middlewareStack.add(
        (next, context) => async (args) => {
          // The workload only writes: the run's clients read in batches only for the probe.
          if (this.probeTo === undefined && context.commandName === 'BatchGetItemCommand')
            this.probeReads += 1;
          return next(args);
        },
        { step: 'initialize', name: 'benchProbeReads' },
      );
    const replicators = new Set(handles.streamSources.map((s) => s.functionName));
    const hosts = [...replicators].flatMap((name) => handles.functions.get(name)?.hosts ?? []);
    await Promise.all(hosts.map((h) => h.invoke({ Records: [] }).catch(() => undefined)));
    this.probeFrom = Date.now();
  }

  stopProbe(): void {
    this.probeTo = Date.now();
  }

  get probeReadsPerSecond(): number {
    const seconds = ((this.probeTo ?? Date.now()) - this.probeFrom) / 1000;
    return seconds > 0 ? this.probeReads / seconds : Number.NaN;
  }
}
