import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { applyIntent } from '../../../lambda/core/apply';
import { formatOrd } from '../../../lambda/core/order';
import { isTransient } from '../../../lambda/core/retry';
import { compareSequence } from '../../../lambda/contract';
import { multiActiveSettings } from '../../support/records';
import { SimDynamo, type SdkItem } from './index';

const R = 'eu-west-1';
const T = 'Items';
const OTHER = 'Other';
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string | number): AttributeValue => ({ N: String(n) });
const key = (k: string) => ({ pk: S(k) });

function engine(now = 0): SimDynamo {
  const sim = new SimDynamo({ now: () => now });
  sim.createTable(R, { name: T, partitionKey: 'pk', stream: true, ttlAttribute: 'expires' });
  sim.createTable(R, { name: OTHER, partitionKey: 'pk', stream: true });
  return sim;
}

const put = (item: SdkItem, extra: object = {}) => new PutItemCommand({ TableName: T, Item: item, ...extra });
const events = (sim: SimDynamo, table = T) => sim.stream(R, table).map((r) => r.eventName);

function thrown(run: () => unknown): Record<string, unknown> {
  try {
    run();
  } catch (e) {
    return e as Record<string, unknown>;
  }
  throw new Error('expected an error');
}

describe('stream records', () => {
  test('INSERT, MODIFY and REMOVE carry keys and the images before and after, in the Lambda shape', () => {
    const sim = engine(1_700_000_000_500);
    sim.execute(R, put({ pk: S('k'), a: N('1.50'), b: { B: new Uint8Array([1, 2]) } }));
    sim.execute(R, put({ pk: S('k'), a: N(2) }));
    sim.execute(R, new DeleteItemCommand({ TableName: T, Key: key('k') }));
    const [insert, modify, remove] = sim.stream(R, T);
    expect(insert).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: R,
      dynamodb: {
        Keys: { pk: S('k') },
        NewImage: { pk: S('k'), a: N('1.5'), b: { B: 'AQI=' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        ApproximateCreationDateTime: 1_700_000_000,
      },
    });
    expect(insert.dynamodb?.OldImage).toBeUndefined();
    expect(modify.dynamodb).toMatchObject({ OldImage: { a: N('1.5') }, NewImage: { pk: S('k'), a: N(2) } });
    expect(remove.dynamodb).toMatchObject({ OldImage: { pk: S('k'), a: N(2) } });
    expect(remove.dynamodb?.NewImage).toBeUndefined();
    expect(remove.userIdentity).toBeUndefined();
  });

  test('a write that changes nothing writes no record', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('k'), n: N(1), tags: { SS: ['a', 'b'] } }));
    sim.execute(R, put({ pk: S('k'), n: N('1.0'), tags: { SS: ['b', 'a'] } }));
    sim.execute(
      R,
      new UpdateItemCommand({
        TableName: T,
        Key: key('k'),
        UpdateExpression: 'SET n = :one REMOVE nothing',
        ExpressionAttributeValues: { ':one': N(1) },
      }),
    );
    sim.execute(R, new DeleteItemCommand({ TableName: T, Key: key('missing') }));
    expect(events(sim)).toEqual(['INSERT']);
  });

  test('a failed conditional write writes no record', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('k') }));
    expect(() =>
      sim.execute(R, put({ pk: S('k'), a: N(1) }, { ConditionExpression: 'attribute_not_exists(pk)' })),
    ).toThrow();
    expect(events(sim)).toEqual(['INSERT']);
  });

  test('a TTL expiry is a REMOVE by the DynamoDB service; nothing to expire is no record', () => {
    const sim = engine();
    sim.setNow(2_000_000_000_000);
    sim.execute(R, put({ pk: S('old'), expires: N(1_999_999_999) }));
    sim.execute(R, put({ pk: S('new'), expires: N(2_000_000_001) }));
    expect(sim.expiredKeys(R, T)).toEqual([key('old')]);
    expect(sim.expire(R, T, key('old'))).toBe(true);
    expect(sim.expire(R, T, key('old'))).toBe(false);
    const remove = sim.stream(R, T)[2];
    expect(remove).toMatchObject({
      eventName: 'REMOVE',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
      dynamodb: { OldImage: { pk: S('old'), expires: N(1_999_999_999) } },
    });
    expect(sim.stream(R, T)).toHaveLength(3);
    expect(sim.consumed(R, T).write).toBe(2); // TTL deletes are free
  });

  test('sequence numbers are 21+ digits and increase across all tables of a region', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('a') }));
    sim.execute(R, new PutItemCommand({ TableName: OTHER, Item: { pk: S('a') } }));
    sim.execute(R, put({ pk: S('b') }));
    const all = [...sim.stream(R, T), ...sim.stream(R, OTHER)].map((r) => r.dynamodb!.SequenceNumber!);
    expect(all.every((s) => /^[0-9]{21,40}$/.test(s))).toBe(true);
    const [a, b] = sim.stream(R, T).map((r) => r.dynamodb!.SequenceNumber!);
    const other = sim.stream(R, OTHER)[0].dynamodb!.SequenceNumber!;
    expect(compareSequence(a, other)).toBeLessThan(0);
    expect(compareSequence(other, b)).toBeLessThan(0);
  });

  test("a transaction's changes are separate records in action order; the records are frozen copies", () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('x') }));
    sim.execute(
      R,
      new TransactWriteItemsCommand({
        TransactItems: [
          { Delete: { TableName: T, Key: key('x') } },
          { Put: { TableName: OTHER, Item: { pk: S('y') } } },
          { Put: { TableName: T, Item: { pk: S('z') } } },
        ],
      }),
    );
    expect(events(sim)).toEqual(['INSERT', 'REMOVE', 'INSERT']);
    expect(events(sim, OTHER)).toEqual(['INSERT']);
    const list = sim.stream(R, T);
    expect(Object.isFrozen(list[0].dynamodb)).toBe(true);
    (list as unknown[]).pop();
    expect(sim.stream(R, T)).toHaveLength(3);
    expect(sim.streamFrom(R, T, 2).map((r) => r.eventName)).toEqual(['INSERT']);
    expect(sim.streamLength(R, T)).toBe(3);
  });
});

