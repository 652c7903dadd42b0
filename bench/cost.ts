/**
 * What a replicated change costs, in capacity units as DynamoDB bills them (bench/capacity.ts), per
 * record per target, for two mixes of application writes at the origin: insert-heavy (70 % new
 * items, 25 % updates, 5 % deletes) and update-heavy (10 / 85 / 5), under each kind of table: one-way,
 * multi-active with the version contract, and multi-active under last-writer-wins. Also the units the
 * origin region pays per local save, and, for comparison, the article's GetItem-then-PutItem copy.
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { RESERVED, RESERVED_PREFIX, type ReplicatorSettings } from '../lambda/contract';
import { changedAttributes } from '../lambda/core/attributes';
import { CollectingTelemetry } from '../lambda/core/telemetry';
import { forEachBounded, processBatch } from '../lambda/replicator/process';
import { meter, type Units } from './capacity';
import type { BenchEnv } from './env';

export interface Mix {
  readonly name: string;
  readonly insert: number;
  readonly update: number;
}

export const MIXES: readonly Mix[] = [
  { name: 'insert-heavy 70/25/5', insert: 0.7, update: 0.25 },
  { name: 'update-heavy 10/85/5', insert: 0.1, update: 0.85 },
];

export interface CostFigures {
  /** Write and read units per replicated record per target. */
  readonly targetWrite: number;
  readonly targetRead: number;
  /** Units the origin region pays per local save (its replicator's own writes and reads). */
  readonly originWrite: number;
  readonly originRead: number;
  /** Units the peers' replicators pay reading back the replicated writes (echoes): 0 expected. */
  readonly echoWrite: number;
  readonly records: number;
}

/**
 * The kind of table measured: one-way, multi-active whose writers keep the version contract, or
 * multi-active under last-writer-wins (writers keep no contract; the replicator stamps every save).
 */
export type CostMode = ReplicatorSettings['mode'] | 'last-writer-wins';

const SEED_KEYS = 200;
const BATCH = 100;

/** Runs `ops` application writes of `mix` in the origin, replicates them, and meters every unit. */
export async function measureCost(
  env: BenchEnv,
  mode: CostMode,
  mix: Mix,
  ops: number,
): Promise<CostFigures> {
  const [origin, ...targets] = env.regions;
  const tables = await env.createMirrorTables({ regions: env.regions, key: env.key });
  const write = applicationWriter(env.clients[origin], tables.table, mode);
  const settingsIn = (region: string) => settingsFor(env, tables.table, mode, region);
  // Keys that exist (and are replicated) before the measured writes, for updates and deletes.
  const live: string[] = [];
  for (let i = 0; i < SEED_KEYS; i += 1) live.push(await write.insert(`seed-${i}`));
  await replicate(tables.readers[origin], settingsIn(origin), env.clients);
  // The seeds' own stamps (last-writer-wins stamps every save) and the targets' echoes: not measured.
  for (const region of env.regions) await tables.readers[region].pollRecords();

  const random = env.random();
  let created = 0;
  for (let i = 0; i < ops; i += 1) {
    const r = random();
    if (r < mix.insert || live.length === 0) live.push(await write.insert(`new-${created++}`));
    else if (r < mix.insert + mix.update) await write.update(live[Math.floor(random() * live.length)]);
    else await write.remove(live.splice(Math.floor(random() * live.length), 1)[0]);
  }

  const originUnits: Units = { read: 0, write: 0 };
  const targetUnits: Units = { read: 0, write: 0 };
  const metered = meteredClients(env, origin, originUnits, targetUnits);
  const records = await replicate(tables.readers[origin], settingsIn(origin), metered);
  // Per application write: the origin's stream also holds its replicator's stamps, which are not sent.
  const applicationRecords = records.filter((r) => applicationChange(r)).length;
  const saves = records.filter((r) => r.eventName !== 'REMOVE' && applicationChange(r)).length;

  // Multi-active: each target's own replicator reads its echoes; a replicated insert costs it one read
  // (the check against its tombstone), which belongs to the target's cost.
  const echoUnits: Units = { read: 0, write: 0 };
  if (mode !== 'one-way')
    for (const region of targets) {
      const clients = meteredClients(env, region, echoUnits, echoUnits);
      await replicate(tables.readers[region], settingsIn(region), clients);
    }
  const sent = applicationRecords * targets.length;
  return {
    targetWrite: (targetUnits.write + echoUnits.write) / sent,
    targetRead: (targetUnits.read + echoUnits.read) / sent,
    originWrite: originUnits.write / saves,
    originRead: originUnits.read / saves,
    echoWrite: echoUnits.write,
    records: applicationRecords,
  };
}

