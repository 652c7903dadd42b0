import { DeleteItemCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { applyParkedBody } from '../../../lambda/parked/consumer';
import { processBatch, type Parker } from '../../../lambda/replicator/process';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import type { ParkedMessage } from '../../../lambda/core/intents';
import { formatOrd } from '../../../lambda/core/order';
import type { MultiActiveSettings } from '../../../lambda/contract';
import { client, createMirrorTables, scanAll, type MirrorTables } from '../../support/dynamo';
import { insertRecord, multiActiveSettings, N, S, streamEvent } from '../../support/records';

/**
 * End to end on DynamoDB Local: the application writes to region A's table, the real stream
 * records are read back in Lambda shape, and processBatch replicates them with real clients.
 */

const A = 'eu-west-1';
const B = 'us-east-1';
const C = 'ap-south-1';
const noWait = { sleep: async () => undefined, random: () => 0.5 };

class CollectingParker implements Parker {
  readonly parked: { target: string; message: ParkedMessage }[] = [];
  constructor(private readonly failing = false) {}
  async park(target: string, message: ParkedMessage): Promise<void> {
    if (this.failing) throw new Error('SQS is down');
    this.parked.push({ target, message: JSON.parse(JSON.stringify(message)) });
  }
}

/** Counts write requests per region through an SDK middleware. */
function countingClient(region: string, writes: string[]): DynamoDBClient {
  const c = new DynamoDBClient({ region });
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (
        /^(TransactWriteItems|UpdateItem|PutItem|DeleteItem|BatchWriteItem)Command$/.test(
          context.commandName ?? '',
        )
      )
        writes.push(`${region}:${context.commandName}`);
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return c;
}

function settingsFor(
  tables: MirrorTables,
  region: string,
  regions: string[],
  overrides: Partial<MultiActiveSettings> = {},
): MultiActiveSettings {
  return multiActiveSettings({
    table: tables.table,
    tombstoneTable: tables.tombstoneTable,
    region,
    peers: regions.filter((r) => r !== region).map((r) => ({ region: r, parkingQueueUrl: `queue-${r}` })),
    ...overrides,
  });
}

async function save(region: string, table: string, pk: string, attrs: Record<string, string> = {}) {
  const names = Object.keys(attrs);
  await client(region).send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: { S: pk } },
      UpdateExpression: `ADD #v :one${names.length ? ` SET ${names.map((_, i) => `#a${i} = :a${i}`).join(', ')}` : ''}`,
      ExpressionAttributeNames: {
        '#v': 'version',
        ...Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
      },
      ExpressionAttributeValues: {
        ':one': { N: '1' },
        ...Object.fromEntries(names.map((n, i) => [`:a${i}`, { S: attrs[n] }])),
      },
    }),
  );
}
const remove = (region: string, table: string, pk: string) =>
  client(region).send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk } } }));

const byKey = <T>(items: T[]): T[] =>
  [...items].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
/** What the application sees: the replicator's `_ddbm_*` attributes left out. */
const visible = (items: Record<string, { S?: string }>[]) =>
  items
    .map((i) => Object.fromEntries(Object.entries(i).filter(([n]) => !n.startsWith('_ddbm_'))))
    .sort((x, y) => (x.pk.S ?? '').localeCompare(y.pk.S ?? ''));

