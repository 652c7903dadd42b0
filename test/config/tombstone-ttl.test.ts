import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  DELAYED_WRITE_DAYS,
  MIN_TOMBSTONE_TTL_DAYS,
  formatProblems,
  modelProblems,
  parseConfig,
} from '../../lib/config';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { Replicator } from '../../lib/constructs/replicator';
import { exampleModel, multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { issue, issuesAfter, validRawConfig } from './fixtures';

/**
 * A tombstone must outlive every write that can still arrive after its delete: a parked write waits up
 * to the parking queue's retention, then the parking DLQ's.
 */
describe('tombstoneTtlDays against the parking queues', () => {
  test('refuses a lifetime a parked write can outlive, naming the field, the value and both retentions', () => {
    // WHEN the multi-active table keeps tombstones 28 days, the queues' 14 + 14
    const issues = issuesAfter((c) => (c.tables[1].tombstoneTtlDays = 28));

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[1].tombstoneTtlDays',
        'must exceed 28 days, got 28',
        '14 days on its parking queue',
        '14 more on the parking DLQ',
        'brings the deleted item back',
      ),
    ]);
  });

  test('reports every table whose lifetime is too short, beside the config’s other problems', () => {
    // WHEN both tables are too short (one below the old minimum of 1) and a replica is not declared
    const issues = issuesAfter((c) => {
      c.tables[0].tombstoneTtlDays = 1;
      c.tables[0].replicas = ['eu-west-1', 'sa-east-1'];
      c.tables[1].tombstoneTtlDays = 0;
    });

    // THEN all three are reported at once, one per field
    expect(issues).toEqual([
      issue('tables[0].tombstoneTtlDays', 'must exceed 28 days, got 1'),
      issue('tables[0].replicas[1]', 'region "sa-east-1" is not declared'),
      issue('tables[1].tombstoneTtlDays', 'must exceed 28 days, got 0'),
    ]);
  });

  test('accepts the first day past the queues, and the default of 30 when none is given', () => {
    // GIVEN one table at 29 days, the other without a value
    const raw = validRawConfig();
    raw.tables[0].tombstoneTtlDays = 29;

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.tables.map((t) => t.tombstoneTtlDays)).toEqual([29, 30]);
    expect(MIN_TOMBSTONE_TTL_DAYS).toBe(29);
  });

  test('checks a model built in code with the same rule and message', () => {
    // GIVEN a model whose multi-active table keeps tombstones 14 days
    const model = exampleModel({
      tables: [oneWayTable(), multiActiveTable({ tombstoneTtlDays: 14 })],
    });

    // WHEN
    const text = formatProblems(modelProblems(model));

    // THEN
    expect(text).toMatch(/^tables\[1\]\.tombstoneTtlDays: must exceed 28 days, got 14: /);
    expect(modelProblems(exampleModel())).toEqual([]);
  });

  test('counts the retention the synthesized parking queue and its DLQ really get', () => {
    // GIVEN a replicator synthesized from the constructs' defaults
    const stack = new Stack(testApp(), 'Ttl', { env: { region: 'eu-west-1' } });
    const table = multiActiveTable();
    const replicator = new Replicator(stack, 'Replicator', {
      mirroredTable: new MirroredTable(stack, table.name, { table }),
    });
    const template = Template.fromStack(stack);
    const retentionDays = (queue: object) => {
      const id = stack.getLogicalId(queue as never);
      return template.toJSON().Resources[id].Properties.MessageRetentionPeriod / 86400;
    };

    // THEN every parking queue and DLQ keeps messages exactly as long as the rule assumes
    expect(replicator.parkingQueues.length).toBeGreaterThan(0);
    for (const p of replicator.parkingQueues) {
      expect(retentionDays(p.queue.node.defaultChild!)).toBe(DELAYED_WRITE_DAYS.parkingQueue);
      expect(retentionDays(p.deadLetterQueue.node.defaultChild!)).toBe(DELAYED_WRITE_DAYS.parkingDlq);
    }
  });
});