/** A region's replicator settings for `mode`, as the construct writes them (lib/constructs/replicator.ts). */
function settingsFor(env: BenchEnv, table: string, mode: CostMode, region: string): ReplicatorSettings {
  if (mode !== 'last-writer-wins') return env.settingsFor(table, mode, region);
  // No writer contract: the replicator's own clock (`_ddbm_ver`) is the version attribute.
  return {
    ...env.settingsFor(table, 'multi-active', region),
    mode: 'multi-active',
    versionAttribute: RESERVED.stampedVersion,
    conflicts: 'last-writer-wins',
  };
}

/** A change the application made: not a replicator's stamp (a MODIFY that changed only `_ddbm_*`). */
function applicationChange(r: DynamoDBRecord): boolean {
  if (r.eventName !== 'MODIFY') return true;
  const changed = changedAttributes(r.dynamodb!.OldImage!, r.dynamodb!.NewImage!, (n) =>
    n.startsWith(RESERVED_PREFIX),
  );
  return changed.length > 0;
}

/** The article's copy over the same kind of records: GetItem, then PutItem (or DeleteItem) per target. */
export async function measureNaiveCost(env: BenchEnv, mix: Mix, ops: number): Promise<CostFigures> {
  const [origin, ...targets] = env.regions;
  const tables = await env.createMirrorTables({
    regions: env.regions,
    key: env.key,
    streamRegions: [origin],
  });
  const write = applicationWriter(env.clients[origin], tables.table, 'one-way');
  const live: string[] = [];
  const random = env.random();
  let created = 0;
  for (let i = 0; i < ops; i += 1) {
    const r = random();
    if (r < mix.insert || live.length === 0) live.push(await write.insert(`new-${created++}`));
    else if (r < mix.insert + mix.update) await write.update(live[Math.floor(random() * live.length)]);
    else await write.remove(live.splice(Math.floor(random() * live.length), 1)[0]);
  }
  const records = await tables.readers[origin].pollRecords();
  const units: Units = { read: 0, write: 0 };
  const clients = Object.fromEntries(targets.map((t) => [t, metered(t, units)]));
  await forEachBounded(records, 10, async (rec) => {
    for (const t of targets) {
      const Key = rec.dynamodb!.Keys as never;
      if (rec.eventName === 'REMOVE') {
        await clients[t].send(new DeleteItemCommand({ TableName: tables.table, Key }));
        continue;
      }
      await clients[t].send(new GetItemCommand({ TableName: tables.table, Key }));
      await clients[t].send(
        new PutItemCommand({ TableName: tables.table, Item: rec.dynamodb!.NewImage as never }),
      );
    }
  });
  const sent = records.length * targets.length;
  return {
    targetWrite: units.write / sent,
    targetRead: units.read / sent,
    originWrite: 0,
    originRead: 0,
    echoWrite: 0,
    records: records.length,
  };
}

/**
 * The application's writes: per the write contract (ADD version) on a multi-active table under
 * versions; plain saves on a one-way table and under last-writer-wins, whose writers keep no contract.
 */
function applicationWriter(client: DynamoDBClient, table: string, mode: CostMode) {
  const versioned = mode === 'multi-active';
  const save = async (pk: string) => {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: { S: pk } },
        UpdateExpression: versioned ? 'ADD #v :one SET #d = :d' : 'SET #d = :d',
        ExpressionAttributeNames: { '#d': 'data', ...(versioned ? { '#v': 'version' } : {}) },
        ExpressionAttributeValues: {
          ':d': { S: `${pk} ${Math.random().toString(36).slice(2)}`.padEnd(200, '.') },
          ...(versioned ? { ':one': { N: '1' } } : {}),
        },
      }),
    );
    return pk;
  };
  return {
    insert: save,
    update: save,
    remove: async (pk: string) => {
      await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk } } }));
    },
  };
}

/** Reads everything new in a region's stream and runs its replicator over it, in Lambda-sized batches. */
async function replicate(
  reader: { pollRecords(): Promise<DynamoDBRecord[]> },
  settings: ReplicatorSettings,
  clients: Record<string, DynamoDBClient>,
): Promise<DynamoDBRecord[]> {
  const records = await reader.pollRecords();
  for (let i = 0; i < records.length; i += BATCH) {
    const res = await processBatch(
      { Records: records.slice(i, i + BATCH) },
      {
        settings,
        clients,
        parker: { park: async () => Promise.reject(new Error('no target may be down in the benchmark')) },
        telemetry: new CollectingTelemetry(),
        deadline: Date.now() + 60_000,
      },
    );
    if (res.batchItemFailures.length) throw new Error(`bench batch failed: ${JSON.stringify(res)}`);
  }
  return records;
}

function meteredClients(env: BenchEnv, home: string, homeUnits: Units, peerUnits: Units) {
  return Object.fromEntries(env.regions.map((r) => [r, metered(r, r === home ? homeUnits : peerUnits)]));
}

function metered(region: string, units: Units): DynamoDBClient {
  const c = new DynamoDBClient({ region });
  meter(c, units);
  return c;
}
