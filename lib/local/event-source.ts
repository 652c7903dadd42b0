import { createHash, randomUUID } from 'crypto';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { MappingSettings, parseMappingProperties } from './mapping-settings';
import { compareSequence } from '../../lambda/contract';

/** What the event source reads: `StreamReader` satisfies it. */
export interface ShardSource {
  /** New records since the previous poll, per shard, each shard's records in stream order. */
  poll(): Promise<
    ReadonlyArray<{
      readonly shardId: string;
      readonly parentShardId?: string;
      readonly records: DynamoDBRecord[];
    }>
  >;
}

/** Throwing (or rejecting) is a function error, as an unhandled error in the handler is on Lambda. */
export type StreamInvoke = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

/**
 * The invocation record Lambda sends to an on-failure destination for a stream batch: metadata only,
 * never the records (Lambda developer guide, "Retaining discarded records for a DynamoDB event source").
 */
export interface StreamOnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  /** Absent when the batch was discarded without having been invoked. */
  readonly responseContext?: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: string;
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export type OnFailureSink = (destinationArn: string, record: StreamOnFailureRecord) => Promise<void> | void;

export type EventSourceNotice =
  | {
      readonly type: 'invoke';
      readonly shardId: string;
      /** The ParallelizationFactor lane (0-based). */
      readonly lane: number;
      readonly records: number;
      readonly attempt: number;
      readonly firstSequenceNumber: string;
      readonly lastSequenceNumber: string;
    }
  | { readonly type: 'function-error'; readonly shardId: string; readonly error: unknown }
  | {
      readonly type: 'partial-failure';
      readonly shardId: string;
      readonly failed: number;
      readonly retried: number;
    }
  | { readonly type: 'bisect'; readonly shardId: string; readonly halves: readonly [number, number] }
  | {
      readonly type: 'discard';
      readonly shardId: string;
      readonly record: StreamOnFailureRecord;
      readonly destination?: string;
    }
  | { readonly type: 'poll-error' | 'sink-error'; readonly error: unknown };

export interface DynamoStreamEventSourceOptions {
  readonly reader: ShardSource;
  readonly invoke: StreamInvoke;
  /** The mapping's settings (`parseMappingProperties`). @default - Lambda's defaults for a stream */
  readonly settings?: MappingSettings;
  /** Written into on-failure records. */
  readonly streamArn: string;
  /** Written into on-failure records. @default 'arn:aws:lambda:local:000000000000:function:local' */
  readonly functionArn?: string;
  /** Receives discarded batches when `DestinationConfig.OnFailure.Destination` is set. */
  readonly onFailure?: OnFailureSink;
  /** Progress notices (for a UI or a log). */
  readonly onEvent?: (notice: EventSourceNotice) => void;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** Interval between polls of `start()`. Lambda polls each shard about 4 times a second. @default 250 */
  readonly pollIntervalMs?: number;
  /** Delay before the n-th retry of a batch in `start()` (not in `pollOnce`). @default 250 ms doubling to 8 s */
  readonly retryDelayMs?: (retry: number) => number;
  /**
   * The partition key of a record, which picks its batch lane when ParallelizationFactor > 1 (Lambda
   * keeps one partition key's records in one lane, in order). @default - the record's whole `Keys`
   */
  readonly partitionKeyOf?: (record: DynamoDBRecord) => string;
  /**
   * Age records (MaximumRecordAgeInSeconds) from when this source first read them rather than from their
   * `ApproximateCreationDateTime`: DynamoDB Local floors that to the minute (docs/platform.md#dynamodb-local),
   * and the local reader sees each record within one poll of its creation. @default false
   */
  readonly ageFromFirstRead?: boolean;
}

export interface EventSourceCounters {
  /** Invocations, retries included. */
  batches: number;
  /** Records handed to the function, re-deliveries included. */
  recordsDelivered: number;
  /** Invocations that were retries of a failed (part of a) batch. */
  retries: number;
  functionErrors: number;
  partialFailures: number;
  bisections: number;
  /** Batches discarded (sent to the on-failure destination when one is set). */
  onFailure: number;
  recordsDiscarded: number;
  /**
   * REMOVE records without their old image on a stream that has old images: DynamoDB Local writes one
   * when two deletes of an item race, AWS writes none (docs/platform.md#dynamodb-local). Dropped here,
   * as they never reach a function on AWS, and counted.
   */
  phantomRemovesDropped: number;
  /** Deliveries of a batch beyond the first (`setDeliveries`): duplicates, as at-least-once allows. */
  duplicateDeliveries: number;
  /** The longest time a lane's head batch kept failing before it succeeded or was discarded, ms. */
  maxBlockedMs: number;
}

