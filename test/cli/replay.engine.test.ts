import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { onFailureRecord } from '../../lib/local/event-source';
import { CollectingTelemetry } from '../../lambda/core/telemetry';
import type { ParkedMessage } from '../../lambda/core/intents';
import { AwsCaller } from '../../lambda/ops/aws-call';
import { queueRef } from '../../lambda/ops/queues';
import { replayOnFailure } from '../../lambda/ops/replay';
import { processBatch } from '../../lambda/replicator/process';
import { client, scanAll } from '../support/dynamo';
import { REPLICA, SOURCE, startOpsFixture, type OpsFixture } from '../support/ops-fixture';
import { oneWaySettings } from '../support/records';

/**
 * `ddb-mirror replay` against the real local queues and DynamoDB Local: on-failure messages built the
 * way the local mirror builds them (metadata only) for real ranges of the table's stream.
 */

let fx: OpsFixture;
beforeAll(async () => {
  fx = await startOpsFixture();
});
afterAll(() => fx?.close());

async function save(pk: string, text: string): Promise<void> {
  await client(SOURCE).send(
    new PutItemCommand({ TableName: fx.tables.table, Item: { pk: { S: pk }, text: { S: text } } }),
  );
}

/** The replicator, in-process, for records that did get through (as the function would have run them). */
async function replicate(records: DynamoDBRecord[]) {
  const parked: ParkedMessage[] = [];
  const settings = oneWaySettings({
    table: fx.tables.table,
    tombstoneTable: fx.tables.tombstoneTable,
    region: SOURCE,
    peers: [{ region: REPLICA, parkingQueueUrl: 'unused' }],
  });
  await processBatch(
    { Records: records },
    {
      settings,
      clients: { [SOURCE]: client(SOURCE), [REPLICA]: client(REPLICA) },
      parker: { park: async (_t, m) => void parked.push(m) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 30_000,
    },
  );
  return parked;
}

const texts = async () =>
  Object.fromEntries((await scanAll(REPLICA, fx.tables.table)).map((i) => [i.pk.S, i.text.S]));

describe('ddb-mirror replay', () => {
  test('re-applies a failed range from the stream and leaves what the replica already holds newer', async () => {
    // GIVEN three saves in the source (k1, k2, k1 again) of which only the last reached the replica
    await save('k1', 'first');
    await save('k2', 'first');
    await save('k1', 'second');
    const [batch] = await fx.tables.readers[SOURCE].poll();
    const [r1, r2, r3] = batch.records;
    await replicate([r3]);
    // AND the on-failure queue holds the range of the first two, as Lambda writes it (metadata only)
    fx.onFailure.send(
      JSON.stringify(
        onFailureRecord({
          shardId: batch.shardId,
          records: [r1, r2],
          streamArn: r1.eventSourceARN!,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:replicator',
          condition: 'RetryAttemptsExhausted',
          invokeCount: 11,
          now: Date.now(),
        }),
      ),
    );
    // WHEN replay runs as a dry run
    const dry = await fx.cli('replay', '--dry-run', '--json');
    // THEN it reports the range and changes nothing
    expect(dry.error).toBeUndefined();
    expect(JSON.parse(dry.out).ranges).toEqual([
      expect.objectContaining({ status: 'would-replay', records: 2, deleted: false }),
    ]);
    expect(await texts()).toEqual({ k1: 'second' });
    expect(fx.onFailure.size).toBe(1);
    // WHEN it runs for real
    const run = await fx.cli('replay', '--json');
    // THEN k2 is applied, k1 is skipped as already newer, and the handled message is gone
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out).totals).toEqual({
      records: 2,
      applied: 1,
      alreadyNewer: 1,
      conflictsLost: 0,
      deferred: 0,
      parked: 0,
      failed: 0,
      deleted: 1,
      left: 0,
    });
    expect(await texts()).toEqual({ k1: 'second', k2: 'first' });
    expect(fx.onFailure.size).toBe(0);
  });

  test('parks a record on the real parking queue when the replica is still unreachable, then deletes the message', async () => {
    // GIVEN a save whose batch Lambda gave up on, and a replica nobody answers for
    await save('k3', 'first');
    const [batch] = await fx.tables.readers[SOURCE].poll();
    fx.onFailure.send(
      JSON.stringify(
        onFailureRecord({
          shardId: batch.shardId,
          records: batch.records,
          streamArn: batch.records[0].eventSourceARN!,
          functionArn: 'fn',
          condition: 'RetryAttemptsExhausted',
          invokeCount: 11,
          now: Date.now(),
        }),
      ),
    );
    const sqs = new SQSClient({ region: SOURCE, endpoint: fx.control.endpoint });
    const parking = queueRef(fx.control.queueUrl(fx.parking), SOURCE);
    // WHEN the replay engine runs with that replica's client
    const report = await replayOnFailure({
      settings: oneWaySettings({
        table: fx.tables.table,
        tombstoneTable: fx.tables.tombstoneTable,
        region: SOURCE,
        peers: [{ region: REPLICA, parkingQueueUrl: parking.url }],
        maxAttempts: 1,
      }),
      clients: {
        [SOURCE]: client(SOURCE),
        [REPLICA]: new DynamoDBClient({ region: REPLICA, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
      },
      streams: new DynamoDBStreamsClient({ region: SOURCE }),
      sqs,
      caller: new AwsCaller(),
      onFailureQueue: queueRef(fx.control.queueUrl(fx.onFailure), SOURCE),
      parkingQueues: { [REPLICA]: parking },
    });
    // THEN the record waits on the parking queue (14 days) instead of the on-failure queue (24 h of stream)
    expect(report.totals).toMatchObject({ records: 1, applied: 0, parked: 1, deleted: 1, left: 0 });
    expect(fx.parking.peek().map((b) => (JSON.parse(b) as ParkedMessage).intent.key)).toEqual([
      { pk: { S: 'k3' } },
    ]);
    expect(fx.onFailure.size).toBe(0);
    sqs.destroy();
  });

  test('reports a range whose shard has left the stream as trimmed and keeps its message', async () => {
    // GIVEN an on-failure message from 25 hours ago for a shard the stream no longer lists
    const streamArn = fx.tables.readers[SOURCE].streamArn;
    const arrived = new Date(Date.now() - 25 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    fx.onFailure.send(
      JSON.stringify({
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
        version: '1.0',
        timestamp: arrived,
        DDBStreamBatchInfo: {
          shardId: 'shardId-00000001000000000000-0badc0de',
          startSequenceNumber: '000000000000000000101',
          endSequenceNumber: '000000000000000000109',
          approximateArrivalOfFirstRecord: arrived,
          approximateArrivalOfLastRecord: arrived,
          batchSize: 9,
          streamArn,
        },
      }),
    );
    // WHEN replay runs
    const run = await fx.cli('replay');
    // THEN it names the range as unrecoverable because trimmed, exits 1 and the message stays
    expect(run.code).toBe(1);
    expect(run.out).toMatch(
      /shardId-00000001000000000000-0badc0de 000000000000000000101…000000000000000000109: unrecoverable: trimmed: shard .* is no longer in the stream .* → kept/,
    );
    expect(run.out).toContain('0 messages deleted, 1 left');
    expect(fx.onFailure.size).toBe(1);
    expect(fx.onFailure.visibleCount).toBe(1);
  });
});
