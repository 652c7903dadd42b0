import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { consumeParked, parseParkedMessage } from '../../../lambda/parked/consumer';
import { formatOrd } from '../../../lambda/core/order';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import type { ParkedMessage } from '../../../lambda/core/intents';
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
  test('of an applicable, an unparseable, a deferrable and an unreachable message, reports only the unparseable and the unreachable as failures', async () => {
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
    // THEN the unordered item took the write as a deferral (no waiting); the dead region stays queued
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    expect((await scanAll(B, tables.table)).map((i) => [i.pk.S, i._ddbm_defo?.S]).sort()).toEqual([
      ['busy', ord(4)],
      ['ok', undefined],
    ]);
    expect(telemetry.total('RecordsDeferred', B)).toBe(1);
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

describe('parseParkedMessage', () => {
  test.each([
    ['not JSON', 'nope', /not JSON/],
    ['no intent', JSON.stringify({ targetRegion: B, table: 't' }), /intent/],
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
