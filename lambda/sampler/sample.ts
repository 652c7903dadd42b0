/**
 * The divergence sampler (docs/replication.md, "Continuous divergence sampling"): on a schedule, it
 * picks a few keys of one region's table, reads every region's copy and counts the keys whose copies
 * still differ after a few re-reads, with `verify`'s own comparison (`recheck` in lambda/ops/verify.ts).
 *
 * Keys come from two places, so both recent and old data are covered:
 * - live writes: the table's stream, read from its newest position (LATEST) for `listenSeconds`; the
 *   replicator's own mapping is the only other reader of each shard, within DynamoDB Streams' advice of
 *   at most two readers per shard (docs/platform.md#streams);
 * - a random segment of a parallel Scan sized from the table's item count, for the rest.
 *
 * Takes its clients, clock and randomness as parameters; the handler only wires them.
 */
import {
  DescribeTableCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import { keyText, type CompareTable, type SamplerSettings } from '../contract';
import { realSleep } from '../core/retry';
import type { Telemetry } from '../core/telemetry';
import { recheck, type FoundDivergence } from '../ops/verify';
import type { SdkItem } from '../ops/scan';

export interface SamplerDeps {
  readonly settings: SamplerSettings;
  /** A client per region of `settings.regions`. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  /** Streams client of `settings.region`. */
  readonly streams: DynamoDBStreamsClient;
  readonly telemetry: Telemetry;
  /** Epoch ms by which the run must have stopped listening (the invocation's budget). */
  readonly deadline: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). */
  readonly random?: () => number;
}

export interface SampleReport {
  readonly table: string;
  readonly region: string;
  /** Keys taken from the stream's live writes. */
  readonly live: number;
  /** Keys taken from a random segment of the table. */
  readonly scanned: number;
  /** Distinct keys compared across every region. */
  readonly compared: number;
  /** Keys whose copies differed on every read (the `DivergentItems` metric). */
  readonly divergent: readonly FoundDivergence[];
}

/** Pause between two polls of the stream while listening. */
const POLL_MS = 1000;
/** At most this many distinct live keys are kept before the sample is drawn from them. */
const LIVE_POOL_FACTOR = 10;
/** Random segments tried when a segment holds fewer keys than wanted. */
const SEGMENT_TRIES = 4;

/** One run: pick keys, compare them everywhere, publish the metrics and log each divergent key. */
export async function sampleOnce(d: SamplerDeps): Promise<SampleReport> {
  const s = d.settings;
  const table = compareTable(s);
  const description = await d.clients[s.region].send(new DescribeTableCommand({ TableName: s.table }));
  const live = await liveKeys(d, description.Table?.LatestStreamArn, Math.ceil(s.sampleSize / 2));
  const scanned = await segmentKeys(d, description.Table?.ItemCount ?? 0, s.sampleSize - live.size, live);
  const keys = [...live.values(), ...scanned.values()];
  const divergent = await recheck(table, d.clients, keys, {
    rounds: s.recheckRounds,
    intervalMs: s.recheckIntervalSeconds * 1000,
  });
  d.telemetry.metric('ItemsSampled', keys.length, { table: s.table });
  d.telemetry.metric('DivergentItems', divergent.length, { table: s.table });
  for (const f of divergent) d.telemetry.error('divergent item', divergenceFields(table, f));
  const report = { table: s.table, region: s.region, live: live.size, scanned: scanned.size };
  d.telemetry.info('divergence sample', { ...report, compared: keys.length, divergent: divergent.length });
  return { ...report, compared: keys.length, divergent };
}

export function compareTable(s: SamplerSettings): CompareTable {
  return {
    name: s.table,
    mode: s.mode,
    regions: s.regions,
    keyNames: s.keyNames,
    excludeAttributes: s.excludeAttributes,
  };
}

/**
 * What the log says of a divergent key: its key, how it differs, each region's order key (which write
 * each copy holds) and the attributes that differ from the reference copy, not their values (items
 * may hold personal data; `ddb-mirror verify` shows them).
 */
export function divergenceFields(table: CompareTable, f: FoundDivergence): Record<string, unknown> {
  const reference =
    table.mode === 'one-way'
      ? f.states[table.regions[0]]
      : f.states[table.regions.find((r) => !f.differing.includes(r)) ?? table.regions[0]];
  const differingAttributes: Record<string, string[] | null> = {};
  for (const r of f.differing) {
    const copy = f.states[r];
    differingAttributes[r] = copy && reference ? attributesThatDiffer(reference, copy) : null;
  }
  return {
    table: table.name,
    key: f.key,
    kind: f.kind,
    regions: f.differing,
    orderKeys: f.orderKeys,
    differingAttributes,
  };
}

