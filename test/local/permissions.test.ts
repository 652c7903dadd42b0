import { DynamoDBClient, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { assertAllowed, PolicyDocument } from '../../lib/local/iam-check';
import { parseMappingProperties } from '../../lib/local/mapping-settings';
import {
  iamGuardMiddleware,
  mappingPermissions,
  queueArnFromUrl,
  requiredPermissions,
} from '../../lib/local/permissions';
import type { PlanMapping, PlanQueue, PlanTable } from '../../lib/local/plan';

const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders';
const ctx = { region: 'eu-west-1', account: '123456789012' };

const doc = (...Statement: PolicyDocument['Statement'][]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: Statement.flat() as PolicyDocument['Statement'],
});

describe('requiredPermissions', () => {
  test('maps DynamoDB operations to actions on table and index ARNs', () => {
    expect(requiredPermissions('dynamodb', 'PutItem', { TableName: 'Orders' }, ctx)).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE },
    ]);
    expect(
      requiredPermissions('dynamodb', 'Query', { TableName: 'Orders', IndexName: 'byDate' }, ctx),
    ).toEqual([{ action: 'dynamodb:Query', resource: `${TABLE}/index/byDate` }]);
    expect(
      requiredPermissions('dynamodb', 'BatchWriteItem', { RequestItems: { Orders: [], Other: [] } }, ctx),
    ).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: TABLE },
      { action: 'dynamodb:BatchWriteItem', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Other' },
    ]);
  });

  test("checks stream reads on the deployed-shape stream ARN, also for DynamoDB Local's own ARNs", () => {
    // GIVEN the ARN DynamoDB Local's DescribeTable returns (region ddblocal, its own label)
    const engineArn = 'arn:aws:dynamodb:ddblocal:123456789012:table/Orders/stream/2026-12-02T04:20:59.213';
    // THEN the check names the ARN a deployed policy holds: the signing region, the assembly's label
    expect(requiredPermissions('dynamodbstreams', 'DescribeStream', { StreamArn: engineArn }, ctx)).toEqual([
      { action: 'dynamodb:DescribeStream', resource: `${TABLE}/stream/1970-01-01T00:00:00.000` },
    ]);
    // AND a deployed-shape ARN is checked as it is, GetRecords (an opaque iterator) not at all
    const deployed = `${TABLE}/stream/2026-01-01T00:00:00.000`;
    expect(requiredPermissions('dynamodbstreams', 'GetShardIterator', { StreamArn: deployed }, ctx)).toEqual([
      { action: 'dynamodb:GetShardIterator', resource: deployed },
    ]);
    expect(requiredPermissions('dynamodbstreams', 'GetRecords', { ShardIterator: 'x' }, ctx)).toEqual([]);
  });

  test('checks each action of a transaction on its own table', () => {
    // GIVEN a transaction over the table and its tombstone table
    const input = {
      TransactItems: [
        { Put: { TableName: 'Orders' } },
        { Delete: { TableName: 'Orders-ddbm-tombstones' } },
        { Update: { TableName: 'Orders' } },
        { ConditionCheck: { TableName: 'Orders' } },
      ],
    };
    // WHEN its permissions are listed THEN each item asks for its own action on its own table
    expect(
      requiredPermissions('dynamodb', 'TransactWriteItems', input, ctx).map(
        (p) => `${p.action} ${p.resource.split('/')[1]}`,
      ),
    ).toEqual([
      'dynamodb:PutItem Orders',
      'dynamodb:DeleteItem Orders-ddbm-tombstones',
      'dynamodb:UpdateItem Orders',
      'dynamodb:ConditionCheckItem Orders',
    ]);
  });

  test('derives queue ARNs from AWS queue URLs, from local ones with the region, or from a map', () => {
    expect(
      requiredPermissions(
        'sqs',
        'SendMessageBatch',
        { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/parked' },
        ctx,
      ),
    ).toEqual([{ action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:123456789012:parked' }]);
    expect(queueArnFromUrl('http://127.0.0.1:4566/123456789012/parked', ctx)).toBe(
      'arn:aws:sqs:eu-west-1:123456789012:parked',
    );
    expect(queueArnFromUrl('http://x/q', { ...ctx, queueUrlToArn: () => 'arn:aws:sqs:ap-south-1:1:q' })).toBe(
      'arn:aws:sqs:ap-south-1:1:q',
    );
  });
});

describe('iamGuardMiddleware', () => {
  test('fails a denied SDK call before it is sent, naming action and resource, and lets an allowed one through', async () => {
    // GIVEN a client (pointed at DynamoDB Local) whose role may put into Orders but not transact on the tombstones
    const policies = [
      doc({ Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'], Resource: TABLE }),
    ];
    const c = new DynamoDBClient({ region: 'eu-west-1' });
    const sent: string[] = [];
    c.middlewareStack.add((next) => async (args) => (sent.push('request'), next(args)), {
      step: 'finalizeRequest',
    });
    c.middlewareStack.use(
      iamGuardMiddleware((action, resource) => assertAllowed('replicator', policies, action, resource), ctx),
    );
    // WHEN a transaction touches the tombstone table
    const denied = c.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: 'Orders', Item: { pk: { S: 'a' } } } },
          { Put: { TableName: 'Orders-ddbm-tombstones', Item: { pk: { S: 'a' } } } },
        ],
      }),
    );
    // THEN it fails naming the tombstone table, and nothing went out
    await expect(denied).rejects.toThrow(
      'replicator is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/Orders-ddbm-tombstones',
    );
    expect(sent).toEqual([]);
    // AND an allowed call reaches the engine (which answers: no such table)
    await expect(
      c.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: { S: 'a' } } })),
    ).rejects.toThrow(/non-existent table|not found/i);
    expect(sent).toEqual(['request']);
  });
});

describe('mappingPermissions', () => {
  test('asks for the stream reads and the on-failure send that Lambda performs as the function', () => {
    // GIVEN a stream mapping with an on-failure queue
    const table = { name: 'Orders', streamArn: `${TABLE}/stream/x` } as PlanTable;
    const onFailure = { arn: 'arn:aws:sqs:eu-west-1:123456789012:failed' } as PlanQueue;
    const mapping: PlanMapping = {
      ...parseMappingProperties({}),
      region: 'eu-west-1',
      stack: 'S',
      logicalId: 'M',
      functionName: 'f',
      source: { kind: 'stream', table },
      onFailure,
    };
    // WHEN its permissions are listed THEN they name the stream, ListStreams on * and the queue
    expect(mappingPermissions(mapping).map((p) => `${p.action} ${p.resource}`)).toEqual([
      `dynamodb:DescribeStream ${TABLE}/stream/x`,
      `dynamodb:GetRecords ${TABLE}/stream/x`,
      `dynamodb:GetShardIterator ${TABLE}/stream/x`,
      'dynamodb:ListStreams *',
      `sqs:SendMessage ${onFailure.arn}`,
    ]);
  });
});
