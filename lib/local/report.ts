import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { tableRegions, type TableModel } from '../config/model';
import { METRIC_DIMENSIONS, type METRICS, type MetricName } from '../../lambda/contract';
import type { LocalPlan } from './plan';
import type { ReadOnlyProbe } from './read-only-check';
import type { ScheduledRun } from './scheduled-runs';
import type { VerifyResult } from './verify';
import type { LagObservation } from './lag-sampler';
import { renderHtml } from './report-html';
import type { WorkloadResult } from './workload';

/**
 * Figures of a local run and the files that keep them: `.ddb-mirror/report.json` and a small
 * self-contained `.ddb-mirror/report.html` (inline SVG, no scripts).
 *
 * Counts come from the functions' own metrics: Powertools Metrics prints one EMF line per flush
 * (`{"_aws":{"CloudWatchMetrics":[…]}, "table": …, "targetRegion": …, "RecordsApplied": n}`), named in
 * the contract's `METRICS` (lambda/contract). Lag is also measured from outside, by sampling.
 */

/** Metrics published per target region: the ones a source → target pair can show. */
type PerTargetMetric = {
  [N in MetricName]: (typeof METRICS)[N]['scope'] extends 'perTable' ? never : N;
}[MetricName];

/** Where each per-target metric goes in a pair's figures; the type makes a new metric need a column. */
const PAIR_COLUMN = {
  RecordsApplied: 'applied',
  RecordsSkippedStale: 'staleSkipped',
  ConflictsLost: 'conflictsLost',
  RecordsParked: 'parked',
  RecordsDeferred: 'deferred',
  Errors: 'errors',
  ReplicationLatency: 'latency',
} as const satisfies Record<PerTargetMetric, keyof PairAccumulator>;

export interface PairFigures {
  readonly table: string;
  readonly source: string;
  readonly target: string;
  readonly applied: number;
  readonly staleSkipped: number;
  readonly conflictsLost: number;
  readonly parked: number;
  /** Met an item the target had not ordered yet: left for the target region to decide (no wait). */
  readonly deferred: number;
  readonly errors: number;
  /**
   * From the replicator's ReplicationLatency metric (stream record creation → applied), ms. On DynamoDB
   * Local the creation time is rounded to the minute (docs/platform.md#dynamodb-local): read `observedLag` there.
   */
  readonly metricLatency: Percentiles;
  /** Measured from outside: workload acknowledgement → item visible in the target, ms. */
  readonly observedLag: Percentiles;
}

export interface Percentiles {
  readonly count: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly max?: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  if (!values.length) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

interface PairAccumulator {
  applied: number;
  staleSkipped: number;
  conflictsLost: number;
  parked: number;
  deferred: number;
  errors: number;
  latency: number[];
  lag: number[];
}

/** Collects figures per table and source → target pair, from EMF lines, errors and lag samples. */
export class StatsCollector {
  private readonly pairs = new Map<string, PairAccumulator>();
  readonly lagSeries: LagObservation[] = [];
  /** Totals of every metric seen, by `region/table/name` (includes names this collector has no column for). */
  readonly metricTotals: Record<string, number> = {};
  /** Errors not attributable to a pair (function crashes, IAM denials, on-failure batches). */
  readonly errors: { readonly at: number; readonly source: string; readonly message: string }[] = [];

  /** Declares the pairs up front so a pair with nothing applied still shows (as 0). */
  declarePairs(tables: readonly TableModel[]): void {
    for (const t of tables) {
      const sources = t.mode === 'one-way' ? [t.source] : t.regions;
      for (const s of sources)
        for (const target of tableRegions(t)) if (target !== s) this.pair(t.name, s, target);
    }
  }

  private pair(table: string, source: string, target: string): PairAccumulator {
    const k = `${table}\u0000${source}\u0000${target}`;
    let p = this.pairs.get(k);
    if (!p)
      this.pairs.set(
        k,
        (p = {
          applied: 0,
          staleSkipped: 0,
          conflictsLost: 0,
          parked: 0,
          deferred: 0,
          errors: 0,
          latency: [],
          lag: [],
        }),
      );
    return p;
  }

  /**
   * Reads one stdout line of a function. `source` is the function's region; `table` its table when
   * known (the metrics carry it too). Returns true when the line was an EMF document.
   */
  ingestLine(line: string, context: { readonly source: string; readonly table?: string }): boolean {
    const trimmed = line.trim();
    if (!trimmed.startsWith('{') || !trimmed.includes('"_aws"')) return false;
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return false;
    }
    const aws = doc._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined;
    if (!aws?.CloudWatchMetrics) return false;
    const tableDimension = doc[METRIC_DIMENSIONS.table];
    const targetDimension = doc[METRIC_DIMENSIONS.targetRegion];
    const table = typeof tableDimension === 'string' ? tableDimension : context.table;
    const target = typeof targetDimension === 'string' ? targetDimension : undefined;
    for (const group of aws.CloudWatchMetrics) {
      for (const { Name } of group.Metrics ?? []) {
        const raw = doc[Name];
        const values = (Array.isArray(raw) ? raw : [raw]).map(Number).filter((n) => Number.isFinite(n));
        const sum = values.reduce((a, b) => a + b, 0);
        const totalKey = `${context.source}/${table ?? '-'}/${Name}`;
        this.metricTotals[totalKey] = (this.metricTotals[totalKey] ?? 0) + sum;
        if (!table || !target) continue;
        const column = Object.hasOwn(PAIR_COLUMN, Name) ? PAIR_COLUMN[Name as PerTargetMetric] : undefined;
        const p = this.pair(table, context.source, target);
        if (column === 'latency') p.latency.push(...values);
        else if (column) p[column] += sum;
      }
    }
    return true;
  }

