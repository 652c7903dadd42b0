import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  METRIC_DIMENSIONS,
  METRIC_NAMESPACE,
  METRIC_SERVICE,
  METRICS,
  metricsOf,
  type MetricName,
} from '../../lambda/contract';
import { ALARM_DEFAULTS } from './defaults';
import type { AlarmNotifications } from './alarm-notifications';
import type { DivergenceSampler } from './divergence-sampler';
import type { Replicator } from './replicator';

export interface ReplicationMonitoringProps {
  /** The replicators of this region (one per replicated table). */
  readonly replicators: readonly Replicator[];
  /**
   * Dashboard name; CloudWatch dashboard names are unique per account, across regions.
   * @default - `<stack name>`
   */
  readonly dashboardName?: string;
  /**
   * Alarm when the stream's IteratorAge (Maximum) stays above this for the evaluation periods.
   * @default Duration.minutes(1)
   */
  readonly iteratorAgeThreshold?: Duration;
  /**
   * Consecutive one-minute periods the iterator age must exceed the threshold.
   * @default 5
   */
  readonly iteratorAgeEvaluationPeriods?: number;
  /**
   * Who hears every alarm (alarm and OK actions).
   * @default - alarms without actions
   */
  readonly notifications?: AlarmNotifications;
  /**
   * The divergence samplers of this region (tables with `divergenceSampling`): each gets an alarm on
   * any divergent item, one on its function failing, and a graph under its table's heading.
   * @default - none
   */
  readonly samplers?: readonly DivergenceSampler[];
}

/** A graph under each replicator's heading: the functions' metrics (by contract name), or their Lambda errors. */
type GraphLine = MetricName | 'FunctionErrors';

/** The rows of graphs drawn for every replicator, from the contract's metric list (titles from `METRICS`). */
export const DASHBOARD_ROWS: readonly (readonly (readonly GraphLine[])[])[] = [
  [['ReplicationLatency'], ['RecordsApplied'], ['RecordsSkippedStale']],
  [
    ['ConflictsLost', 'ContractViolations'],
    ['RecordsDeferred', 'StaleInsertsUndone', 'RecordsParked', 'ParkedTooOld'],
    ['FunctionErrors', 'Errors', 'MalformedRecords'],
  ],
];

/** The divergence sampler's metrics: graphed in a row of their own for tables that are sampled. */
export const SAMPLER_METRICS: readonly MetricName[] = ['ItemsSampled', 'DivergentItems'];

/** Metrics of the contract the dashboard leaves out, each with the reason. */
export const UNGRAPHED_METRICS: Partial<Record<MetricName, string>> = {
  EchoesSkipped:
    "Counts the replicator reading its own writes back (echoes and stamps): bookkeeping that follows the peers' RecordsApplied, no health signal of its own.",
};

const PERIOD = ALARM_DEFAULTS.period;
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** Alarms and a dashboard for every replicator of one region. Alarms have no actions: add your own. */
export class ReplicationMonitoring extends Construct {
  /** One dashboard for every replicator of the region: a heading and a row of graphs per replicator. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm created, in creation order. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ReplicationMonitoringProps) {
    super(scope, id);
    this.validateProps(props);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
    });
    this.alarms = props.replicators.flatMap((r) => {
      const alarms = [...this.createFunctionAlarms(r, props), ...this.createQueueAlarms(r)];
      this.addReplicatorWidgets(r);
      const sampler = props.samplers?.find((s) => s.settings.table === r.settings.table);
      if (!sampler) return alarms;
      this.addSamplerWidgets(sampler);
      return [...alarms, ...this.createSamplerAlarms(sampler)];
    });
    for (const alarm of this.alarms) props.notifications?.notify(alarm);
  }

  /** Every problem with the props, in one error naming this construct and each bad value. */
  private validateProps(props: ReplicationMonitoringProps): void {
    const problems: string[] = [];
    const periods = props.iteratorAgeEvaluationPeriods;
    if (periods !== undefined && !(Number.isInteger(periods) && periods >= 1))
      problems.push(`iteratorAgeEvaluationPeriods must be a whole number of at least 1, got ${periods}`);
    const threshold = props.iteratorAgeThreshold;
    if (threshold !== undefined && !threshold.isUnresolved() && threshold.toMilliseconds() <= 0)
      problems.push(`iteratorAgeThreshold must be longer than 0, got ${threshold.toHumanString()}`);
    const name = props.dashboardName;
    if (name !== undefined && !Token.isUnresolved(name) && !DASHBOARD_NAME.test(name))
      problems.push(`dashboardName must be 1-255 of A-Z a-z 0-9 _ -, got ${JSON.stringify(name)}`);
    const tables = props.replicators.map((r) => r.settings.table);
    const twice = tables.filter((t, i) => tables.indexOf(t) !== i);
    if (twice.length > 0) problems.push(`replicators repeat table ${[...new Set(twice)].join(', ')}`);
    for (const s of props.samplers ?? [])
      if (!tables.includes(s.settings.table))
        problems.push(`sampler of table ${s.settings.table} has no replicator among the replicators`);
    if (problems.length > 0)
      throw new Error(`${this.node.path}: invalid ReplicationMonitoring props: ${problems.join('; ')}`);
  }

