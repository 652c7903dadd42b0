/**
 * The one list of the functions' metrics. The functions' telemetry publishes exactly these; the
 * dashboard, the alarms and the local run's report read them from here, so a name cannot drift.
 */

/** CloudWatch namespace the functions publish to (POWERTOOLS_METRICS_NAMESPACE). */
export const METRIC_NAMESPACE = 'DdbMirror';
/** Powertools `service` of both functions (POWERTOOLS_SERVICE_NAME): the default metric dimension. */
export const METRIC_SERVICE = 'ddb-mirror';

/** Dimension names. Every metric carries `service` and `table`; per-target metrics also `targetRegion`. */
export const METRIC_DIMENSIONS = {
  service: 'service',
  table: 'table',
  targetRegion: 'targetRegion',
} as const;

export type MetricUnit = 'Count' | 'Milliseconds';

/** Whether a metric is published per (table, target region), per table, or both. */
export type MetricScope = 'perTarget' | 'perTable' | 'both';

/** Every metric: its unit, scope and what it counts (the dashboard's widget titles use `title`). */
export const METRICS = {
  ReplicationLatency: {
    unit: 'Milliseconds',
    scope: 'perTarget',
    title: 'Replication latency (stream record created → applied)',
  },
  RecordsApplied: { unit: 'Count', scope: 'perTarget', title: 'Records applied' },
  RecordsSkippedStale: { unit: 'Count', scope: 'perTarget', title: 'Stale records skipped' },
  /** Per target: lost at that target. */
  ConflictsLost: { unit: 'Count', scope: 'both', title: 'Conflicts lost' },
  RecordsParked: { unit: 'Count', scope: 'perTarget', title: 'Records parked' },
  /** Met an item its region had not ordered yet: the write waits on the parking queue. */
  RecordsDeferred: { unit: 'Count', scope: 'perTarget', title: 'Records waiting for the target region' },
  /** A peer's stale save that created an item after this region's delete, removed here. */
  StaleInsertsUndone: { unit: 'Count', scope: 'perTable', title: 'Stale inserts undone' },
  /** Per target: a write or a parking that failed; per table: a record that could not be handled. */
  Errors: { unit: 'Count', scope: 'both', title: 'Errors' },
  MalformedRecords: { unit: 'Count', scope: 'perTable', title: 'Malformed records' },
  /**
   * Parked writes older than the tombstone lifetime allows, refused and never applied (alarmed); the
   * parked consumer's log names each key and its target.
   */
  ParkedTooOld: { unit: 'Count', scope: 'perTable', title: 'Parked writes refused as too old' },
  EchoesSkipped: { unit: 'Count', scope: 'perTable', title: 'Echo records skipped' },
  ContractViolations: { unit: 'Count', scope: 'perTable', title: 'Write-contract violations' },
  /** The divergence sampler (lambda/sampler): keys it compared across every region. */
  ItemsSampled: { unit: 'Count', scope: 'perTable', title: 'Keys compared by the divergence sampler' },
  /** Keys whose copies still differed on every re-read (alarmed). */
  DivergentItems: { unit: 'Count', scope: 'perTable', title: 'Divergent items (sampler)' },
} as const satisfies Record<string, { unit: MetricUnit; scope: MetricScope; title: string }>;

export type MetricName = keyof typeof METRICS;

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** Names of the metrics published with that dimension set ('both' metrics count for either). */
export function metricsOf(scope: Exclude<MetricScope, 'both'>): MetricName[] {
  return METRIC_NAMES.filter((n) => METRICS[n].scope === scope || METRICS[n].scope === 'both');
}

type ScopeOf<N extends MetricName> = (typeof METRICS)[N]['scope'];

/** The dimensions a metric takes, by its scope: per-target metrics need the target region. */
export type DimensionsOf<N extends MetricName> =
  ScopeOf<N> extends 'perTarget'
    ? { readonly table: string; readonly targetRegion: string }
    : ScopeOf<N> extends 'perTable'
      ? { readonly table: string; readonly targetRegion?: never }
      : { readonly table: string; readonly targetRegion?: string };