  addLag(o: LagObservation): void {
    this.pair(o.table, o.origin, o.target).lag.push(o.lagMs);
    this.lagSeries.push(o);
  }

  addError(source: string, message: string, pair?: { table: string; source: string; target: string }): void {
    if (pair) this.pair(pair.table, pair.source, pair.target).errors += 1;
    this.errors.push({ at: Date.now(), source, message });
  }

  figures(): PairFigures[] {
    return [...this.pairs.entries()]
      .map(([k, p]) => {
        const [table, source, target] = k.split('\u0000');
        return {
          table,
          source,
          target,
          applied: p.applied,
          staleSkipped: p.staleSkipped,
          conflictsLost: p.conflictsLost,
          parked: p.parked,
          deferred: p.deferred,
          errors: p.errors,
          metricLatency: percentiles(p.latency),
          observedLag: percentiles(p.lag),
        };
      })
      .sort(
        (a, b) =>
          a.table.localeCompare(b.table) ||
          a.source.localeCompare(b.source) ||
          a.target.localeCompare(b.target),
      );
  }
}

export interface RunReport {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly seed: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly config: {
    readonly assembly: string;
    readonly regions: readonly string[];
    readonly tables: readonly {
      readonly name: string;
      readonly mode: string;
      readonly source?: string;
      readonly regions: readonly string[];
      readonly excludeAttributes: readonly string[];
    }[];
    readonly functions: number;
    readonly mappings: number;
    readonly queues: number;
  };
  readonly timings: Readonly<Record<string, number>>;
  readonly workload?: WorkloadResult;
  /** An application's write to each read-only replica, which its resource policy must refuse. */
  readonly readOnlyProbes: readonly ReadOnlyProbe[];
  /** The scheduled functions (divergence samplers), run once when the workload started. */
  readonly scheduledRuns: readonly ScheduledRun[];
  readonly pairs: readonly PairFigures[];
  readonly lagSeries: readonly {
    readonly t: number;
    readonly table: string;
    /** One write has an entry per target it reached. */
    readonly writeId: string;
    readonly origin: string;
    readonly target: string;
    readonly lagMs: number;
  }[];
  readonly verification?: VerifyResult;
  readonly divergentKeys: number;
  readonly errors: readonly { readonly at: number; readonly source: string; readonly message: string }[];
  readonly onFailureFiles: readonly string[];
  /** Messages still in parking queues when the run ended (waiting for their visibility timeout). */
  readonly queuesLeft: Readonly<Record<string, number>>;
  readonly ok: boolean;
}

export function buildReport(args: {
  readonly plan: LocalPlan;
  readonly tables: readonly TableModel[];
  readonly stats: StatsCollector;
  readonly startedAt: number;
  readonly seed: number;
  readonly options: Record<string, unknown>;
  readonly timings: Record<string, number>;
  readonly workload?: WorkloadResult;
  readonly readOnlyProbes?: readonly ReadOnlyProbe[];
  readonly scheduledRuns?: readonly ScheduledRun[];
  readonly verification?: VerifyResult;
  readonly onFailureFiles?: readonly string[];
  readonly queuesLeft?: Readonly<Record<string, number>>;
  readonly failure?: string;
}): RunReport {
  const divergentKeys = args.verification?.divergentKeys ?? -1;
  return {
    startedAt: new Date(args.startedAt).toISOString(),
    durationMs: Date.now() - args.startedAt,
    seed: args.seed,
    options: args.options,
    config: {
      assembly: args.plan.assemblyDir,
      regions: args.plan.regions,
      tables: args.tables.map((t) => ({
        name: t.name,
        mode: t.mode,
        ...(t.mode === 'one-way' ? { source: t.source } : {}),
        regions: tableRegions(t),
        excludeAttributes: t.excludeAttributes,
      })),
      functions: args.plan.functions.length,
      mappings: args.plan.mappings.length,
      queues: args.plan.queues.length,
    },
    timings: args.timings,
    ...(args.workload ? { workload: args.workload } : {}),
    readOnlyProbes: args.readOnlyProbes ?? [],
    scheduledRuns: args.scheduledRuns ?? [],
    pairs: args.stats.figures(),
    lagSeries: args.stats.lagSeries.map((o) => ({
      t: o.at - args.startedAt,
      table: o.table,
      writeId: o.writeId,
      origin: o.origin,
      target: o.target,
      lagMs: o.lagMs,
    })),
    ...(args.verification ? { verification: args.verification } : {}),
    divergentKeys,
    errors: [
      ...args.stats.errors,
      ...(args.failure ? [{ at: Date.now(), source: 'run', message: args.failure }] : []),
    ],
    onFailureFiles: args.onFailureFiles ?? [],
    queuesLeft: args.queuesLeft ?? {},
    ok: divergentKeys === 0 && !args.failure,
  };
}

/** Writes report.json and report.html into `dir`; returns their paths. */
export function writeReport(report: RunReport, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(html, renderHtml(report));
  return { json, html };
}
