import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { METRIC_NAMES, METRIC_NAMESPACE, metricsOf } from '../../lambda/contract';
import { DivergenceSampler } from '../../lib/constructs/divergence-sampler';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import {
  ReplicationMonitoring,
  UNGRAPHED_METRICS,
  type ReplicationMonitoringProps,
} from '../../lib/constructs/replication-monitoring';
import { Replicator } from '../../lib/constructs/replicator';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { constructResources, dashboardBody, logicalId, expectTemplate } from './template-helpers';

describe('ReplicationMonitoring', () => {
  // GIVEN both example tables replicating out of us-east-1, each sampled for divergence
  const stack = new Stack(testApp(), 'Mon', { env: { region: 'us-east-1' } });
  const divergenceSampling = { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 };
  const mirrored = [oneWayTable({ divergenceSampling }), multiActiveTable({ divergenceSampling })].map(
    (table) => new MirroredTable(stack, table.name, { table }),
  );
  const replicators = mirrored.map(
    (m) => new Replicator(stack, `${m.model.name}Replicator`, { mirroredTable: m }),
  );
  const samplers = mirrored.map(
    (m) => new DivergenceSampler(stack, `${m.model.name}Sampler`, { mirroredTable: m }),
  );
  // WHEN
  const monitoring = new ReplicationMonitoring(stack, 'Monitoring', { replicators, samplers });
  const template = Template.fromStack(stack);

  test('alarms when the iterator age stays above one minute for five minutes', () => {
    for (const r of replicators) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'IteratorAge',
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
        Threshold: 60000,
        EvaluationPeriods: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(r.replicatorFunction) } }],
      });
    }
  });

  test('alarms on replicator and parked-consumer errors', () => {
    for (const fn of replicators.flatMap((r) => [r.replicatorFunction, r.parkedFunction])) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Threshold: 0,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
      });
    }
  });

  test('alarms on any message in the on-failure queue and the parking DLQs', () => {
    const queues = replicators.flatMap((r) => [
      r.onFailureQueue,
      ...r.parkingQueues.map((p) => p.deadLetterQueue),
    ]);
    expect(queues).toHaveLength(2 + 4);
    for (const q of queues) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(q), 'QueueName'] } }],
      });
    }
  });

  test('alarms when records stay parked (visible or in flight) for five minutes', () => {
    expectTemplate(template).resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      {
        EvaluationPeriods: 5,
        Metrics: Match.arrayWith([Match.objectLike({ Expression: 'visible + inflight' })]),
      },
      4,
    );
    // 2 tables x (iterator age, 2 function errors, on-failure, parked too old, divergent items, sampler
    // errors) + 4 peers x (parking, parking DLQ)
    expect(monitoring.alarms).toHaveLength(2 * 7 + 4 * 2);
  });

  test('alarms on any parked write refused as older than the tombstone lifetime allows', () => {
    for (const table of ['Stories', 'Sessions']) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Mon-${table}-ParkedTooOld`,
        Namespace: METRIC_NAMESPACE,
        MetricName: 'ParkedTooOld',
        Statistic: 'Sum',
        Threshold: 0,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: Match.arrayWith([{ Name: 'table', Value: table }]),
      });
    }
  });

  test('alarms on any divergent item in a sampler run, over the run interval', () => {
    for (const table of ['Stories', 'Sessions']) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Mon-${table}-DivergentItems`,
        Namespace: METRIC_NAMESPACE,
        MetricName: 'DivergentItems',
        Statistic: 'Sum',
        Period: 900,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        Dimensions: Match.arrayWith([{ Name: 'table', Value: table }]),
      });
    }
    for (const s of samplers) {
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Period: 900,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(s.function) } }],
      });
    }
  });

  test('refuses a sampler whose table has no replicator here', () => {
    const other = new Stack(testApp(), 'Other', { env: { region: 'us-east-1' } });
    const m = new MirroredTable(other, 'Sessions', { table: multiActiveTable({ divergenceSampling }) });
    const sampler = new DivergenceSampler(other, 'Sampler', { mirroredTable: m });
    expect(
      () => new ReplicationMonitoring(other, 'Monitoring', { replicators: [], samplers: [sampler] }),
    ).toThrow('sampler of table Sessions has no replicator among the replicators');
  });

  test('draws a dashboard with the replicator metrics per target region and the iterator age', () => {
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const name of [
      'ReplicationLatency',
      'RecordsApplied',
      'RecordsSkippedStale',
      'ConflictsLost',
      'RecordsParked',
      'MalformedRecords',
      'Errors',
      'IteratorAge',
    ]) {
      expect(body).toContain(`\\"${name}\\"`);
    }
    // Powertools dimensions: service, table, targetRegion — one line per peer region.
    expect(body).toContain(
      '[\\"DdbMirror\\",\\"ReplicationLatency\\",\\"service\\",\\"ddb-mirror\\",\\"table\\",\\"Sessions\\",\\"targetRegion\\",\\"eu-west-1\\"',
    );
    expect(body).toContain(
      '[\\"DdbMirror\\",\\"RecordsApplied\\",\\"service\\",\\"ddb-mirror\\",\\"table\\",\\"Stories\\",\\"targetRegion\\",\\"ap-southeast-2\\"',
    );
    expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Mon' });
  });

  test('graphs every metric of the contract with its published dimensions, or says why not', () => {
    // GIVEN the custom-metric lines of the dashboard, as dimension maps
    const lines = dashboardBody(template)
      .widgets.flatMap((w) => w.properties.metrics ?? [])
      .filter((m) => m[0] === METRIC_NAMESPACE)
      .map((m) => {
        const dims = m.slice(2, -1) as string[];
        const map: Record<string, string> = { metric: m[1] as string };
        for (let i = 0; i < dims.length; i += 2) map[dims[i]] = dims[i + 1];
        return map;
      });

    // THEN each metric is graphed, or left out with a reason
    const graphed = [...new Set(lines.map((l) => l.metric))];
    expect([...graphed, ...Object.keys(UNGRAPHED_METRICS)].sort()).toEqual([...METRIC_NAMES].sort());
    expect(Object.values(UNGRAPHED_METRICS).every((reason) => reason.length > 20)).toBe(true);
    // AND per-target metrics have a line per peer region, per-table metrics one line per table
    for (const r of replicators) {
      const base = { service: 'ddb-mirror', table: r.settings.table };
      for (const metric of metricsOf('perTarget').filter((m) => graphed.includes(m)))
        for (const targetRegion of r.peerRegions)
          expect(lines).toContainEqual({ metric, ...base, targetRegion });
      for (const metric of metricsOf('perTable').filter((m) => graphed.includes(m)))
        expect(lines).toContainEqual({ metric, ...base });
    }
  });

  test('titles each graph from the contract titles under the table name', () => {
    // GIVEN the graph titles
    const titles = dashboardBody(template).widgets.flatMap((w) => w.properties.title ?? []);

    // THEN
    expect(titles).toEqual(
      expect.arrayContaining([
        'Stories: Replication latency (stream record created → applied) per target, p99 (ms)',
        'Sessions: Conflicts lost, Write-contract violations',
        'Sessions: Function errors, Errors, Malformed records',
      ]),
    );
  });

  test('names the construct path and every bad value in one error', () => {
    // GIVEN props with four mistakes
    const props: ReplicationMonitoringProps = {
      replicators: [replicators[0], replicators[0]],
      dashboardName: 'my dashboard',
      iteratorAgeThreshold: Duration.seconds(0),
      iteratorAgeEvaluationPeriods: 1.5,
    };

    // WHEN / THEN
    expect(() => new ReplicationMonitoring(stack, 'Bad', props)).toThrow(
      'Mon/Bad: invalid ReplicationMonitoring props: iteratorAgeEvaluationPeriods must be a whole number of at least 1, got 1.5; ' +
        'iteratorAgeThreshold must be longer than 0, got 0 seconds; ' +
        'dashboardName must be 1-255 of A-Z a-z 0-9 _ -, got "my dashboard"; replicators repeat table Stories',
    );
  });

  test('synthesizes the alarms and dashboard of one multi-active replicator between two regions as in its snapshot', () => {
    // GIVEN one replicator in eu-west-1 of a table in us-east-1 and eu-west-1
    const one = new Stack(testApp(), 'One', { env: { region: 'eu-west-1' } });
    const table = multiActiveTable({ regions: ['us-east-1', 'eu-west-1'] });
    const replicator = new Replicator(one, 'SessionsReplicator', {
      mirroredTable: new MirroredTable(one, table.name, { table }),
    });

    // WHEN
    const construct = new ReplicationMonitoring(one, 'Monitoring', { replicators: [replicator] });

    // THEN
    expect(constructResources(Template.fromStack(one), construct)).toMatchSnapshot();
  });
});
