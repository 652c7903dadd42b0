import { expectTemplate } from './template-helpers';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import type { TableModel } from '../../lib/config/model';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';

function synth(table: TableModel): Template {
  const stack = new Stack(testApp(), 'Test', { env: { region: 'us-east-1' } });
  new MirroredTable(stack, 'T', { table });
  return Template.fromStack(stack);
}

describe('MirroredTable', () => {
  test('creates the table under its configured name with NEW_AND_OLD_IMAGES stream, PITR, SSE and deletion protection', () => {
    // GIVEN a one-way table with defaults / WHEN synthesized
    const template = synth(oneWayTable());
    // THEN
    expectTemplate(template).hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        TableName: 'Stories',
        KeySchema: [{ AttributeName: 'storyId', KeyType: 'HASH' }],
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        BillingMode: 'PAY_PER_REQUEST',
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('adds a tombstone table with the same key schema, TTL on the reserved _ddbm_expires and no stream', () => {
    const template = synth(multiActiveTable());
    expectTemplate(template).resourceCountIs('AWS::DynamoDB::Table', 2);
    expectTemplate(template).hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'Sessions-ddbm-tombstones',
      KeySchema: [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'sessionId', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: '_ddbm_expires', Enabled: true },
      StreamSpecification: Match.absent(),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  test('sets the configured TTL attribute on the application table', () => {
    const template = synth(multiActiveTable({ ttl: { attribute: 'ttl', replicateDeletes: true } }));
    expectTemplate(template).hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'Sessions',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  test('applies provisioned billing, DESTROY and disabled deletion protection from the config to both tables', () => {
    const template = synth(
      oneWayTable({
        billing: { mode: 'PROVISIONED', readCapacity: 5, writeCapacity: 7 },
        removalPolicy: 'DESTROY',
        deletionProtection: false,
        key: { partitionKey: { name: 'id', type: 'N' }, sortKey: { name: 'at', type: 'B' } },
      }),
    );
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables)).toHaveLength(2);
    for (const t of Object.values(tables)) {
      expect(t).toMatchObject({
        DeletionPolicy: 'Delete',
        Properties: {
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 7 },
          DeletionProtectionEnabled: false,
          AttributeDefinitions: [
            { AttributeName: 'id', AttributeType: 'N' },
            { AttributeName: 'at', AttributeType: 'B' },
          ],
        },
      });
    }
  });
});