  /** An alarm `<stack>-<table>-<name>` that fires above the threshold; missing data is not breaching. */
  private alarm(
    r: { readonly settings: { readonly table: string } },
    alarmId: string,
    name: string,
    props: Omit<cloudwatch.AlarmProps, 'alarmName'>,
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, `${r.settings.table}-${alarmId}`, {
      alarmName: `${Stack.of(this).stackName}-${r.settings.table}-${name}`,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...props,
    });
  }

  /** The stream falling behind, and either function failing. */
  private createFunctionAlarms(r: Replicator, props: ReplicationMonitoringProps): cloudwatch.Alarm[] {
    const where = `${r.settings.table} in ${r.region}`;
    const threshold = props.iteratorAgeThreshold ?? ALARM_DEFAULTS.iteratorAgeThreshold;
    const failing = (fn: lambda.IFunction, name: string, what: string) =>
      this.alarm(r, name, name, {
        alarmDescription: `${where}: the ${what} fails (throws or times out).`,
        metric: functionErrors(fn),
        threshold: 0,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      });
    return [
      this.alarm(r, 'IteratorAge', 'IteratorAge', {
        alarmDescription: `${where}: the replicator lags its stream by more than ${threshold.toHumanString()} (records older than 24 h are lost).`,
        metric: iteratorAge(r),
        threshold: threshold.toMilliseconds(),
        evaluationPeriods: props.iteratorAgeEvaluationPeriods ?? ALARM_DEFAULTS.iteratorAgeEvaluationPeriods,
      }),
      failing(r.replicatorFunction, 'ReplicatorErrors', 'replicator function'),
      failing(r.parkedFunction, 'ParkedConsumerErrors', 'parked-record consumer'),
    ];
  }

  /** Anything in the on-failure queue or a parking DLQ, records that stay parked, and parked writes refused. */
  private createQueueAlarms(r: Replicator): cloudwatch.Alarm[] {
    const where = `${r.settings.table} in ${r.region}`;
    const onFailure = this.alarm(r, 'OnFailureQueueDepth', 'OnFailureQueueDepth', {
      alarmDescription: `${where}: stream batches exhausted their retries; re-read the shard range within 24 h.`,
      metric: visible(r.onFailureQueue),
      threshold: 0,
      evaluationPeriods: 1,
    });
    const tooOld = this.alarm(r, 'ParkedTooOld', 'ParkedTooOld', {
      alarmDescription: `${where}: parked writes older than the tombstone lifetime allows were refused, never applied; the parked consumer's log names each key (run ddb-mirror verify --repair).`,
      metric: functionMetric('ParkedTooOld', r.settings.table),
      threshold: 0,
      evaluationPeriods: 1,
    });
    const parking = r.parkingQueues.flatMap((p) => [
      this.alarm(r, `ParkingDepth-${p.targetRegion}`, `Parking-${p.targetRegion}`, {
        alarmDescription: `${where}: records for ${p.targetRegion} stay parked for 5 minutes (target unreachable?).`,
        // Visible + in flight: a failing consumer keeps messages invisible between receives.
        metric: new cloudwatch.MathExpression({
          expression: 'visible + inflight',
          usingMetrics: {
            visible: visible(p.queue),
            inflight: p.queue.metricApproximateNumberOfMessagesNotVisible({
              period: PERIOD,
              statistic: 'Maximum',
            }),
          },
          period: PERIOD,
          label: `Parked for ${p.targetRegion}`,
        }),
        threshold: 0,
        evaluationPeriods: 5,
      }),
      this.alarm(r, `ParkingDlqDepth-${p.targetRegion}`, `ParkingDlq-${p.targetRegion}`, {
        alarmDescription: `${where}: parked records for ${p.targetRegion} ran out of receives; redrive them once the target is back.`,
        metric: visible(p.deadLetterQueue),
        threshold: 0,
        evaluationPeriods: 1,
      }),
    ]);
    return [onFailure, tooOld, ...parking];
  }

  /** Any divergent item in a run, and the sampler failing twice in a row. */
  private createSamplerAlarms(s: DivergenceSampler): cloudwatch.Alarm[] {
    const where = `${s.settings.table} sampled from ${s.settings.region}`;
    const period = Duration.minutes(s.sampling.everyMinutes);
    return [
      this.alarm(s, 'DivergentItems', 'DivergentItems', {
        alarmDescription: `${where}: copies of some keys still differ after the re-reads; the function's log names each key (run ddb-mirror verify --repair).`,
        metric: functionMetric('DivergentItems', s.settings.table).with({ period }),
        threshold: 0,
        evaluationPeriods: 1,
      }),
      this.alarm(s, 'SamplerErrors', 'SamplerErrors', {
        alarmDescription: `${where}: the divergence sampler fails (throws or times out): nothing checks the copies.`,
        metric: s.function.metricErrors({ period, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 2,
      }),
    ];
  }

  /** The sampler's keys compared and divergent items, beside its function's errors. */
  private addSamplerWidgets(s: DivergenceSampler): void {
    const table = s.settings.table;
    const period = Duration.minutes(s.sampling.everyMinutes);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${table}: ${SAMPLER_METRICS.map((m) => METRICS[m].title).join(', ')}, sampler errors`,
        left: [
          ...SAMPLER_METRICS.map((m) => functionMetric(m, table, m).with({ period })),
          s.function.metricErrors({ period, statistic: 'Sum', label: 'Sampler function errors' }),
        ],
        width: 24,
        height: 6,
      }),
    );
  }

  /** A heading, the contract's metrics in {@link DASHBOARD_ROWS}, then the stream and queue depths. */
  private addReplicatorWidgets(r: Replicator): void {
    const table = r.settings.table;
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title: `${table}: ${title}`, left, width: 8, height: 6 });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `## ${table} — ${r.region} → ${r.peerRegions.join(', ')} (${r.settings.mode})`,
        width: 24,
        height: 1,
      }),
    );
    for (const row of DASHBOARD_ROWS) {
      this.dashboard.addWidgets(
        ...row.map((lines) =>
          graph(
            graphTitle(lines),
            lines.flatMap((line) => graphLines(r, line)),
          ),
        ),
      );
    }
    this.dashboard.addWidgets(
      graph('IteratorAge max (ms)', [iteratorAge(r)]),
      graph('Queue depth', [
        visible(r.onFailureQueue).with({ label: 'On-failure' }),
        ...r.parkingQueues.flatMap((p) => [
          visible(p.queue).with({ label: `Parked for ${p.targetRegion}` }),
          visible(p.deadLetterQueue).with({ label: `Parking DLQ ${p.targetRegion}` }),
        ]),
      ]),
    );
  }
}

