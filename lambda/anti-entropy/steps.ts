/**
 * The steps of `verify --deployed` (docs/replication.md, "Anti-entropy by range hashes"), each one
 * function invocation of a state machine, each taking its clients and stores as parameters:
 *
 * - in every region: `hash-segment` (one Scan segment, resumed invocation after invocation) or
 *   `hash-export` (one file of the table's export) writes part files to the region's own bucket, then
 *   `reduce` builds each partition's tree file there;
 * - in the comparing region: `compare` reads only the trees' bucket sums of every region, descends where
 *   they differ, re-reads the differing keys (verify's rule) and writes the divergent keys of its
 *   partition; `repair` writes them through the replicator's guards; `summarise` adds up the partitions.
 */
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CompareTable, DivergenceKind, ReplicatorSettings } from '../contract';
import { toSdkImage, type Image } from '../core/attributes';
import { confirmCandidates } from '../ops/hash-verify';
import { repairKeys, type RepairReport } from '../ops/repair';
import { toImage, toSdkItem } from '../ops/scan';
import { countKinds, recheck, type RecheckPolicy } from '../ops/verify';
import { compareTrees, type LevelFigures } from './compare';
import { compareEntries, entryOf, itemSize, type Entry } from './hash';
import { partitions, type HashPlan } from './plan';
import { hashSegment, writeParts } from './segment';
import { meteredRange, newReadMeter, runPaths, type ObjectStore, type ReadMeter } from './store';
import { buildTree, decodePart, TreeReader } from './tree';

export interface RunTask {
  readonly runId: string;
  readonly plan: HashPlan;
}

// ---- hash, in every region ----

export interface HashSegmentTask extends RunTask {
  readonly task: 'hash-segment';
  readonly segment: number;
  readonly totalSegments: number;
  /** Where the segment resumes (stream-shaped key); absent at its start. */
  readonly startKey?: Image;
  /** Invocations so far: names this one's part files. */
  readonly invocation?: number;
  readonly scanned?: number;
  readonly itemBytes?: number;
  /** @default 1000 */
  readonly pageSize?: number;
}

export interface HashSegmentResult extends HashSegmentTask {
  readonly done: boolean;
}

export interface HashDeps {
  readonly client: DynamoDBClient;
  readonly store: ObjectStore;
  readonly table: CompareTable;
  /** Epoch ms by which an invocation stops reading and writes what it has. */
  readonly deadline: number;
}

/** Hashes one Scan segment from where the last invocation stopped, until it ends or the deadline. */
export async function hashSegmentStep(d: HashDeps, t: HashSegmentTask): Promise<HashSegmentResult> {
  const invocation = t.invocation ?? 0;
  const r = await hashSegment({
    client: d.client,
    table: d.table,
    segment: t.segment,
    totalSegments: t.totalSegments,
    pageSize: t.pageSize ?? 1000,
    deadline: d.deadline,
    ...(t.startKey ? { startKey: toSdkItem(t.startKey) } : {}),
  });
  await writeParts(d.store, t.runId, t.plan, `s${t.segment}-${invocation}`, r.entries);
  const { startKey: _done, ...rest } = t;
  return {
    ...rest,
    invocation: invocation + 1,
    scanned: (t.scanned ?? 0) + r.scanned,
    itemBytes: (t.itemBytes ?? 0) + r.itemBytes,
    ...(r.lastKey ? { startKey: toImage(r.lastKey) } : {}),
    done: !r.lastKey,
  };
}

export interface HashExportTask extends RunTask {
  readonly task: 'hash-export';
  readonly bucket: string;
  readonly key: string;
}

export interface HashExportResult {
  readonly key: string;
  readonly scanned: number;
  readonly itemBytes: number;
}

/** Entries kept in memory before they are written as part files. */
const FLUSH_ENTRIES = 200_000;

/**
 * Hashes one data file of the table's export (gzip, one `{"Item": …}` per line in DynamoDB JSON:
 * binaries base64, so each item is turned into the SDK's shape first and hashes as a scanned one does).
 */
