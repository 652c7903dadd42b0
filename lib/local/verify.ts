import { AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { tableRegions, type TableModel } from '../config/model';
import { RESERVED_PREFIX } from '../../lambda/contract';

/**
 * The divergence check: scans every region of every mirrored table and lists the keys whose
 * normalised items differ. Normalising drops the replicator's reserved `_ddbm_*` attributes and the
 * table's excluded attributes (region-local by definition). One-way replicas are compared to the
 * source; multi-active regions to each other.
 */

export interface DivergentKey {
  readonly table: string;
  /** The key as canonical JSON (stable across regions). */
  readonly key: string;
  /** Normalised item per region; null where the key is absent. */
  readonly states: Readonly<Record<string, Record<string, AttributeValue> | null>>;
  /** The regions that disagree with the reference (the source, or the first region holding the key). */
  readonly differing: readonly string[];
}

export interface TableVerification {
  readonly table: string;
  readonly mode: TableModel['mode'];
  /** Items per region after normalisation. */
  readonly items: Readonly<Record<string, number>>;
  readonly divergent: readonly DivergentKey[];
}

export interface VerifyResult {
  readonly tables: readonly TableVerification[];
  readonly divergentKeys: number;
  readonly durationMs: number;
}

export type ItemsByRegion = Readonly<Record<string, readonly Record<string, AttributeValue>[]>>;

/** Drops the attributes that are not expected to match across regions. */
export function normalise(
  item: Record<string, AttributeValue>,
  table: Pick<TableModel, 'excludeAttributes'>,
): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(item)) {
    if (k.startsWith(RESERVED_PREFIX) || table.excludeAttributes.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Canonical JSON of an attribute value: object keys sorted, sets order-insensitive, binaries base64. */
export function canonical(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify({ $b: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => {
        if ((k === 'SS' || k === 'NS' || k === 'BS') && Array.isArray(v))
          return `${JSON.stringify(k)}:[${v.map(canonical).sort().join(',')}]`;
        if (k === 'N' && typeof v === 'string') return `"N":${JSON.stringify(canonicalNumber(v))}`;
        return `${JSON.stringify(k)}:${canonical(v)}`;
      })
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function canonicalNumber(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER ? String(n) : v.trim();
}

/** Pure comparison of scanned items; `tableRegions` gives the reference order (source first). */
export function compareRegions(table: TableModel, byRegion: ItemsByRegion): TableVerification {
  const regions = tableRegions(table);
  const keyNames = [table.key.partitionKey.name, ...(table.key.sortKey ? [table.key.sortKey.name] : [])];
  const maps = new Map<string, Map<string, { item: Record<string, AttributeValue>; text: string }>>();
  const allKeys = new Set<string>();
  const counts: Record<string, number> = {};
  for (const region of regions) {
    const m = new Map<string, { item: Record<string, AttributeValue>; text: string }>();
    for (const raw of byRegion[region] ?? []) {
      const item = normalise(raw, table);
      const key = canonical(Object.fromEntries(keyNames.map((k) => [k, raw[k]])));
      m.set(key, { item, text: canonical(item) });
      allKeys.add(key);
    }
    maps.set(region, m);
    counts[region] = m.size;
  }
  const divergent: DivergentKey[] = [];
  for (const key of [...allKeys].sort()) {
    const texts = regions.map((r) => maps.get(r)!.get(key)?.text ?? null);
    const reference = table.mode === 'one-way' ? texts[0] : (texts.find((t) => t !== null) ?? null);
    const differing = regions.filter((_r, i) => texts[i] !== reference);
    if (!differing.length) continue;
    divergent.push({
      table: table.name,
      key,
      states: Object.fromEntries(regions.map((r) => [r, maps.get(r)!.get(key)?.item ?? null])),
      differing,
    });
  }
  return { table: table.name, mode: table.mode, items: counts, divergent };
}

export async function scanTable(
  client: DynamoDBClient,
  table: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const res = await client.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

export async function verifyMirror(
  tables: readonly TableModel[],
  clientFor: (region: string) => DynamoDBClient,
): Promise<VerifyResult> {
  const started = Date.now();
  const results: TableVerification[] = [];
  for (const table of tables) {
    const byRegion: Record<string, Record<string, AttributeValue>[]> = {};
    await Promise.all(
      tableRegions(table).map(async (r) => (byRegion[r] = await scanTable(clientFor(r), table.name))),
    );
    results.push(compareRegions(table, byRegion));
  }
  return {
    tables: results,
    divergentKeys: results.reduce((n, t) => n + t.divergent.length, 0),
    durationMs: Date.now() - started,
  };
}

/** One line per divergent key, for terminals and logs. */
export function describeDivergence(d: DivergentKey): string {
  const state = (r: string) => {
    const item = d.states[r];
    return item ? canonical(item).slice(0, 160) : 'absent';
  };
  return `${d.table} ${d.key}: ${d.differing.map((r) => `${r}=${state(r)}`).join('  ')}`;
}
