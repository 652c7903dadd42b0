/**
 * `status` in AWS: per replicator, its stream's IteratorAge (AWS/Lambda, the function's name) and the
 * depth of its on-failure queue; per source → target pair the functions' own metrics (the contract's
 * names and dimensions: ReplicationLatency p99, Errors, RecordsParked, RecordsApplied) over a window,
 * and the depths of the pair's parking queue and DLQ.
 */
import {
  GetMetricDataCommand,
  ListMetricsCommand,
  type CloudWatchClient,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { METRIC_DIMENSIONS, METRIC_NAMESPACE, METRIC_SERVICE, type MetricName } from '../contract';
import type { AwsCaller } from './aws-call';
import { queueCounts, type QueueRef } from './queues';

/** One row of `status`: a table's source → target pair. Absent figures are unknown (no data). */
export interface StatusRow {
  readonly table: string;
  readonly source: string;
  readonly target: string;
  /** The source replicator's stream: latest IteratorAge (AWS) or the local event source's backlog age. */
  readonly iteratorAgeMs?: number;
  /** Replication lag p99 (AWS: ReplicationLatency; locally: observed from outside). */
  readonly lagP99Ms?: number;
  readonly applied?: number;
  readonly parkedRecords?: number;
  readonly errors?: number;
  /** Queue depths now: parking (visible + in flight), its DLQ, and the source replicator's on-failure queue. */
  readonly parkingDepth?: number;
  readonly dlqDepth?: number;
  readonly onFailureDepth?: number;
}

export interface ReplicatorStatusSpec {
  readonly table: string;
  readonly region: string;
  /** Rates the replicator function's name (0: not it), for the IteratorAge metric's FunctionName. */
  readonly functionName: (name: string) => number;
  readonly onFailure?: QueueRef;
  readonly pairs: readonly {
    readonly target: string;
    readonly parking?: QueueRef;
    readonly dlq?: QueueRef;
  }[];
}

export interface StatusWindow {
  /** Minutes of metrics summed (Errors, RecordsParked, RecordsApplied) and aggregated (p99). */
  readonly minutes: number;
  readonly now?: Date;
}

/** The rows of one replicator (its region's clients). */
export async function replicatorStatus(
  clients: { readonly cloudwatch: CloudWatchClient; readonly sqs: SQSClient },
  caller: AwsCaller,
  spec: ReplicatorStatusSpec,
  window: StatusWindow,
): Promise<StatusRow[]> {
  const fn = await findFunctionName(clients.cloudwatch, caller, spec);
  const series = await metricSeries(clients.cloudwatch, caller, queriesOf(spec, fn, window.minutes), window);
  // Newest first: IteratorAge now is its latest minute; a window that straddles period boundaries comes
  // back as two periods: counts add up, the p99 of the worse one is kept.
  const latest = (id: string) => series.get(id)?.[0];
  const sum = (id: string) => (series.get(id) ?? []).reduce((a, b) => a + b, 0);
  const max = (id: string) => (series.get(id)?.length ? Math.max(...series.get(id)!) : undefined);
  const depth = async (q?: QueueRef) => {
    if (!q) return undefined;
    const c = await queueCounts(clients.sqs, caller, q);
    return c.visible + c.inFlight;
  };
  const onFailureDepth = await depth(spec.onFailure);
  const rows: StatusRow[] = [];
  for (const [i, p] of spec.pairs.entries()) {
    rows.push(
      clean({
        table: spec.table,
        source: spec.region,
        target: p.target,
        iteratorAgeMs: latest('age'),
        lagP99Ms: max(`lag${i}`),
        applied: sum(`applied${i}`),
        parkedRecords: sum(`parked${i}`),
        errors: sum(`errors${i}`),
        parkingDepth: await depth(p.parking),
        dlqDepth: await depth(p.dlq),
        onFailureDepth,
      }),
    );
  }
  return rows;
}

/** The replicator's FunctionName among those that published IteratorAge (CloudWatch keeps two weeks). */
async function findFunctionName(
  cw: CloudWatchClient,
  caller: AwsCaller,
  spec: ReplicatorStatusSpec,
): Promise<string | undefined> {
  let best: { name: string; score: number } | undefined;
  let token: string | undefined;
  do {
    const page = await caller.call({ action: 'cloudwatch:ListMetrics', resource: '*' }, () =>
      cw.send(
        new ListMetricsCommand({
          Namespace: 'AWS/Lambda',
          MetricName: 'IteratorAge',
          Dimensions: [{ Name: 'FunctionName' }],
          NextToken: token,
        }),
      ),
    );
    for (const m of page.Metrics ?? []) {
      const name = m.Dimensions?.find((d) => d.Name === 'FunctionName')?.Value ?? '';
      const score = spec.functionName(name);
      if (score > (best?.score ?? 0)) best = { name, score };
    }
    token = page.NextToken;
  } while (token);
  return best?.name;
}

function queriesOf(spec: ReplicatorStatusSpec, fn: string | undefined, minutes: number): MetricDataQuery[] {
  const window = Math.max(1, Math.round(minutes)) * 60;
  const contract = (id: string, name: MetricName, stat: string, target: string): MetricDataQuery => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: METRIC_NAMESPACE,
        MetricName: name,
        Dimensions: [
          { Name: METRIC_DIMENSIONS.service, Value: METRIC_SERVICE },
          { Name: METRIC_DIMENSIONS.table, Value: spec.table },
          { Name: METRIC_DIMENSIONS.targetRegion, Value: target },
        ],
      },
      Period: window,
      Stat: stat,
    },
  });
  const age: MetricDataQuery[] = fn
    ? [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'IteratorAge',
              Dimensions: [{ Name: 'FunctionName', Value: fn }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ]
    : [];
  return [
    ...age,
    ...spec.pairs.flatMap((p, i) => [
      contract(`lag${i}`, 'ReplicationLatency', 'p99', p.target),
      contract(`applied${i}`, 'RecordsApplied', 'Sum', p.target),
      contract(`parked${i}`, 'RecordsParked', 'Sum', p.target),
      contract(`errors${i}`, 'Errors', 'Sum', p.target),
    ]),
  ];
}

/** The values of each query id, newest first. */
async function metricSeries(
  cw: CloudWatchClient,
  caller: AwsCaller,
  queries: MetricDataQuery[],
  window: StatusWindow,
): Promise<Map<string, number[]>> {
  const end = window.now ?? new Date();
  const start = new Date(end.getTime() - Math.max(1, Math.round(window.minutes)) * 60_000);
  const values = new Map<string, number[]>();
  let token: string | undefined;
  do {
    const page = await caller.call({ action: 'cloudwatch:GetMetricData', resource: '*' }, () =>
      cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: start,
          EndTime: end,
          ScanBy: 'TimestampDescending',
          NextToken: token,
        }),
      ),
    );
    for (const r of page.MetricDataResults ?? []) {
      if (r.Id) values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
    }
    token = page.NextToken;
  } while (token);
  return values;
}

function clean(row: StatusRow): StatusRow {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as unknown as StatusRow;
}
