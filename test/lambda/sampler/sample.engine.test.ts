import { PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import type { SamplerSettings } from '../../../lambda/contract';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import { sampleOnce } from '../../../lambda/sampler/sample';
import { client, createTable, uniqueName } from '../../support/dynamo';

const SOURCE = 'us-east-1';
const REPLICA = 'eu-west-1';
const KEY = { partitionKey: { name: 'pk', type: 'S' as const } };

async function tableIn(regions: readonly string[]): Promise<string> {
  const name = uniqueName('Sample');
  for (const r of regions) await createTable(r, name, KEY, { withStream: r === SOURCE });
  return name;
}

function put(region: string, table: string, item: Record<string, AttributeValue>): Promise<unknown> {
  return client(region).send(new PutItemCommand({ TableName: table, Item: item }));
}

const item = (pk: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  pk: { S: pk },
  data: { S: `value of ${pk}` },
  ...extra,
});

function settings(table: string, over: Partial<SamplerSettings> = {}): SamplerSettings {
  return {
    kind: 'sampler',
    table,
    mode: 'one-way',
    region: SOURCE,
    regions: [SOURCE, REPLICA],
    keyNames: ['pk'],
    excludeAttributes: ['localCache'],
    sampleSize: 100,
    listenSeconds: 0,
    recheckRounds: 2,
    recheckIntervalSeconds: 0,
    ...over,
  };
}

function run(
  s: SamplerSettings,
  telemetry = new CollectingTelemetry(),
  streams = new DynamoDBStreamsClient({ region: SOURCE }),
) {
  return {
    telemetry,
    report: sampleOnce({
      settings: s,
      clients: { [SOURCE]: client(SOURCE), [REPLICA]: client(REPLICA) },
      streams,
      telemetry,
      deadline: Date.now() + 60_000,
    }),
  };
}

describe('sampleOnce', () => {
  it('counts the keys whose copies differ, not those differing only in reserved or excluded attributes', async () => {
    const table = await tableIn([SOURCE, REPLICA]);
    for (let i = 0; i < 20; i++) {
      await put(SOURCE, table, item(`same${i}`));
      await put(REPLICA, table, item(`same${i}`));
    }
    await put(SOURCE, table, item('changed', { _ddbm_ord: { S: '2'.padStart(40, '0') } }));
    await put(
      REPLICA,
      table,
      item('changed', { data: { S: 'old' }, _ddbm_ord: { S: '1'.padStart(40, '0') } }),
    );
    await put(SOURCE, table, item('lost'));
    await put(SOURCE, table, item('local', { localCache: { S: 'us' } }));
    await put(REPLICA, table, item('local', { localCache: { S: 'eu' } }));
    await put(SOURCE, table, item('stamped', { _ddbm_ord: { S: '3'.padStart(40, '0') } }));
    await put(REPLICA, table, item('stamped'));

    const { report, telemetry } = run(settings(table));
    const r = await report;

    expect(r.compared).toBe(24);
    expect(r.divergent.map((d) => [d.key, d.kind]).sort()).toEqual([
      ['{"pk":{"S":"changed"}}', 'differing'],
      ['{"pk":{"S":"lost"}}', 'missing'],
    ]);
    expect(telemetry.total('ItemsSampled')).toBe(24);
    expect(telemetry.total('DivergentItems')).toBe(2);
    const logged = telemetry.logs.filter((l) => l.message === 'divergent item').map((l) => l.fields);
    expect(logged).toContainEqual(
      expect.objectContaining({
        key: '{"pk":{"S":"changed"}}',
        orderKeys: { [SOURCE]: '2'.padStart(40, '0'), [REPLICA]: '1'.padStart(40, '0') },
        differingAttributes: { [REPLICA]: ['data'] },
      }),
    );
  });

  it('does not count a write that reaches the replica between two reads (and counts it with one read)', async () => {
    const late = async (rounds: number) => {
      const table = await tableIn([SOURCE, REPLICA]);
      await put(SOURCE, table, item('late'));
      const { report } = run(settings(table, { recheckRounds: rounds, recheckIntervalSeconds: 1 }));
      await new Promise((r) => setTimeout(r, 500));
      await put(REPLICA, table, item('late'));
      return report;
    };
    expect((await late(3)).divergent).toEqual([]);
    expect((await late(1)).divergent.map((d) => d.kind)).toEqual(['missing']);
  });

  it("takes keys from the stream's live writes while it listens", async () => {
    const table = await tableIn([SOURCE, REPLICA]);
    for (let i = 0; i < 10; i++) {
      await put(SOURCE, table, item(`old${i}`));
      await put(REPLICA, table, item(`old${i}`));
    }
    const { report } = run(settings(table, { sampleSize: 4, listenSeconds: 3 }));
    await new Promise((r) => setTimeout(r, 1000));
    await put(SOURCE, table, item('new-kept'));
    await put(REPLICA, table, item('new-kept'));
    await put(SOURCE, table, item('new-lost'));
    const r = await report;
    expect(r.live).toBe(2);
    // (the rest from random Scan segments of ~2 items each: a segment may hold fewer)
    expect(r.scanned).toBeGreaterThanOrEqual(1);
    expect(r.scanned).toBeLessThanOrEqual(2);
    expect(r.divergent.map((d) => d.key)).toEqual(['{"pk":{"S":"new-lost"}}']);
  });

  it('listens on from the newest record when its stream iterator is lost (trimmed or expired)', async () => {
    const table = await tableIn([SOURCE, REPLICA]);
    await put(SOURCE, table, item('old'));
    await put(REPLICA, table, item('old'));
    // DynamoDB Local fails an iterator as trimmed at times it chooses; the first read here does.
    const streams = new DynamoDBStreamsClient({ region: SOURCE });
    const send = streams.send.bind(streams) as (command: unknown) => Promise<unknown>;
    let trimmed = 0;
    streams.send = ((command: unknown) => {
      if (command instanceof GetRecordsCommand && trimmed++ === 0)
        return Promise.reject(Object.assign(new Error('trimmed'), { name: 'TrimmedDataAccessException' }));
      return send(command);
    }) as typeof streams.send;
    const telemetry = new CollectingTelemetry();
    const { report } = run(settings(table, { sampleSize: 4, listenSeconds: 3 }), telemetry, streams);
    await new Promise((r) => setTimeout(r, 1000));
    await put(SOURCE, table, item('new-lost'));
    const r = await report;
    expect(trimmed).toBeGreaterThan(1);
    expect(telemetry.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toContain(
      'stream iterator lost, listening again from the newest record',
    );
    expect(r.live).toBe(1);
    expect(r.divergent.map((d) => d.key)).toContain('{"pk":{"S":"new-lost"}}');
  });
});