describe('errors', () => {
  test('a failed condition is a ConditionalCheckFailedException, with the item when ALL_OLD was asked', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('k'), v: N(2) }));
    const e = thrown(() =>
      sim.execute(
        R,
        put(
          { pk: S('k'), v: N(1) },
          {
            ConditionExpression: 'v < :v',
            ExpressionAttributeValues: { ':v': N(1) },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        ),
      ),
    );
    expect(e).toMatchObject({
      name: 'ConditionalCheckFailedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      Item: { pk: S('k'), v: N(2) },
    });
    expect(isTransient(e)).toBe(false);
    const without = thrown(() =>
      sim.execute(R, put({ pk: S('k') }, { ConditionExpression: 'attribute_not_exists(pk)' })),
    );
    expect(without.Item).toBeUndefined();
  });

  test('a cancelled transaction gives a reason per action, in order, with the items asked for', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('a'), v: N(1) }));
    const e = thrown(() =>
      sim.execute(
        R,
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Delete: {
                TableName: T,
                Key: key('missing'),
                ConditionExpression: 'attribute_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Put: { TableName: T, Item: { pk: S('b') } } },
            {
              Update: {
                TableName: T,
                Key: key('a'),
                UpdateExpression: 'SET w = :w',
                ConditionExpression: 'attribute_not_exists(pk)',
                ExpressionAttributeValues: { ':w': N(1) },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );
    expect(e.name).toBe('TransactionCanceledException');
    expect(e.CancellationReasons).toEqual([
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        Item: { pk: S('a'), v: N(1) },
      },
    ]);
    expect(sim.items(R, T)).toEqual([{ pk: S('a'), v: N(1) }]);
    expect(events(sim)).toEqual(['INSERT']);
  });

  test('an update that cannot apply to its item cancels a transaction with a ValidationError reason', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('a'), s: S('text') }));
    const e = thrown(() =>
      sim.execute(
        R,
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: OTHER, Item: { pk: S('b') } } },
            {
              Update: {
                TableName: T,
                Key: key('a'),
                UpdateExpression: 'SET s = s + :one',
                ExpressionAttributeValues: { ':one': N(1) },
              },
            },
          ],
        }),
      ),
    );
    expect(e.name).toBe('TransactionCanceledException');
    expect(e.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ValidationError', Message: expect.stringMatching(/incorrect data type/) },
    ]);
    expect(sim.items(R, OTHER)).toEqual([]);
  });

  test('a transaction touching one item twice, a bad key and a missing table are refused', () => {
    const sim = engine();
    const twice = thrown(() =>
      sim.execute(
        R,
        new TransactWriteItemsCommand({
          TransactItems: [
            { Delete: { TableName: T, Key: key('a') } },
            { Put: { TableName: T, Item: { pk: S('a') } } },
          ],
        }),
      ),
    );
    expect(twice).toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/multiple operations on one item/),
    });
    expect(thrown(() => sim.execute(R, new GetItemCommand({ TableName: T, Key: { pk: N(1) } }))).name).toBe(
      'ValidationException',
    );
    expect(
      thrown(() => sim.execute(R, new GetItemCommand({ TableName: T, Key: { pk: S('a'), x: S('b') } }))).name,
    ).toBe('ValidationException');
    expect(thrown(() => sim.execute(R, put({ pk: S('') }))).name).toBe('ValidationException');
    const missing = thrown(() =>
      sim.execute('us-east-1', new GetItemCommand({ TableName: T, Key: key('a') })),
    );
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    expect(isTransient(missing)).toBe(false);
  });
});

