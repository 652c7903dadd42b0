import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { consumeParked, parkedAgeLimitSeconds, parseParkedMessage } from '../../../lambda/parked/consumer';
import { applyIntent } from '../../../lambda/core/apply';
import { toSdkImage } from '../../../lambda/core/attributes';
import { deleteOrdOf, formatOrd, parseOrd } from '../../../lambda/core/order';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import type { ParkedMessage, WriteIntent } from '../../../lambda/core/intents';
import { client, createMirrorTables, scanAll } from '../../support/dynamo';
import { multiActiveSettings, N, S } from '../../support/records';

const A = 'eu-west-1';
const B = 'us-east-1';
const ord = (version: number) => formatOrd({ gen: 0, version: String(version), origin: A, deleted: false });
const message = (table: string, pk: string, version: number): ParkedMessage => ({
  targetRegion: B,
  table,
  origin: A,
  sequenceNumber: '100000000000000000001',
  eventID: 'ev-1',
  parkedAt: new Date().toISOString(),
  reason: 'test',
  intent: {
    op: 'put',
    key: { pk: S(pk) },
    item: { pk: S(pk), version: N(version), _ddbm_ord: S(ord(version)), _ddbm_ver: N(version) },
    ord: ord(version),
    origin: A,
    version: String(version),
  },
});
const sqsEvent = (bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({ messageId: `m${i}`, body }) as SQSEvent['Records'][number]),
});

