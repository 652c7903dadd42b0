import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ParkedMessage } from '../../lambda/core/intents';
import { CollectingTelemetry } from '../../lambda/core/telemetry';
import { processBatch } from '../../lambda/replicator/process';
import { client, scanAll } from '../support/dynamo';
import { REPLICA, SOURCE, startOpsFixture, type OpsFixture } from '../support/ops-fixture';
import { oneWaySettings } from '../support/records';

/**
 * `ddb-mirror drain` against the real local queues and DynamoDB Local, with parked records the real
 * replicator produced while the replica was unreachable.
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

/** The real replicator on `records`, with `replica` as the replica's client; returns what it parked. */
async function replicate(records: DynamoDBRecord[], replica: DynamoDBClient): Promise<ParkedMessage[]> {
  const parked: ParkedMessage[] = [];
  await processBatch(
    { Records: records },
    {
      settings: oneWaySettings({
        table: fx.tables.table,
        tombstoneTable: fx.tables.tombstoneTable,
        region: SOURCE,
        peers: [{ region: REPLICA, parkingQueueUrl: 'unused' }],
        maxAttempts: 1,
      }),
      clients: { [SOURCE]: client(SOURCE), [REPLICA]: replica },
      parker: { park: async (_t, m) => void parked.push(m) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 30_000,
    },
  );
  return parked;
}

const texts = async () =>
  Object.fromEntries((await scanAll(REPLICA, fx.tables.table)).map((i) => [i.pk.S, i.text.S]));

describe('ddb-mirror drain', () => {
  test('moves DLQ messages back to their parking queue, then re-drives parked records through the guards', async () => {
    // GIVEN three saves parked while the replica was unreachable, and a later save of k3 that got through
    const dead = new DynamoDBClient({ region: REPLICA, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    for (const pk of ['k1', 'k2', 'k3']) await save(pk, 'first');
    const parked = await replicate(await fx.tables.readers[SOURCE].pollRecords(), dead);
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((pk) => parked.find((m) => m.intent.key.pk.S === pk));
    await save('k3', 'second');
    expect(await replicate(await fx.tables.readers[SOURCE].pollRecords(), client(REPLICA))).toEqual([]);
    // AND k1 and a message that is no parked record wait on the parking queue; k2 and k3 ended in its DLQ
    fx.parking.send(JSON.stringify(k1));
    fx.parking.send('{"not":"a parked record"}');
    fx.dlq.send(JSON.stringify(k2));
    fx.dlq.send(JSON.stringify(k3));
    // WHEN drain moves the DLQ back to the parking queue
    const moved = await fx.cli('drain', '--to-queue', '--json');
    // THEN both DLQ messages are on the parking queue, shown with key, op, origin and reason, and nothing was applied
    const [movedTarget] = JSON.parse(moved.out).targets;
    expect(movedTarget.dlq).toMatchObject({ visible: 2, read: 2, moved: 2, deleted: 2, failed: [] });
    expect(movedTarget.dlq.sample).toEqual(
      ['k2', 'k3'].map((pk) =>
        expect.objectContaining({
          key: { pk: { S: pk } },
          op: 'put',
          origin: SOURCE,
          reason: expect.stringMatching(/ECONNREFUSED/),
        }),
      ),
    );
    expect([fx.dlq.size, fx.parking.size]).toEqual([0, 4]);
    expect(await texts()).toEqual({ k3: 'second' });
    // WHEN drain re-drives
    const run = await fx.cli('drain', '--json');
    // THEN k1 and k2 are applied, k3 is already newer at the replica, the invalid message stays (exit 1)
    expect(run.code).toBe(1);
    const [target] = JSON.parse(run.out).targets;
    expect(target.parking).toMatchObject({ read: 4, applied: 2, alreadyNewer: 1, deleted: 3 });
    expect(target.parking.failed).toEqual([
      { messageId: expect.any(String), reason: expect.stringMatching(/^not applicable: invalid or missing/) },
    ]);
    expect(await texts()).toEqual({ k1: 'first', k2: 'first', k3: 'second' });
    expect(fx.parking.peek()).toEqual(['{"not":"a parked record"}']);
    expect(fx.parking.visibleCount).toBe(1);
  });

  test('a write parked longer ago than the tombstones live keeps that age when moved back, and is refused, never applied', async () => {
    // GIVEN a save parked 40 days ago (tombstones live 30) that ended in the DLQ
    const dead = new DynamoDBClient({ region: REPLICA, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    await save('old', 'from long ago');
    const [parked] = await replicate(await fx.tables.readers[SOURCE].pollRecords(), dead);
    dead.destroy();
    const parkedAt = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const body = JSON.stringify({ ...parked, parkedAt });
    fx.dlq.send(body);
    // WHEN drain moves it back to the parking queue
    const moved = JSON.parse((await fx.cli('drain', '--to-queue', '--json')).out).targets[0];
    // THEN the parking queue holds the body unchanged, shown 40 days old although SQS just received it
    expect(fx.parking.peek()).toContain(body);
    expect(moved.dlq.sample).toContainEqual(
      expect.objectContaining({ key: { pk: { S: 'old' } }, parkedAt, ageSeconds: expect.any(Number) }),
    );
    const shown = moved.dlq.sample.find((x: { parkedAt?: string }) => x.parkedAt === parkedAt);
    expect(shown.ageSeconds).toBeGreaterThanOrEqual(40 * 86_400);
    // WHEN drain re-drives the parking queue
    const run = await fx.cli('drain', '--json');
    // THEN the write is refused and deleted, its key listed; the replica never gets it
    const [target] = JSON.parse(run.out).targets;
    expect(target.parking).toMatchObject({ refused: 1, applied: 0 });
    expect(target.parking.refusedKeys).toEqual([
      { messageId: expect.any(String), key: { pk: { S: 'old' } }, ageSeconds: expect.any(Number) },
    ]);
    expect(fx.parking.peek()).not.toContain(body);
    expect(await texts()).not.toHaveProperty('old');
    // AND the text output names it for verify --repair
    fx.parking.send(body);
    const text = await fx.cli('drain');
    expect(text.out).toContain('1 refused as too old');
    expect(text.out).toContain(`refused {"pk":{"S":"old"}}`);
    expect(text.out).toContain(`verify --table ${fx.tables.table} --repair`);
  });

  test('a dry run shows counts and a sample and changes nothing', async () => {
    // GIVEN one message left on the parking queue (the previous test's invalid one) and one on the DLQ
    fx.dlq.send('{"also":"not parked"}');
    // WHEN drain runs as a dry run, as text
    const run = await fx.cli('drain', '--dry-run', '--sample', '1');
    // THEN both queues are shown and both messages are still there, visible
    expect(run.code).toBe(0);
    expect(run.out).toContain('(dry run: nothing changed)');
    expect(run.out).toMatch(/parking .*Parking.*: 1 visible, 0 in flight; read 1, oldest \d+s/);
    expect(run.out).toMatch(/DLQ .*ParkingDlq.*: 1 visible, 0 in flight; read 1/);
    expect(run.out).toContain('not a parked record: invalid or missing');
    expect([fx.parking.visibleCount, fx.dlq.visibleCount]).toEqual([1, 1]);
  });
});
