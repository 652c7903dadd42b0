/**
 * Verify by range hashes (docs/replication.md, "Anti-entropy by range hashes"): the default of
 * `ddb-mirror verify`. Each region's items are hashed into a tree of bucket sums where they are read;
 * the trees are compared top-down, only the buckets that differ are descended into, and only the keys
 * that differ are read again (verify's re-read rule: `recheck`) before they count. The steps are those
 * `verify --deployed` runs in each region (lambda/anti-entropy/), here in one process with the files in
 * memory; what the comparison reads of another region's files is what would cross regions.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { classify, keyText, type CompareTable } from '../contract';
import { compareTrees, type Candidate, type LevelFigures } from '../anti-entropy/compare';
import { keyItemOf, type Entry } from '../anti-entropy/hash';
import { planFor, partitions, type HashPlan } from '../anti-entropy/plan';
import { hashSegment } from '../anti-entropy/segment';
import { MemoryStore, meteredRange, newReadMeter, runPaths, type ReadMeter } from '../anti-entropy/store';
import { buildTree, byPartition, TreeReader } from '../anti-entropy/tree';
import type { SdkItem } from './scan';
import {
  countKinds,
  DEFAULT_RECHECK,
  recheck,
  type FoundDivergence,
  type RecheckPolicy,
  type VerifyOptions,
  type VerifyReport,
} from './verify';

export interface HashVerifyOptions extends VerifyOptions {
  /** @default planFor(the largest region's item count) */
  readonly plan?: HashPlan;
  /** A differing bucket with at most this many items per copy has its entries compared. @default 4 */
  readonly fetchAt?: number;
}

export interface HashFigures {
  readonly plan: HashPlan;
  /** Per level: buckets compared, buckets that differed (summed over partitions). */
  readonly levels: readonly LevelFigures[];
  /** Buckets whose entries were compared. */
  readonly leaves: number;
  /** Keys whose hashes differed (before the re-reads). */
  readonly candidates: number;
  /** What the comparison read of each region's files; the home region's reads stay in that region. */
  readonly reads: Readonly<Record<string, ReadMeter>>;
  /** The region the comparison runs in (the one-way source; else the first region). */
  readonly home: string;
  /** Bytes of tree files per region (kept where the data lives, never read whole). */
  readonly treeBytes: Readonly<Record<string, number>>;
}

export interface HashVerifyReport extends VerifyReport {
  readonly method: 'hash';
  readonly hash: HashFigures;
}

const RUN = 'local';

export async function hashVerifyTable(o: HashVerifyOptions): Promise<HashVerifyReport> {
  const started = Date.now();
  const { table } = o;
  const sample = o.sample ?? 1;
  const home = table.regions[0];
  await o.onPhase?.('scan');
  const scanned: Record<string, number> = {};
  const itemBytes: Record<string, number> = {};
  let total = 0;
  const entries = await Promise.all(
    table.regions.map(async (region) => {
      const found: Entry[] = [];
      scanned[region] = 0;
      itemBytes[region] = 0;
      await Promise.all(
        Array.from({ length: o.segments }, async (_v, segment) => {
          const r = await hashSegment({
            client: o.clients[region],
            table,
            segment,
            totalSegments: o.segments,
            pageSize: o.pageSize ?? 1000,
            sample,
            ...(o.signal ? { signal: o.signal } : {}),
            onPage: (n) => o.onProgress?.((total += n)),
          });
          found.push(...r.entries);
          scanned[region] += r.scanned;
          itemBytes[region] += r.itemBytes;
        }),
      );
      return found;
    }),
  );
  const plan = o.plan ?? planFor(Math.max(...entries.map((e) => e.length)));
  const interrupted = !!o.signal?.aborted;
  const stores = table.regions.map(() => new MemoryStore());
  if (!interrupted)
    entries.forEach((list, r) =>
      byPartition(plan, list).forEach((part, p) =>
        stores[r].put(runPaths.tree(RUN, p), buildTree(plan, p, part)),
      ),
    );
  await o.onPhase?.('compare');
  const reads = table.regions.map(newReadMeter);
  const levels: LevelFigures[] = [];
  let compared = 0;
  let leaves = 0;
  const candidates: Candidate[] = [];
  for (let p = 0; !interrupted && p < partitions(plan); p++) {
    const trees = await Promise.all(
      stores.map((s, r) => TreeReader.open(meteredRange(s, runPaths.tree(RUN, p), reads[r]))),
    );
    const c = await compareTrees(trees, { fetchAt: o.fetchAt ?? 4, home: 0 });
    compared += c.compared;
    leaves += c.leaves;
    candidates.push(...c.candidates);
    c.levels.forEach((l, i) => {
      levels[i] ??= { buckets: 0, differing: 0 };
      levels[i].buckets += l.buckets;
      levels[i].differing += l.differing;
    });
  }
  await o.onPhase?.('recheck');
  const settled = await confirmCandidates(
    table,
    o.clients,
    candidates,
    o.recheck ?? DEFAULT_RECHECK,
    o.recheckLimit,
  );
  const divergent = settled.divergent;
  return {
    method: 'hash',
    table: table.name,
    mode: table.mode,
    regions: table.regions,
    sample,
    scanned,
    itemBytes,
    items: Object.fromEntries(table.regions.map((r, i) => [r, entries[i].length])),
    compared,
    inFlight: settled.inFlight,
    notReread: settled.notReread,
    divergent,
    byKind: countKinds(divergent),
    interrupted,
    durationMs: Date.now() - started,
    hash: {
      plan,
      levels,
      leaves,
      candidates: settled.candidates,
      reads: Object.fromEntries(table.regions.map((r, i) => [r, reads[i]])),
      home,
      treeBytes: Object.fromEntries(table.regions.map((r, i) => [r, stores[i].bytes()])),
    },
  };
}

export interface Settled {
  /** Keys whose hashes differed (before the re-reads). */
  readonly candidates: number;
  readonly divergent: FoundDivergence[];
  /** Candidates that agreed on a re-read: writes being replicated. */
  readonly inFlight: number;
  /** Candidates past `limit`, counted from their hashes alone. */
  readonly notReread: number;
}

/**
 * Verify's re-read rule on the keys whose hashes differed: the first `limit` in key order are read
 * again in every region (`recheck`) and count only if they still differ; the rest keep the verdict of
 * their hashes, as verify keeps the scan's.
 */
export async function confirmCandidates(
  table: CompareTable,
  clients: Readonly<Record<string, DynamoDBClient>>,
  candidates: readonly Candidate[],
  policy: RecheckPolicy = DEFAULT_RECHECK,
  limit = 10_000,
): Promise<Settled> {
  const found = candidates
    .map((c) => {
      const keyItem = keyItemOf(c.key) as SdkItem;
      return { keyItem, key: keyText(keyItem, table.keyNames), digests: c.digests };
    })
    .filter((c) => classify(table, c.digests))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const reread = found.slice(0, limit);
  const confirmed = await recheck(
    table,
    clients,
    reread.map((c) => c.keyItem),
    policy,
  );
  const unread = found.slice(limit).map((c): FoundDivergence => {
    const d = classify(table, c.digests)!;
    return {
      table: table.name,
      key: c.key,
      kind: d.kind,
      differing: d.regions,
      states: {},
      orderKeys: {},
      keyItem: c.keyItem,
    };
  });
  return {
    candidates: found.length,
    divergent: [...confirmed, ...unread],
    inFlight: reread.length - confirmed.length,
    notReread: unread.length,
  };
}
