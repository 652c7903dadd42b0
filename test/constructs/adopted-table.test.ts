import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import type { MirrorModel, TableModel } from '../../lib/config/model';
import { MirroredTable, REPLICA_WRITE_ACTIONS } from '../../lib/constructs/mirrored-table';
import { exampleModel, multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { flat, inlineStatements, roleStatements, type Statement } from './template-helpers';

/** The regional templates of a model whose only table is `table`. */
function templates(table: TableModel, overrides: Partial<MirrorModel> = {}): Map<string, Template> {
  const { regionStacks } = buildApp(testApp(), exampleModel({ tables: [table], ...overrides }), {
    nag: false,
    env: {},
  });
  return new Map([...regionStacks].map(([region, stack]) => [region, Template.fromStack(stack)]));
}

const tableNames = (t: Template) =>
  Object.values(t.findResources('AWS::DynamoDB::Table')).map((r) => r.Properties.TableName as string);

function only<T>(values: Record<string, T>, what: string): [string, T] {
  const entries = Object.entries(values);
  if (entries.length !== 1) throw new Error(`expected one ${what}, found ${entries.length}`);
  return entries[0];
}

const adoptResource = (t: Template) =>
  only(t.findResources('Custom::DdbMirrorAdoptedTable'), 'Custom::DdbMirrorAdoptedTable');

/** The role of the function a custom resource's ServiceToken names. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function serviceRole(t: Template, resource: Record<string, any>): string {
  const fnId = flat(resource.Properties.ServiceToken).replace(/^<(.+)\.Arn>$/, '$1');
  return flat(t.toJSON().Resources[fnId].Properties.Role).replace(/^<(.+)\.Arn>$/, '$1');
}

/** The data statements of that role (its logs and X-Ray statements aside). */
function dataStatements(t: Template, role: string): { actions: string[]; resources: string[] }[] {
  return roleStatements(t, role)
    .filter((s: Statement) => ![s.Action].flat().some((a) => /^(logs|xray):/.test(a)))
    .map((s) => ({ actions: [s.Action].flat().sort(), resources: [s.Resource].flat().map(flat) }));
}

const TABLE_ARN = (region: string, name: string) =>
  `arn:aws:dynamodb:${region}:<AWS::AccountId>:table/${name}`;

describe('an existing source with new replicas (one-way, existing: [us-east-1])', () => {
  const stacks = templates(oneWayTable({ existing: ['us-east-1'] }));
  const source = stacks.get('us-east-1')!;

  test('the source stack creates no table for Stories, and still its tombstone table', () => {
    expect(tableNames(source)).toEqual(['Stories-ddbm-tombstones']);
  });

  test('the replica stacks create the table as before, with its stream', () => {
    for (const region of ['eu-west-1', 'ap-southeast-2']) {
      const template = stacks.get(region)!;
      expect(tableNames(template).sort()).toEqual(['Stories', 'Stories-ddbm-tombstones']);
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'Stories',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
      expect(template.findResources('Custom::DdbMirrorAdoptedTable')).toEqual({});
    }
  });

  test('a custom resource checks the table by its configured key and asks for a NEW_AND_OLD_IMAGES stream', () => {
    const [, resource] = adoptResource(source);
    expect(resource.Properties).toMatchObject({
      TableName: 'Stories',
      KeySchema: [{ AttributeName: 'storyId', KeyType: 'HASH', AttributeType: 'S' }],
      Stream: 'NEW_AND_OLD_IMAGES',
    });
    expect(source.findResources('Custom::DdbMirrorReadOnlyPolicy')).toEqual({});
  });

  test('its function may only DescribeTable and UpdateTable, on that table by name', () => {
    const [, resource] = adoptResource(source);
    expect(dataStatements(source, serviceRole(source, resource))).toEqual([
      {
        actions: ['dynamodb:DescribeTable', 'dynamodb:UpdateTable'],
        resources: [TABLE_ARN('us-east-1', 'Stories')],
      },
    ]);
  });

  test('the event source mapping and the replicator read the stream ARN the custom resource returns', () => {
    const [id] = adoptResource(source);
    const mapping = only(
      source.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { StartingPosition: 'TRIM_HORIZON' },
      }),
      'stream mapping',
    )[1];
    expect(mapping.Properties.EventSourceArn).toEqual({ 'Fn::GetAtt': [id, 'StreamArn'] });
    const replicatorRole = Object.keys(source.findResources('AWS::IAM::Role')).find((r) =>
      inlineStatements(source, r).some((s) => s.Sid === 'ReadOwnStream'),
    )!;
    const readStream = inlineStatements(source, replicatorRole).find((s) => s.Sid === 'ReadOwnStream')!;
    expect(readStream.Resource).toEqual({ 'Fn::GetAtt': [id, 'StreamArn'] });
  });

  test('the stack says which of its tables already existed', () => {
    expect(source.toJSON().Description).toBe(
      'ddb-mirror us-east-1: Stories (one-way, existing table, replicates from here)',
    );
  });
});