/** Lambda's payload limit for a synchronous invocation (docs/platform.md#event-source-mapping). */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

interface WorkItem {
  records: DynamoDBRecord[];
  invokeCount: number;
  /** When its first record was read (clock ms). */
  readAt?: number;
  lastFunctionError?: string;
  /** When the batch (or the batch it was bisected from) first failed, clock ms. */
  failingSince?: number;
}

/** One of a shard's ParallelizationFactor lanes: batches in a lane go one at a time, in order. */
interface Shard {
  readonly shardId: string;
  readonly lane: number;
  readonly parentShardId?: string;
  /** Read, not yet in a batch. */
  backlog: DynamoDBRecord[];
  /** When `backlog[0]` was read (clock ms), for the batching window. */
  backlogSince?: number;
  /** Batches being retried, in stream order (bisection queues both halves). */
  work: WorkItem[];
  busy?: Promise<void>;
  nextAttemptAt: number;
}

/**
 * Emulates a Lambda event source mapping on a DynamoDB stream: per shard, ParallelizationFactor lanes
 * with one batch in flight each, a partition key's records always in the same lane and in order,
 * checkpoint only past what succeeded.
 *
 * Semantics follow the Lambda developer guide (docs/platform.md#event-source-mapping): partial batch responses checkpoint at the lowest
 * reported sequence number and replay everything after it; an empty or unknown `itemIdentifier` fails the
 * whole batch; bisection does not use retries; a batch whose retries run out, or whose records grow older
 * than `MaximumRecordAgeInSeconds`, is discarded with its metadata sent to the on-failure destination, and the
 * shard moves on. Two choices where the guide is silent: a retry re-delivers only the failed records of
 * the batch (it is not topped up with newer records), and halves of a bisected batch each start with a
 * fresh retry count.
 */
export class DynamoStreamEventSource {
  readonly counters: EventSourceCounters = {
    batches: 0,
    recordsDelivered: 0,
    retries: 0,
    functionErrors: 0,
    partialFailures: 0,
    bisections: 0,
    onFailure: 0,
    recordsDiscarded: 0,
    phantomRemovesDropped: 0,
    duplicateDeliveries: 0,
    maxBlockedMs: 0,
  };

  private settings: MappingSettings;
  private readonly shards = new Map<string, Shard>();
  private readonly clock: () => number;
  private firstPollDone = false;
  private readonly firstReadAt = new WeakMap<DynamoDBRecord, number>();
  private deliveries?: () => number;
  private paused = false;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(private readonly options: DynamoStreamEventSourceOptions) {
    this.settings = options.settings ?? parseMappingProperties({});
    this.clock = options.clock ?? Date.now;
  }

  /** Records read but not yet checkpointed, over all shards. */
  get pending(): number {
    let n = 0;
    for (const s of this.shards.values())
      n += s.backlog.length + s.work.reduce((a, w) => a + w.records.length, 0);
    return n;
  }

  /**
   * When the oldest record read but not yet checkpointed was read (clock ms), undefined when nothing is
   * pending: `now - this` is the local stand-in for Lambda's IteratorAge.
   */
  get oldestPendingReadAt(): number | undefined {
    let oldest: number | undefined;
    for (const s of this.shards.values())
      for (const t of [...s.work.map((w) => w.readAt), s.backlog.length ? s.backlogSince : undefined])
        if (t !== undefined) oldest = Math.min(oldest ?? t, t);
    return oldest;
  }

  /**
   * Stops invoking: the stream is still read (records keep their age), nothing is delivered until
   * `resume()`. An invocation in flight finishes. What a region outage does to its own pollers.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Delivers every batch this many times (read per batch; at least 1): the duplicates that
   * at-least-once delivery allows, on demand. `undefined` goes back to once.
   */
  setDeliveries(deliveries: (() => number) | undefined): void {
    this.deliveries = deliveries;
  }

  /** Replaces MaximumRecordAgeInSeconds (-1 is infinite): models a shorter stream retention. */
  setMaximumRecordAge(seconds: number): void {
    this.settings = { ...this.settings, maximumRecordAgeInSeconds: seconds };
  }

