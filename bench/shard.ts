/**
 * How fast one stream shard replicates when every cross-region request takes `latencyMs` (a proxy in
 * front of the engine adds it), as a ratio to the engine's PutItem ceiling through the same proxy with
 * 64 requests in flight.
 *
 * The shard is read the way Lambda reads it with a ParallelizationFactor (docs/platform.md#event-source-mapping):
 * records go to one of `parallelization` lanes by partition key, so one key's records stay in order in
 * one lane; each lane delivers batches of up to `batchSize` records one after another, and the lanes run
 * side by side. Within a batch the replicator keeps `maxConcurrency` items in flight.
 */
import { createHash } from 'crypto';
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ReplicatorSettings } from '../lambda/contract';
import { CollectingTelemetry } from '../lambda/core/telemetry';
import { forEachBounded, processBatch } from '../lambda/replicator/process';
import { FaultProxy } from '../test/support/fault-proxy';
import type { BenchEnv } from './env';

export interface ShardShape {
  readonly parallelization: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
}

export interface ShardFigures {
  /** PutItem/s through the proxy, 64 in flight. */
  readonly ceiling: number;
  /** Replicated record-targets/s, per shape. */
  readonly replicated: ReadonlyMap<ShardShape, number>;
}

const CEILING_IN_FLIGHT = 64;

export async function measureShard(
  env: BenchEnv,
  latencyMs: number,
  shapes: readonly ShardShape[],
  records: number,
): Promise<ShardFigures> {
  const proxy = await new FaultProxy({ latencyMs }).start();
  try {
    const [origin, ...targets] = env.regions;
    const remote = (region: string) => proxy.client(region, { maxAttempts: 3, maxSockets: 512 });
    const ceiling = await measureCeiling(env, remote(targets[0]), records);
    const replicated = new Map<ShardShape, number>();
    for (const shape of shapes) {
      const tables = await env.createMirrorTables({
        regions: env.regions,
        key: env.key,
        streamRegions: [origin],
      });
      const settings0 = env.settingsFor(tables.table, 'multi-active', origin);
      const stream = await updatesInOneShard(env, settings0, tables.readers[origin], records);
      const clients = {
        [origin]: env.clients[origin],
        ...Object.fromEntries(targets.map((t) => [t, remote(t)])),
      };
      const settings = { ...settings0, maxConcurrency: shape.maxConcurrency };
      const seconds = await timed(() =>
        forEachBounded(lanes(stream, shape), shape.parallelization, async (lane) => {
          for (let i = 0; i < lane.length; i += shape.batchSize) {
            const res = await processBatch(
              { Records: lane.slice(i, i + shape.batchSize) },
              {
                settings,
                clients,
                parker: {
                  park: async () => Promise.reject(new Error('no target may be down in the benchmark')),
                },
                telemetry: new CollectingTelemetry(),
                deadline: Date.now() + 300_000,
              },
            );
            if (res.batchItemFailures.length) throw new Error(`bench batch failed: ${JSON.stringify(res)}`);
          }
        }),
      );
      replicated.set(shape, (stream.length * targets.length) / seconds);
    }
    return { ceiling, replicated };
  } finally {
    await proxy.stop();
  }
}

async function measureCeiling(env: BenchEnv, client: DynamoDBClient, n: number): Promise<number> {
  const table = env.uniqueName('BenchCeiling');
  await env.createTable(env.regions[1], table, env.key, { withStream: false });
  const ids = Array.from({ length: n }, (_, i) => `c-${i}`);
  const seconds = await timed(() =>
    forEachBounded(ids, CEILING_IN_FLIGHT, async (id) => {
      await client.send(
        new PutItemCommand({ TableName: table, Item: { pk: { S: id }, data: { S: 'x'.repeat(200) } } }),
      );
    }),
  );
  return n / seconds;
}

/**
 * `n` saves of existing items in the origin (the common case: one conditional PutItem per target),
 * and the stream records they make. The items are created and replicated first, without latency.
 */
async function updatesInOneShard(
  env: BenchEnv,
  settings: ReplicatorSettings,
  reader: { pollRecords(): Promise<DynamoDBRecord[]> },
  n: number,
): Promise<DynamoDBRecord[]> {
  const client = env.clients[settings.region];
  const save = async (pk: string): Promise<void> => {
    await client.send(
      new UpdateItemCommand({
        TableName: settings.table,
        Key: { pk: { S: pk } },
        UpdateExpression: 'ADD #v :one SET #d = :d',
        ExpressionAttributeNames: { '#v': 'version', '#d': 'data' },
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':d': { S: `${pk} ${Date.now()}`.padEnd(200, '.') },
        },
      }),
    );
  };
  const keys = Array.from({ length: Math.ceil(n / 2) }, (_, i) => `k-${i}`);
  await forEachBounded(keys, 10, save);
  const created = await reader.pollRecords();
  for (let i = 0; i < created.length; i += 100) {
    const res = await processBatch(
      { Records: created.slice(i, i + 100) },
      {
        settings,
        clients: env.clients,
        parker: { park: async () => Promise.reject(new Error('no target may be down in the benchmark')) },
        telemetry: new CollectingTelemetry(),
        deadline: Date.now() + 300_000,
      },
    );
    if (res.batchItemFailures.length) throw new Error(`bench batch failed: ${JSON.stringify(res)}`);
  }
  await forEachBounded([...keys, ...keys].slice(0, n), 10, save);
  return reader.pollRecords();
}

/** Lambda's split of one shard over parallel batches: by partition key, keeping each key's order. */
function lanes(records: DynamoDBRecord[], shape: ShardShape): DynamoDBRecord[][] {
  const out: DynamoDBRecord[][] = Array.from({ length: shape.parallelization }, () => []);
  for (const r of records) {
    const pk = JSON.stringify(r.dynamodb?.Keys ?? {});
    const lane = createHash('md5').update(pk).digest().readUInt32BE(0) % shape.parallelization;
    out[lane].push(r);
  }
  return out.filter((l) => l.length > 0);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
