import { expectTemplate } from './template-helpers';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { MirroredTable, REPLICA_WRITE_ACTIONS } from '../../lib/constructs/mirrored-table';
import { replicatorRoleName } from '../../lib/constructs/replicator-roles';
import type { TableModel } from '../../lib/config/model';
import { evaluate, type PolicyDocument } from '../../lib/local/iam-check';
import { IntrinsicResolver } from '../../lib/local/intrinsics';
import { exampleModel, multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';

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

describe('read-only replicas', () => {
  // GIVEN the example app's eu-west-1 stack, where Stories (one-way from us-east-1) is a replica
  const app = buildApp(testApp(), exampleModel(), { nag: false });
  const stack = app.regionStacks.get('eu-west-1')!;
  const template = Template.fromStack(stack).toJSON() as ResolvableTemplate;
  const account = '123456789012';
  const resolver = new IntrinsicResolver([], account, {
    ref: () => {
      throw new Error('no resource references expected in the policy');
    },
    getAtt: () => {
      throw new Error('no resource attributes expected in the policy');
    },
  });
  const policyOf = (table: string) => {
    const entry = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::DynamoDB::Table' && r.Properties?.TableName === table,
    )!;
    const raw = (entry.Properties as { ResourcePolicy?: { PolicyDocument: unknown } }).ResourcePolicy;
    return (
      raw &&
      (resolver.resolve(
        { name: stack.stackName, region: 'eu-west-1', template },
        raw.PolicyDocument,
        table,
      ) as PolicyDocument)
    );
  };
  const storiesArn = `arn:aws:dynamodb:eu-west-1:${account}:table/Stories`;
  const role = (name: string) => `arn:aws:iam::${account}:role/${name}`;
  const decide = (principal: string, action: string) =>
    evaluate([policyOf('Stories')!], action, storiesArn, { principalArn: principal });

  test("lets the source region's replicator and parked-record consumer write the replica, and nobody else", () => {
    // WHEN the synthesized policy is evaluated for the replicator roles and for an application role
    for (const fn of ['replicator', 'parked'] as const)
      expect(
        decide(role(replicatorRoleName('Stories', 'us-east-1', fn)), 'dynamodb:PutItem').decision,
      ).not.toBe('explicit-deny');
    // THEN every write action of anyone else is explicitly denied, reads are not
    for (const action of REPLICA_WRITE_ACTIONS)
      expect(decide(role('application'), action).decision).toBe('explicit-deny');
    expect(decide(role('application'), 'dynamodb:GetItem').decision).not.toBe('explicit-deny');
    // AND a replicator of another region (eu-west-1 replicates Sessions, not Stories) is denied too
    expect(
      decide(role(replicatorRoleName('Stories', 'eu-west-1', 'replicator')), 'dynamodb:PutItem').decision,
    ).toBe('explicit-deny');
  });

  test('puts no policy on the source table, on multi-active tables, or when the config turns it off', () => {
    expect(policyOf('Sessions')).toBeUndefined();
    const off = exampleModel({
      tables: [oneWayTable({ readOnlyReplicas: { enforced: false, writers: [] } })],
    });
    const t = Template.fromStack(buildApp(testApp(), off, { nag: false }).regionStacks.get('eu-west-1')!);
    expect(JSON.stringify(t.toJSON())).not.toContain('ResourcePolicy');
    const source = Template.fromStack(app.regionStacks.get('us-east-1')!).toJSON() as ResolvableTemplate;
    expect(JSON.stringify(source)).not.toContain('ReadOnlyReplica');
  });

  test('also lets the configured writers (an operator role) write', () => {
    const operator = role('operator');
    const model = exampleModel({
      tables: [oneWayTable({ readOnlyReplicas: { enforced: true, writers: [operator] } })],
    });
    const t = Template.fromStack(buildApp(testApp(), model, { nag: false }).regionStacks.get('eu-west-1')!);
    expect(JSON.stringify(t.toJSON())).toContain(operator);
  });
});

type ResolvableTemplate = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};
