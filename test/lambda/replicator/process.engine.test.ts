import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { applyParkedBody } from '../../../lambda/parked/consumer';
import { processBatch, WAIT_DELAY_SECONDS, type Parker } from '../../../lambda/replicator/process';
import { replicatedPut } from '../../../lambda/replicator/decide';
import { applyIntent } from '../../../lambda/core/apply';
import { fromSdkImage } from '../../../lambda/core/attributes';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import type { ParkedMessage } from '../../../lambda/core/intents';
import { formatOrd } from '../../../lambda/core/order';
import type { MultiActiveSettings } from '../../../lambda/contract';
import { client, createMirrorTables, scanAll, type MirrorTables } from '../../support/dynamo';
import { insertRecord, multiActiveSettings, N, S, streamEvent } from '../../support/records';

/**
 * End to end on DynamoDB Local: the application writes to a region's table, the real stream
 * records are read back in Lambda shape, and processBatch replicates them with real clients.
 */

const A = 'eu-west-1';
const B = 'us-east-1';
const C = 'ap-south-1';
const noWait = { sleep: async () => undefined, random: () => 0.5 };
const ord = (gen: number, version: number, origin: string) =>
  formatOrd({ gen, version: String(version), origin, deleted: false });

class CollectingParker implements Parker {
  readonly parked: { target: string; message: ParkedMessage; delaySeconds?: number }[] = [];
  constructor(private readonly failing = false) {}
  async park(target: string, message: ParkedMessage, options?: { delaySeconds?: number }): Promise<void> {
    if (this.failing) throw new Error('SQS is down');
    this.parked.push({ target, message: JSON.parse(JSON.stringify(message)), ...options });
  }
}

const WRITES = /^(TransactWriteItems|UpdateItem|PutItem|DeleteItem|BatchWriteItem)Command$/;

/** Counts write requests per region through an SDK middleware. */
function countingClient(region: string, writes: string[]): DynamoDBClient {
  const c = new DynamoDBClient({ region });
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (WRITES.test(context.commandName ?? '')) writes.push(`${region}:${context.commandName}`);
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
  return c;
}

/**
 * A client whose first `command` commits at the engine and then fails with `error()`: a 500 is the
 * answer DynamoDB can give for a write it applied (the SDK retries it); a non-retryable error stands
 * for the invocation dying right after the write (the batch is delivered again).
 */
function failingAfterCommit(region: string, command: string, error: () => Error): DynamoDBClient {
  const c = new DynamoDBClient({ region });
  let armed = true;
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (armed && context.commandName === command) {
        armed = false;
        throw error();
      }
      return output;
    },
    { step: 'initialize', name: 'failAfterCommit' },
  );
  return c;
}
const answerLost = () =>
  Object.assign(new Error('the answer was lost after the write committed'), { name: 'InternalServerError' });
const invocationDied = () =>
  Object.assign(new Error('the invocation died after the write'), {
    name: 'InvocationDied',
    $metadata: { httpStatusCode: 400 },
  });

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