export async function hashExportStep(
  d: Pick<HashDeps, 'store' | 'table'> & { read(bucket: string, key: string): Promise<Readable> },
  t: HashExportTask,
): Promise<HashExportResult> {
  const worker = `x${Buffer.from(t.key).toString('base64url').slice(-40)}`;
  const lines = createInterface({
    input: (await d.read(t.bucket, t.key)).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  let entries: Entry[] = [];
  let flushes = 0;
  let scanned = 0;
  let itemBytes = 0;
  const flush = async () => {
    await writeParts(d.store, t.runId, t.plan, `${worker}-${flushes++}`, entries);
    entries = [];
  };
  for await (const line of lines) {
    if (!line.trim()) continue;
    const item = toSdkImage((JSON.parse(line) as { Item: Image }).Item);
    scanned += 1;
    itemBytes += itemSize(item);
    entries.push(entryOf(item, d.table));
    if (entries.length >= FLUSH_ENTRIES) await flush();
  }
  if (entries.length || !flushes) await flush();
  return { key: t.key, scanned, itemBytes };
}

export interface ReduceTask extends RunTask {
  readonly task: 'reduce';
  readonly partition: number;
}

/** Builds one partition's tree file from every part file the hash steps wrote for it. */
export async function reduceStep(
  store: ObjectStore,
  t: ReduceTask,
): Promise<{ partition: number; entries: number; treeBytes: number }> {
  const keys = await store.list(runPaths.parts(t.runId, t.partition));
  const all = (await Promise.all(keys.map(async (k) => decodePart(await store.get(k)))))
    .flat()
    .sort(compareEntries);
  // A table holds a key once: a second entry is from an invocation that failed after writing some of
  // its parts, and was retried, or resumed, over the same items.
  const entries = all.filter((e, i) => i === 0 || e.key !== all[i - 1].key || e.kh !== all[i - 1].kh);
  const tree = buildTree(t.plan, t.partition, entries);
  await store.put(runPaths.tree(t.runId, t.partition), tree);
  return { partition: t.partition, entries: entries.length, treeBytes: tree.byteLength };
}

// ---- compare and repair, in the comparing region ----

export interface CompareTask extends RunTask {
  readonly task: 'compare';
  readonly partition: number;
}

export interface DivergentKeyRecord {
  readonly key: string;
  /** Stream-shaped key, for the repair. */
  readonly keyItem: Image;
  readonly kind: DivergenceKind;
  readonly regions: readonly string[];
}

/** What `compare` writes for its partition (`runPaths.result`). */
export interface PartitionResult {
  readonly partition: number;
  readonly compared: number;
  readonly items: Readonly<Record<string, number>>;
  readonly candidates: number;
  readonly inFlight: number;
  readonly notReread: number;
  readonly divergent: readonly DivergentKeyRecord[];
  readonly levels: readonly LevelFigures[];
  readonly leaves: number;
  /** What was read of each region's tree (the comparing region's own reads stay in it). */
  readonly reads: Readonly<Record<string, ReadMeter>>;
}

export interface CompareDeps {
  /** Every region's run store (its bucket). */
  readonly stores: Readonly<Record<string, ObjectStore>>;
  /** Every region's DynamoDB, for the re-reads. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly table: CompareTable;
  /** The region this runs in. */
  readonly home: string;
  readonly recheck: RecheckPolicy;
}

export async function compareStep(
  d: CompareDeps,
  t: CompareTask,
): Promise<{ partition: number; compared: number; candidates: number; divergent: number }> {
  const regions = d.table.regions;
  const reads = regions.map(newReadMeter);
  const trees = await Promise.all(
    regions.map((r, i) =>
      TreeReader.open(meteredRange(d.stores[r], runPaths.tree(t.runId, t.partition), reads[i])),
    ),
  );
  const c = await compareTrees(trees, { home: Math.max(0, regions.indexOf(d.home)) });
  const settled = await confirmCandidates(d.table, d.clients, c.candidates, d.recheck);
  const result: PartitionResult = {
    partition: t.partition,
    compared: c.compared,
    items: Object.fromEntries(regions.map((r, i) => [r, c.items[i]])),
    candidates: settled.candidates,
    inFlight: settled.inFlight,
    notReread: settled.notReread,
    divergent: settled.divergent.map((f) => ({
      key: f.key,
      keyItem: toImage(f.keyItem),
      kind: f.kind,
      regions: f.differing,
    })),
    levels: c.levels,
    leaves: c.leaves,
    reads: Object.fromEntries(regions.map((r, i) => [r, reads[i]])),
  };
  await d.stores[d.home].put(runPaths.result(t.runId, t.partition), Buffer.from(JSON.stringify(result)));
  return {
    partition: t.partition,
    compared: c.compared,
    candidates: settled.candidates,
    divergent: result.divergent.length,
  };
}

export interface RepairTask {
  readonly task: 'repair';
  readonly runId: string;
  readonly partition: number;
}

/** What `repair` writes for its partition (`runPaths.repair`). */
export interface PartitionRepair {
  readonly partition: number;
  readonly keys: number;
  readonly counts: RepairReport['counts'];
  readonly skipped: RepairReport['skipped'];
  /** Keys that still differ when read again after the repair. */
  readonly remaining: readonly DivergentKeyRecord[];
}

export interface RepairDeps {
  readonly store: ObjectStore;
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly table: CompareTable;
  readonly replicators: Readonly<Record<string, ReplicatorSettings>>;
  readonly recheck: RecheckPolicy;
}

/** Repairs the divergent keys `compare` found in one partition, then reads them again. */
export async function repairStep(
  d: RepairDeps,
  t: RepairTask,
): Promise<{ partition: number; keys: number; applied: number; remaining: number }> {
  const result = JSON.parse(
    Buffer.from(await d.store.get(runPaths.result(t.runId, t.partition))).toString(),
  ) as PartitionResult;
  const keys = result.divergent.map((k) => toSdkItem(k.keyItem));
  const report = await repairKeys({ table: d.table, settings: d.replicators, clients: d.clients, keys });
  const remaining = await recheck(d.table, d.clients, keys, d.recheck);
  const repair: PartitionRepair = {
    partition: t.partition,
    keys: keys.length,
    counts: report.counts,
    skipped: report.skipped,
    remaining: remaining.map((f) => ({
      key: f.key,
      keyItem: toImage(f.keyItem),
      kind: f.kind,
      regions: f.differing,
    })),
  };
  await d.store.put(runPaths.repair(t.runId, t.partition), Buffer.from(JSON.stringify(repair)));
  return {
    partition: t.partition,
    keys: keys.length,
    applied: report.counts.applied,
    remaining: remaining.length,
  };
}

export interface SummariseTask extends RunTask {
  readonly task: 'summarise';
}

/** The run as `ddb-mirror verify --deployed` prints it: the execution's output, well under 256 KiB. */
export interface RunSummary {
  readonly runId: string;
  readonly partitions: number;
  /** Partitions whose result was found (all of them when every compare step succeeded). */
  readonly partitionsCompared: number;
  /** Distinct keys compared. */
  readonly compared: number;
  readonly items: Readonly<Record<string, number>>;
  readonly candidates: number;
  readonly inFlight: number;
  readonly notReread: number;
  readonly divergent: number;
  readonly byKind: Readonly<Record<DivergenceKind, number>>;
  /** The first divergent keys, in key order. */
  readonly keys: readonly Omit<DivergentKeyRecord, 'keyItem'>[];
  readonly levels: readonly LevelFigures[];
  /** Bytes read of each region's trees. */
  readonly readBytes: Readonly<Record<string, number>>;
  readonly repair?: {
    readonly partitions: number;
    readonly keys: number;
    readonly counts: Readonly<Record<string, number>>;
    readonly skipped: number;
    readonly remaining: number;
    readonly remainingKeys: readonly Omit<DivergentKeyRecord, 'keyItem'>[];
  };
}

/** Keys listed in the summary; the rest are in the result files. */
const SUMMARY_KEYS = 100;

export async function summariseStep(store: ObjectStore, t: SummariseTask): Promise<RunSummary> {
  const read = async <T>(keys: string[]) =>
    Promise.all(keys.map(async (k) => JSON.parse(Buffer.from(await store.get(k)).toString()) as T));
  const results = await read<PartitionResult>(await store.list(runPaths.results(t.runId)));
  const repairs = await read<PartitionRepair>(await store.list(runPaths.repairs(t.runId)));
  const add = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    return into;
  };
  const items: Record<string, number> = {};
  const readBytes: Record<string, number> = {};
  const levels: LevelFigures[] = [];
  for (const r of results) {
    add(items, r.items);
    add(readBytes, Object.fromEntries(Object.entries(r.reads).map(([k, v]) => [k, v.bytes])));
    r.levels.forEach((l, i) => {
      levels[i] ??= { buckets: 0, differing: 0 };
      levels[i].buckets += l.buckets;
      levels[i].differing += l.differing;
    });
  }
  const divergent = results
    .flatMap((r) => r.divergent)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const strip = ({ keyItem: _k, ...rest }: DivergentKeyRecord) => rest;
  const total = (f: (r: PartitionResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const remaining = repairs
    .flatMap((r) => r.remaining)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    runId: t.runId,
    partitions: partitions(t.plan),
    partitionsCompared: results.length,
    compared: total((r) => r.compared),
    items,
    candidates: total((r) => r.candidates),
    inFlight: total((r) => r.inFlight),
    notReread: total((r) => r.notReread),
    divergent: divergent.length,
    byKind: countKinds(divergent),
    keys: divergent.slice(0, SUMMARY_KEYS).map(strip),
    levels,
    readBytes,
    ...(repairs.length
      ? {
          repair: {
            partitions: repairs.length,
            keys: repairs.reduce((n, r) => n + r.keys, 0),
            counts: repairs.reduce((c, r) => add(c, r.counts), {} as Record<string, number>),
            skipped: repairs.reduce((n, r) => n + r.skipped.length, 0),
            remaining: remaining.length,
            remainingKeys: remaining.slice(0, SUMMARY_KEYS).map(strip),
          },
        }
      : {}),
  };
}

export type Task = HashSegmentTask | HashExportTask | ReduceTask | CompareTask | RepairTask | SummariseTask;
