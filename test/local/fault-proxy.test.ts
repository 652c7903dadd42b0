import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { FaultProxy, signingRegion } from '../support/fault-proxy';
import { client, createTable, uniqueName } from '../support/dynamo';

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
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 2, failed: 0, lost: 0 });
    expect(proxy.stats('us-east-1')).toEqual({ forwarded: 1, failed: 0, lost: 0 });
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
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 0, failed: 1, lost: 0 });
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

  /** The item as the engine holds it, read directly (not through the proxy). */
  const stored = async (region: string, pk: string) =>
    (
      await client(region).send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
      )
    ).Item;

  test('lost-answer: the write is applied, and the client sees a 500 InternalServerError', async () => {
    // GIVEN every request to eu-west-1 loses its answer after the engine applied it
    proxy.setMode('eu-west-1', 'lost-answer');
    // WHEN a put is sent with no retries
    const err = await failure(
      proxy
        .client('eu-west-1')
        .send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'la1' }, v: { N: '1' } } })),
    );
    // THEN the client saw DynamoDB's 500, yet the engine holds the item, and the proxy counted one lost answer
    expect(err.name).toBe('InternalServerError');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(await stored('eu-west-1', 'la1')).toEqual({ pk: { S: 'la1' }, v: { N: '1' } });
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 1, failed: 0, lost: 1 });
  });

  test("lost-answer with the SDK's default retries: the retry of a conditional put meets its own effect", async () => {
    // GIVEN every write to eu-west-1 loses its answer once the engine has applied it
    proxy.setMode('eu-west-1', 'lost-answer', { writesOnly: true });
    // WHEN a put that must create the item is sent with the SDK's default 3 attempts
    const err = await failure(
      proxy.client('eu-west-1', { maxAttempts: 3 }).send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: 'la2' }, v: { N: '1' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    // THEN the SDK retried the 500, and the retry found the item its own first attempt wrote: the caller
    // gets a conditional check failure for the write that is in the table (an error answer is not lost)
    expect(err.name).toBe('ConditionalCheckFailedException');
    expect(err.$metadata?.attempts).toBe(2);
    expect(await stored('eu-west-1', 'la2')).toEqual({ pk: { S: 'la2' }, v: { N: '1' } });
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 2, failed: 0, lost: 1 });
  });

  test('lost-answer: an ADD retried by the SDK after its answer was lost is applied twice', async () => {
    // GIVEN every write to us-east-1 loses its answer once, then the region heals: the first attempt
    // is lost, the retry goes through
    proxy.setMode('us-east-1', 'lost-answer', { writesOnly: true });
    const retried = proxy.client('us-east-1', { maxAttempts: 3 });
    retried.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } finally {
          proxy.setMode('us-east-1', 'ok');
        }
      },
      { step: 'deserialize', name: 'healAfterFirstAttempt' },
    );
    // WHEN one ADD of 1 is sent
    const res = await retried.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: 'la3' } },
        UpdateExpression: 'ADD v :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // THEN the caller saw one success, and the counter moved by two
    expect(res.$metadata.attempts).toBe(2);
    expect(res.Attributes?.v).toEqual({ N: '2' });
    expect(proxy.stats('us-east-1')).toEqual({ forwarded: 2, failed: 0, lost: 1 });
  });

  test('lost-answer-reset: the connection is cut after the commit, a network error with no status', async () => {
    proxy.setMode('eu-west-1', 'lost-answer-reset');
    const err = await failure(
      proxy.client('eu-west-1').send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'la4' } } })),
    );
    expect(err.$metadata?.httpStatusCode).toBeUndefined();
    expect(await stored('eu-west-1', 'la4')).toEqual({ pk: { S: 'la4' } });
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 1, failed: 0, lost: 1 });
  });

  test('lost-answer kept to writes: reads are answered, writes lose their answer', async () => {
    // GIVEN an item in eu-west-1, then every write there loses its answer
    await proxy
      .client('eu-west-1')
      .send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'la5' } } }));
    proxy.setMode('eu-west-1', 'lost-answer', { writesOnly: true });
    // WHEN it is read, then written again
    const read = await proxy
      .client('eu-west-1')
      .send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'la5' } }, ConsistentRead: true }));
    const err = await failure(
      proxy
        .client('eu-west-1')
        .send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'la5' }, v: { N: '2' } } })),
    );
    // THEN the read got its answer and the write, applied, did not
    expect(read.Item).toEqual({ pk: { S: 'la5' } });
    expect(err.name).toBe('InternalServerError');
    expect(await stored('eu-west-1', 'la5')).toEqual({ pk: { S: 'la5' }, v: { N: '2' } });
    expect(proxy.stats('eu-west-1')).toEqual({ forwarded: 3, failed: 0, lost: 1 });
  });

  test('lost-answer on a fraction: every write is applied, and exactly the counted ones failed at the client', async () => {
    // GIVEN a fifth of the writes to us-east-1 lose their answer (seeded)
    proxy.setMode('us-east-1', 'lost-answer', { fraction: 0.2, seed: 42 });
    const us = proxy.client('us-east-1');
    // WHEN 40 distinct items are put, one at a time, with no retries
    let failedAtClient = 0;
    for (let i = 0; i < 40; i++) {
      await us
        .send(new PutItemCommand({ TableName: table, Item: { pk: { S: `lf${i}` } } }))
        .catch(() => (failedAtClient += 1));
    }
    // THEN some but not all lost their answer, the client failed exactly those, and all 40 are stored
    const { lost } = proxy.stats('us-east-1');
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(40);
    expect(failedAtClient).toBe(lost);
    const stores = await Promise.all(Array.from({ length: 40 }, (_, i) => stored('us-east-1', `lf${i}`)));
    expect(stores.filter((item) => item !== undefined)).toHaveLength(40);
  });
});
