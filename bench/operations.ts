/**
 * Operations at scale, as far as one local engine allows: a one-way table of BENCH_OPS_ITEMS items
 * (default 50,000) in three regions.
 *
 *   ceiling: BatchWriteItem   the items written into the two targets at once, 25 a request, 8 in flight each
 *   backfill                  runBackfill from the source to those two regions (a guarded PutItem each)
 *   ceiling: parallel Scan    the damaged table below read in every region at once, BENCH_OPS_SEGMENTS
 *                             segments each (default 4), strongly consistent
 *   full verify               verifyTable: every region scanned strongly consistent, compared in one place
 *   hash verify               hashVerifyTable: hashed per region, compared by range hashes
 *   repair                    the keys hash verify found, through the replicator's guards
 *   sampler choice            single keys vs the bucket hashes of a random range, per read unit
 *
 * The verifies run on a copy of the table damaged in every way (test/support/damaged-mirror.ts:
 * BENCH_OPS_DAMAGE keys per kind, default 12, so about 0.1 % of the keys), must find exactly those keys,
 * and a hash verify after the repair must find none. Items per second is items read (every region) over
 * the time to the comparison's verdict, before the re-reads (a fixed three rounds a second apart, the
 * same for both); read units and bytes across regions are per GB of the table, as `ddb-mirror verify`
 * prints them.
 */
import { BatchWriteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { digestOf, entryOf, itemSize } from '../lambda/anti-entropy/hash';
import {
  VerifyCost,
  meterBytes,
  newByteMeter,
  transferFigures,
  type ByteMeter,
  type TransferFigures,
} from '../lambda/anti-entropy/transfer';
import { runBackfill } from '../lambda/ops/backfill';
import { meterClient, newMeter, type CapacityMeter } from '../lambda/ops/capacity';
import { hashVerifyTable } from '../lambda/ops/hash-verify';
import { repairKeys } from '../lambda/ops/repair';
import { recheck, verifyTable, type VerifyReport } from '../lambda/ops/verify';
import { forEachBounded } from '../lambda/replicator/process';
import { prng } from '../lib/local/workload';
import type { DamagedMirror } from '../test/support/damaged-mirror';
import type { BenchEnv } from './env';

export interface OperationRow {
  readonly operation: string;
  readonly items: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly cost?: TransferFigures;
  readonly note?: string;
}

interface Metered {
  readonly clients: Record<string, DynamoDBClient>;
  readonly units: Record<string, CapacityMeter>;
  readonly bytes: Record<string, ByteMeter>;
}

function metered(regions: readonly string[]): Metered {
  const m: Metered = { clients: {}, units: {}, bytes: {} };
  for (const r of regions) {
    m.clients[r] = new DynamoDBClient({ region: r });
    m.units[r] = newMeter();
    m.bytes[r] = newByteMeter();
    meterClient(m.clients[r], m.units[r]);
    meterBytes(m.clients[r], m.bytes[r]);
  }
  return m;
}

const sum = (meters: Record<string, CapacityMeter>, f: (m: CapacityMeter) => number) =>
  Object.values(meters).reduce((n, m) => n + f(m), 0);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export interface OperationsOptions {
  readonly items: number;
  readonly perKind: number;
  readonly segments: number;
  /** Bytes of payload per item. */
  readonly payload: number;
}

export async function measureOperations(
  env: BenchEnv,
  o: OperationsOptions,
): Promise<{ rows: OperationRow[]; sampler: SamplerChoice }> {
  const { seedDamagedMirror, settingsFor } = await import('../test/support/damaged-mirror');
  const regions = env.regions;
  const [source, ...targets] = regions;
  const rows: OperationRow[] = [];
  const payload = 'x'.repeat(o.payload);
  const items = Array.from({ length: o.items }, (_v, i) => ({
    pk: { S: `key-${String(i).padStart(8, '0')}` },
    version: { N: '1' },
    data: { S: `${payload}${i}` },
  }));

  // The engine's ceiling for backfill's calls: BatchWriteItem into every target at once.
  const ceiling = await env.createMirrorTables({ regions, key: env.key, streamRegions: [] });
  const write = metered(targets);
  const written = await timed(() =>
    Promise.all(targets.map((t) => writeAllWith(write.clients[t], ceiling.table, items))),
  );
  rows.push(
    row(
      `ceiling: BatchWriteItem into ${targets.length} regions (25 items, 8 requests in flight each)`,
      o.items * targets.length,
      written.seconds,
      write,
    ),
  );
  // Backfill from the source to two empty regions.
  const one = await env.createMirrorTables({ regions, key: env.key, streamRegions: [] });
  await writeAllWith(metered([source]).clients[source], one.table, items);
  const tableBytes = itemBytesOf(items);
  const backfill = metered(regions);
  const filled = await timed(() =>
    runBackfill({
      settings: settingsFor(one.table, regions, 'one-way', source),
      targets,
      clients: backfill.clients,
      segments: o.segments,
      checkpoint: { load: () => undefined, save: () => undefined, clear: () => undefined },
    }),
  );
  if (!filled.value.complete || filled.value.counts.failed)
    throw new Error(`the backfill did not complete: ${JSON.stringify(filled.value.counts)}`);
  rows.push({
    ...row(
      `backfill to ${targets.length} regions (${o.segments} segments, a guarded PutItem per item and target)`,
      o.items * targets.length,
      filled.seconds,
      backfill,
    ),
    cost: transferFigures({
      tableBytes,
      home: source,
      readUnits: sum(backfill.units, (m) => m.readUnits),
      crossRegionBytes: targets.reduce((n, t) => n + backfill.bytes[t].bytes, 0),
    }),
    note: 'items are item × target writes; bytes: the writes to the targets and their answers',
  });

  // The verifies, on a copy damaged in every way.
  const m = await seedDamagedMirror({
    regions,
    mode: 'one-way',
    items: o.items,
    perKind: o.perKind,
    seed: 17,
    payload: o.payload,
  });
  // The engine's ceiling for the verifies' calls: a parallel Scan of every region at once.
  const scan = metered(regions);
  const scanned = await timed(() =>
    Promise.all(regions.map((r) => parallelScan(scan.clients[r], m.table.name, o.segments))),
  );
  rows.push(
    row(
      `ceiling: parallel Scan of ${regions.length} regions (${o.segments} segments each, strongly consistent)`,
      scanned.value.reduce((n, x) => n + x, 0),
      scanned.seconds,
      scan,
    ),
  );
  const full = await verifyRow(
    m,
    'full verify (strongly consistent Scan, compared in one place)',
    (x) => verifyTable(x),
    o,
  );
  const hash = await verifyRow(
    m,
    'hash verify (eventually consistent Scan, range hashes)',
    (x) => hashVerifyTable(x),
    o,
  );
  rows.push(full.row, hash.row);
  const sampler = await measureSamplerChoice(m, o.items);
  const repair = metered(regions);
  const repaired = await timed(() =>
    repairKeys({
      table: m.table,
      settings: m.settings,
      clients: repair.clients,
      keys: hash.report.divergent.map((d) => d.keyItem),
    }),
  );
  rows.push(
    row(
      `repair of the ${hash.report.divergent.length} keys found`,
      hash.report.divergent.length,
      repaired.seconds,
      repair,
    ),
  );
  const again = await hashVerifyTable({
    table: m.table,
    clients: metered(regions).clients,
    segments: o.segments,
  });
  if (again.divergent.length)
    throw new Error(
      `${again.divergent.length} keys still differ after the repair: ${again.divergent.slice(0, 5).map((d) => d.key)}`,
    );
  return { rows, sampler };
}

export interface SamplerWay {
  readonly runs: number;
  /** Distinct keys whose copies were compared. */
  readonly keys: number;
  /** Keys that still differed when read again. */
  readonly found: number;
  readonly readUnits: number;
}

export interface SamplerChoice {
  readonly singleKeys: SamplerWay;
  readonly range: SamplerWay & { readonly itemsPerRange: number };
}

const SAMPLER_RUNS = Number(process.env.BENCH_SAMPLER_RUNS ?? 100);
const SAMPLE_SIZE = 50;
const RANGE_ITEMS = 200;

/**
 * What the divergence sampler finds per read unit, two ways, on the damaged table:
 * - single keys (its segment path): 50 keys of a random Scan segment of the home region (keys only),
 *   then every region's copy of each (BatchGetItem, strongly consistent);
 * - the bucket hashes of a random range: one Scan segment (about 200 items) read in every region,
 *   eventually consistent, its items hashed and compared, the differing keys read again.
 * Both re-read what differs once. The second relies on a Scan segment holding the same keys in every
 * region's table; if it does not, only its cost grows (every key re-read), not what it finds.
 */
async function measureSamplerChoice(m: DamagedMirror, items: number): Promise<SamplerChoice> {
  const regions = m.table.regions;
  const c = metered(regions);
  const units = () => sum(c.units, (x) => x.readUnits);
  const once = { rounds: 1, intervalMs: 0 };
  const random = prng(29);
  const single = { runs: SAMPLER_RUNS, keys: 0, found: 0, readUnits: 0 };
  for (let run = 0; run < SAMPLER_RUNS; run++) {
    const before = units();
    const total = Math.max(1, Math.floor(items / SAMPLE_SIZE));
    const page = await c.clients[regions[0]].send(
      new ScanCommand({
        TableName: m.table.name,
        Segment: Math.floor(random() * total),
        TotalSegments: total,
        Limit: SAMPLE_SIZE,
        ProjectionExpression: '#k',
        ExpressionAttributeNames: { '#k': 'pk' },
      }),
    );
    const keys = (page.Items ?? []).map((i) => ({ pk: i.pk }));
    single.keys += keys.length;
    single.found += (await recheck(m.table, c.clients, keys, once)).length;
    single.readUnits += units() - before;
  }
  const range = { runs: SAMPLER_RUNS, keys: 0, found: 0, readUnits: 0, itemsPerRange: RANGE_ITEMS };
  for (let run = 0; run < SAMPLER_RUNS; run++) {
    const before = units();
    const total = Math.max(1, Math.floor(items / RANGE_ITEMS));
    const segment = Math.floor(random() * total);
    const held = await Promise.all(
      regions.map(async (r) => {
        const digests = new Map<string, string>();
        let start: Record<string, never> | undefined;
        do {
          const res = await c.clients[r].send(
            new ScanCommand({
              TableName: m.table.name,
              Segment: segment,
              TotalSegments: total,
              ExclusiveStartKey: start,
            }),
          );
          for (const i of res.Items ?? [])
            digests.set(JSON.stringify({ pk: i.pk }), digestOf(entryOf(i, m.table)));
          start = res.LastEvaluatedKey as typeof start;
        } while (start);
        return digests;
      }),
    );
    const keys = new Set(held.flatMap((d) => [...d.keys()]));
    const differing = [...keys].filter((k) => held.some((d) => d.get(k) !== held[0].get(k)));
    range.keys += keys.size;
    range.found += (
      await recheck(
        m.table,
        c.clients,
        differing.map((k) => JSON.parse(k)),
        once,
      )
    ).length;
    range.readUnits += units() - before;
  }
  return { singleKeys: single, range };
}

async function verifyRow(
  m: DamagedMirror,
  label: string,
  run: (o: Parameters<typeof verifyTable>[0]) => Promise<VerifyReport>,
  o: OperationsOptions,
): Promise<{ row: OperationRow; report: VerifyReport }> {
  const c = metered(m.table.regions);
  const cost = new VerifyCost(m.table.regions, c.units, c.bytes);
  let verdictAt = 0n;
  const started = process.hrtime.bigint();
  const report = await run({
    table: m.table,
    clients: c.clients,
    segments: o.segments,
    onPhase: (phase) => {
      cost.mark(phase);
      if (phase === 'recheck') verdictAt = process.hrtime.bigint();
    },
  });
  const found = report.divergent.map((d) => d.key).sort();
  const expected = [...m.damaged.keys()].sort();
  if (JSON.stringify(found) !== JSON.stringify(expected))
    throw new Error(`${label} found ${found.length} keys, not the ${expected.length} damaged ones`);
  const seconds = Number(verdictAt - started) / 1e9;
  const read = Object.values(report.scanned).reduce((n, x) => n + x, 0);
  return {
    report,
    row: {
      ...row(label, read, seconds, c),
      cost: cost.figures(report),
      note: `found the ${found.length} damaged keys of ${report.compared} (re-reads took ${(Number(process.hrtime.bigint() - verdictAt) / 1e9).toFixed(1)} s more)`,
    },
  };
}

function row(operation: string, items: number, seconds: number, m: Metered): OperationRow {
  return {
    operation,
    items,
    seconds,
    itemsPerSecond: items / seconds,
    readUnits: sum(m.units, (x) => x.readUnits),
    writeUnits: sum(m.units, (x) => x.writeUnits),
  };
}

async function writeAllWith(client: DynamoDBClient, table: string, items: readonly object[]) {
  const batches: object[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25) as object[]);
  await forEachBounded(batches, 8, async (batch) => {
    let pending = batch.map((Item) => ({ PutRequest: { Item } }));
    while (pending.length) {
      const res = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending as never } }),
      );
      pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  });
}

