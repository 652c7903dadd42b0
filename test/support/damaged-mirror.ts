import { BatchWriteItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  keyText,
  tombstoneTableName,
  type CompareTable,
  type ReplicatorSettings,
} from '../../lambda/contract';
import { formatOrd } from '../../lambda/core/order';
import { forEachBounded } from '../../lambda/replicator/process';
import { prng } from '../../lib/local/workload';
import { client, createMirrorTables } from './dynamo';

/**
 * A mirrored table whose regions agree, seeded straight into the engine as the replicators would have
 * left it (one-way replicas and multi-active copies carry their order keys), then damaged on purpose in
 * every way verify counts: a copy missing, an extra copy, a copy that differs with its own order key,
 * and a copy that differs while it keeps the same order key as the others (what a stray write or a
 * restore leaves). Shared by the hash verify engine test and `npm run bench`'s operations section.
 */

export type DamageKind = 'missing' | 'extra' | 'differing' | 'same-order-key';
export const DAMAGE_KINDS: readonly DamageKind[] = ['missing', 'extra', 'differing', 'same-order-key'];

type Item = Record<string, AttributeValue>;

export interface DamagedMirror {
  readonly table: CompareTable;
  readonly settings: Readonly<Record<string, ReplicatorSettings>>;
  readonly items: number;
  /** Every damaged key (keyText) and how it was damaged. */
  readonly damaged: ReadonlyMap<string, DamageKind>;
}

export interface SeedOptions {
  readonly regions: readonly string[];
  readonly mode: 'one-way' | 'multi-active';
  readonly items: number;
  /** Bytes of payload per item. @default 200 */
  readonly payload?: number;
  /** Damaged keys per kind. */
  readonly perKind: number;
  readonly seed?: number;
  /** BatchWriteItem requests in flight per region. @default 8 */
  readonly writers?: number;
}

const key = (i: number) => `key-${String(i).padStart(8, '0')}`;

export function settingsFor(
  table: string,
  regions: readonly string[],
  mode: 'one-way' | 'multi-active',
  region: string,
): ReplicatorSettings {
  const common = {
    table,
    tombstoneTable: tombstoneTableName(table),
    region,
    partitionKey: 'pk',
    peers: regions.filter((r) => r !== region).map((r) => ({ region: r, parkingQueueUrl: `local://${r}` })),
    tombstoneTtlSeconds: 86400,
    excludeAttributes: [],
    maxConcurrency: 10,
    maxAttempts: 3,
    baseDelayMs: 50,
  };
  return mode === 'multi-active' ? { ...common, mode, versionAttribute: 'version' } : { ...common, mode };
}

export async function seedDamagedMirror(o: SeedOptions): Promise<DamagedMirror> {
  const tables = await createMirrorTables({
    regions: o.regions,
    key: { partitionKey: { name: 'pk', type: 'S' } },
    streamRegions: [],
  });
  const [home, ...others] = o.regions;
  const random = prng(o.seed ?? 1);
  const payload = 'x'.repeat(o.payload ?? 200);
  const copy = (i: number, region: string): Item => {
    const item: Item = { pk: { S: key(i) }, version: { N: '1' }, data: { S: `${payload}${i}` } };
    if (o.mode === 'multi-active') {
      item._ddbm_ord = { S: formatOrd({ gen: 0, version: '1', origin: home, deleted: false }) };
      item._ddbm_ver = { N: '1' };
    } else if (region !== home) item._ddbm_ord = { S: String(1000 + i).padStart(40, '0') };
    return item;
  };
  // Distinct keys for each damage, spread over the table.
  const picked = new Set<number>();
  const pick = () => {
    for (;;) {
      const i = Math.floor(random() * o.items);
      if (!picked.has(i)) return (picked.add(i), i);
    }
  };
  const damaged = new Map<string, DamageKind>();
  const byRegion = new Map(o.regions.map((r) => [r, new Map<number, Item | null>()]));
  const where = () =>
    (o.mode === 'one-way' ? others : o.regions)[
      Math.floor(random() * (o.regions.length - (o.mode === 'one-way' ? 1 : 0)))
    ];
  for (const kind of DAMAGE_KINDS)
    for (let n = 0; n < o.perKind; n++) {
      const region = where();
      const i = kind === 'extra' ? o.items + damaged.size : pick();
      const changes = byRegion.get(region)!;
      if (kind === 'missing') changes.set(i, null);
      if (kind === 'extra') changes.set(i, { ...copy(i, region), data: { S: `only in ${region}` } });
      if (kind === 'differing') {
        const item: Item = { ...copy(i, region), data: { S: `changed in ${region}` } };
        if (o.mode === 'multi-active') {
          // A later save there that never replicated: its own version and order key.
          item.version = { N: '2' };
          item._ddbm_ver = { N: '2' };
          item._ddbm_ord = { S: formatOrd({ gen: 0, version: '2', origin: region, deleted: false }) };
        } else item._ddbm_ord = { S: String(i).padStart(40, '0') };
        changes.set(i, item);
      }
      if (kind === 'same-order-key')
        changes.set(i, { ...copy(i, region), data: { S: `edited in ${region}` } });
      damaged.set(keyText({ pk: { S: key(i) } }, ['pk']), kind);
    }
  await Promise.all(
    o.regions.map(async (region) => {
      const changes = byRegion.get(region)!;
      const items: Item[] = [];
      for (let i = 0; i < o.items; i++) {
        const changed = changes.get(i);
        if (changed !== null) items.push(changed ?? copy(i, region));
      }
      for (const [i, item] of changes) if (i >= o.items && item) items.push(item);
      await writeAll(region, tables.table, items, o.writers ?? 8);
    }),
  );
  return {
    table: {
      name: tables.table,
      mode: o.mode,
      regions: o.regions,
      keyNames: ['pk'],
      excludeAttributes: [],
    },
    settings: Object.fromEntries(o.regions.map((r) => [r, settingsFor(tables.table, o.regions, o.mode, r)])),
    items: o.items,
    damaged,
  };
}

/** BatchWriteItem, 25 items a request, `writers` requests in flight, unprocessed items sent again. */
export async function writeAll(region: string, table: string, items: readonly Item[], writers: number) {
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await forEachBounded(batches, writers, async (batch) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length) {
      const res = await client(region).send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
      );
      pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  });
}
