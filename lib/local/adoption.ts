/**
 * `ddb-mirror start --adopt`: the local mirror run on tables that existed before it. Before anything is
 * set up, each adopted table is created on DynamoDB Local in its adopted regions and given items (one of
 * them without a stream, so the run shows the adopt function enabling it); the run then adopts them
 * through the real custom resource function, starts replicating, backfills the items that were there
 * before (lambda/ops/backfill.ts, the `backfill` command's code) and verifies that every region agrees.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import YAML from 'yaml';
import { runBackfill, type BackfillResult } from '../../lambda/ops/backfill';
import type { BackfillCheckpoint } from '../../lambda/ops/checkpoint';
import { loadConfig } from '../config/load';
import { replicatorRegions, tableRegions, type MirrorModel, type TableModel } from '../config/model';
import type { LocalPlan } from './plan';
import type { RunHooks } from './run-hooks';
import { entityKey } from './workload';

export const ADOPTION_DEFAULTS = {
  /** Items each adopted table holds before the mirror starts. */
  items: 40,
  /** Scan segments of each backfill. */
  segments: 2,
} as const;

/**
 * The config the demo runs: the given one when it adopts tables already (`existing`); else the same
 * file with every table adopted in its first region (one-way: its source), the usual case of an
 * existing table and new replicas. Written beside the run's other files; returns its path and model.
 */
export function adoptionConfig(configPath: string, outPath: string): { path: string; model: MirrorModel } {
  const model = loadConfig(configPath);
  if (model.tables.some((t) => t.existing.length > 0)) return { path: configPath, model };
  const doc = YAML.parseDocument(readFileSync(configPath, 'utf8'));
  model.tables.forEach((t, i) => doc.setIn(['tables', i, 'existing'], [replicatorRegions(t)[0]]));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, doc.toString());
  return { path: outPath, model: loadConfig(outPath) };
}

/** One adopted copy the demo created before the mirror started. */
export interface SeededTable {
  readonly table: string;
  readonly region: string;
  readonly items: number;
  /** Created with a NEW_AND_OLD_IMAGES stream; false: none, the adopt function enables it. */
  readonly stream: boolean;
}

/** What the demo did around the run, for the CLI's lines and the tests. */
export interface AdoptionReport {
  readonly seeded: SeededTable[];
  readonly backfills: BackfillResult[];
}

export interface AdoptionOptions {
  /** @default ADOPTION_DEFAULTS.items */
  readonly items?: number;
}

/**
 * The hooks that seed the adopted tables once the engine runs, and backfill them once the mirror runs
 * (the workload starts after). `report` fills as they go.
 */
export function adoptionHooks(
  plan: LocalPlan,
  tables: readonly TableModel[],
  report: AdoptionReport,
  o: AdoptionOptions = {},
): RunHooks {
  return {
    onEngine: async ({ clientFor, say }) => {
      report.seeded.push(...(await seedAdoptedTables(clientFor, tables, o.items ?? ADOPTION_DEFAULTS.items)));
      for (const s of report.seeded)
        say(
          `existing table ${s.table} in ${s.region}: ${s.items} items, ${s.stream ? 'a NEW_AND_OLD_IMAGES stream' : 'no stream'} (created before the mirror)`,
        );
    },
    onStart: async ({ clientFor, say }) => {
      for (const t of tables)
        for (const from of t.existing.filter((r) => replicatorRegions(t).includes(r))) {
          const result = await backfillFrom(plan, t, from, clientFor);
          report.backfills.push(result);
          say(backfillLine(result));
        }
    },
  };
}

/**
 * Creates each adopted table in its adopted regions, replacing a leftover of an earlier run, with
 * `items` items; the first has no stream. Items take keys the workload does not use.
 */
export async function seedAdoptedTables(
  clientFor: (region: string) => DynamoDBClient,
  tables: readonly TableModel[],
  items: number,
): Promise<SeededTable[]> {
  const seeded: SeededTable[] = [];
  for (const t of tables)
    for (const region of t.existing) {
      const stream = seeded.length > 0;
      const client = clientFor(region);
      await recreate(client, t, stream);
      await putItems(client, t, region, items);
      seeded.push({ table: t.name, region, items, stream });
    }
  return seeded;
}

async function recreate(client: DynamoDBClient, t: TableModel, stream: boolean): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: t.name })).catch((e: Error) => {
    if (e.name !== 'ResourceNotFoundException') throw e;
  });
  const keys = [t.key.partitionKey, ...(t.key.sortKey ? [t.key.sortKey] : [])];
  await client.send(
    new CreateTableCommand({
      TableName: t.name,
      KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
      BillingMode: 'PAY_PER_REQUEST',
      ...(stream
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }
        : {}),
    }),
  );
}

/** First key number of the seeded items: above the workload's entities. */
const FIRST_SEEDED = 9001;

async function putItems(client: DynamoDBClient, t: TableModel, region: string, count: number): Promise<void> {
  const items = Array.from({ length: count }, (_v, i) => itemOf(t, region, FIRST_SEEDED + i));
  for (let i = 0; i < items.length; i += 25)
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [t.name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
      }),
    );
}

/** An item as the application wrote it before the mirror: no `_ddbm` attributes; a multi-active one at version 1. */
function itemOf(t: TableModel, region: string, n: number): Record<string, AttributeValue> {
  return {
    ...entityKey(t, n),
    note: { S: `written in ${region} before the mirror` },
    ...(t.mode === 'multi-active' && t.conflicts === 'version' ? { [t.versionAttribute]: { N: '1' } } : {}),
    ...(t.ttl ? { [t.ttl.attribute]: { N: String(Math.floor(Date.now() / 1000) + 86400) } } : {}),
  };
}

async function backfillFrom(
  plan: LocalPlan,
  t: TableModel,
  from: string,
  clientFor: (region: string) => DynamoDBClient,
): Promise<BackfillResult> {
  // The replicator's own settings in that region: the backfill sends items as it would.
  const settings = plan.functions.find((f) => f.region === from && f.settings?.table === t.name)?.settings;
  if (!settings) throw new Error(`no replicator of ${t.name} in ${from} in the assembly`);
  const regions = tableRegions(t);
  let saved: BackfillCheckpoint | undefined;
  return runBackfill({
    settings,
    targets: regions.filter((r) => r !== from),
    clients: Object.fromEntries(regions.map((r) => [r, clientFor(r)])),
    segments: ADOPTION_DEFAULTS.segments,
    checkpoint: { load: () => saved, save: (c) => void (saved = c), clear: () => void (saved = undefined) },
  });
}

function backfillLine(r: BackfillResult): string {
  const c = r.counts;
  const mark = r.complete && c.failed === 0 ? '✓' : '✘';
  return (
    `${mark} backfill ${r.table} from ${r.from} → ${r.targets.join(', ')}: ${c.scanned} items read, ` +
    `${c.written} written, ${c.skippedNewer} already newer there, ${c.failed} failed ` +
    `(${(r.durationMs / 1000).toFixed(1)}s)`
  );
}