describe('processBatch end to end (DynamoDB Local)', () => {
  test("replicates A's real stream batch of saves and a delete: B holds what A holds, with its order key, and A is not written", async () => {
    // GIVEN saves and a delete in A
    const tables = await createMirrorTables({
      regions: [A, B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
    });
    await save(A, tables.table, 'a', { colour: 'red' });
    await save(A, tables.table, 'a', { colour: 'blue' });
    await save(A, tables.table, 'gone');
    await remove(A, tables.table, 'gone');
    const records = await tables.readers[A].pollRecords();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'INSERT', 'REMOVE']);
    const telemetry = new CollectingTelemetry();
    // WHEN A's real stream batch is processed
    const res = await processBatch(streamEvent(records), {
      settings: settingsFor(tables, A, [A, B]),
      clients: { [A]: client(A), [B]: client(B) },
      parker: new CollectingParker(),
      telemetry,
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    // THEN B holds what A holds, with its order key, and A was not written
    expect(res.batchItemFailures).toEqual([]);
    const inA = await scanAll(A, tables.table);
    // Generation-0 saves are not stamped at the origin: A holds exactly what its application wrote.
    expect(inA).toEqual([{ pk: { S: 'a' }, colour: { S: 'blue' }, version: { N: '2' } }]);
    expect(await scanAll(B, tables.table)).toEqual([
      {
        ...inA[0],
        _ddbm_ord: { S: formatOrd({ gen: 0, version: '2', origin: A, deleted: false }) },
        _ddbm_ver: { N: '2' },
      },
    ]);
    expect(await scanAll(B, tables.tombstoneTable)).toEqual([
      expect.objectContaining({ pk: { S: 'gone' }, _ddbm_origin: { S: A } }),
    ]);
    expect(telemetry.total('RecordsApplied', B)).toBe(4);
    expect(telemetry.metrics.filter((m) => m.name === 'ReplicationLatency')).toHaveLength(4);
  });

  test("skips every record of B's stream after replication as an echo: zero writes anywhere", async () => {
    // GIVEN A's changes replicated to B
    const tables = await createMirrorTables({
      regions: [A, B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
    });
    await save(A, tables.table, 'x');
    await save(A, tables.table, 'x');
    await save(A, tables.table, 'y');
    await remove(A, tables.table, 'y');
    const deps = (
      region: string,
      clients: Record<string, DynamoDBClient>,
      telemetry = new CollectingTelemetry(),
    ) => ({
      settings: settingsFor(tables, region, [A, B]),
      clients,
      parker: new CollectingParker(),
      telemetry,
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    await processBatch(
      streamEvent(await tables.readers[A].pollRecords()),
      deps(A, { [A]: client(A), [B]: client(B) }),
    );
    await tables.readers[A].pollRecords(); // A's own stamp records, not part of this test
    const echoes = await tables.readers[B].pollRecords();
    expect(echoes.length).toBeGreaterThan(0);
    // WHEN B's replicator processes B's stream
    const writes: string[] = [];
    const telemetry = new CollectingTelemetry();
    const res = await processBatch(
      streamEvent(echoes),
      deps(B, { [A]: countingClient(A, writes), [B]: countingClient(B, writes) }, telemetry),
    );
    // THEN every record is an echo: zero writes anywhere
    expect(res.batchItemFailures).toEqual([]);
    expect(writes).toEqual([]);
    expect(telemetry.total('EchoesSkipped')).toBe(echoes.length);
  });

  test('changes no item when the same batch is delivered again (idempotent)', async () => {
    // GIVEN a batch of saves, a delete and a new life, processed once
    const tables = await createMirrorTables({
      regions: [A, B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
    });
    await save(A, tables.table, 'k1', { v: 'one' });
    await save(A, tables.table, 'k2');
    await remove(A, tables.table, 'k2');
    await save(A, tables.table, 'k2'); // a new life after the delete
    const records = await tables.readers[A].pollRecords();
    const run = (telemetry: CollectingTelemetry) =>
      processBatch(streamEvent(records), {
        settings: settingsFor(tables, A, [A, B]),
        clients: { [A]: client(A), [B]: client(B) },
        parker: new CollectingParker(),
        telemetry,
        deadline: Date.now() + 60_000,
        ...noWait,
      });
    await run(new CollectingTelemetry());
    const before = {
      a: byKey(await scanAll(A, tables.table)),
      b: byKey(await scanAll(B, tables.table)),
      bt: byKey(await scanAll(B, tables.tombstoneTable)),
    };
    expect(visible(before.b)).toEqual(visible(before.a));
    // The second life of k2 follows a tombstone: generation 1, stamped at the origin too.
    expect(before.b.find((i) => i.pk.S === 'k2')?._ddbm_ord?.S).toMatch(/^0000000001#/);
    expect(before.a.find((i) => i.pk.S === 'k2')?._ddbm_ord?.S).toMatch(/^0000000001#/);
    // WHEN the same batch is delivered again
    const telemetry = new CollectingTelemetry();
    const res = await run(telemetry);
    // THEN no item changes
    expect(res.batchItemFailures).toEqual([]);
    expect(telemetry.total('RecordsApplied')).toBe(0);
    expect({
      a: byKey(await scanAll(A, tables.table)),
      b: byKey(await scanAll(B, tables.table)),
      bt: byKey(await scanAll(B, tables.tombstoneTable)),
    }).toEqual(before);
  });

  test('parks the records of an unreachable target, gives the other target everything, and the parked records apply later', async () => {
    // GIVEN three regions, C unreachable
    const tables = await createMirrorTables({
      regions: [A, B, C],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [A],
    });
    await save(A, tables.table, 'p1', { n: '1' });
    await save(A, tables.table, 'p2');
    await save(A, tables.table, 'p1', { n: '2' });
    const records = await tables.readers[A].pollRecords();
    const dead = new DynamoDBClient({ region: C, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const parker = new CollectingParker();
    const telemetry = new CollectingTelemetry();
    const settings = settingsFor(tables, A, [A, B, C]);
    // WHEN A's batch is processed
    const res = await processBatch(streamEvent(records), {
      settings,
      clients: { [A]: client(A), [B]: client(B), [C]: dead },
      parker,
      telemetry,
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    dead.destroy();
    // THEN B gets everything, and C's records are parked
    expect(res.batchItemFailures).toEqual([]);
    expect(visible(await scanAll(B, tables.table))).toEqual(visible(await scanAll(A, tables.table)));
    expect(await scanAll(C, tables.table)).toEqual([]);
    // Items run in parallel: compare as sets (each item's own records stay in order).
    expect(parker.parked.map((p) => [p.target, p.message.sequenceNumber]).sort()).toEqual(
      records.map((r) => [C, r.dynamodb!.SequenceNumber]).sort(),
    );
    expect(telemetry.total('RecordsParked', C)).toBe(3);
    expect(telemetry.total('RecordsApplied', B)).toBe(3);
    // AND WHEN the consumer re-applies the parked messages (in reverse: queues do not keep order)
    const consumer = {
      settings,
      clients: { [C]: client(C) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
      ...noWait,
    };
    const results = [];
    for (const p of [...parker.parked].reverse())
      results.push((await applyParkedBody(JSON.stringify(p.message), consumer)).status);
    expect(results).toEqual(['done', 'done', 'done']);
    expect(byKey(await scanAll(C, tables.table))).toEqual(byKey(await scanAll(B, tables.table)));
  });

  test('reports a malformed record and the later records of its item by sequence number, with a log line; other items go on', async () => {
    // GIVEN a malformed record, a later record of its item, and another item
    const tables = await createMirrorTables({
      regions: [A, B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    const bad = insertRecord({ pk: S('m') }, { version: N(1) }, { streamViewType: 'KEYS_ONLY' });
    const later = insertRecord({ pk: S('m') }, { version: N(2) });
    const other = insertRecord({ pk: S('ok') }, { version: N(1) });
    const telemetry = new CollectingTelemetry();
    // WHEN the batch is processed
    const res = await processBatch(streamEvent([bad, other, later]), {
      settings: settingsFor(tables, A, [A, B]),
      clients: { [A]: client(A), [B]: client(B) },
      parker: new CollectingParker(),
      telemetry,
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    // THEN the malformed record and the later one of its item are reported and logged; the other item goes on
    expect(res.batchItemFailures).toEqual([
      { itemIdentifier: bad.dynamodb!.SequenceNumber },
      { itemIdentifier: later.dynamodb!.SequenceNumber },
    ]);
    expect(telemetry.total('MalformedRecords')).toBe(1);
    expect(telemetry.logs).toContainEqual({
      level: 'error',
      message: 'Malformed stream record',
      fields: {
        eventID: bad.eventID,
        sequenceNumber: bad.dynamodb!.SequenceNumber,
        keys: { pk: S('m') },
        reason: expect.stringMatching(/StreamViewType/),
      },
    });
    expect((await scanAll(B, tables.table)).map((i) => i.pk.S)).toEqual(['ok']);
  });

  test('reports a record as failed, never acknowledged, when its target is unreachable and parking fails', async () => {
    // GIVEN an unreachable target and parking that fails
    const tables = await createMirrorTables({
      regions: [A, B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    const record: DynamoDBRecord = insertRecord({ pk: S('z') }, { version: N(1) });
    const dead = new DynamoDBClient({ region: B, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const telemetry = new CollectingTelemetry();
    // WHEN the record is processed
    const res = await processBatch(streamEvent([record]), {
      settings: settingsFor(tables, A, [A, B]),
      clients: { [A]: client(A), [B]: dead },
      parker: new CollectingParker(true),
      telemetry,
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    dead.destroy();
    // THEN it is reported as failed
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb!.SequenceNumber }]);
    expect(telemetry.logs.map((l) => l.message)).toContain('Parking failed');
  });
});
