import {
  AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ReplicatorSettings } from '../../lambda/contract';
import { firstFailedIndex } from '../../lib/local/event-source';
import { RESERVED, compareSequence } from '../../lambda/contract';
import { StreamReader } from '../../lib/local/stream-reader';
import { canonical, normalise } from '../../lib/local/verify';
import { prng } from '../../lib/local/workload';
import { FaultMode, FaultProxy } from './fault-proxy';
import { KeySpec, client, createMirrorTables, scanAll } from './dynamo';

/**
 * A simulated N-region mirror on the real engine: one app table (with a stream where it is read) and
 * one tombstone table per region in DynamoDB Local, application writes that follow the write contract
 * of docs/replication.md, and a stand-in for the Lambda event source mapping (batches, partial batch
 * failures, duplicates, replays) and for the parking queues (at-least-once).
 *
 * The code under test plugs in as a `Replicator` (one invocation = one region's batch), so the real
 * replicator and the article's algorithm (the negative control) run under exactly the same schedule.
 */

/** One invocation of a region's replicator on a batch of that region's stream. */
export type Replicator = (
  region: string,
  event: DynamoDBStreamEvent,
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** Re-applies one parked message at its target; throws to leave it on the queue. */
export type ParkedConsumer = (targetRegion: string, message: unknown) => Promise<void>;

export interface ReplicatorUnderTest {
  readonly name: string;
  readonly replicate: Replicator;
  /** @default - nothing is ever parked */
  readonly consumeParked?: ParkedConsumer;
}

/** What a replicator needs from the simulated deployment. */
export interface HarnessContext {
  readonly table: string;
  readonly tombstoneTable: string;
  readonly regions: readonly string[];
  readonly mode: 'one-way' | 'multi-active';
  /** One-way only: the writable region. */
  readonly source?: string;
  readonly key: KeySpec;
  readonly versionAttribute: string;
  readonly excludeAttributes: readonly string[];
  /** The client a replicator uses to reach `region`: through the fault proxy when there is one. */
  clientFor(region: string): DynamoDBClient;
  /** Parks `message` on `target`'s queue (the SQS stand-in). */
  park(target: string, message: unknown): void;
  /** The settings the CDK construct would give this region's replicator. */
  settingsFor(region: string): ReplicatorSettings;
}

export type ReplicatorFactory = (ctx: HarnessContext) => ReplicatorUnderTest;

export interface MirrorHarnessOptions {
  readonly regions: readonly string[];
  readonly mode: 'one-way' | 'multi-active';
  /** One-way: the source region. @default regions[0] */
  readonly source?: string;
  readonly replicator: ReplicatorFactory;
  /** Needed for outages and throttling; without it the replicator's clients go straight to the engine. */
  readonly proxy?: FaultProxy;
  /** @default 'version' */
  readonly versionAttribute?: string;
  /** Multi-active: under last-writer-wins the application keeps no version. @default 'version' */
  readonly conflicts?: 'version' | 'last-writer-wins';
  /** @default [] */
  readonly excludeAttributes?: readonly string[];
  /** Seeds the splits and duplicate deliveries `drain` makes on its own. @default 1 */
  readonly seed?: number;
  /**
   * Batches of one region delivered side by side, as Lambda does with a ParallelizationFactor: the
   * records split by partition key into this many lanes, each lane in stream order. @default 1
   */
  readonly lanes?: number;
}

export interface PumpOptions {
  /** Batch sizes for the new records, used in turn (Lambda's batches end at arbitrary points). @default [all] */
  readonly splits?: readonly number[];
  /** Re-deliver an earlier batch (index modulo the number delivered so far) before the new records. */
  readonly duplicate?: number;
  /**
   * Re-deliver the stream from this position (modulo its length) to its end before the new records,
   * as a replay from TRIM_HORIZON or an older checkpoint would.
   */
  readonly replayFrom?: number;
  /**
   * Deliver at most this many of the pending records; the rest wait for a later pump (a poller that
   * is behind, so other regions' replicators act in between). @default all
   */
  readonly limit?: number;
}

export interface PumpResult {
  /** Records read from the stream by this pump. */
  readonly polled: number;
  /** Records acknowledged (checkpoint moved past them). */
  readonly acknowledged: number;
  /** Records still waiting, from the lowest failure on. */
  readonly pending: number;
  readonly failedBatches: number;
}

export interface RegionSnapshot {
  /** Canonical JSON of each item by canonical key. */
  readonly items: ReadonlyMap<string, string>;
}

export interface Divergence {
  readonly key: string;
  /** Canonical item per region, or null where absent. */
  readonly states: Record<string, string | null>;
}

interface RegionState {
  readonly region: string;
  readonly reader?: StreamReader;
  readonly history: DynamoDBRecord[];
  pending: DynamoDBRecord[];
  readonly batches: DynamoDBRecord[][];
  down: boolean;
}

/** Canonical JSON (object keys sorted), so equal items print equal: the local mirror's own. */
export { canonical };

export class MirrorHarness {
  readonly ctx: HarnessContext;
  readonly replicator: ReplicatorUnderTest;
  /** Every step taken, for failure messages. */
  readonly trace: string[] = [];
  /** Errors thrown by replicator invocations (a thrown invocation fails its whole batch). */
  readonly invocationErrors: string[] = [];
  /** Counters for reports: how much of the schedule actually happened. */
  readonly stats = { invocations: 0, recordsDelivered: 0, failedBatches: 0, parked: 0, parkedConsumed: 0 };
  private readonly states = new Map<string, RegionState>();
  private get lastWriterWins(): boolean {
    return this.options.mode === 'multi-active' && this.options.conflicts === 'last-writer-wins';
  }
  private readonly parked = new Map<string, unknown[]>();
  private readonly rnd: () => number;
  private readonly replicatorClients = new Map<string, DynamoDBClient>();

  private constructor(
    private readonly options: MirrorHarnessOptions,
    tables: { table: string; tombstoneTable: string; readers: Record<string, StreamReader> },
  ) {
    this.rnd = prng(options.seed ?? 1);
    const source = options.mode === 'one-way' ? (options.source ?? options.regions[0]) : undefined;
    for (const region of options.regions) {
      this.states.set(region, {
        region,
        reader: tables.readers[region],
        history: [],
        pending: [],
        batches: [],
        down: false,
      });
      this.parked.set(region, []);
    }
    const key: KeySpec = { partitionKey: { name: 'pk', type: 'S' } };
    const versionAttribute = options.versionAttribute ?? 'version';
    const excludeAttributes = options.excludeAttributes ?? [];
    const regions = options.regions;
    this.ctx = {
      table: tables.table,
      tombstoneTable: tables.tombstoneTable,
      regions,
      mode: options.mode,
      source,
      key,
      versionAttribute,
      excludeAttributes,
      clientFor: (region) => this.replicatorClient(region),
      park: (target, message) => {
        const q = this.parked.get(target);
        if (!q) throw new Error(`park: unknown target region ${target}`);
        q.push(message);
        this.stats.parked += 1;
        this.trace.push(`  parked for ${target}`);
      },
      settingsFor: (region): ReplicatorSettings => {
        const peers =
          options.mode === 'multi-active'
            ? regions.filter((r) => r !== region)
            : region === source
              ? regions.filter((r) => r !== source)
              : [];
        const common = {
          table: tables.table,
          tombstoneTable: tables.tombstoneTable,
          region,
          partitionKey: key.partitionKey.name,
          peers: peers.map((p) => ({ region: p, parkingQueueUrl: `harness://parking/${region}/${p}` })),
          tombstoneTtlSeconds: 30 * 24 * 3600,
          excludeAttributes,
          maxConcurrency: 4,
          maxAttempts: 2,
          baseDelayMs: 1,
        };
        if (options.mode === 'one-way') return { ...common, mode: 'one-way' };
        return options.conflicts === 'last-writer-wins'
          ? {
              ...common,
              mode: 'multi-active',
              versionAttribute: RESERVED.stampedVersion,
              conflicts: 'last-writer-wins',
            }
          : { ...common, mode: 'multi-active', versionAttribute };
      },
    };
    this.replicator = options.replicator(this.ctx);
  }

  /** Creates fresh tables (a new name per harness: docs/platform.md#dynamodb-local, Local slows down on reused stream tables). */
  static async create(options: MirrorHarnessOptions): Promise<MirrorHarness> {
    const source = options.mode === 'one-way' ? (options.source ?? options.regions[0]) : undefined;
    const tables = await createMirrorTables({
      regions: options.regions,
      key: { partitionKey: { name: 'pk', type: 'S' } },
      // One-way replicas' streams are never read: no stream, fewer stream records piling up in Local.
      streamRegions: source ? [source] : options.regions,
    });
    return new MirrorHarness(options, tables);
  }

  get regions(): readonly string[] {
    return this.options.regions;
  }

  private replicatorClient(region: string): DynamoDBClient {
    let c = this.replicatorClients.get(region);
    if (!c) {
      c = this.options.proxy ? this.options.proxy.client(region) : client(region);
      this.replicatorClients.set(region, c);
    }
    return c;
  }

  private state(region: string): RegionState {
    const s = this.states.get(region);
    if (!s) throw new Error(`unknown region ${region}`);
    return s;
  }

  isDown(region: string): boolean {
    return this.state(region).down;
  }

  // ---------------------------------------------------------------- application operations

  /**
   * The application's save (write contract): `ADD version :one SET data = :d`. Returns the new
   * version, or undefined when the region is down (its application cannot write either).
   */
  async save(
    region: string,
    key: string,
    data: string,
    extra: Record<string, AttributeValue> = {},
  ): Promise<number | undefined> {
    if (this.state(region).down) {
      this.trace.push(`save ${region} ${key}=${data} (skipped: region down)`);
      return undefined;
    }
    const lww = this.lastWriterWins;
    const names: Record<string, string> = {
      ...(lww ? {} : { '#v': this.ctx.versionAttribute }),
      '#d': 'data',
    };
    const values: Record<string, AttributeValue> = {
      ...(lww ? {} : { ':one': { N: '1' } }),
      ':d': { S: data },
    };
    const sets = ['#d = :d'];
    Object.entries(extra).forEach(([name, value], i) => {
      names[`#x${i}`] = name;
      values[`:x${i}`] = value;
      sets.push(`#x${i} = :x${i}`);
    });
    const res = await client(region).send(
      new UpdateItemCommand({
        TableName: this.ctx.table,
        Key: { pk: { S: key } },
        UpdateExpression: `${lww ? '' : 'ADD #v :one '}SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const version = lww ? 0 : Number(res.Attributes?.[this.ctx.versionAttribute]?.N);
    this.trace.push(`save ${region} ${key}=${data} -> v${version}`);
    return version;
  }

  /** A whole-item PutItem (allowed by the contract, drops `_ddbm_` stamps). Mainly for one-way sources. */
  async put(region: string, key: string, attributes: Record<string, AttributeValue>): Promise<void> {
    if (this.state(region).down) {
      this.trace.push(`put ${region} ${key} (skipped: region down)`);
      return;
    }
    await client(region).send(
      new PutItemCommand({ TableName: this.ctx.table, Item: { ...attributes, pk: { S: key } } }),
    );
    this.trace.push(`put ${region} ${key} ${canonical(attributes)}`);
  }

  /**
   * A save by whole-item replacement: read the item, then PutItem it with the version one higher
   * (1 for a new item). Allowed by the contract; it drops the `_ddbm_` stamps.
   */
  async replace(region: string, key: string, data: string): Promise<number | undefined> {
    if (this.state(region).down) {
      this.trace.push(`replace ${region} ${key}=${data} (skipped: region down)`);
      return undefined;
    }
    const v = this.ctx.versionAttribute;
    const current = await client(region).send(
      new GetItemCommand({ TableName: this.ctx.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    const version = Number(current.Item?.[v]?.N ?? '0') + 1;
    await client(region).send(
      new PutItemCommand({
        TableName: this.ctx.table,
        Item: {
          pk: { S: key },
          ...(this.lastWriterWins ? {} : { [v]: { N: String(version) } }),
          data: { S: data },
        },
      }),
    );
    this.trace.push(`replace ${region} ${key}=${data} -> v${version}`);
    return version;
  }

  /** The application's delete: a plain DeleteItem. */
  async remove(region: string, key: string): Promise<void> {
    if (this.state(region).down) {
      this.trace.push(`delete ${region} ${key} (skipped: region down)`);
      return;
    }
    await client(region).send(new DeleteItemCommand({ TableName: this.ctx.table, Key: { pk: { S: key } } }));
    this.trace.push(`delete ${region} ${key}`);
  }

  // ---------------------------------------------------------------- faults

  /**
   * A regional outage: the region's replicator does not run, its application does not write, and
   * every request to its DynamoDB fails (peers' replicated writes must retry, then park).
   */
  setDown(region: string, down: boolean): void {
    if (down && !this.options.proxy) throw new Error('setDown needs a FaultProxy');
    this.state(region).down = down;
    this.options.proxy?.setMode(region, down ? 'down' : 'ok');
    this.trace.push(`${down ? 'outage' : 'recover'} ${region}`);
  }

  /** A partial fault (throttling, resets) on requests to the region; its replicator keeps running. */
  setFault(region: string, mode: FaultMode): void {
    if (!this.options.proxy) throw new Error('setFault needs a FaultProxy');
    this.options.proxy.setMode(region, mode);
    this.state(region).down = mode === 'down';
    this.trace.push(`fault ${region} ${mode}`);
  }

  /** Every region back up. */
  heal(): void {
    for (const s of this.states.values()) s.down = false;
    this.options.proxy?.heal();
    this.trace.push('heal');
  }

  // ---------------------------------------------------------------- the event source mapping

  private async invoke(region: string, records: DynamoDBRecord[]): Promise<{ failedAt?: number }> {
    let res: { batchItemFailures: { itemIdentifier: string }[] };
    this.stats.invocations += 1;
    this.stats.recordsDelivered += records.length;
    try {
      res = await this.replicator.replicate(region, { Records: records });
    } catch (e) {
      this.invocationErrors.push(`${region}: ${(e as Error).stack ?? String(e)}`);
      this.trace.push(`  invocation threw: ${(e as Error).message}`);
      this.stats.failedBatches += 1;
      return { failedAt: 0 };
    }
    // The emulator's rule: resume at the lowest reported sequence number (docs/platform.md#event-source-mapping).
    const failedAt = firstFailedIndex(records, res);
    if (failedAt < 0) return {};
    this.stats.failedBatches += 1;
    return { failedAt };
  }

  private describe(records: DynamoDBRecord[]): string {
    return records
      .map((r) => `${r.eventName?.[0]}:${r.dynamodb?.Keys?.pk?.S}@${r.dynamodb?.SequenceNumber?.slice(-4)}`)
      .join(' ');
  }

  /** Polls the region's stream and delivers what is new (plus any duplicate or replay asked for). */
  async pump(region: string, options: PumpOptions = {}): Promise<PumpResult> {
    const s = this.state(region);
    if (s.down || !s.reader)
      return { polled: 0, acknowledged: 0, pending: s.pending.length, failedBatches: 0 };
    const fresh = await s.reader.pollRecords();
    s.history.push(...fresh);
    s.pending.push(...fresh);
    let failedBatches = 0;

    if (options.duplicate !== undefined && s.batches.length) {
      const batch = s.batches[options.duplicate % s.batches.length];
      this.trace.push(`pump ${region} duplicate [${this.describe(batch)}]`);
      if ((await this.invoke(region, batch)).failedAt !== undefined) failedBatches++;
    }
    if (options.replayFrom !== undefined && s.history.length) {
      // Only what was already acknowledged is a replay; the pending part is delivered below anyway.
      const acked = s.history.length - s.pending.length;
      if (acked > 0) {
        const replay = s.history.slice(options.replayFrom % acked, acked);
        this.trace.push(`pump ${region} replay [${this.describe(replay)}]`);
        if ((await this.invoke(region, replay)).failedAt !== undefined) failedBatches++;
      }
    }

    const lanes = this.lanesOf(s.pending, this.options.lanes ?? 1);
    const results = await Promise.all(lanes.map((lane) => this.deliverLane(region, lane, options)));
    const left = new Set(results.flatMap((r) => r.left));
    const acknowledged = s.pending.length - left.size;
    s.pending = s.pending.filter((r) => left.has(r));
    failedBatches += results.filter((r) => r.failed).length;
    return { polled: fresh.length, acknowledged, pending: s.pending.length, failedBatches };
  }

  /** A region's pending records split by partition key (Lambda's lanes), each lane in stream order. */
  private lanesOf(records: readonly DynamoDBRecord[], n: number): DynamoDBRecord[][] {
    if (n <= 1) return [[...records]];
    const lanes: DynamoDBRecord[][] = Array.from({ length: n }, () => []);
    for (const r of records) {
      const key = canonical(r.dynamodb?.Keys?.[this.ctx.key.partitionKey.name] ?? null);
      let h = 0;
      for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
      lanes[h % n].push(r);
    }
    return lanes.filter((l) => l.length);
  }

  /** One lane's batches, one after another; returns the records left from its first failure on. */
  private async deliverLane(
    region: string,
    lane: DynamoDBRecord[],
    options: PumpOptions,
  ): Promise<{ left: DynamoDBRecord[]; failed: boolean }> {
    const s = this.state(region);
    const sizes = options.splits?.length ? options.splits : [Number.MAX_SAFE_INTEGER];
    let turn = 0;
    let budget = options.limit ?? Number.MAX_SAFE_INTEGER;
    let left = lane;
    while (left.length && budget > 0) {
      const size = Math.min(budget, Math.max(1, sizes[turn++ % sizes.length]));
      budget -= size;
      const batch = left.slice(0, size);
      this.trace.push(`pump ${region} [${this.describe(batch)}]`);
      s.batches.push(batch);
      const { failedAt } = await this.invoke(region, batch);
      if (failedAt !== undefined) {
        left = left.slice(failedAt);
        this.trace.push(`  failed from #${failedAt}: ${left.length} pending in this lane`);
        return { left, failed: true };
      }
      left = left.slice(batch.length);
    }
    return { left, failed: false };
  }

  /** Messages parked for `target` and not yet consumed. */
  parkedFor(target: string): readonly unknown[] {
    return this.parked.get(target) ?? [];
  }

  /**
   * Runs the parked-record consumer over `target`'s queue. A message is removed once consumed; with
   * `duplicate`, each consumed message is delivered a second time (SQS is at-least-once).
   */
  async drainParked(target: string, options: { readonly duplicate?: boolean } = {}): Promise<number> {
    const q = this.parked.get(target) ?? [];
    if (!q.length) return 0;
    const consume = this.replicator.consumeParked;
    if (!consume) throw new Error(`${this.replicator.name} parked messages but has no parked consumer`);
    const keep: unknown[] = [];
    let consumed = 0;
    for (const m of q.splice(0, q.length)) {
      try {
        await consume(target, m);
        consumed++;
        this.stats.parkedConsumed += 1;
        if (options.duplicate) await consume(target, m);
      } catch (e) {
        keep.push(m);
        this.trace.push(`  parked message for ${target} not consumed: ${(e as Error).message}`);
      }
    }
    q.unshift(...keep);
    this.trace.push(`drain parked ${target}: ${consumed} consumed, ${q.length} left`);
    return consumed;
  }

  /**
   * Pumps several regions at the same time, as their replicators run concurrently in a deployment
   * (one invocation per shard at a time: a region is never pumped twice at once).
   */
  async pumpConcurrently(regions: readonly string[], options: PumpOptions = {}): Promise<PumpResult[]> {
    this.trace.push(`concurrently: ${[...new Set(regions)].join(', ')}`);
    return Promise.all([...new Set(regions)].map((r) => this.pump(r, options)));
  }

  /**
   * Pumps every region that is up and drains the parked queues of targets that are up, round after
   * round, until a full round reads nothing new, leaves nothing pending and consumes nothing.
   * With `concurrency: 'random'` (the default) a round runs every region's replicator and the parked
   * consumers at the same time about half the time, otherwise one after another; `'sequential'` never.
   * Throws when that does not quiesce within `maxRounds` (a stuck shard or a replication loop).
   */
  async drain(
    options: { readonly maxRounds?: number; readonly concurrency?: 'random' | 'sequential' } = {},
  ): Promise<{ rounds: number }> {
    const maxRounds = options.maxRounds ?? 25;
    for (let round = 1; round <= maxRounds; round++) {
      const concurrent = (options.concurrency ?? 'random') === 'random' && this.rnd() < 0.5;
      if (concurrent) this.trace.push('concurrent round:');
      const tasks: (() => Promise<number>)[] = [];
      for (const region of this.regions) {
        if (this.isDown(region)) continue;
        const splits = [1 + Math.floor(this.rnd() * 4), 1 + Math.floor(this.rnd() * 8)];
        tasks.push(async () => {
          const r = await this.pump(region, { splits });
          // Records delivered from an earlier pump's leftovers count too: they may park messages.
          return r.polled + r.acknowledged + r.pending + r.failedBatches;
        });
      }
      for (const target of this.regions) {
        if (this.isDown(target)) continue;
        const duplicate = this.rnd() < 0.3;
        tasks.push(async () => {
          const before = this.parkedFor(target).length;
          if (before) await this.drainParked(target, { duplicate });
          return before;
        });
      }
      let activity = 0;
      if (concurrent) activity = (await Promise.all(tasks.map((t) => t()))).reduce((a, b) => a + b, 0);
      else for (const t of tasks) activity += await t();
      // In a concurrent round a parked queue may fill after its consumer task looked at it: quiet only
      // when nothing moved and no reachable target has parked messages left.
      const parkedLeft = this.regions.some((t) => !this.isDown(t) && this.parkedFor(t).length > 0);
      if (activity === 0 && !parkedLeft) return { rounds: round };
    }
    throw new Error(
      `drain did not quiesce within ${maxRounds} rounds (stuck shard or replication loop); ` +
        `pending: ${this.regions.map((r) => `${r}=${this.state(r).pending.length}`).join(', ')}; ` +
        `parked: ${this.regions.map((r) => `${r}=${this.parkedFor(r).length}`).join(', ')}`,
    );
  }

  // ---------------------------------------------------------------- observations

  /** Application-visible items per region: `_ddbm_` and excluded attributes dropped. */
  async snapshot(): Promise<Record<string, RegionSnapshot>> {
    const out: Record<string, RegionSnapshot> = {};
    for (const region of this.regions) {
      const items = new Map<string, string>();
      for (const item of await scanAll(region, this.ctx.table))
        items.set(canonical(item.pk), canonical(normalise(item, this.ctx)));
      out[region] = { items };
    }
    return out;
  }

  /** Everything stored, stamps and tombstones included (for idempotence checks). */
  async rawState(): Promise<Record<string, { items: string[]; tombstones: string[] }>> {
    const out: Record<string, { items: string[]; tombstones: string[] }> = {};
    for (const region of this.regions) {
      out[region] = {
        items: (await scanAll(region, this.ctx.table)).map(canonical).sort(),
        tombstones: (await scanAll(region, this.ctx.tombstoneTable)).map(canonical).sort(),
      };
    }
    return out;
  }

  /**
   * Keys whose application-visible state differs between regions: across all regions for
   * multi-active tables, between the source and each replica for one-way tables; `regions` narrows
   * the comparison (e.g. to the healthy regions during an outage).
   */
  async divergence(options: { readonly regions?: readonly string[] } = {}): Promise<Divergence[]> {
    const regions = options.regions ?? this.regions;
    const snap = await this.snapshot();
    const keys = new Set<string>();
    Object.values(snap).forEach((s) => s.items.forEach((_v, k) => keys.add(k)));
    const out: Divergence[] = [];
    for (const key of [...keys].sort()) {
      const states: Record<string, string | null> = {};
      for (const region of regions) states[region] = snap[region].items.get(key) ?? null;
      const reference =
        this.ctx.source && regions.includes(this.ctx.source) ? states[this.ctx.source] : states[regions[0]];
      if (Object.values(states).some((v) => v !== reference)) out.push({ key, states });
    }
    return out;
  }

  /** Every record read so far from a region's stream, in order. */
  history(region: string): readonly DynamoDBRecord[] {
    return this.state(region).history;
  }

  /** Batches delivered so far (in the order they were first delivered). */
  batches(region: string): readonly DynamoDBRecord[][] {
    return this.state(region).batches;
  }

  /** Re-delivers a batch as a duplicate, outside the checkpoint; returns whether it reported a failure. */
  async redeliver(region: string, batch: DynamoDBRecord[]): Promise<boolean> {
    this.trace.push(`redeliver ${region} [${this.describe(batch)}]`);
    return (await this.invoke(region, batch)).failedAt !== undefined;
  }
}

/** Orders records by sequence number (for tests that rebuild batches). */
export function bySequence(a: DynamoDBRecord, b: DynamoDBRecord): number {
  return compareSequence(a.dynamodb?.SequenceNumber ?? '0', b.dynamodb?.SequenceNumber ?? '0');
}
