import { createHash } from 'crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import {
  DynamoStreamEventSource,
  EventSourceNotice,
  ShardSource,
  StreamOnFailureRecord,
} from '../../lib/local/event-source';
import { EventSourceMappingProperties, parseMappingProperties } from '../../lib/local/mapping-settings';
import { StreamReader } from '../../lib/local/stream-reader';
import { client, createTable, uniqueName } from '../support/dynamo';

const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000';
const NOW = Date.UTC(2025, 5, 5, 18, 30, 0);

/** Record `n` of a shard: sequence numbers are 21 digits and increase with n. */
function record(n: number, createdSeconds = Math.floor(NOW / 1000)): DynamoDBRecord {
  return {
    eventID: `e${n}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: STREAM,
    dynamodb: {
      ApproximateCreationDateTime: createdSeconds,
      Keys: { pk: { S: `k${n}` } },
      NewImage: { pk: { S: `k${n}` } },
      SequenceNumber: seq(n),
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}
const seq = (n: number) => String(100000000000000000000n + BigInt(n));
const ids = (e: DynamoDBStreamEvent) => e.Records.map((r) => Number(r.dynamodb!.SequenceNumber!.slice(-3)));

/** A reader that hands out scripted polls, then nothing. */
class FakeReader implements ShardSource {
  private readonly polls: { shardId: string; parentShardId?: string; records: DynamoDBRecord[] }[][];
  constructor(...polls: { shardId: string; parentShardId?: string; records: DynamoDBRecord[] }[][]) {
    this.polls = polls;
  }
  async poll() {
    return this.polls.shift() ?? [];
  }
}

interface Harness {
  source: DynamoStreamEventSource;
  calls: number[][];
  notices: EventSourceNotice[];
  failures: { destination: string; record: StreamOnFailureRecord }[];
  clock: { now: number };
}

function harness(
  reader: ShardSource,
  properties: EventSourceMappingProperties,
  behave: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse | void,
): Harness {
  const calls: number[][] = [];
  const notices: EventSourceNotice[] = [];
  const failures: Harness['failures'] = [];
  const clock = { now: NOW };
  const source = new DynamoStreamEventSource({
    onEvent: (n) => notices.push(n),
    reader,
    settings: parseMappingProperties(properties),
    streamArn: STREAM,
    functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:replicator',
    clock: () => clock.now,
    invoke: async (event) => {
      calls.push(ids(event));
      return behave(event, calls.length);
    },
    onFailure: (destination, record) => {
      failures.push({ destination, record });
    },
  });
  return { source, calls, notices, failures, clock };
}

const DLQ = 'arn:aws:sqs:eu-west-1:123456789012:parked';
const rbif: EventSourceMappingProperties = { FunctionResponseTypes: ['ReportBatchItemFailures'] };
const fail = (...n: number[]): DynamoDBBatchResponse => ({
  batchItemFailures: n.map((x) => ({ itemIdentifier: seq(x) })),
});

describe('DynamoStreamEventSource', () => {
  test('delivers each shard in order, in batches of BatchSize, and checkpoints past a successful batch', async () => {
    // GIVEN five records on one shard and BatchSize 2
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3, 4, 5].map((n) => record(n)) }]),
      { BatchSize: 2 },
      () => undefined,
    );
    // WHEN the mapping drains the stream
    await h.source.drain();
    // THEN the function saw 1-2, 3-4, 5 once each
    expect(h.calls).toEqual([[1, 2], [3, 4], [5]]);
    expect(h.source.counters).toMatchObject({ batches: 3, recordsDelivered: 5, retries: 0, onFailure: 0 });
  });

  test('resumes from the lowest reported failure and replays the records after it', async () => {
    // GIVEN a batch of five where the first invocation reports records 3 and 5 as failed
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3, 4, 5].map((n) => record(n)) }]),
      rbif,
      (_e, call) => (call === 1 ? fail(5, 3) : { batchItemFailures: [] }),
    );
    // WHEN it drains
    await h.source.drain();
    // THEN the retry starts at 3 and carries 4 (which had succeeded) and 5 again
    expect(h.calls).toEqual([
      [1, 2, 3, 4, 5],
      [3, 4, 5],
    ]);
    expect(h.source.counters).toMatchObject({ partialFailures: 1, retries: 1, recordsDelivered: 8 });
  });

  test.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['an unknown itemIdentifier', { batchItemFailures: [{ itemIdentifier: '999999999999999999999' }] }],
  ])('treats %s as a whole-batch failure', async (_name, response) => {
    // GIVEN a first invocation that answers with that response
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3].map((n) => record(n)) }]),
      rbif,
      (_e, call) => (call === 1 ? (response as DynamoDBBatchResponse) : undefined),
    );
    // WHEN it drains THEN the whole batch comes again
    await h.source.drain();
    expect(h.calls).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  test('ignores a partial batch response unless ReportBatchItemFailures is on', async () => {
    // GIVEN a mapping without ReportBatchItemFailures and a function that reports record 1
    const h = harness(new FakeReader([{ shardId: 's1', records: [1, 2].map((n) => record(n)) }]), {}, () =>
      fail(1),
    );
    // WHEN it drains THEN the batch counts as a success
    await h.source.drain();
    expect(h.calls).toEqual([[1, 2]]);
  });

  test('delivers the same records again after a function error (at least once)', async () => {
    // GIVEN a function that throws twice
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2].map((n) => record(n)) }]),
      {},
      (_e, call) => {
        if (call < 3) throw new Error('boom');
      },
    );
    // WHEN it drains THEN the same batch comes three times
    await h.source.drain();
    expect(h.calls).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(h.source.counters).toMatchObject({ functionErrors: 2, retries: 2, onFailure: 0 });
  });

  test('bisects a failing batch without using retries, isolates the poisoned record and sends it to on-failure', async () => {
    // GIVEN record 3 always fails, bisection on, one retry allowed
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3, 4].map((n) => record(n)) }]),
      {
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: DLQ } },
      },
      (e) => {
        if (ids(e).includes(3)) throw new Error('poison');
      },
    );
    // WHEN it drains
    await h.source.drain();
    // THEN halves are tried, 3 alone is tried twice (1 + 1 retry), then discarded, and 4 still gets through
    expect(h.calls).toEqual([[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]);
    expect(h.failures).toHaveLength(1);
    expect(h.failures[0].record.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: seq(3),
      endSequenceNumber: seq(3),
      batchSize: 1,
    });
    expect(h.failures[0].record.requestContext.approximateInvokeCount).toBe(2);
    expect(h.source.counters).toMatchObject({ bisections: 2, retries: 1, onFailure: 1 });
  });

  test('after MaximumRetryAttempts sends the batch metadata, in the Lambda on-failure format, and moves on', async () => {
    // GIVEN two retries, a destination, and a function that fails on record 1
    const h = harness(
      new FakeReader(
        [{ shardId: 'shardId-0001', records: [1, 2].map((n) => record(n)) }],
        [{ shardId: 'shardId-0001', records: [record(3)] }],
      ),
      { BatchSize: 2, MaximumRetryAttempts: 2, DestinationConfig: { OnFailure: { Destination: DLQ } } },
      (e) => {
        if (ids(e).includes(1)) throw new Error('boom');
      },
    );
    // WHEN it drains
    await h.source.drain();
    // THEN 1+2 retries, then the discarded batch's metadata (not its records) goes to the destination, and 3 is processed
    expect(h.calls).toEqual([[1, 2], [1, 2], [1, 2], [3]]);
    expect(h.failures).toEqual([
      {
        destination: DLQ,
        record: {
          requestContext: {
            requestId: expect.any(String),
            functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:replicator',
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 3,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: new Date(NOW).toISOString(),
          DDBStreamBatchInfo: {
            shardId: 'shardId-0001',
            startSequenceNumber: seq(1),
            endSequenceNumber: seq(2),
            approximateArrivalOfFirstRecord: '2025-06-05T18:30:00Z',
            approximateArrivalOfLastRecord: '2025-06-05T18:30:00Z',
            batchSize: 2,
            streamArn: STREAM,
          },
        },
      },
    ]);
  });

  test('counts partial failures against MaximumRetryAttempts and discards only the failing suffix', async () => {
    // GIVEN one retry, a destination, and a function that always reports record 2
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3].map((n) => record(n)) }]),
      { ...rbif, MaximumRetryAttempts: 1, DestinationConfig: { OnFailure: { Destination: DLQ } } },
      () => fail(2),
    );
    // WHEN it drains
    await h.source.drain();
    // THEN 2-3 are retried once, then their metadata goes to the destination
    expect(h.calls).toEqual([
      [1, 2, 3],
      [2, 3],
    ]);
    const info = h.failures[0].record;
    expect(info.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
    });
    expect(info.responseContext?.functionError).toBeUndefined();
    expect(info.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: seq(2),
      endSequenceNumber: seq(3),
      batchSize: 2,
    });
  });

  test('skips records older than MaximumRecordAgeInSeconds to on-failure, before and between retries', async () => {
    // GIVEN record 1 is two hours old, records 2-3 are fresh, the function always fails on 2, max age one hour
    const old = Math.floor(NOW / 1000) - 7200;
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [record(1, old), record(2), record(3)] }]),
      { MaximumRecordAgeInSeconds: 3600, DestinationConfig: { OnFailure: { Destination: DLQ } } },
      (e) => {
        if (ids(e).includes(2)) throw new Error('boom');
      },
    );
    // WHEN polled once: 1 is discarded without an invocation, 2-3 are tried
    await h.source.pollOnce();
    expect(h.failures.map((f) => f.record.requestContext)).toEqual([
      expect.objectContaining({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 }),
    ]);
    expect(h.failures[0].record.responseContext).toBeUndefined();
    expect(h.calls).toEqual([[2, 3]]);
    // AND WHEN two hours pass while 2-3 keep failing, they age out too, and the shard is free again
    h.clock.now += 2 * 3600 * 1000;
    await h.source.drain();
    expect(h.calls).toEqual([[2, 3]]);
    expect(h.failures[1].record.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 1,
    });
    expect(h.failures[1].record.DDBStreamBatchInfo.batchSize).toBe(2);
    expect(h.source.pending).toBe(0);
  });

  test('discards without a destination by counting only', async () => {
    // GIVEN no retries, no destination and a function that always throws
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [record(1)] }]),
      { MaximumRetryAttempts: 0 },
      () => {
        throw new Error('boom');
      },
    );
    // WHEN it drains THEN the batch is counted as discarded and sent nowhere
    await h.source.drain();
    expect(h.failures).toEqual([]);
    expect(h.source.counters).toMatchObject({ batches: 1, onFailure: 1, recordsDiscarded: 1 });
  });

  test('follows new shards, and holds a child shard until its parent is done', async () => {
    // GIVEN a parent shard whose first record fails once, then a child shard appearing on the second poll
    const h = harness(
      new FakeReader(
        [{ shardId: 'parent', records: [record(1), record(2)] }],
        [
          { shardId: 'child', parentShardId: 'parent', records: [record(10)] },
          { shardId: 'other', records: [record(20)] },
        ],
      ),
      { BatchSize: 1 },
      (_e, call) => {
        if (call === 1) throw new Error('once');
      },
    );
    // WHEN it drains
    await h.source.drain();
    // THEN the unrelated new shard runs at once, the child only after 1 and 2 of the parent
    const order = h.calls.map((c) => c[0]);
    expect(order.indexOf(10)).toBeGreaterThan(order.lastIndexOf(2));
    expect(order.indexOf(20)).toBeLessThan(order.lastIndexOf(2));
    expect(order.filter((n) => n === 1)).toHaveLength(2);
  });

  test('keeps one batch in flight per shard while shards run concurrently', async () => {
    // GIVEN two shards of three records, batches of one, and a function that counts what is in flight
    let inFlight = new Map<string, number>();
    let maxPerShard = 0;
    let maxTotal = 0;
    const source = new DynamoStreamEventSource({
      reader: new FakeReader([
        { shardId: 'a', records: [1, 2, 3].map((n) => record(n)) },
        { shardId: 'b', records: [11, 12, 13].map((n) => record(n)) },
      ]),
      settings: parseMappingProperties({ BatchSize: 1 }),
      streamArn: STREAM,
      invoke: async (e) => {
        const shard = ids(e)[0] > 10 ? 'b' : 'a';
        inFlight.set(shard, (inFlight.get(shard) ?? 0) + 1);
        maxPerShard = Math.max(maxPerShard, inFlight.get(shard)!);
        maxTotal = Math.max(
          maxTotal,
          [...inFlight.values()].reduce((x, y) => x + y, 0),
        );
        await new Promise((r) => setTimeout(r, 5));
        inFlight.set(shard, inFlight.get(shard)! - 1);
      },
    });
    // WHEN it drains THEN each shard had one batch in flight, both shards at once
    await source.drain();
    inFlight = new Map();
    expect(maxPerShard).toBe(1);
    expect(maxTotal).toBe(2);
  });

  test('waits up to MaximumBatchingWindowInSeconds to fill a batch', async () => {
    // GIVEN a five-second batching window and two records read two seconds apart
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [record(1)] }], [{ shardId: 's1', records: [record(2)] }]),
      { BatchSize: 10, MaximumBatchingWindowInSeconds: 5 },
      () => undefined,
    );
    await h.source.pollOnce();
    h.clock.now += 2000;
    await h.source.pollOnce();
    // THEN nothing is invoked within the window, WHEN it has passed THEN both go in one batch
    expect(h.calls).toEqual([]);
    h.clock.now += 3000;
    await h.source.pollOnce();
    expect(h.calls).toEqual([[1, 2]]);
  });

  test('with StartingPosition LATEST skips what the first read finds', async () => {
    // GIVEN a record present at the first read and one arriving later
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [record(1)] }], [{ shardId: 's1', records: [record(2)] }]),
      { StartingPosition: 'LATEST' },
      () => undefined,
    );
    // WHEN it drains from LATEST THEN only the later one is delivered
    await h.source.drain();
    expect(h.calls).toEqual([[2]]);
  });

  test('start() polls on its own and stop() waits for the batch in flight', async () => {
    // GIVEN two records that appear on the second poll
    const seen: number[] = [];
    const source = new DynamoStreamEventSource({
      reader: new FakeReader([], [{ shardId: 's1', records: [record(1), record(2)] }]),
      streamArn: STREAM,
      pollIntervalMs: 20,
      invoke: async (e) => {
        seen.push(...ids(e));
      },
    });
    // WHEN started, and stopped once they were seen THEN both were delivered, in order
    source.start();
    const deadline = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await source.stop();
    expect(seen).toEqual([1, 2]);
  });
});

describe('DynamoStreamEventSource on a DynamoDB Local stream', () => {
  test('delivers real stream records and re-delivers after a partial failure', async () => {
    // GIVEN a stream table with three writes and a function that reports the second record once
    const region = 'eu-central-1';
    const table = uniqueName('Es');
    const streamArn = (await createTable(
      region,
      table,
      { partitionKey: { name: 'pk', type: 'S' } },
      { withStream: true },
    ))!;
    for (const k of ['a', 'b', 'c'])
      await client(region).send(new PutItemCommand({ TableName: table, Item: { pk: { S: k } } }));
    const batches: string[][] = [];
    const source = new DynamoStreamEventSource({
      reader: new StreamReader({ region, streamArn }),
      streamArn,
      settings: parseMappingProperties({ ...rbif, BatchSize: 10 }),
      invoke: async (event) => {
        batches.push(event.Records.map((r) => r.dynamodb!.Keys!.pk.S!));
        return batches.length === 1
          ? { batchItemFailures: [{ itemIdentifier: event.Records[1].dynamodb!.SequenceNumber! }] }
          : undefined;
      },
    });
    // WHEN the mapping drains the stream
    await source.drain();
    // THEN b and c come twice, in order, with the Lambda record shape
    expect(batches).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c'],
    ]);
    expect(source.counters).toMatchObject({ batches: 2, partialFailures: 1 });
  });
});

describe('ParallelizationFactor', () => {
  /** Records 1..n over `keys` partition keys (record i is a change of key i % keys). */
  const changes = (n: number, keys: number) =>
    Array.from({ length: n }, (_, i) => {
      const r = record(i + 1);
      return { ...r, dynamodb: { ...r.dynamodb, Keys: { pk: { S: `key${(i + 1) % keys}` } } } };
    });
  const keyOf = (n: number, keys: number) => `key${n % keys}`;

  test('splits a shard into lanes by partition key: each key stays in one lane, in stream order', async () => {
    // GIVEN 40 changes of 8 keys on one shard, and ParallelizationFactor 4
    const h = harness(
      new FakeReader([{ shardId: 's1', records: changes(40, 8) }]),
      { ...rbif, ParallelizationFactor: 4, BatchSize: 5 },
      () => undefined,
    );
    // WHEN drained
    await h.source.drain();
    // THEN every record was delivered once, and the batches of any one key come in stream order
    expect(h.calls.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let k = 0; k < 8; k++) {
      const seen = h.calls.flat().filter((n) => keyOf(n, 8) === `key${k}`);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    }
    // AND no batch mixes lanes (Lambda's split is by a hash of the partition key), several lanes were used
    const lane = (n: number) =>
      createHash('md5')
        .update(JSON.stringify({ pk: { S: keyOf(n, 8) } }))
        .digest()
        .readUInt32BE(0) % 4;
    for (const batch of h.calls) expect(new Set(batch.map(lane)).size).toBe(1);
    expect(new Set(h.calls.map((b) => lane(b[0]))).size).toBeGreaterThan(1);
  });

  test('a lane that keeps failing holds only its own keys; the other lanes go on', async () => {
    // GIVEN two keys in different lanes, and a function that fails every batch holding key0's records
    const records = changes(20, 2);
    let poisoned = true;
    const h = harness(
      new FakeReader([{ shardId: 's1', records }]),
      { ...rbif, ParallelizationFactor: 10, MaximumRetryAttempts: 2, BatchSize: 100 },
      (event) => {
        const bad = event.Records.filter((r) => r.dynamodb!.Keys!.pk.S === 'key0');
        return poisoned && bad.length ? fail(Number(bad[0].dynamodb!.SequenceNumber!.slice(-3))) : undefined;
      },
    );
    // WHEN drained
    await h.source.drain();
    poisoned = false;
    // THEN every key1 record was delivered, and key0's batch was retried, then discarded to no destination
    const delivered = h.calls.flat();
    expect(
      records
        .filter((r) => r.dynamodb!.Keys!.pk.S === 'key1')
        .every((r) => delivered.includes(Number(r.dynamodb!.SequenceNumber!.slice(-3)))),
    ).toBe(true);
    expect(h.source.counters.onFailure).toBe(1);
  });
});

describe('records AWS never sends', () => {
  test('drops and counts a REMOVE without its old image on a stream that has old images (DynamoDB Local writes one when two deletes race)', async () => {
    // GIVEN a real REMOVE and a phantom one (no OldImage) of the same item
    const remove = (n: number, withOld: boolean): DynamoDBRecord => {
      const r = record(n);
      const { NewImage: _new, ...rest } = r.dynamodb!;
      return {
        ...r,
        eventName: 'REMOVE',
        dynamodb: { ...rest, ...(withOld ? { OldImage: rest.Keys } : {}) },
      };
    };
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [remove(1, true), remove(2, false), record(3)] }]),
      rbif,
      () => undefined,
    );
    // WHEN drained
    await h.source.drain();
    // THEN the function saw the real REMOVE and the INSERT only, and the phantom is counted
    expect(h.calls.flat()).toEqual([1, 3]);
    expect(h.source.counters.phantomRemovesDropped).toBe(1);
  });
});

describe('what failure drills ask of the event source', () => {
  test('delivers every batch again as many times as told, and counts the duplicates', async () => {
    // GIVEN three records, BatchSize 2, and a source told to deliver each batch three times
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2, 3].map((n) => record(n)) }]),
      { BatchSize: 2 },
      () => undefined,
    );
    h.source.setDeliveries(() => 3);
    // WHEN it drains
    await h.source.drain();
    // THEN each batch reached the function three times in a row, and the checkpoint moved past both
    expect(h.calls).toEqual([[1, 2], [1, 2], [1, 2], [3], [3], [3]]);
    expect(h.source.counters).toMatchObject({ batches: 2, duplicateDeliveries: 4 });
    expect(h.source.pending).toBe(0);
  });

  test('a paused source keeps reading but invokes nothing until resumed', async () => {
    // GIVEN a paused source with records to read
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2].map((n) => record(n)) }]),
      {},
      () => undefined,
    );
    h.source.pause();
    // WHEN polled
    await h.source.drain();
    // THEN the records were read and wait; after resuming they are delivered
    expect(h.calls).toEqual([]);
    expect(h.source.pending).toBe(2);
    h.source.resume();
    await h.source.drain();
    expect(h.calls).toEqual([[1, 2]]);
  });

  test('ages records from their first read when told to, and a shorter record age can be set while it runs', async () => {
    // GIVEN records whose creation time is floored to the minute, as DynamoDB Local writes it
    const floored = Math.floor(NOW / 60000) * 60 - 60;
    const source = new DynamoStreamEventSource({
      reader: new FakeReader([{ shardId: 's1', records: [record(1, floored)] }]),
      settings: parseMappingProperties({}),
      streamArn: STREAM,
      clock: () => clock.now,
      ageFromFirstRead: true,
      invoke: async (event) => void calls.push(ids(event)),
    });
    const calls: number[][] = [];
    const clock = { now: NOW };
    // WHEN the record age is set to 30 seconds while its floored creation is over a minute old
    source.setMaximumRecordAge(30);
    await source.drain();
    // THEN it is delivered: its age counts from when the source read it
    expect(calls).toEqual([[1]]);
    expect(source.counters.onFailure).toBe(0);
  });

  test('reports the lane and sequence range of each invocation, and how long a failing head batch blocked its lane', async () => {
    // GIVEN a batch that fails twice before it succeeds, 5 s of clock apart
    const h = harness(
      new FakeReader([{ shardId: 's1', records: [1, 2].map((n) => record(n)) }]),
      {},
      (_e, call) => {
        h.clock.now += 5000;
        if (call < 3) throw new Error('boom');
      },
    );
    // WHEN it drains
    await h.source.drain();
    // THEN every invocation names lane 0 and records 1..2, and the lane was blocked for the 10 s between
    // the first failure and the success
    expect(h.notices.filter((n) => n.type === 'invoke')).toEqual([
      expect.objectContaining({
        lane: 0,
        firstSequenceNumber: seq(1),
        lastSequenceNumber: seq(2),
        attempt: 1,
      }),
      expect.objectContaining({ lane: 0, firstSequenceNumber: seq(1), attempt: 2 }),
      expect.objectContaining({ lane: 0, firstSequenceNumber: seq(1), attempt: 3 }),
    ]);
    expect(h.source.counters.maxBlockedMs).toBe(10000);
  });
});
