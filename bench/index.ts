/**
 * `npm run bench`: replication throughput on DynamoDB Local, as ratios against a ceiling measured in
 * the same run on the same engine (machines are shared and noisy: docs/platform.md#dynamodb-local). Every figure is the
 * median of REPS repetitions (after one discarded warm-up), each on fresh tables.
 *
 *   ceiling       raw PutItem, 10 in flight, into one region
 *   naive copy    the article's algorithm per record per target: GetItem, then PutItem (no guards)
 *   one-way       processBatch: one conditional TransactWriteItems per record per target
 *   multi-active  processBatch from the origin: stamp + transaction per target
 *   echo skip     processBatch over the peer's stream of those replicated writes (0 writes expected)
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { startEngine } from '../lib/local/engine';
import { forEachBounded, processBatch } from '../lambda/replicator/process';
import { CollectingTelemetry } from '../lambda/core/telemetry';
import type { ReplicatorSettings } from '../lambda/contract';
import { tombstoneTableName } from '../lambda/contract';

const N = Number(process.env.BENCH_RECORDS ?? 400);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const BATCH = 100;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const key = { partitionKey: { name: 'pk', type: 'S' as const } };

async function main(): Promise<void> {
  const engine = await startEngine();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = engine.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Imported after the endpoint is set: the helpers build clients with `region` only.
  const { client, createMirrorTables, createTable, uniqueName } = await import('../test/support/dynamo');
  const clients = Object.fromEntries(REGIONS.map((r) => [r, client(r)])) as Record<string, DynamoDBClient>;

  const settingsFor = (
    table: string,
    mode: ReplicatorSettings['mode'],
    region: string,
  ): ReplicatorSettings => {
    const common = {
      table,
      tombstoneTable: tombstoneTableName(table),
      region,
      partitionKey: 'pk',
      peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, parkingQueueUrl: `local://${r}` })),
      tombstoneTtlSeconds: 86400,
      excludeAttributes: [],
      maxConcurrency: 10,
      maxAttempts: 5,
      baseDelayMs: 50,
    };
    return mode === 'multi-active' ? { ...common, mode, versionAttribute: 'version' } : { ...common, mode };
  };

  const ids = () => Array.from({ length: N }, (_, i) => `item-${i}`);
  const payload = 'x'.repeat(200);

  const deliver = async (records: DynamoDBRecord[], settings: ReplicatorSettings) => {
    const telemetry = new CollectingTelemetry();
    for (let i = 0; i < records.length; i += BATCH) {
      const event: DynamoDBStreamEvent = { Records: records.slice(i, i + BATCH) };
      const res = await processBatch(event, {
        settings,
        clients,
        parker: { park: async () => Promise.reject(new Error('no target may be down in the benchmark')) },
        telemetry,
        deadline: Date.now() + 60_000,
      });
      if (res.batchItemFailures.length) throw new Error(`bench batch failed: ${JSON.stringify(res)}`);
    }
    return telemetry;
  };
  const timed = async (fn: () => Promise<void>) => {
    const t0 = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };

  const results: Record<string, number[]> = {};
  let warmUp = true;
  const record = (name: string, perSecond: number) => {
    if (!warmUp) (results[name] ??= []).push(perSecond);
  };

  // One discarded warm-up repetition (JIT, engine caches), then REPS measured ones.
  for (let rep = -1; rep < REPS; rep++) {
    warmUp = rep < 0;
    // Ceiling: raw PutItem into a table without a stream.
    const plain = uniqueName('BenchPlain');
    await createTable('us-east-1', plain, key, { withStream: false });
    const s0 = await timed(() =>
      forEachBounded(ids(), 10, async (id) => {
        await clients['us-east-1'].send(
          new PutItemCommand({ TableName: plain, Item: { pk: { S: id }, data: { S: payload } } }),
        );
      }),
    );
    record('ceiling: PutItem/s', N / s0);

    // One-way: source writes, then its stream is replicated to two replicas.
    const oneWay = await createMirrorTables({ regions: REGIONS, key, streamRegions: ['us-east-1'] });
    await forEachBounded(ids(), 10, async (id) => {
      await clients['us-east-1'].send(
        new PutItemCommand({ TableName: oneWay.table, Item: { pk: { S: id }, data: { S: payload } } }),
      );
    });
    const oneWayRecords = await oneWay.readers['us-east-1'].pollRecords();
    const s1 = await timed(async () => {
      await deliver(oneWayRecords, settingsFor(oneWay.table, 'one-way', 'us-east-1'));
    });
    record('one-way: record-targets/s', (oneWayRecords.length * 2) / s1);

    // The article's naive copy over the same records, into fresh replicas.
    const naive = await createMirrorTables({ regions: REGIONS, key, streamRegions: [] });
    const s2 = await timed(() =>
      forEachBounded(oneWayRecords, 10, async (r) => {
        for (const target of ['eu-west-1', 'ap-southeast-2']) {
          const db = clients[target];
          const got = await db.send(
            new GetItemCommand({ TableName: naive.table, Key: r.dynamodb!.Keys as never }),
          );
          if (!got.Item)
            await db.send(
              new PutItemCommand({ TableName: naive.table, Item: r.dynamodb!.NewImage as never }),
            );
        }
      }),
    );
    record('naive copy: record-targets/s', (oneWayRecords.length * 2) / s2);

    // Multi-active: origin saves per the contract, then replicates; then a peer sees the echoes.
    const multi = await createMirrorTables({
      regions: REGIONS,
      key,
      streamRegions: ['us-east-1', 'eu-west-1'],
    });
    await forEachBounded(ids(), 10, async (id) => {
      await clients['us-east-1'].send(
        new UpdateItemCommand({
          TableName: multi.table,
          Key: { pk: { S: id } },
          UpdateExpression: 'ADD #v :one SET #d = :d',
          ExpressionAttributeNames: { '#v': 'version', '#d': 'data' },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':d': { S: payload } },
        }),
      );
    });
    const multiRecords = await multi.readers['us-east-1'].pollRecords();
    const s3 = await timed(async () => {
      await deliver(multiRecords, settingsFor(multi.table, 'multi-active', 'us-east-1'));
    });
    record('multi-active: record-targets/s', (multiRecords.length * 2) / s3);
    const echoes = await multi.readers['eu-west-1'].pollRecords();
    let echoTelemetry: CollectingTelemetry | undefined;
    const s4 = await timed(async () => {
      echoTelemetry = await deliver(echoes, settingsFor(multi.table, 'multi-active', 'eu-west-1'));
    });
    if (echoTelemetry!.total('RecordsApplied') !== 0) throw new Error('echo records were written back');
    record('echo skip: records/s', echoes.length / s4);
  }

  await engine.stop();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ceiling = median(results['ceiling: PutItem/s']);
  const rows = Object.entries(results).map(([name, xs]) => ({
    measure: name,
    median: Math.round(median(xs)),
    runs: xs.map((x) => Math.round(x)).join(' / '),
    'vs ceiling': (median(xs) / ceiling).toFixed(2),
  }));
  process.stdout.write(
    `DynamoDB Local, ${N} records per repetition, ${REPS} repetitions, batches of ${BATCH}, medians\n`,
  );
  console.table(rows);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
