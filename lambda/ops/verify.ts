/**
 * Verify: scans every region of a table (parallel segments, strongly consistent), compares the items
 * by key and content (`lambda/contract/compare.ts`), and re-reads the keys that differ before counting
 * them: a write still being replicated differs for a moment and is not a divergence. Takes its clients
 * as parameters; shared by `ddb-mirror verify --full` and the scheduled sampler (`recheck`). The default
 * `verify` compares by range hashes instead (hash-verify.ts), with the same re-read rule.
 *
 * Memory: one digest per key and region, not the items; the items of the keys that differ are read
 * again anyway.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  classify,
  contentText,
  DIVERGENCE_KINDS,
  inSample,
  keyText,
  normalise,
  RESERVED,
  type CompareTable,
  type DivergenceKind,
  type DivergentKey,
} from '../contract';
import { itemSize } from '../anti-entropy/hash';
import { realSleep } from '../core/retry';
import { getItems, scanPage, type SdkItem } from './scan';

export interface RecheckPolicy {
  /** Reads of each key that differs, the first right after the scan. */
  readonly rounds: number;
  /** Pause between two rounds. */
  readonly intervalMs: number;
}

/** A few reads over about two seconds: longer than a healthy mirror's replication lag. */
export const DEFAULT_RECHECK: RecheckPolicy = { rounds: 3, intervalMs: 1000 };

export interface VerifyOptions {
  readonly table: CompareTable;
  /** A client per region of `table.regions`. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly segments: number;
  /** @default 1000 */
  readonly pageSize?: number;
  /** Fraction (0, 1] of the keys compared, chosen by key hash. @default 1 */
  readonly sample?: number;
  readonly recheck?: RecheckPolicy;
  /**
   * At most this many keys are read again (the first in key order); beyond, the scan's verdict
   * stands: a region that lacks most of a table (newly added) would otherwise cost several reads per
   * item. @default 10,000
   */
  readonly recheckLimit?: number;
  /** Stops scanning at the next page; the report says it was interrupted. */
  readonly signal?: AbortSignal;
  /** Items read so far, over every region. */
  readonly onProgress?: (scanned: number) => void;
  /** Called as each step starts, so a caller can tell the reads of one step from another's. */
  readonly onPhase?: (phase: VerifyPhase) => void | Promise<void>;
}

/** The steps of a verify: read every region, compare (hash verify only), read the differing keys again. */
export type VerifyPhase = 'scan' | 'compare' | 'recheck';

/** A key that still differs after the re-reads, with the key itself for reading or repairing it. */
export interface FoundDivergence extends DivergentKey<SdkItem> {
  readonly keyItem: SdkItem;
  /** Each region's order key (`_ddbm_ord`: which write its copy holds); null where absent or unset; empty when not re-read. */
  readonly orderKeys: Readonly<Record<string, string | null>>;
}

export interface VerifyReport {
  /** `full`: every item compared in one place; `hash`: by range hashes (hash-verify.ts). */
  readonly method: 'full' | 'hash';
  readonly table: string;
  readonly mode: CompareTable['mode'];
  readonly regions: readonly string[];
  readonly sample: number;
  /** Items read per region (all of them, sampled or not). */
  readonly scanned: Readonly<Record<string, number>>;
  /** DynamoDB's size of the items read per region: the table's size there, for figures per GB. */
  readonly itemBytes: Readonly<Record<string, number>>;
  /** Keys in the sample held per region. */
  readonly items: Readonly<Record<string, number>>;
  /** Distinct keys compared. */
  readonly compared: number;
  /** Keys that differed after the scan but agreed on a re-read: writes being replicated. */
  readonly inFlight: number;
  /** Divergent keys past `recheckLimit`, counted from the scan alone (their `states` are empty). */
  readonly notReread: number;
  readonly divergent: readonly FoundDivergence[];
  readonly byKind: Readonly<Record<DivergenceKind, number>>;
  readonly interrupted: boolean;
  readonly durationMs: number;
}

interface Entry {
  readonly keyItem: SdkItem;
  readonly digests: (string | null)[];
}