/**
 * The `METRICS` titles of a graph's metrics, marking per-target ones (one line per target region) and
 * naming a statistic other than Sum (durations: p99, ms).
 */
function graphTitle(lines: readonly GraphLine[]): string {
  return lines
    .map((line) => {
      if (line === 'FunctionErrors') return 'Function errors';
      const { title, scope, unit } = METRICS[line];
      const perTarget = scope === 'perTarget' ? ' per target' : '';
      return `${title}${perTarget}${unit === 'Milliseconds' ? `, ${statisticOf(line)} (ms)` : ''}`;
    })
    .join(', ');
}

/** Every line of one graph entry: per table and/or per target region, as the contract publishes it. */
function graphLines(r: Replicator, line: GraphLine): cloudwatch.IMetric[] {
  if (line === 'FunctionErrors')
    return [
      functionErrors(r.replicatorFunction).with({ label: 'Replicator function errors' }),
      functionErrors(r.parkedFunction).with({ label: 'Parked consumer function errors' }),
    ];
  const table = r.settings.table;
  const both = METRICS[line].scope === 'both';
  return [
    ...(metricsOf('perTable').includes(line) ? [functionMetric(line, table, line)] : []),
    ...(metricsOf('perTarget').includes(line)
      ? r.peerRegions.map((t) => functionMetric(line, table, both ? `${line} ${t}` : t, t))
      : []),
  ];
}

/** Sum of counts; the 99th percentile of durations. */
function statisticOf(name: MetricName): string {
  return METRICS[name].unit === 'Count' ? 'Sum' : 'p99';
}

/** One of the functions' metrics (lambda/contract), with the dimensions the functions publish it with. */
function functionMetric(name: MetricName, table: string, label?: string, targetRegion?: string) {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    statistic: statisticOf(name),
    period: PERIOD,
    ...(label ? { label } : {}),
    dimensionsMap: {
      [METRIC_DIMENSIONS.service]: METRIC_SERVICE,
      [METRIC_DIMENSIONS.table]: table,
      ...(targetRegion ? { [METRIC_DIMENSIONS.targetRegion]: targetRegion } : {}),
    },
  });
}

function iteratorAge(r: Replicator): cloudwatch.Metric {
  return r.replicatorFunction.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD });
}

function functionErrors(fn: lambda.IFunction): cloudwatch.Metric {
  return fn.metricErrors({ period: PERIOD, statistic: 'Sum' });
}

function visible(q: sqs.IQueue): cloudwatch.Metric {
  return q.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });
}
