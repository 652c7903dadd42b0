import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALARM_DEFAULTS, FUNCTION_DEFAULTS } from './defaults';
import type { Replicator } from './replicator';

/**
 * The metrics contract with the functions' Powertools Metrics: namespace, names and dimensions.
 * Per-target metrics carry `{ service, table, targetRegion }`; per-table ones `{ service, table }`.
 */
export const REPLICATION_METRICS = {
  namespace: FUNCTION_DEFAULTS.metricsNamespace,
  dimensions: { service: 'service', table: 'table', targetRegion: 'targetRegion' },
  perTarget: [
    'ReplicationLatency',
    'RecordsApplied',
    'RecordsSkippedStale',
    'ConflictsLost',
    'RecordsParked',
  ],
  perTable: ['MalformedRecords'],
} as const;

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
}

/** Alarms and a dashboard for every replicator of one region. Alarms have no actions: add your own. */
export class ReplicationMonitoring extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm created, in creation order. */
  public readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ReplicationMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const period = ALARM_DEFAULTS.period;
    const alarms: cloudwatch.Alarm[] = [];
    const threshold = props.iteratorAgeThreshold ?? ALARM_DEFAULTS.iteratorAgeThreshold;
    const iteratorPeriods = props.iteratorAgeEvaluationPeriods ?? ALARM_DEFAULTS.iteratorAgeEvaluationPeriods;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? stack.stackName,
      defaultInterval: Duration.hours(3),
    });

    for (const r of props.replicators) {
      const table = r.settings.table;
      const scopeId = `${table}`;
      const name = (what: string) => `${stack.stackName}-${table}-${what}`;
      const alarm = (alarmId: string, p: cloudwatch.AlarmProps): cloudwatch.Alarm => {
        const a = new cloudwatch.Alarm(this, `${scopeId}-${alarmId}`, {
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          ...p,
        });
        alarms.push(a);
        return a;
      };

      const iteratorAge = r.replicatorFunction.metric('IteratorAge', { statistic: 'Maximum', period });
      alarm('IteratorAge', {
        alarmName: name('IteratorAge'),
        alarmDescription: `${table} in ${r.region}: the replicator lags its stream by more than ${threshold.toHumanString()} (records older than 24 h are lost).`,
        metric: iteratorAge,
        threshold: threshold.toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: iteratorPeriods,
      });
      const fnErrors = [r.replicatorFunction, r.parkedFunction].map((fn) =>
        fn.metricErrors({ period, statistic: 'Sum' }),
      );
      alarm('ReplicatorErrors', {
        alarmName: name('ReplicatorErrors'),
        alarmDescription: `${table} in ${r.region}: the replicator function fails (throws or times out).`,
        metric: fnErrors[0],
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      });
      alarm('ParkedConsumerErrors', {
        alarmName: name('ParkedConsumerErrors'),
        alarmDescription: `${table} in ${r.region}: the parked-record consumer fails (throws or times out).`,
        metric: fnErrors[1],
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
      });
      alarm('OnFailureQueueDepth', {
        alarmName: name('OnFailureQueueDepth'),
        alarmDescription: `${table} in ${r.region}: stream batches exhausted their retries; re-read the shard range within 24 h.`,
        metric: visible(r.onFailureQueue),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      for (const p of r.parkingQueues) {
        alarm(`ParkingDepth-${p.targetRegion}`, {
          alarmName: name(`Parking-${p.targetRegion}`),
          alarmDescription: `${table} in ${r.region}: records for ${p.targetRegion} stay parked for 5 minutes (target unreachable?).`,
          // Visible + in flight: a failing consumer keeps messages invisible between receives.
          metric: new cloudwatch.MathExpression({
            expression: 'visible + inflight',
            usingMetrics: {
              visible: visible(p.queue),
              inflight: p.queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: 'Maximum' }),
            },
            period,
            label: `Parked for ${p.targetRegion}`,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 5,
        });
        alarm(`ParkingDlqDepth-${p.targetRegion}`, {
          alarmName: name(`ParkingDlq-${p.targetRegion}`),
          alarmDescription: `${table} in ${r.region}: parked records for ${p.targetRegion} ran out of receives; redrive them once the target is back.`,
          metric: visible(p.deadLetterQueue),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        });
      }

      const custom = (metricName: string, statistic: string, targetRegion?: string) =>
        new cloudwatch.Metric({
          namespace: REPLICATION_METRICS.namespace,
          metricName,
          statistic,
          period,
          label: targetRegion ?? metricName,
          dimensionsMap: {
            [REPLICATION_METRICS.dimensions.service]: FUNCTION_DEFAULTS.serviceName,
            [REPLICATION_METRICS.dimensions.table]: table,
            ...(targetRegion ? { [REPLICATION_METRICS.dimensions.targetRegion]: targetRegion } : {}),
          },
        });
      const perTarget = (metricName: string, statistic: string) =>
        r.peerRegions.map((t) => custom(metricName, statistic, t));
      const graph = (title: string, left: cloudwatch.IMetric[]) =>
        new cloudwatch.GraphWidget({ title: `${table}: ${title}`, left, width: 8, height: 6 });

      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `## ${table} — ${r.region} → ${r.peerRegions.join(', ')} (${r.settings.mode})`,
          width: 24,
          height: 1,
        }),
      );
      this.dashboard.addWidgets(
        graph('ReplicationLatency p99 (ms) per target', perTarget('ReplicationLatency', 'p99')),
        graph('RecordsApplied per target', perTarget('RecordsApplied', 'Sum')),
        graph('RecordsSkippedStale per target', perTarget('RecordsSkippedStale', 'Sum')),
      );
      this.dashboard.addWidgets(
        graph('ConflictsLost per target, ContractViolations', [
          ...perTarget('ConflictsLost', 'Sum'),
          custom('ContractViolations', 'Sum'),
        ]),
        graph('RecordsParked per target', perTarget('RecordsParked', 'Sum')),
        graph('Errors and MalformedRecords', [
          fnErrors[0].with({ label: 'Replicator function errors' }),
          fnErrors[1].with({ label: 'Parked consumer function errors' }),
          custom('Errors', 'Sum'),
          ...perTarget('Errors', 'Sum').map((m) => m.with({ label: `Errors ${m.label}` })),
          custom('MalformedRecords', 'Sum'),
        ]),
      );
      this.dashboard.addWidgets(
        graph('IteratorAge max (ms)', [iteratorAge]),
        graph('Queue depth', [
          visible(r.onFailureQueue).with({ label: 'On-failure' }),
          ...r.parkingQueues.flatMap((p) => [
            visible(p.queue).with({ label: `Parked for ${p.targetRegion}` }),
            visible(p.deadLetterQueue).with({ label: `Parking DLQ ${p.targetRegion}` }),
          ]),
        ]),
      );
    }
    this.alarms = alarms;

    function visible(q: sqs.IQueue): cloudwatch.Metric {
      return q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    }
  }
}
