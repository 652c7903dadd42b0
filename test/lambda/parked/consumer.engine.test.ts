import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { consumeParked, parseParkedMessage } from '../../../lambda/parked/consumer';
import { formatOrd } from '../../../lambda/core/order';
import { CONSUMER_PENDING_WAIT_MS, DEFAULT_PENDING_WAIT_MS } from '../../../lambda/core/apply';
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
  test('GIVEN an applicable, an unparseable and a still-pending message THEN only the last two are reported as failures', async () => {
    // GIVEN
    const tables = await createMirrorTables({
      regions: [B],
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    await client(B).send(
      new PutItemCommand({ TableName: tables.table, Item: { pk: { S: 'busy' }, version: { N: '3' } } }),
    ); // unstamped
    const settings = multiActiveSettings({
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      region: A,
      maxAttempts: 2,
    });
    const telemetry = new CollectingTelemetry();
    let clock = Date.now();
    let slept = 0;
    // WHEN
    const res = await consumeParked(
      sqsEvent([
        JSON.stringify(message(tables.table, 'ok', 1)),
        '{not json',
        JSON.stringify(message(tables.table, 'busy', 3)),
      ]),
      {
        settings,
        clients: { [B]: client(B) },
        telemetry,
        deadline: clock + 60_000,
        now: () => clock,
        sleep: async (ms) => {
          slept += ms;
          clock += ms;
        },
      },
    );
    // THEN
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    // The consumer blocks no stream: it waited for the pending item well past the replicator's budget.
    expect(slept).toBeGreaterThan(DEFAULT_PENDING_WAIT_MS);
    expect(slept).toBeLessThanOrEqual(CONSUMER_PENDING_WAIT_MS);
    expect((await scanAll(B, tables.table)).map((i) => i.pk.S).sort()).toEqual(['busy', 'ok']);
    expect(telemetry.logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'Parked message cannot be applied',
        fields: expect.objectContaining({ messageId: 'm1' }),
      }),
    );
  });

  test('GIVEN a parked record that a later write overtook THEN it is done as stale', async () => {
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
    const res = await consumeParked(sqsEvent([JSON.stringify(message(tables.table, 'k', 1))]), deps);
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
      /intent\.item/,
    ],
    [
      'an unknown op',
      JSON.stringify({ targetRegion: B, table: 't', intent: { op: 'upsert', key: {}, ord: 'o', origin: A } }),
      /intent\.op/,
    ],
  ])('rejects %s', (_name, body, reason) => {
    expect(parseParkedMessage(body)).toMatch(reason);
  });
});