/** processBatch of `records` by `region`'s replicator, with real clients unless some are given. */
function replicate(
  tables: MirrorTables,
  region: string,
  regions: string[],
  records: DynamoDBRecord[],
  options: {
    clients?: Record<string, DynamoDBClient>;
    parker?: Parker;
    telemetry?: CollectingTelemetry;
  } = {},
) {
  return processBatch(streamEvent(records), {
    settings: settingsFor(tables, region, regions),
    clients: { ...Object.fromEntries(regions.map((r) => [r, client(r)])), ...options.clients },
    parker: options.parker ?? new CollectingParker(),
    telemetry: options.telemetry ?? new CollectingTelemetry(),
    deadline: Date.now() + 60_000,
    ...noWait,
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
async function itemIn(region: string, table: string, pk: string) {
  const res = await client(region).send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return res.Item;
}

const byKey = <T>(items: T[]): T[] =>
  [...items].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
/** What the application sees: the replicator's `_ddbm_*` attributes left out. */
const visible = (items: Record<string, { S?: string }>[]) =>
  items
    .map((i) => Object.fromEntries(Object.entries(i).filter(([n]) => !n.startsWith('_ddbm_'))))
    .sort((x, y) => (x.pk.S ?? '').localeCompare(y.pk.S ?? ''));
const tablesOf = (regions: string[], streamRegions = regions) =>
  createMirrorTables({ regions, key: { partitionKey: { name: 'pk', type: 'S' } }, streamRegions });

describe('processBatch end to end (DynamoDB Local)', () => {
  test('a new life is stamped at its origin (one write there), then sent: both regions hold generation 0 with its order key', async () => {
    // GIVEN a new item in A
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k', { colour: 'red' });
    const records = await tables.readers[A].pollRecords();
    // WHEN A's replicator processes its INSERT
    const writes: string[] = [];
    const res = await replicate(tables, A, [A, B], records, {
      clients: { [A]: countingClient(A, writes), [B]: countingClient(B, writes) },
    });
    // THEN one stamp write in A, one put in B, and both hold the stamped state
    expect(res.batchItemFailures).toEqual([]);
    expect(writes).toEqual([`${A}:UpdateItemCommand`, `${B}:PutItemCommand`]);
    const stamped = {
      pk: { S: 'k' },
      colour: { S: 'red' },
      version: { N: '1' },
      _ddbm_ord: { S: ord(0, 1, A) },
      _ddbm_ver: { N: '1' },
    };
    expect(await scanAll(A, tables.table)).toEqual([stamped]);
    expect(await scanAll(B, tables.table)).toEqual([stamped]);
    // AND the stamp's own record in A's stream is an echo: nothing written anywhere
    const stampRecords = await tables.readers[A].pollRecords();
    expect(stampRecords.map((r) => r.eventName)).toEqual(['MODIFY']);
    const more: string[] = [];
    const telemetry = new CollectingTelemetry();
    await replicate(tables, A, [A, B], stampRecords, {
      clients: { [A]: countingClient(A, more), [B]: countingClient(B, more) },
      telemetry,
    });
    expect(more).toEqual([]);
    expect(telemetry.total('EchoesSkipped')).toBe(1);
  });

  test("a batch of saves is sent as the item's latest stamped state; a life created and deleted before its stamp is sent nowhere", async () => {
    // GIVEN two saves of one item and a life deleted before A's replicator read it
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'a', { colour: 'red' });
    await save(A, tables.table, 'a', { colour: 'blue' });
    await save(A, tables.table, 'gone');
    await remove(A, tables.table, 'gone');
    const records = await tables.readers[A].pollRecords();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'INSERT', 'REMOVE']);
    const telemetry = new CollectingTelemetry();
    // WHEN A's real stream batch is processed
    const res = await replicate(tables, A, [A, B], records, { telemetry });
    // THEN B holds what A holds, with A's order key; 'gone' left no item and no tombstone in B
    expect(res.batchItemFailures).toEqual([]);
    const inA = await scanAll(A, tables.table);
    expect(inA).toEqual([
      {
        pk: { S: 'a' },
        colour: { S: 'blue' },
        version: { N: '2' },
        _ddbm_ord: { S: ord(0, 2, A) },
        _ddbm_ver: { N: '2' },
      },
    ]);
    expect(await scanAll(B, tables.table)).toEqual(inA);
    expect(await scanAll(B, tables.tombstoneTable)).toEqual([]);
    // The INSERT stamped the later state for the MODIFY's record, which sent it: one put.
    expect(telemetry.total('RecordsApplied', B)).toBe(1);
    expect(telemetry.metrics.filter((m) => m.name === 'ReplicationLatency')).toHaveLength(1);
  });

  test('a stamp whose answer is lost is retried, meets its own stamp and sends that state', async () => {
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k', { colour: 'red' });
    const records = await tables.readers[A].pollRecords();
    // WHEN A's stamp commits and its answer is lost
    const res = await replicate(tables, A, [A, B], records, {
      clients: { [A]: failingAfterCommit(A, 'UpdateItemCommand', answerLost) },
    });
    // THEN the record is done, and B holds the stamped state
    expect(res.batchItemFailures).toEqual([]);
    expect((await itemIn(B, tables.table, 'k'))?._ddbm_ord).toEqual({ S: ord(0, 1, A) });
    expect((await tables.readers[A].pollRecords()).map((r) => r.eventName)).toEqual(['MODIFY']);
  });

  test('an invocation that dies after the stamp: the INSERT delivered again sends the same order key and writes nothing new at the origin', async () => {
    // GIVEN A's stamp committed and the invocation died before the send
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k', { colour: 'red' });
    const records = await tables.readers[A].pollRecords();
    const first = await replicate(tables, A, [A, B], records, {
      clients: { [A]: failingAfterCommit(A, 'UpdateItemCommand', invocationDied) },
    });
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: records[0].dynamodb!.SequenceNumber }]);
    expect(await scanAll(B, tables.table)).toEqual([]);
    const stamped = await itemIn(A, tables.table, 'k');
    expect(stamped?._ddbm_ord).toEqual({ S: ord(0, 1, A) });
    // WHEN the batch is delivered again
    const again = await replicate(tables, A, [A, B], records);
    // THEN B gets the order key the item holds, and A's item and stream are as the stamp left them
    expect(again.batchItemFailures).toEqual([]);
    expect(await itemIn(B, tables.table, 'k')).toEqual(stamped);
    expect(await itemIn(A, tables.table, 'k')).toEqual(stamped);
    expect((await tables.readers[A].pollRecords()).map((r) => r.eventName)).toEqual(['MODIFY']);
  });

  test("skips every record of B's stream that A's replicator wrote as an echo: zero writes anywhere", async () => {
    // GIVEN A's saves and delete, each replicated to B in its own batch
    const tables = await tablesOf([A, B]);
    const writes: string[] = [];
    const telemetry = new CollectingTelemetry();
    const echoes: DynamoDBRecord[] = [];
    for (const write of [
      () => save(A, tables.table, 'x'),
      () => save(A, tables.table, 'x'),
      () => save(A, tables.table, 'y'),
      () => remove(A, tables.table, 'y'),
    ]) {
      await write();
      await replicate(tables, A, [A, B], await tables.readers[A].pollRecords());
      // WHEN B's replicator reads each record its peer's write left in B's stream
      const records = await tables.readers[B].pollRecords();
      echoes.push(...records);
      const res = await replicate(tables, B, [A, B], records, {
        clients: { [A]: countingClient(A, writes), [B]: countingClient(B, writes) },
        telemetry,
      });
      expect(res.batchItemFailures).toEqual([]);
    }
    // THEN every record is an echo: zero writes anywhere
    expect(echoes.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'INSERT', 'REMOVE']);
    expect(writes).toEqual([]);
    expect(telemetry.total('EchoesSkipped')).toBe(echoes.length);
  });

  test('changes no item and no tombstone when the same records are delivered again (idempotent)', async () => {
    // GIVEN a save, a life that was sent and deleted, and the next life of its key, all processed once
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k1', { v: 'one' });
    await save(A, tables.table, 'k2', { life: 'first' });
    const records = await tables.readers[A].pollRecords();
    await replicate(tables, A, [A, B], records);
    await remove(A, tables.table, 'k2');
    await save(A, tables.table, 'k2', { life: 'second' });
    const later = await tables.readers[A].pollRecords();
    await replicate(tables, A, [A, B], later);
    records.push(...later, ...(await tables.readers[A].pollRecords()));
    const snapshot = async () => ({
      a: byKey(await scanAll(A, tables.table)),
      b: byKey(await scanAll(B, tables.table)),
      at: byKey(await scanAll(A, tables.tombstoneTable)),
      bt: byKey(await scanAll(B, tables.tombstoneTable)),
    });
    const before = await snapshot();
    expect(visible(before.b)).toEqual(visible(before.a));
    // The second life of k2 follows the first one's delete: generation 1, in both regions.
    expect(before.a.find((i) => i.pk.S === 'k2')?._ddbm_ord).toEqual({ S: ord(1, 1, A) });
    expect(before.b.find((i) => i.pk.S === 'k2')?._ddbm_ord).toEqual({ S: ord(1, 1, A) });
    // WHEN every record is delivered again in one batch
    const telemetry = new CollectingTelemetry();
    const res = await replicate(tables, A, [A, B], records, { telemetry });
    // THEN nothing is applied and nothing changes
    expect(res.batchItemFailures).toEqual([]);
    expect(telemetry.total('RecordsApplied')).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  /**
   * k created in A and replicated to B, deleted by B's application and that delete sent to A; then A's
   * put delivered to B once more (a duplicate): with no item there, it is written.
   */
  async function staleDuplicateInB(tables: MirrorTables): Promise<void> {
    await save(A, tables.table, 'k', { a: 'x' });
    await replicate(tables, A, [A, B], await tables.readers[A].pollRecords());
    const held = await itemIn(A, tables.table, 'k');
    const sent = fromSdkImage(held as unknown as Record<string, Record<string, unknown>>);
    await remove(B, tables.table, 'k');
    await replicate(tables, B, [A, B], await tables.readers[B].pollRecords());
    expect(await itemIn(A, tables.table, 'k')).toBeUndefined();
    const settingsA = settingsFor(tables, A, [A, B]);
    const duplicate = replicatedPut(sent, { pk: S('k') }, settingsA, ord(0, 1, A), '1');
    expect(
      await applyIntent(client(B), settingsA, B, duplicate, { ...noWait, deadline: Date.now() + 60_000 }),
    ).toEqual({ status: 'applied' });
  }

  test("a stale peer save that lands after this region's delete is undone by this region's replicator reading its INSERT", async () => {
    // GIVEN a stale duplicate of A's put written in B after B's delete
    const tables = await tablesOf([A, B]);
    await staleDuplicateInB(tables);
    // WHEN B's replicator reads its stream
    const telemetry = new CollectingTelemetry();
    const res = await replicate(tables, B, [A, B], await tables.readers[B].pollRecords(), { telemetry });
    // THEN the insert is undone: the key stays deleted in both regions
    expect(res.batchItemFailures).toEqual([]);
    expect(telemetry.total('StaleInsertsUndone')).toBe(1);
    expect(await scanAll(B, tables.table)).toEqual([]);
    expect(await scanAll(A, tables.table)).toEqual([]);
  });

  test('an application save of that stale item made before the undo becomes the next life and wins everywhere', async () => {
    // GIVEN the same stale duplicate in B, saved by B's application before B's replicator reads it
    const tables = await tablesOf([A, B]);
    await staleDuplicateInB(tables);
    await save(B, tables.table, 'k', { a: 'mine' });
    // WHEN B's replicator reads its stream (the stale INSERT, the application's MODIFY), then its own stamp
    const res = await replicate(tables, B, [A, B], await tables.readers[B].pollRecords());
    await replicate(tables, B, [A, B], await tables.readers[B].pollRecords());
    // AND A's replicator reads what arrived in A
    await replicate(tables, A, [A, B], await tables.readers[A].pollRecords());
    // THEN the save survives in both regions, ordered after the delete as generation 1
    expect(res.batchItemFailures).toEqual([]);
    const expected = {
      pk: { S: 'k' },
      a: { S: 'mine' },
      version: { N: '2' },
      _ddbm_ord: { S: ord(1, 2, B) },
      _ddbm_ver: { N: '2' },
    };
    expect(await scanAll(B, tables.table)).toEqual([expected]);
    expect(await scanAll(A, tables.table)).toEqual([expected]);
  });

  test("a write meeting an item its region has not stamped yet is parked, waits on the queue, and applies once that region's replicator stamped it", async () => {
    // GIVEN k saved in A and in B at version 1; only B's replicator has run
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k', { by: 'A' });
    await save(B, tables.table, 'k', { by: 'B' });
    const parker = new CollectingParker();
    const telemetry = new CollectingTelemetry();
    // WHEN B's replicator sends its save
    const res = await replicate(tables, B, [A, B], await tables.readers[B].pollRecords(), {
      parker,
      telemetry,
    });
    // THEN A's unordered item (least order key (0, 1, eu-west-1), below B's) is left as it is and the write parked
    expect(res.batchItemFailures).toEqual([]);
    expect(parker.parked.map((p) => [p.target, p.message.intent.ord, p.delaySeconds])).toEqual([
      [A, ord(0, 1, B), WAIT_DELAY_SECONDS],
    ]);
    expect(telemetry.total('RecordsDeferred', A)).toBe(1);
    expect(await scanAll(A, tables.table)).toEqual([{ pk: { S: 'k' }, by: { S: 'A' }, version: { N: '1' } }]);
    // AND the consumer leaves it on the queue while A has not ordered its item
    const consumer = {
      settings: settingsFor(tables, B, [A, B]),
      clients: { [A]: client(A) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
      ...noWait,
    };
    const body = JSON.stringify(parker.parked[0].message);
    expect((await applyParkedBody(body, consumer)).status).toBe('retry');
    // WHEN A's replicator stamps and sends its own save (it loses to B's at B) and the consumer tries again
    await replicate(tables, A, [A, B], await tables.readers[A].pollRecords());
    expect(await applyParkedBody(body, consumer)).toEqual({ status: 'done', outcome: { status: 'applied' } });
    // THEN both regions hold B's save
    expect(await scanAll(A, tables.table)).toEqual(await scanAll(B, tables.table));
    expect((await itemIn(A, tables.table, 'k'))?.by).toEqual({ S: 'B' });
  });

  test("a replicated insert whose answer is lost at a peer that already applied the key's delete ends deleted there: the check runs from the stream", async () => {
    // GIVEN k saved in A while B was unreachable (its put parked), then deleted in A with B back
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k');
    const dead = new DynamoDBClient({ region: B, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const parker = new CollectingParker();
    await replicate(tables, A, [A, B], await tables.readers[A].pollRecords(), {
      clients: { [B]: dead },
      parker,
    });
    dead.destroy();
    await remove(A, tables.table, 'k');
    await replicate(tables, A, [A, B], await tables.readers[A].pollRecords());
    expect((await scanAll(B, tables.tombstoneTable)).map((t) => t._ddbm_origin)).toEqual([{ S: A }]);
    // WHEN the parked put is applied at B, commits, and its answer is lost (the retry meets its own effect)
    const lossy = failingAfterCommit(B, 'PutItemCommand', answerLost);
    const consumed = await applyParkedBody(JSON.stringify(parker.parked[0].message), {
      settings: settingsFor(tables, A, [A, B]),
      clients: { [B]: lossy },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
      ...noWait,
    });
    expect(consumed).toMatchObject({ status: 'done', outcome: { status: 'stale' } });
    expect(await itemIn(B, tables.table, 'k')).toBeDefined(); // the window: the put did create the item
    // AND B's replicator reads its stream
    const res = await replicate(tables, B, [A, B], await tables.readers[B].pollRecords());
    // THEN the item is gone from B, as from A
    expect(res.batchItemFailures).toEqual([]);
    expect(await scanAll(B, tables.table)).toEqual([]);
    expect(await scanAll(A, tables.table)).toEqual([]);
  });

  test('a stamped INSERT delivered again after its life was deleted and a new life saved past version 1 leaves the new life in every region', async () => {
    // GIVEN k's first life stamped in A by an invocation that died before sending it
    const tables = await tablesOf([A, B]);
    await save(A, tables.table, 'k', { life: 'one' });
    const records = await tables.readers[A].pollRecords();
    const first = await replicate(tables, A, [A, B], records, {
      clients: { [A]: failingAfterCommit(A, 'UpdateItemCommand', invocationDied) },
    });
    expect(first.batchItemFailures).toHaveLength(1);
    // AND the application saved it up to version 5, deleted it and saved a second life up to version 3
    for (let v = 2; v <= 5; v += 1) await save(A, tables.table, 'k', { life: 'one' });
    await remove(A, tables.table, 'k');
    for (let v = 1; v <= 3; v += 1) await save(A, tables.table, 'k', { life: 'two' });
    records.push(...(await tables.readers[A].pollRecords()));
    // WHEN the whole range is delivered again and every region's replicator runs
    expect((await replicate(tables, A, [A, B], records)).batchItemFailures).toEqual([]);
    for (let round = 0; round < 2; round += 1)
      for (const region of [A, B])
        await replicate(tables, region, [A, B], await tables.readers[region].pollRecords());
    // THEN both regions hold the second life (the re-delivered INSERT must not stamp it with the first
    // life's generation, below the first life's delete)
    expect(visible(await scanAll(A, tables.table))).toEqual([
      { pk: { S: 'k' }, life: { S: 'two' }, version: { N: '3' } },
    ]);
    expect(visible(await scanAll(B, tables.table))).toEqual(visible(await scanAll(A, tables.table)));
  });

  test('parks the records of an unreachable target, gives the other target everything, and the parked records apply later', async () => {
    // GIVEN three regions, C unreachable
    const tables = await tablesOf([A, B, C], [A]);
    await save(A, tables.table, 'p1', { n: '1' });
    await save(A, tables.table, 'p2');
    await save(A, tables.table, 'p1', { n: '2' });
    const records = await tables.readers[A].pollRecords();
    const dead = new DynamoDBClient({ region: C, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const parker = new CollectingParker();
    const telemetry = new CollectingTelemetry();
    // WHEN A's batch is processed
    const res = await replicate(tables, A, [A, B, C], records, { clients: { [C]: dead }, parker, telemetry });
    dead.destroy();
    // THEN B gets everything, and C's sends are parked: p2's INSERT and p1's MODIFY (p1's INSERT
    // stamped the later state, whose own record sends it)
    expect(res.batchItemFailures).toEqual([]);
    expect(visible(await scanAll(B, tables.table))).toEqual(visible(await scanAll(A, tables.table)));
    expect(await scanAll(C, tables.table)).toEqual([]);
    expect(parker.parked.map((p) => [p.target, p.message.sequenceNumber]).sort()).toEqual(
      [records[1], records[2]].map((r) => [C, r.dynamodb!.SequenceNumber]).sort(),
    );
    expect(telemetry.total('RecordsParked', C)).toBe(2);
    expect(telemetry.total('RecordsApplied', B)).toBe(2);
    // AND WHEN the consumer re-applies the parked messages (in reverse: queues do not keep order)
    const consumer = {
      settings: settingsFor(tables, A, [A, B, C]),
      clients: { [C]: client(C) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
      ...noWait,
    };
    const results = [];
    for (const p of [...parker.parked].reverse())
      results.push((await applyParkedBody(JSON.stringify(p.message), consumer)).status);
    expect(results).toEqual(['done', 'done']);
    expect(byKey(await scanAll(C, tables.table))).toEqual(byKey(await scanAll(B, tables.table)));
  });

  test('reports a malformed record and the later records of its item by sequence number, with a log line; other items go on', async () => {
    // GIVEN a malformed record, a later record of its item, and another item A holds
    const tables = await tablesOf([A, B], []);
    await client(A).send(
      new PutItemCommand({ TableName: tables.table, Item: { pk: { S: 'ok' }, version: { N: '1' } } }),
    );
    const bad = insertRecord({ pk: S('m') }, { version: N(1) }, { streamViewType: 'KEYS_ONLY' });
    const later = insertRecord({ pk: S('m') }, { version: N(2) });
    const other = insertRecord({ pk: S('ok') }, { version: N(1) });
    const telemetry = new CollectingTelemetry();
    // WHEN the batch is processed
    const res = await replicate(tables, A, [A, B], [bad, other, later], { telemetry });
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
    // GIVEN an item in A, an unreachable target and parking that fails
    const tables = await tablesOf([A, B], []);
    await client(A).send(
      new PutItemCommand({ TableName: tables.table, Item: { pk: { S: 'z' }, version: { N: '1' } } }),
    );
    const record: DynamoDBRecord = insertRecord({ pk: S('z') }, { version: N(1) });
    const dead = new DynamoDBClient({ region: B, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const telemetry = new CollectingTelemetry();
    // WHEN its record is processed
    const res = await replicate(tables, A, [A, B], [record], {
      clients: { [B]: dead },
      parker: new CollectingParker(true),
      telemetry,
    });
    dead.destroy();
    // THEN it is reported as failed
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb!.SequenceNumber }]);
    expect(telemetry.logs.map((l) => l.message)).toContain('Parking failed');
  });
});
