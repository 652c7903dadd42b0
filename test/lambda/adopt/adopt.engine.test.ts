import {
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { CustomResourceRequest } from '../../../lambda/adopt/cfn';
import { ADOPTED_TABLE_TYPE, READ_ONLY_POLICY_TYPE } from '../../../lambda/adopt/contract';
import { handleRequest } from '../../../lambda/adopt/handle';
import { client, createTable, uniqueName } from '../../support/dynamo';

/** The adopt function's logic against DynamoDB Local, which serves UpdateTable's StreamSpecification. */
const REGION = 'us-east-1';
const KEY = { partitionKey: { name: 'storyId', type: 'S' as const } };

function request(table: string, overrides: Partial<CustomResourceRequest> = {}): CustomResourceRequest {
  return {
    RequestType: 'Create',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: 'stack',
    RequestId: 'req',
    LogicalResourceId: 'Adopted',
    ResourceType: ADOPTED_TABLE_TYPE,
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:adopt',
      TableName: table,
      KeySchema: [{ AttributeName: 'storyId', KeyType: 'HASH', AttributeType: 'S' }],
      Stream: 'NEW_AND_OLD_IMAGES',
    },
    ...overrides,
  };
}

const run = (table: string, overrides: Partial<CustomResourceRequest> = {}) =>
  handleRequest(request(table, overrides), {
    settings: { kind: 'adopt', table, region: REGION },
    client: client(REGION),
    deadline: Date.now() + 20_000,
    pollMs: 50,
  });

const streamOf = async (table: string) =>
  (await client(REGION).send(new DescribeTableCommand({ TableName: table }))).Table!;

describe('adopting a table on DynamoDB Local', () => {
  test('enables NEW_AND_OLD_IMAGES on a table without a stream and returns its ARN; items stay', async () => {
    // GIVEN a table with an item and no stream
    const table = uniqueName('AdoptNoStream');
    await createTable(REGION, table, KEY, { withStream: false });
    await client(REGION).send(new PutItemCommand({ TableName: table, Item: { storyId: { S: 'a' } } }));

    // WHEN
    const outcome = await run(table);

    // THEN
    const described = await streamOf(table);
    expect(described.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(outcome).toEqual({
      status: 'SUCCESS',
      physicalResourceId: table,
      data: { TableArn: described.TableArn, StreamArn: described.LatestStreamArn, StreamEnabledHere: 'true' },
    });
    const item = await client(REGION).send(
      new GetItemCommand({ TableName: table, Key: { storyId: { S: 'a' } }, ConsistentRead: true }),
    );
    expect(item.Item).toEqual({ storyId: { S: 'a' } });
  });

  test('leaves a NEW_AND_OLD_IMAGES stream as it is and returns that same ARN', async () => {
    const table = uniqueName('AdoptHasStream');
    const arn = await createTable(REGION, table, KEY, { withStream: true });
    const outcome = await run(table);
    expect(outcome).toMatchObject({
      status: 'SUCCESS',
      data: { StreamArn: arn, StreamEnabledHere: 'false' },
    });
    expect((await streamOf(table)).LatestStreamArn).toBe(arn);
  });

  test('fails on a KEYS_ONLY stream and leaves it in place', async () => {
    // GIVEN a table whose stream another consumer reads
    const table = uniqueName('AdoptKeysOnly');
    await createTable(REGION, table, KEY, { withStream: false });
    const keysOnly = await client(REGION).send(
      new UpdateTableCommand({
        TableName: table,
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );

    // WHEN
    const outcome = await run(table);

    // THEN the deploy fails with the reason, and the stream is the one it was
    expect(outcome).toMatchObject({
      status: 'FAILED',
      reason: expect.stringContaining('already has a stream with view type KEYS_ONLY'),
    });
    const described = await streamOf(table);
    expect(described.StreamSpecification?.StreamViewType).toBe('KEYS_ONLY');
    expect(described.LatestStreamArn).toBe(keysOnly.TableDescription?.LatestStreamArn);
  });

  test('fails for a missing table and for a table keyed otherwise', async () => {
    expect(await run(uniqueName('AdoptMissing'))).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/does not exist in us-east-1/),
    });
    const table = uniqueName('AdoptOtherKey');
    await createTable(REGION, table, { partitionKey: { name: 'id', type: 'N' } }, { withStream: true });
    expect(await run(table)).toMatchObject({
      status: 'FAILED',
      reason: expect.stringContaining('has the key id (N), the config says storyId (S)'),
    });
  });

  test('on delete, leaves the table and its stream as they are', async () => {
    const table = uniqueName('AdoptDelete');
    const arn = await createTable(REGION, table, KEY, { withStream: true });
    const outcome = await run(table, { RequestType: 'Delete', PhysicalResourceId: table });
    expect(outcome).toEqual({ status: 'SUCCESS', physicalResourceId: table });
    const described = await streamOf(table);
    expect([
      described.TableStatus,
      described.StreamSpecification?.StreamEnabled,
      described.LatestStreamArn,
    ]).toEqual(['ACTIVE', true, arn]);
  });

  test('refuses a request for a table other than the one its settings name', async () => {
    const table = uniqueName('AdoptOther');
    await createTable(REGION, table, KEY, { withStream: false });
    const outcome = await handleRequest(request(table), {
      settings: { kind: 'adopt', table: 'Stories', region: REGION },
      client: client(REGION),
      deadline: Date.now() + 5000,
    });
    expect(outcome).toMatchObject({
      status: 'FAILED',
      reason: `this adopt function serves table Stories, not ${table}`,
    });
    expect((await streamOf(table)).StreamSpecification).toBeUndefined();
  });

  test('answers an unknown resource type and bad properties with a failure, not a crash', async () => {
    const table = uniqueName('AdoptBad');
    expect(await run(table, { ResourceType: 'Custom::Other' })).toMatchObject({
      status: 'FAILED',
      reason: 'the adopt function serves no resource type Custom::Other',
    });
    expect(
      await run(table, { ResourceType: READ_ONLY_POLICY_TYPE, ResourceProperties: { TableArn: 'nope' } }),
    ).toMatchObject({
      status: 'FAILED',
      reason: expect.stringMatching(/^invalid resource properties: TableArn/),
    });
  });
});