describe('parked-record consumer (DynamoDB Local)', () => {
  test('of an applicable, an unparseable, a waiting and an unreachable message, leaves the unparseable, the waiting and the unreachable on the queue', async () => {
    // GIVEN a target item its region has not ordered yet, and a region nobody answers in
    const C = 'ap-south-1';
    const tables = await createMirrorTables({
      regions: [B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    await client(B).send(
      new PutItemCommand({ TableName: tables.table, Item: { pk: { S: 'busy' }, version: { N: '3' } } }),
    );
    const settings = multiActiveSettings({
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      region: A,
      maxAttempts: 2,
    });
    const dead = new DynamoDBClient({ region: C, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const telemetry = new CollectingTelemetry();
    let slept = 0;
    // WHEN the four messages are consumed
    const res = await consumeParked(
      sqsEvent([
        JSON.stringify(message(tables.table, 'ok', 1)),
        '{not json',
        JSON.stringify(message(tables.table, 'busy', 4)),
        JSON.stringify({ ...message(tables.table, 'far', 1), targetRegion: C }),
      ]),
      {
        settings,
        clients: { [B]: client(B), [C]: dead },
        telemetry,
        deadline: Date.now() + 60_000,
        sleep: async (ms) => void (slept += ms),
      },
    );
    // THEN the write that meets the unordered item waits on the queue, writing nothing (tried again until
    // B's replicator stamps it); the dead region's stays queued too
    expect(res.batchItemFailures).toEqual([
      { itemIdentifier: 'm1' },
      { itemIdentifier: 'm2' },
      { itemIdentifier: 'm3' },
    ]);
    expect((await scanAll(B, tables.table)).map((i) => [i.pk.S, i._ddbm_ord?.S]).sort()).toEqual([
      ['busy', undefined],
      ['ok', ord(1)],
    ]);
    expect(telemetry.total('RecordsDeferred', B)).toBe(1);
    expect(telemetry.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'Parked record still not applicable',
        fields: { messageId: 'm2', outcome: { status: 'deferred' } },
      }),
    );
    expect(telemetry.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'Parked message cannot be applied',
        fields: expect.objectContaining({ messageId: 'm1' }),
      }),
    );
    dead.destroy();
  });

  test('acknowledges a parked record that a later write overtook, as stale', async () => {
    // GIVEN version 2 of an item already applied
    const tables = await createMirrorTables({
      regions: [B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    const settings = multiActiveSettings({
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      region: A,
    });
    const deps = {
      settings,
      clients: { [B]: client(B) },
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
      sleep: async () => undefined,
    };
    await consumeParked(sqsEvent([JSON.stringify(message(tables.table, 'k', 2))]), deps);
    // WHEN a parked version 1 comes
    const res = await consumeParked(sqsEvent([JSON.stringify(message(tables.table, 'k', 1))]), deps);
    // THEN it is done (no failure), counted as stale
    expect(res.batchItemFailures).toEqual([]);
    expect(deps.telemetry.total('RecordsSkippedStale')).toBe(1);
  });
});

describe('parked writes older than the tombstone lifetime allows (DynamoDB Local)', () => {
  const DAY = 86_400;
  const now = Date.parse('2026-03-01T12:00:00Z');
  const parkedAgo = (seconds: number) => new Date(now - seconds * 1000).toISOString();

  test('applies a fresh write and one just inside the limit, refuses one past it even where the tombstone is gone', async () => {
    // GIVEN a target where 'gone' and 'twin' were saved, deleted, and their tombstones have since expired
    // (TTL removed them): nothing there tells a stale save of either from a new one
    const tables = await createMirrorTables({
      regions: [B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    const settings = multiActiveSettings({
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      region: A,
    });
    const telemetry = new CollectingTelemetry();
    const deps = { settings, clients: { [B]: client(B) }, telemetry, deadline: now + 60_000, now: () => now };
    for (const pk of ['gone', 'twin']) {
      const save = message(tables.table, pk, 1).intent;
      expect((await applyIntent(client(B), settings, B, save, deps)).status).toBe('applied');
      const del: WriteIntent = {
        op: 'delete',
        key: save.key,
        ord: deleteOrdOf(parseOrd(save.ord)!),
        origin: A,
      };
      expect((await applyIntent(client(B), settings, B, del, deps)).status).toBe('applied');
      await client(B).send(
        new DeleteItemCommand({ TableName: tables.tombstoneTable, Key: toSdkImage(save.key) }),
      );
    }
    const limit = parkedAgeLimitSeconds(settings);
    expect(limit).toBe(28 * DAY);
    const parked = (pk: string, ageSeconds: number) =>
      JSON.stringify({
        ...message(tables.table, pk, 1),
        eventID: `ev-${pk}`,
        parkedAt: parkedAgo(ageSeconds),
      });

    // WHEN the stale save of 'gone' comes back from a queue a minute past the limit, with fresh saves and
    // one a minute inside it
    const res = await consumeParked(
      sqsEvent([
        parked('gone', limit + 60),
        parked('fresh', 5),
        parked('edge', limit - 60),
        parked('twin', 5),
      ]),
      deps,
    );

    // THEN every message is acknowledged; the old write is refused, counted and logged with its identity
    expect(res.batchItemFailures).toEqual([]);
    expect(telemetry.total('ParkedTooOld')).toBe(1);
    expect(telemetry.total('RecordsApplied', B)).toBe(3);
    expect(telemetry.logs.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        message: 'Parked write older than the tombstone lifetime allows: refused, not applied',
        fields: expect.objectContaining({
          eventID: 'ev-gone',
          sequenceNumber: '100000000000000000001',
          key: { pk: S('gone') },
          parkedAt: parkedAgo(limit + 60),
          ageSeconds: limit + 60,
          limitSeconds: limit,
        }),
      },
    ]);
    // AND the deleted key stays deleted, while the same write of 'twin', young enough, came back: only its
    // age kept 'gone' out
    expect((await scanAll(B, tables.table)).map((i) => i.pk.S).sort()).toEqual(['edge', 'fresh', 'twin']);
  });

  test('refuses by the time the write was first parked, not by when its message was last sent', async () => {
    // GIVEN a write parked 40 days ago whose message a drain re-sent a moment ago (a fresh SQS message)
    const tables = await createMirrorTables({
      regions: [B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    const settings = multiActiveSettings({
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      region: A,
    });
    const body = JSON.stringify({ ...message(tables.table, 'k', 1), parkedAt: parkedAgo(40 * DAY) });
    const event = sqsEvent([body]);
    event.Records[0].attributes = {
      SentTimestamp: String(now - 1000),
    } as SQSEvent['Records'][number]['attributes'];
    const telemetry = new CollectingTelemetry();

    // WHEN it is consumed
    const res = await consumeParked(event, {
      settings,
      clients: { [B]: client(B) },
      telemetry,
      deadline: now + 60_000,
      now: () => now,
    });

    // THEN it is refused and acknowledged, and the target holds nothing
    expect(res.batchItemFailures).toEqual([]);
    expect(telemetry.total('ParkedTooOld')).toBe(1);
    expect(await scanAll(B, tables.table)).toEqual([]);
  });
});

describe('parseParkedMessage', () => {
  test.each([
    ['not JSON', 'nope', /not JSON/],
    ['no intent', JSON.stringify({ targetRegion: B, table: 't' }), /intent/],
    [
      'a write without the time it was parked',
      JSON.stringify({ ...message('t', 'k', 1), parkedAt: undefined }),
      /^invalid or missing: parkedAt$/,
    ],
    [
      'a parkedAt that is no time',
      JSON.stringify({ ...message('t', 'k', 1), parkedAt: 'last week' }),
      /^invalid or missing: parkedAt$/,
    ],
    [
      'a put without item',
      JSON.stringify({ targetRegion: B, table: 't', intent: { op: 'put', key: {}, ord: 'o', origin: A } }),
      /intent \(invalid or missing: item\)/,
    ],
    [
      'an unknown op',
      JSON.stringify({ targetRegion: B, table: 't', intent: { op: 'upsert', key: {}, ord: 'o', origin: A } }),
      /intent \(invalid or missing: op\)/,
    ],
  ])('rejects %s', (_name, body, reason) => {
    expect(parseParkedMessage(body)).toMatch(reason);
  });
});