function attributesThatDiffer(a: SdkItem, b: SdkItem): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((n) => JSON.stringify(a[n] ?? null) !== JSON.stringify(b[n] ?? null)).sort();
}

/** Distinct keys written while the run watches the stream, up to `want` of them chosen at random. */
async function liveKeys(
  d: SamplerDeps,
  streamArn: string | undefined,
  want: number,
): Promise<Map<string, SdkItem>> {
  const pool = new Map<string, SdkItem>();
  const now = d.now ?? Date.now;
  const until = Math.min(now() + d.settings.listenSeconds * 1000, d.deadline);
  if (want <= 0 || now() >= until) return pool;
  if (!streamArn) {
    d.telemetry.warn('no stream to listen to', { table: d.settings.table, region: d.settings.region });
    return pool;
  }
  const latest = async (ShardId: string) =>
    (
      await d.streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId, ShardIteratorType: 'LATEST' }),
      )
    ).ShardIterator;
  const shards = await openShards(d.streams, streamArn);
  let iterators = await Promise.all(shards.map(latest));
  while (now() < until && iterators.some(Boolean)) {
    iterators = await Promise.all(
      iterators.map(async (iterator, i) => {
        if (!iterator) return undefined;
        let res;
        try {
          res = await d.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        } catch (e) {
          // An iterator can expire (after 15 minutes in AWS) or, on DynamoDB Local, fail as trimmed
          // (docs/platform.md, "DynamoDB Local"). The pool is a sample: listen on from the newest position.
          const name = (e as Error).name;
          if (name !== 'TrimmedDataAccessException' && name !== 'ExpiredIteratorException') throw e;
          d.telemetry.warn('stream iterator lost, listening again from the newest record', {
            table: d.settings.table,
            region: d.settings.region,
            shardId: shards[i],
            error: name,
          });
          return latest(shards[i]);
        }
        for (const record of res.Records ?? []) {
          const key = record.dynamodb?.Keys as SdkItem | undefined;
          if (key && pool.size < want * LIVE_POOL_FACTOR) pool.set(keyText(key, d.settings.keyNames), key);
        }
        return res.NextShardIterator;
      }),
    );
    await (d.sleep ?? realSleep)(Math.max(0, Math.min(POLL_MS, until - now())));
  }
  return pick(pool, want, d.random ?? Math.random);
}

/** The stream's open shards: the ones still written (no ending sequence number). */
async function openShards(streams: DynamoDBStreamsClient, streamArn: string): Promise<string[]> {
  const open: string[] = [];
  let start: string | undefined;
  do {
    const res = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
    );
    for (const shard of res.StreamDescription?.Shards ?? []) {
      if (shard.ShardId && !shard.SequenceNumberRange?.EndingSequenceNumber) open.push(shard.ShardId);
    }
    start = res.StreamDescription?.LastEvaluatedShardId;
  } while (start);
  return open;
}

/**
 * Up to `want` keys not in `exclude`, from random segments of a parallel Scan whose segment count is
 * sized from the table's item count (which DynamoDB refreshes about every six hours), so that a segment
 * holds about `want` items; only the key attributes are read.
 */
async function segmentKeys(
  d: SamplerDeps,
  itemCount: number,
  want: number,
  exclude: ReadonlyMap<string, SdkItem>,
): Promise<Map<string, SdkItem>> {
  const keys = new Map<string, SdkItem>();
  const random = d.random ?? Math.random;
  const names = d.settings.keyNames;
  const totalSegments = Math.min(1_000_000, Math.max(1, Math.floor(itemCount / Math.max(1, want))));
  for (let tries = 0; tries < SEGMENT_TRIES && keys.size < want; tries++) {
    const res = await d.clients[d.settings.region].send(
      new ScanCommand({
        TableName: d.settings.table,
        Segment: Math.floor(random() * totalSegments),
        TotalSegments: totalSegments,
        Limit: want - keys.size + exclude.size,
        ProjectionExpression: names.map((_n, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#k${i}`, n])),
      }),
    );
    for (const item of (res.Items ?? []) as Record<string, AttributeValue>[]) {
      const text = keyText(item, names);
      if (!exclude.has(text) && keys.size < want) keys.set(text, item);
    }
    if (totalSegments === 1) break;
  }
  return keys;
}

/** `want` entries of `pool` chosen uniformly at random (a partial Fisher-Yates shuffle). */
function pick<T>(pool: ReadonlyMap<string, T>, want: number, random: () => number): Map<string, T> {
  const entries = [...pool.entries()];
  for (let i = 0; i < Math.min(want, entries.length); i++) {
    const j = i + Math.floor(random() * (entries.length - i));
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  return new Map(entries.slice(0, want));
}