describe('consumed capacity', () => {
  const pad = (n: number) => ({ pk: S('k'), d: S('x'.repeat(n)) }); // 4 + n bytes

  test('a write bills 1 unit per started KB of the larger of the item before and after', () => {
    const sim = engine();
    const units = (cmd: PutItemCommand | UpdateItemCommand | DeleteItemCommand) =>
      (sim.execute(R, cmd).ConsumedCapacity as { CapacityUnits: number; WriteCapacityUnits: number })
        .WriteCapacityUnits;
    const total = { ReturnConsumedCapacity: 'TOTAL' as const };
    expect(units(put(pad(1020), total))).toBe(1); // 1024 bytes
    expect(units(put(pad(1021), total))).toBe(2); // 1025 bytes
    expect(units(put(pad(1), total))).toBe(2); // replaces 1025 bytes
    expect(units(put(pad(3000), total))).toBe(3);
    expect(units(new DeleteItemCommand({ TableName: T, Key: key('k'), ...total }))).toBe(3);
    expect(units(new DeleteItemCommand({ TableName: T, Key: key('k'), ...total }))).toBe(1);
  });

  test('a failed conditional write is billed; a transaction bills each action twice', () => {
    const sim = engine();
    sim.execute(R, put(pad(1500)));
    expect(sim.consumed(R, T).write).toBe(2);
    expect(() =>
      sim.execute(R, put({ pk: S('k') }, { ConditionExpression: 'attribute_not_exists(pk)' })),
    ).toThrow();
    expect(sim.consumed(R, T).write).toBe(4);
    const out = sim.execute(
      R,
      new TransactWriteItemsCommand({
        ReturnConsumedCapacity: 'TOTAL',
        TransactItems: [
          { Delete: { TableName: T, Key: key('k') } },
          {
            ConditionCheck: {
              TableName: OTHER,
              Key: key('k'),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    expect(out.ConsumedCapacity).toEqual([
      { TableName: T, CapacityUnits: 4, WriteCapacityUnits: 4 },
      { TableName: OTHER, CapacityUnits: 2, WriteCapacityUnits: 2 },
    ]);
    expect(sim.consumed(R, T).write).toBe(8);
  });

  test('reads bill 1 unit per started 4 KB when strongly consistent, half otherwise', () => {
    const sim = engine();
    sim.execute(R, put(pad(4093))); // 4097 bytes
    const get = (ConsistentRead: boolean) =>
      sim.execute(
        R,
        new GetItemCommand({
          TableName: T,
          Key: key('k'),
          ConsistentRead,
          ReturnConsumedCapacity: 'INDEXES',
        }),
      ).ConsumedCapacity as { CapacityUnits: number; Table: { CapacityUnits: number } };
    expect(get(true)).toMatchObject({ CapacityUnits: 2, ReadCapacityUnits: 2, Table: { CapacityUnits: 2 } });
    expect(get(false).CapacityUnits).toBe(1);
    sim.execute(R, new GetItemCommand({ TableName: T, Key: key('missing'), ConsistentRead: true }));
    expect(sim.consumed(R, T).read).toBe(4);
  });
});

describe('batches and description', () => {
  test('BatchWriteItem and BatchGetItem work per table', () => {
    const sim = engine();
    sim.execute(
      R,
      new BatchWriteItemCommand({
        RequestItems: {
          [T]: [{ PutRequest: { Item: { pk: S('a') } } }, { PutRequest: { Item: { pk: S('b') } } }],
        },
      }),
    );
    sim.execute(
      R,
      new BatchWriteItemCommand({ RequestItems: { [T]: [{ DeleteRequest: { Key: key('a') } }] } }),
    );
    const out = sim.execute(
      R,
      new BatchGetItemCommand({
        RequestItems: { [T]: { Keys: [key('a'), key('b')], ConsistentRead: true } },
      }),
    );
    expect(out.Responses).toEqual({ [T]: [{ pk: S('b') }] });
    expect(out.UnprocessedKeys).toEqual({});
    expect(events(sim)).toEqual(['INSERT', 'INSERT', 'REMOVE']);
  });

  test('DescribeTable reports the key schema, item count and stream', () => {
    const sim = engine();
    sim.execute(R, put({ pk: S('a') }));
    expect(sim.execute(R, new DescribeTableCommand({ TableName: T })).Table).toMatchObject({
      TableName: T,
      TableStatus: 'ACTIVE',
      ItemCount: 1,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      LatestStreamArn: expect.stringContaining(`table/${T}/stream/`),
    });
  });

  test('the fingerprint depends on the contents only, not on the order of the writes', () => {
    const a = engine();
    const b = engine();
    a.execute(R, put({ pk: S('1'), x: { SS: ['p', 'q'] } }));
    a.execute(R, put({ pk: S('2') }));
    b.execute(R, put({ pk: S('2') }));
    b.execute(R, put({ pk: S('1'), x: { SS: ['q', 'p'] } }));
    expect(a.fingerprint()).toBe(b.fingerprint());
    b.execute(R, new DeleteItemCommand({ TableName: T, Key: key('2') }));
    expect(a.fingerprint()).not.toBe(b.fingerprint());
  });
});

describe("the project's code against the engine", () => {
  /** A DynamoDBClient whose send runs the command on the engine (what the simulator's world does). */
  const clientOf = (sim: SimDynamo, region: string) =>
    ({
      send: async (command: { input: unknown }) => sim.execute(region, command),
    }) as unknown as DynamoDBClient;

  test('applyIntent inserts a save, refuses a stale one with the item it met, and deletes with a tombstone', async () => {
    const sim = new SimDynamo();
    const settings = multiActiveSettings();
    sim.createTable('us-east-1', { name: settings.table, partitionKey: 'pk', stream: true });
    sim.createTable('us-east-1', { name: settings.tombstoneTable, partitionKey: 'pk', stream: false });
    const client = clientOf(sim, 'us-east-1');
    const options = { deadline: Number.MAX_SAFE_INTEGER, sleep: async () => undefined, random: () => 0.5 };
    const ord = (version: number, deleted = false) =>
      formatOrd({ gen: 0, version: String(version), origin: R, deleted });
    const save = (version: number) => ({
      op: 'put' as const,
      key: { pk: { S: 'k' } },
      item: {
        pk: { S: 'k' },
        version: { N: String(version) },
        _ddbm_ord: { S: ord(version) },
        _ddbm_ver: { N: String(version) },
      },
      ord: ord(version),
      origin: R,
      version: String(version),
    });
    expect(await applyIntent(client, settings, 'us-east-1', save(2), options)).toEqual({ status: 'applied' });
    expect(await applyIntent(client, settings, 'us-east-1', save(1), options)).toMatchObject({
      status: 'stale',
      holder: { source: 'item', ord: ord(2) },
    });
    const del = {
      op: 'delete' as const,
      key: { pk: { S: 'k' } },
      ord: ord(2, true),
      origin: R,
      version: '2',
    };
    expect(await applyIntent(client, settings, 'us-east-1', del, options)).toEqual({ status: 'applied' });
    expect(sim.items('us-east-1', settings.table)).toEqual([]);
    expect(sim.items('us-east-1', settings.tombstoneTable)).toEqual([
      expect.objectContaining({ pk: S('k'), _ddbm_ord: S(ord(2, true)), _ddbm_origin: S(R) }),
    ]);
    expect(sim.stream('us-east-1', settings.table).map((r) => r.eventName)).toEqual(['INSERT', 'REMOVE']);
  });
});
