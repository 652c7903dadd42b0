/**
 * Replication throughput on one engine, as ratios to a raw-PutItem ceiling measured in the same run.
 *
 *   ceiling       raw PutItem, 10 in flight, into one region
 *   naive copy    the article's algorithm per record per target: GetItem, then PutItem (no guards)
 *   one-way       processBatch: one conditional PutItem per record per target
 *   multi-active  processBatch from the origin: one conditional PutItem per record per target
 *   echo skip     processBatch over the peer's stream of those replicated writes (0 writes expected)
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { ReplicatorSettings } from '../lambda/contract';
import { CollectingTelemetry } from '../lambda/core/telemetry';
import { forEachBounded, processBatch } from '../lambda/replicator/process';
import type { BenchEnv } from './env';

const BATCH = 100;

/** One repetition: records per second of each measure (record × target where it replicates). */
export async function measureThroughput(env: BenchEnv, n: number): Promise<Record<string, number>> {
  const [origin, ...targets] = env.regions;
  const ids = () => Array.from({ length: n }, (_, i) => `item-${i}`);
  const payload = 'x'.repeat(200);
  const out: Record<string, number> = {};

  const plain = env.uniqueName('BenchPlain');
  await env.createTable(origin, plain, env.key, { withStream: false });
  out['ceiling: PutItem/s'] =
    n /
    (await timed(() =>
      forEachBounded(ids(), 10, async (id) => {
        await env.clients[origin].send(
          new PutItemCommand({ TableName: plain, Item: { pk: { S: id }, data: { S: payload } } }),
        );
      }),
    ));

  const oneWay = await env.createMirrorTables({
    regions: env.regions,
    key: env.key,
    streamRegions: [origin],
  });
  await forEachBounded(ids(), 10, async (id) => {
    await env.clients[origin].send(
      new PutItemCommand({ TableName: oneWay.table, Item: { pk: { S: id }, data: { S: payload } } }),
    );
  });
  const oneWayRecords = await oneWay.readers[origin].pollRecords();
  out['one-way: record-targets/s'] =
    (oneWayRecords.length * targets.length) /
    (await timed(() => deliver(env, oneWayRecords, env.settingsFor(oneWay.table, 'one-way', origin))));

  const naive = await env.createMirrorTables({ regions: env.regions, key: env.key, streamRegions: [] });
  out['naive copy: record-targets/s'] =
    (oneWayRecords.length * targets.length) /
    (await timed(() =>
      forEachBounded(oneWayRecords, 10, async (r) => {
        for (const target of targets) {
          const db = env.clients[target];
          const got = await db.send(
            new GetItemCommand({ TableName: naive.table, Key: r.dynamodb!.Keys as never }),
          );
          if (!got.Item)
            await db.send(
              new PutItemCommand({ TableName: naive.table, Item: r.dynamodb!.NewImage as never }),
            );
        }
      }),
    ));

  const multi = await env.createMirrorTables({
    regions: env.regions,
    key: env.key,
    streamRegions: [origin, targets[0]],
  });
  await forEachBounded(ids(), 10, async (id) => {
    await env.clients[origin].send(
      new UpdateItemCommand({
        TableName: multi.table,
        Key: { pk: { S: id } },
        UpdateExpression: 'ADD #v :one SET #d = :d',
        ExpressionAttributeNames: { '#v': 'version', '#d': 'data' },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':d': { S: payload } },
      }),
    );
  });
  const multiRecords = await multi.readers[origin].pollRecords();
  out['multi-active: record-targets/s'] =
    (multiRecords.length * targets.length) /
    (await timed(() => deliver(env, multiRecords, env.settingsFor(multi.table, 'multi-active', origin))));
  const echoes = await multi.readers[targets[0]].pollRecords();
  let echo: CollectingTelemetry | undefined;
  out['echo skip: records/s'] =
    echoes.length /
    (await timed(async () => {
      echo = await deliver(env, echoes, env.settingsFor(multi.table, 'multi-active', targets[0]));
    }));
  if (echo!.total('RecordsApplied') !== 0) throw new Error('echo records were written back');
  return out;
}

async function deliver(env: BenchEnv, records: DynamoDBRecord[], settings: ReplicatorSettings) {
  const telemetry = new CollectingTelemetry();
  for (let i = 0; i < records.length; i += BATCH) {
    const event: DynamoDBStreamEvent = { Records: records.slice(i, i + BATCH) };
    const res = await processBatch(event, {
      settings,
      clients: env.clients,
      parker: { park: async () => Promise.reject(new Error('no target may be down in the benchmark')) },
      telemetry,
      deadline: Date.now() + 60_000,
    });
    if (res.batchItemFailures.length) throw new Error(`bench batch failed: ${JSON.stringify(res)}`);
  }
  return telemetry;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
