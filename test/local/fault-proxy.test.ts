import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { FaultProxy, signingRegion } from '../support/fault-proxy';
import { createTable, uniqueName } from '../support/dynamo';

const key = { partitionKey: { name: 'pk', type: 'S' as const } };

interface SdkError extends Error {
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

async function failure(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e) {
    return e as SdkError;
  }
  throw new Error('expected the call to fail');
}

describe('FaultProxy in front of DynamoDB Local', () => {
  let proxy: FaultProxy;
  let table: string;

  beforeAll(async () => {
    proxy = await new FaultProxy().start();
    table = uniqueName('Fp');
    await createTable('eu-west-1', table, key, { withStream: false });
    await createTable('us-east-1', table, key, { withStream: false });
  });
  afterAll(() => proxy.stop());
  afterEach(() => {
    proxy.heal();
    proxy.resetCounters();
  });

  test('reads the region from the SigV4 credential scope', () => {
    expect(
      signingRegion(
        'AWS4-HMAC-SHA256 Credential=local/20260101/ap-southeast-2/dynamodb/aws4_request, SignedHeaders=host, Signature=ab',
      ),
    ).toBe('ap-southeast-2');
    expect(signingRegion(undefined)).toBeUndefined();
    expect(signingRegion('Bearer x')).toBeUndefined();
  });

  test('forwards requests of a healthy region to the engine, keeping regions apart', async () => {
    // GIVEN clients of two regions through the proxy
    const eu = proxy.client('eu-west-1');
    const us = proxy.client('us-east-1');
    // WHEN an item is written in eu-west-1 only
    await eu.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, v: { N: '1' } } }));
    // THEN it reads back there and not in us-east-1, and both requests were counted as forwarded
    const got = await eu.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } }, ConsistentRead: true }),
    );
    const other = await us.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual({ pk: { S: 'a' }, v: { N: '1' } });
    expect(other.Item).toBeUndefined();
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 2, failed: 0 });
    expect(proxy.stats('us-east-1')).toEqual({ forwarded: 1, failed: 0 });
  });

  test('a down region answers 503 while the other regions keep working', async () => {
    // GIVEN eu-west-1 is down
    proxy.setMode('eu-west-1', 'down');
    // WHEN both regions are written through the proxy
    const err = await failure(
      proxy.client('eu-west-1').send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'd' } } })),
    );
    await proxy.client('us-east-1').send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'd' } } }));
    // THEN only eu-west-1 fails, with a server error, and nothing reached its database
    expect(err.$metadata?.httpStatusCode).toBe(503);
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 0, failed: 1 });
    proxy.setMode('eu-west-1', 'ok');
    const back = await proxy
      .client('eu-west-1')
      .send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'd' } }, ConsistentRead: true }));
    expect(back.Item).toBeUndefined();
  });

  test('a reset region drops the connection without an answer', async () => {
    proxy.setMode('us-east-1', 'reset');
    const err = await failure(
      proxy.client('us-east-1').send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'x' } } })),
    );
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(proxy.stats('us-east-1').failed).toBe(1);
  });

  test('throttling is recognised by the SDK: named error, and retried by the default retry strategy', async () => {
    // GIVEN eu-west-1 throttles and a client with the SDK's default 3 attempts
    proxy.setMode('eu-west-1', 'throttle');
    const err = await failure(
      proxy
        .client('eu-west-1', { maxAttempts: 3 })
        .send(new PutItemCommand({ TableName: table, Item: { pk: { S: 't' } } })),
    );
    // THEN the error carries the DynamoDB throttling code and the SDK retried it twice
    expect(err.name).toBe('ProvisionedThroughputExceededException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(err.$metadata?.attempts).toBe(3);
    expect(proxy.stats('eu-west-1').failed).toBe(3);
  });

  test('ThrottlingException can be chosen as the throttle code', async () => {
    const other = await new FaultProxy({ throttleError: 'ThrottlingException' }).start();
    try {
      other.setMode('us-east-1', 'throttle');
      const err = await failure(
        other.client('us-east-1').send(new GetItemCommand({ TableName: table, Key: { pk: { S: 't' } } })),
      );
      expect(err.name).toBe('ThrottlingException');
    } finally {
      await other.stop();
    }
  });
});
