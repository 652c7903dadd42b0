import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { ReplicationMonitoring } from '../../lib/constructs/replication-monitoring';
import { Replicator } from '../../lib/constructs/replicator';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { logicalId, expectTemplate } from './template-helpers';

describe('ReplicationMonitoring', () => {
  // GIVEN both example tables replicating out of us-east-1
  const stack = new Stack(testApp(), 'Mon', { env: { region: 'us-east-1' } });
  const replicators = [oneWayTable(), multiActiveTable()].map(
    (table) =>
      new Replicator(stack, `${table.name}Replicator`, {
        mirroredTable: new MirroredTable(stack, table.name, { table }),
      }),
  );
  // WHEN
  const monitoring = new ReplicationMonitoring(stack, 'Monitoring', { replicators });
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
    // 2 tables x (iterator age, 2 function errors, on-failure) + 4 peers x (parking, parking DLQ)
    expect(monitoring.alarms).toHaveLength(2 * 4 + 4 * 2);
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
});