  /**
   * One round: read the stream once, then run at most one invocation per shard (shards concurrently) and
   * wait for them. Deterministic: retries happen on the next round, without back-off. Returns the records
   * read and the shards that did something (invoked or discarded).
   */
  async pollOnce(): Promise<{ read: number; steps: number }> {
    if (!this.settings.enabled) return { read: 0, steps: 0 };
    const read = await this.read();
    const lanes = this.paused ? [] : [...this.shards.values()];
    const steps = await Promise.all(lanes.map((s) => this.step(s)));
    return { read, steps: steps.filter(Boolean).length };
  }

  /**
   * Rounds of `pollOnce` until a round neither reads nor does anything (or `maxRounds`): the stream is
   * drained, or what is left waits for the batching window (advance the clock).
   */
  async drain(maxRounds = 1000): Promise<number> {
    for (let round = 1; round <= maxRounds; round++) {
      const { read, steps } = await this.pollOnce();
      if (read === 0 && steps === 0) return round;
    }
    return maxRounds;
  }

  /** Polls every `pollIntervalMs`; each shard works through its batches on its own, with retry back-off. */
  start(): void {
    if (this.running || !this.settings.enabled) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.all([...this.shards.values()].map((s) => s.busy));
  }

  private async run(): Promise<void> {
    const interval = this.options.pollIntervalMs ?? 250;
    while (this.running) {
      try {
        await this.read();
      } catch (error) {
        this.notify({ type: 'poll-error', error });
      }
      for (const shard of this.shards.values()) {
        if (this.paused || shard.busy || this.clock() < shard.nextAttemptAt) continue;
        shard.busy = this.stepUntilIdle(shard).finally(() => (shard.busy = undefined));
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async stepUntilIdle(shard: Shard): Promise<void> {
    while (this.running && !this.paused) {
      if (!(await this.step(shard))) return;
      const head = shard.work[0];
      if (head && head.invokeCount > 0) {
        // The batch failed and will be retried: back off instead of spinning on a poisoned record.
        shard.nextAttemptAt =
          this.clock() + (this.options.retryDelayMs ?? defaultRetryDelay)(head.invokeCount);
        return;
      }
    }
  }

  /** Returns how many records the reader returned. */
  private async read(): Promise<number> {
    const batches = await this.options.reader.poll();
    let count = 0;
    const now = this.clock();
    const skip = this.settings.startingPosition === 'LATEST' && !this.firstPollDone;
    this.firstPollDone = true;
    for (const b of batches) {
      count += b.records.length;
      const lanes = this.lanesOf(b.shardId, b.parentShardId);
      if (skip) continue;
      for (const record of b.records) {
        if (isPhantomRemove(record)) {
          this.counters.phantomRemovesDropped++;
          continue;
        }
        const lane = lanes[this.laneOf(record)];
        this.firstReadAt.set(record, now);
        if (!lane.backlog.length) lane.backlogSince = now;
        lane.backlog.push(record);
      }
    }
    return count;
  }

  /** The shard's lanes, created on first sight. */
  private lanesOf(shardId: string, parentShardId: string | undefined): Shard[] {
    const lanes: Shard[] = [];
    for (let lane = 0; lane < this.settings.parallelizationFactor; lane++) {
      const id = `${shardId}/${lane}`;
      let shard = this.shards.get(id);
      if (!shard) {
        shard = { shardId, lane, parentShardId, backlog: [], work: [], nextAttemptAt: 0 };
        this.shards.set(id, shard);
      }
      lanes.push(shard);
    }
    return lanes;
  }

  private laneOf(record: DynamoDBRecord): number {
    const n = this.settings.parallelizationFactor;
    if (n === 1) return 0;
    const key = this.options.partitionKeyOf?.(record) ?? JSON.stringify(record.dynamodb?.Keys ?? {});
    return createHash('md5').update(key).digest().readUInt32BE(0) % n;
  }

  /** A child shard starts only after every lane of its parent has drained (Lambda reads parents first). */
  private parentBusy(shard: Shard): boolean {
    if (!shard.parentShardId) return false;
    for (const lane of this.shards.values())
      if (lane.shardId === shard.parentShardId && (lane.backlog.length || lane.work.length)) return true;
    return false;
  }

  /** At most one invocation (or one discard) on the lane; false when there was nothing to do. */
  private async step(shard: Shard): Promise<boolean> {
    if (this.parentBusy(shard)) return false;
    if (!shard.work.length) {
      const readAt = shard.backlogSince;
      const batch = this.takeBatch(shard);
      if (!batch) return false;
      shard.work.push({ records: batch, invokeCount: 0, readAt });
    }
    const item = shard.work[0];

    const expired = this.expiredPrefix(item.records);
    if (expired > 0) {
      await this.discard(shard, { ...item, records: item.records.slice(0, expired) }, 'RecordAgeExceeded');
      item.records = item.records.slice(expired);
      if (!item.records.length) {
        this.finishHead(shard);
        return true;
      }
    }

    let response: DynamoDBBatchResponse | void;
    try {
      response = await this.invoke(shard, item);
    } catch (error) {
      this.counters.functionErrors++;
      item.lastFunctionError = 'Unhandled';
      item.failingSince ??= this.clock();
      this.notify({ type: 'function-error', shardId: shard.shardId, error });
      if (this.settings.bisectBatchOnFunctionError && item.records.length > 1) {
        const mid = Math.ceil(item.records.length / 2);
        const halves: WorkItem[] = [
          {
            records: item.records.slice(0, mid),
            invokeCount: 0,
            failingSince: item.failingSince,
            readAt: item.readAt,
          },
          {
            records: item.records.slice(mid),
            invokeCount: 0,
            failingSince: item.failingSince,
            readAt: item.readAt,
          },
        ];
        shard.work.splice(0, 1, ...halves);
        this.counters.bisections++;
        this.notify({ type: 'bisect', shardId: shard.shardId, halves: [mid, item.records.length - mid] });
        return true;
      }
      await this.afterFailure(shard, item);
      return true;
    }
    item.lastFunctionError = undefined;

    const failedAt = this.settings.reportBatchItemFailures ? firstFailedIndex(item.records, response) : -1;
    if (failedAt < 0) {
      this.finishHead(shard);
      return true;
    }
    this.counters.partialFailures++;
    item.failingSince ??= this.clock();
    // Checkpoint before the lowest reported record: it and everything after it are delivered again.
    this.notify({
      type: 'partial-failure',
      shardId: shard.shardId,
      failed: (response as DynamoDBBatchResponse).batchItemFailures.length,
      retried: item.records.length - failedAt,
    });
    item.records = item.records.slice(failedAt);
    await this.afterFailure(shard, item);
    return true;
  }

  /** One invocation of the lane's head batch, delivered once or (`setDeliveries`) several times in a row. */
  private async invoke(shard: Shard, item: WorkItem): Promise<DynamoDBBatchResponse | void> {
    if (item.invokeCount > 0) this.counters.retries++;
    item.invokeCount++;
    this.counters.batches++;
    this.counters.recordsDelivered += item.records.length;
    this.notify({
      type: 'invoke',
      shardId: shard.shardId,
      lane: shard.lane,
      records: item.records.length,
      attempt: item.invokeCount,
      firstSequenceNumber: item.records[0].dynamodb?.SequenceNumber ?? '',
      lastSequenceNumber: item.records[item.records.length - 1].dynamodb?.SequenceNumber ?? '',
    });
    const deliveries = Math.max(1, Math.floor(this.deliveries?.() ?? 1));
    let response = await this.options.invoke({ Records: item.records.map((r) => r) });
    for (let i = 1; i < deliveries; i++) {
      this.counters.duplicateDeliveries++;
      response = await this.options.invoke({ Records: item.records.map((r) => r) });
    }
    return response;
  }

  /** The head batch is done (succeeded or discarded): the lane moves on. */
  private finishHead(shard: Shard): void {
    const done = shard.work.shift();
    if (done?.failingSince !== undefined)
      this.counters.maxBlockedMs = Math.max(this.counters.maxBlockedMs, this.clock() - done.failingSince);
  }

  private async afterFailure(shard: Shard, item: WorkItem): Promise<void> {
    const max = this.settings.maximumRetryAttempts;
    if (max >= 0 && item.invokeCount > max) {
      await this.discard(shard, item, 'RetryAttemptsExhausted');
      this.finishHead(shard);
    }
  }

  private takeBatch(shard: Shard): DynamoDBRecord[] | undefined {
    if (!shard.backlog.length) return undefined;
    const window = this.settings.maximumBatchingWindowInSeconds * 1000;
    if (
      window > 0 &&
      shard.backlog.length < this.settings.batchSize &&
      this.clock() - (shard.backlogSince ?? 0) < window
    )
      return undefined;
    let bytes = 0;
    let n = 0;
    while (n < shard.backlog.length && n < this.settings.batchSize) {
      bytes += Buffer.byteLength(JSON.stringify(shard.backlog[n]));
      if (n > 0 && bytes > MAX_PAYLOAD_BYTES) break;
      n++;
    }
    const batch = shard.backlog.splice(0, n);
    shard.backlogSince = shard.backlog.length ? this.clock() : undefined;
    return batch;
  }

  private expiredPrefix(records: DynamoDBRecord[]): number {
    const maxAge = this.settings.maximumRecordAgeInSeconds;
    if (maxAge < 0) return 0;
    const nowSeconds = this.clock() / 1000;
    let n = 0;
    while (n < records.length) {
      const readAt = this.options.ageFromFirstRead ? this.firstReadAt.get(records[n]) : undefined;
      const created = readAt !== undefined ? readAt / 1000 : records[n].dynamodb?.ApproximateCreationDateTime;
      if (created === undefined || nowSeconds - created <= maxAge) break;
      n++;
    }
    return n;
  }

  private async discard(
    shard: Shard,
    item: WorkItem,
    condition: StreamOnFailureRecord['requestContext']['condition'],
  ): Promise<void> {
    const record = onFailureRecord({
      shardId: shard.shardId,
      records: item.records,
      streamArn: this.options.streamArn,
      functionArn: this.options.functionArn ?? 'arn:aws:lambda:local:000000000000:function:local',
      condition,
      invokeCount: item.invokeCount,
      functionError: item.lastFunctionError,
      now: this.clock(),
    });
    this.counters.onFailure++;
    this.counters.recordsDiscarded += item.records.length;
    this.notify({
      type: 'discard',
      shardId: shard.shardId,
      record,
      destination: this.settings.onFailureDestination,
    });
    if (this.settings.onFailureDestination && this.options.onFailure) {
      try {
        await this.options.onFailure(this.settings.onFailureDestination, record);
      } catch (error) {
        this.notify({ type: 'sink-error', error });
      }
    }
  }

  private notify(notice: EventSourceNotice): void {
    this.options.onEvent?.(notice);
  }
}

/** A REMOVE without OldImage on a stream that carries old images: only DynamoDB Local writes those. */
function isPhantomRemove(record: DynamoDBRecord): boolean {
  const view = record.dynamodb?.StreamViewType;
  return (
    record.eventName === 'REMOVE' &&
    !record.dynamodb?.OldImage &&
    (view === 'NEW_AND_OLD_IMAGES' || view === 'OLD_IMAGE')
  );
}

/**
 * Index of the record to re-deliver from, or -1 when the batch succeeded. A response that names an empty or
 * unknown `itemIdentifier`, or is not shaped like a batch response, fails the whole batch (index 0).
 */
export function firstFailedIndex(records: readonly DynamoDBRecord[], response: unknown): number {
  if (response === undefined || response === null) return -1;
  if (typeof response !== 'object') return 0;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return -1;
  if (!Array.isArray(failures)) return 0;
  if (!failures.length) return -1;
  let lowest: string | undefined;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return 0;
    if (!lowest || compareSequence(id, lowest) < 0) lowest = id;
  }
  const index = records.findIndex((r) => r.dynamodb?.SequenceNumber === lowest);
  return index < 0 ? 0 : index;
}

export function onFailureRecord(input: {
  readonly shardId: string;
  readonly records: readonly DynamoDBRecord[];
  readonly streamArn: string;
  readonly functionArn: string;
  readonly condition: StreamOnFailureRecord['requestContext']['condition'];
  readonly invokeCount: number;
  readonly functionError?: string;
  readonly now: number;
}): StreamOnFailureRecord {
  const first = input.records[0]?.dynamodb;
  const last = input.records[input.records.length - 1]?.dynamodb;
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.invokeCount,
    },
    ...(input.invokeCount > 0
      ? {
          responseContext: {
            statusCode: 200,
            executedVersion: '$LATEST',
            ...(input.functionError ? { functionError: input.functionError } : {}),
          },
        }
      : {}),
    version: '1.0',
    timestamp: new Date(input.now).toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first?.SequenceNumber ?? '',
      endSequenceNumber: last?.SequenceNumber ?? '',
      approximateArrivalOfFirstRecord: isoSeconds(first?.ApproximateCreationDateTime ?? input.now / 1000),
      approximateArrivalOfLastRecord: isoSeconds(last?.ApproximateCreationDateTime ?? input.now / 1000),
      batchSize: input.records.length,
      streamArn: input.streamArn,
    },
  };
}

/** `2025-06-05T18:21:49Z`: the arrival times in on-failure records have whole seconds. */
function isoSeconds(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The local event source's back-off before the n-th retry of a failing batch (250 ms doubling to 8 s). */
export function defaultRetryDelay(retry: number): number {
  return Math.min(250 * 2 ** Math.max(0, retry - 1), 8000);
}