async function parallelScan(client: DynamoDBClient, table: string, segments: number): Promise<number> {
  let n = 0;
  await Promise.all(
    Array.from({ length: segments }, async (_v, segment) => {
      let start: Record<string, never> | undefined;
      do {
        const res = await client.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ExclusiveStartKey: start,
            Limit: 1000,
            ConsistentRead: true,
          }),
        );
        n += res.Items?.length ?? 0;
        start = res.LastEvaluatedKey as typeof start;
      } while (start);
    }),
  );
  return n;
}

/** The items' DynamoDB size, as verify counts it. */
const itemBytesOf = (items: readonly object[]) => items.reduce((n: number, i) => n + itemSize(i as never), 0);

const ITEMS = Number(process.env.BENCH_OPS_ITEMS ?? 50_000);
const DAMAGE = Number(process.env.BENCH_OPS_DAMAGE ?? 12);
const SEGMENTS = Number(process.env.BENCH_OPS_SEGMENTS ?? 4);
const PAYLOAD = Number(process.env.BENCH_OPS_PAYLOAD ?? 900);

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `npm run bench`'s operations section: one table, each operation beside the engine's ceilings. */
export async function operationsSection(env: BenchEnv): Promise<void> {
  const { rows, sampler } = await measureOperations(env, {
    items: ITEMS,
    perKind: DAMAGE,
    segments: SEGMENTS,
    payload: PAYLOAD,
  });
  const ceiling = (prefix: string) => rows.find((r) => r.operation.startsWith(prefix))!.itemsPerSecond;
  const writes = ceiling('ceiling: BatchWriteItem');
  const scans = ceiling('ceiling: parallel Scan');
  const versus = (r: OperationRow) =>
    r.operation.includes('BatchWrite') || r.operation.startsWith('backfill')
      ? `${fmt(r.itemsPerSecond / writes, 2)} × BatchWriteItem`
      : r.operation.includes('Scan')
        ? `${fmt(r.itemsPerSecond / scans, 2)} × Scan`
        : '';
  const table = rows.map((r) => ({
    operation: r.operation,
    items: r.items,
    'items/s': fmt(r.itemsPerSecond),
    'vs ceiling': versus(r),
    RCU: fmt(r.readUnits, 1),
    WCU: fmt(r.writeUnits, 1),
    'RCU/GB': r.cost ? fmt(r.cost.perGB.readUnits) : '',
    'cross-region/GB': r.cost ? `${fmt(r.cost.perGB.crossRegionBytes / 1e6, 1)} MB` : '',
    '% of table': r.cost ? fmt(r.cost.crossRegionPercent, 2) : '',
  }));
  const size = rows.find((r) => r.cost)?.cost?.tableBytes ?? 0;
  process.stdout.write(
    `\nOperations: a one-way table of ${fmt(ITEMS)} items (${fmt(size / 1e6, 1)} MB a copy) in ${env.regions.length} regions, ` +
      `${DAMAGE} damaged keys per kind (missing, extra, differing, same order key) for the verifies\n`,
  );
  console.table(table);
  for (const r of rows) if (r.note) process.stdout.write(`  ${r.operation}: ${r.note}\n`);
  const per = (w: SamplerWay) => ({
    runs: w.runs,
    'keys compared': w.keys,
    'divergent found': w.found,
    RCU: fmt(w.readUnits, 1),
    'keys / 1,000 RCU': fmt((1000 * w.keys) / w.readUnits),
    'found / 1,000 RCU': fmt((1000 * w.found) / w.readUnits, 1),
  });
  process.stdout.write(
    `\nDivergence sampler on the same damaged table: ${SAMPLE_SIZE} single keys a run (its segment path) vs the bucket hashes ` +
      `of a random range (one Scan segment of ~${sampler.range.itemsPerRange} items in every region)\n`,
  );
  console.table([
    { way: 'single keys', ...per(sampler.singleKeys) },
    { way: 'random range, hashed', ...per(sampler.range) },
  ]);
}