describe('an existing read-only replica (one-way, existing: [eu-west-1])', () => {
  const stacks = templates(oneWayTable({ existing: ['eu-west-1'] }));
  const replica = stacks.get('eu-west-1')!;

  test('the replica stack references the table without a stream, and merges the read-only statement', () => {
    expect(tableNames(replica)).toEqual(['Stories-ddbm-tombstones']);
    const [adoptId, adopt] = adoptResource(replica);
    expect(adopt.Properties.Stream).toBe('NONE');
    const [, policy] = only(replica.findResources('Custom::DdbMirrorReadOnlyPolicy'), 'policy resource');
    expect(flat(policy.Properties.TableArn)).toBe(TABLE_ARN('eu-west-1', 'Stories'));
    expect(policy.Properties.Statement).toMatchObject({
      Sid: 'ReadOnlyReplica',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: REPLICA_WRITE_ACTIONS,
    });
    // The table is checked first.
    expect(policy.DependsOn).toEqual(expect.arrayContaining([adoptId]));
  });

  test('its function may DescribeTable and change the resource policy of that table only, never UpdateTable', () => {
    const [, adopt] = adoptResource(replica);
    expect(dataStatements(replica, serviceRole(replica, adopt))).toEqual([
      { actions: ['dynamodb:DescribeTable'], resources: [TABLE_ARN('eu-west-1', 'Stories')] },
      {
        actions: [
          'dynamodb:DeleteResourcePolicy',
          'dynamodb:GetResourcePolicy',
          'dynamodb:PutResourcePolicy',
        ],
        resources: [TABLE_ARN('eu-west-1', 'Stories')],
      },
    ]);
  });

  test('the source stack creates its table as before', () => {
    expect(tableNames(stacks.get('us-east-1')!).sort()).toEqual(['Stories', 'Stories-ddbm-tombstones']);
  });
});

describe('a multi-active table existing everywhere (existing: true)', () => {
  const stacks = templates(multiActiveTable({ existing: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] }));

  test('no region creates it; each checks it, enables its stream when needed, and replicates from it', () => {
    for (const template of stacks.values()) {
      expect(tableNames(template)).toEqual(['Sessions-ddbm-tombstones']);
      const [id, adopt] = adoptResource(template);
      expect(adopt.Properties).toMatchObject({
        TableName: 'Sessions',
        KeySchema: [
          { AttributeName: 'userId', KeyType: 'HASH', AttributeType: 'S' },
          { AttributeName: 'sessionId', KeyType: 'RANGE', AttributeType: 'S' },
        ],
        Stream: 'NEW_AND_OLD_IMAGES',
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [id, 'StreamArn'] },
      });
    }
  });

  test("the replicator's own-item statement names the adopted table by its ARN, as for a created one", () => {
    for (const [region, template] of stacks) {
      const role = Object.keys(template.findResources('AWS::IAM::Role')).find((r) =>
        inlineStatements(template, r).some((s) => s.Sid === 'OwnItems'),
      )!;
      const own = inlineStatements(template, role).find((s) => s.Sid === 'OwnItems')!;
      expect([own.Resource].flat().map(flat)).toEqual([TABLE_ARN(region, 'Sessions')]);
    }
  });
});

describe('MirroredTable with existing regions', () => {
  test('refuses a stack without an explicit region, which cannot tell whether to create the table', () => {
    const stack = new Stack(testApp(), 'Agnostic');
    expect(() => new MirroredTable(stack, 'T', { table: oneWayTable({ existing: ['us-east-1'] }) })).toThrow(
      /Stories already exists in us-east-1: the stack needs an explicit region/,
    );
  });
});