export async function verifyTable(o: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const { table } = o;
  const sample = o.sample ?? 1;
  const entries = new Map<string, Entry>();
  const scanned: Record<string, number> = Object.fromEntries(table.regions.map((r) => [r, 0]));
  const itemBytes: Record<string, number> = Object.fromEntries(table.regions.map((r) => [r, 0]));
  let total = 0;
  await o.onPhase?.('scan');
  const onItem = (regionIndex: number, item: SdkItem) => {
    scanned[table.regions[regionIndex]] += 1;
    itemBytes[table.regions[regionIndex]] += itemSize(item);
    total += 1;
    const key = keyText(item, table.keyNames);
    if (!inSample(key, sample)) return;
    let entry = entries.get(key);
    if (!entry) {
      const keyItem = Object.fromEntries(table.keyNames.map((k) => [k, item[k]]));
      entries.set(key, (entry = { keyItem, digests: table.regions.map(() => null) }));
    }
    entry.digests[regionIndex] = createHash('sha1').update(contentText(item, table)).digest('base64');
  };
  await Promise.all(
    table.regions.map((region, i) =>
      scanRegion(
        o,
        region,
        (item) => onItem(i, item),
        () => o.onProgress?.(total),
      ),
    ),
  );
  const interrupted = !!o.signal?.aborted;
  const candidates = interrupted ? [] : [...entries].filter(([, e]) => classify(table, e.digests));
  candidates.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const limit = o.recheckLimit ?? 10_000;
  const reread = candidates.slice(0, limit).map(([, e]) => e.keyItem);
  await o.onPhase?.('recheck');
  const confirmed = await recheck(table, o.clients, reread, o.recheck ?? DEFAULT_RECHECK);
  const unread = candidates.slice(limit).map(([key, e]): FoundDivergence => {
    const d = classify(table, e.digests)!;
    return {
      table: table.name,
      key,
      kind: d.kind,
      differing: d.regions,
      states: {},
      orderKeys: {},
      keyItem: e.keyItem,
    };
  });
  const divergent = [...confirmed, ...unread];
  const items = Object.fromEntries(
    table.regions.map((r, i) => [r, [...entries.values()].filter((e) => e.digests[i] !== null).length]),
  );
  return {
    method: 'full',
    table: table.name,
    mode: table.mode,
    regions: table.regions,
    sample,
    scanned,
    itemBytes,
    items,
    compared: entries.size,
    inFlight: reread.length - confirmed.length,
    notReread: unread.length,
    divergent,
    byKind: countKinds(divergent),
    interrupted,
    durationMs: Date.now() - started,
  };
}

/** Every segment of one region in parallel, page after page, until done or stopped. */
async function scanRegion(
  o: VerifyOptions,
  region: string,
  onItem: (item: SdkItem) => void,
  onPage: () => void,
): Promise<void> {
  const segment = async (s: number) => {
    let startKey: SdkItem | undefined;
    do {
      if (o.signal?.aborted) return;
      const page = await scanPage(o.clients[region], {
        table: o.table.name,
        segment: s,
        totalSegments: o.segments,
        ...(startKey ? { startKey } : {}),
        pageSize: o.pageSize ?? 1000,
      });
      page.items.forEach(onItem);
      onPage();
      startKey = page.lastKey;
    } while (startKey);
  };
  await Promise.all(Array.from({ length: o.segments }, (_v, s) => segment(s)));
}

/**
 * Reads `keys` again in every region, a few times apart, and keeps those that still differ on the
 * last read (with what each region held then), in key order. A key that agrees once is settled.
 */
export async function recheck(
  table: CompareTable,
  clients: Readonly<Record<string, DynamoDBClient>>,
  keys: readonly SdkItem[],
  policy: RecheckPolicy = DEFAULT_RECHECK,
): Promise<FoundDivergence[]> {
  let pending = [...keys];
  let found: FoundDivergence[] = [];
  for (let round = 1; round <= Math.max(1, policy.rounds) && pending.length; round += 1) {
    if (round > 1) await realSleep(policy.intervalMs);
    const held = await Promise.all(table.regions.map((r) => readByKey(table, clients[r], pending)));
    found = [];
    for (const keyItem of pending) {
      const key = keyText(keyItem, table.keyNames);
      const items = held.map((m) => m.get(key) ?? null);
      const d = classify(
        table,
        items.map((i) => (i ? contentText(i, table) : null)),
      );
      if (!d) continue;
      const states = Object.fromEntries(
        table.regions.map((r, i) => [r, items[i] && normalise(items[i], table)]),
      );
      const orderKeys = Object.fromEntries(
        table.regions.map((r, i) => [r, items[i]?.[RESERVED.order]?.S ?? null]),
      );
      found.push({ table: table.name, key, kind: d.kind, differing: d.regions, states, keyItem, orderKeys });
    }
    pending = found.map((f) => f.keyItem);
  }
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

async function readByKey(
  table: CompareTable,
  client: DynamoDBClient,
  keys: readonly SdkItem[],
): Promise<Map<string, SdkItem>> {
  const items = await getItems(client, table.name, keys);
  return new Map(items.map((i) => [keyText(i, table.keyNames), i]));
}

export function countKinds(divergent: readonly { kind: DivergenceKind }[]): Record<DivergenceKind, number> {
  const counts = Object.fromEntries(DIVERGENCE_KINDS.map((k) => [k, 0])) as Record<DivergenceKind, number>;
  for (const d of divergent) counts[d.kind] += 1;
  return counts;
}
