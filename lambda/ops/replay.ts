/**
 * `replay`: the batches a replicator gave up on. Lambda sends only their metadata to the on-failure
 * queue (shard, first and last sequence number, stream ARN: docs/platform.md#event-source-mapping), so
 * each range is read again from the stream while it is still kept, and handed to the replicator's own
 * `processBatch` with the caller's clients: every record goes through the same guards as in the function
 * (a target that holds something newer keeps it). A record still not applicable is parked on the real
 * parking queue, as the function would park it: it then waits up to 14 days for the parked-record
 * consumer, where the on-failure message would only wait for a stream that forgets in 24 hours.
 *
 * Only messages whose whole range was read and applied (or parked) are deleted; every other message is
 * made visible again and reported with its reason.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ReplicatorSettings } from '../contract';
import type { ParkedMessage } from '../core/intents';
import { describeError } from '../core/retry';
import { CollectingTelemetry } from '../core/telemetry';
import { processBatch, type Parker } from '../replicator/process';
import type { AwsCaller } from './aws-call';
import { leaseMessages, release, sendBody, tryRemove, type LeasedMessage, type QueueRef } from './queues';
import { compareSequence } from '../contract';
import { readShardRange, type ShardRange } from './stream-range';

export interface ReplayDeps {
  /** The replicator's settings in this region, with the real parking queue URLs. */
  readonly settings: ReplicatorSettings;
  /** A DynamoDB client per region: this one and every peer. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  /** This region's DynamoDB Streams client. */
  readonly streams: DynamoDBStreamsClient;
  /** This region's SQS client. */
  readonly sqs: SQSClient;
  readonly caller: AwsCaller;
  readonly onFailureQueue: QueueRef;
  /** Parking queue per peer region. */
  readonly parkingQueues: Readonly<Record<string, QueueRef>>;
  /** Read and report; apply, park and delete nothing. */
  readonly dryRun?: boolean;
  /** At most this many messages per run. @default 1000 */
  readonly maxMessages?: number;
  /** How long the messages are hidden while this run holds them. @default 900 */
  readonly leaseSeconds?: number;
  /** Time allowed to re-apply one range. @default 300000 */
  readonly rangeTimeoutMs?: number;
}

/** Per record and target, what the replicator did (the contract's metric names, summed). */
export interface ReplayOutcomes {
  applied: number;
  /** The target held this change or a later one (RecordsSkippedStale). */
  alreadyNewer: number;
  conflictsLost: number;
  deferred: number;
  parked: number;
  /** Records that failed again (left in the range; the message stays). */
  failed: number;
}

export type RangeStatus = 'replayed' | 'would-replay' | 'unrecoverable' | 'failed' | 'not-this-replicator';

export interface RangeReport {
  readonly messageId: string;
  readonly range?: ShardRange;
  /** From the on-failure record: when its first record arrived in the stream, and why Lambda gave up. */
  readonly firstArrival?: string;
  readonly condition?: string;
  readonly status: RangeStatus;
  readonly reason?: string;
  readonly records: number;
  readonly outcomes: ReplayOutcomes;
  readonly deleted: boolean;
}

export interface ReplayReport {
  readonly table: string;
  readonly region: string;
  readonly queue: string;
  readonly dryRun: boolean;
  readonly ranges: readonly RangeReport[];
  readonly totals: ReplayOutcomes & { records: number; deleted: number; left: number };
  /** Back-offs after throttling, by IAM action. */
  readonly throttled: Readonly<Record<string, number>>;
}

export async function replayOnFailure(deps: ReplayDeps): Promise<ReplayReport> {
  const leased = await leaseMessages(deps.sqs, deps.caller, deps.onFailureQueue, {
    max: deps.maxMessages ?? 1000,
    leaseSeconds: deps.leaseSeconds ?? 900,
  });
  const parsed = leased.map((m) => ({ message: m, info: parseOnFailure(m.body) }));
  // Oldest first: per shard in stream order (the guards do not need it, but the report reads better).
  parsed.sort((a, b) => orderOf(a.info).localeCompare(orderOf(b.info)) || compareRanges(a.info, b.info));
  const ranges: RangeReport[] = [];
  for (const { message, info } of parsed) {
    const report = await replayOne(message, info, deps);
    if (!report.deleted) await release(deps.sqs, deps.caller, deps.onFailureQueue, message);
    const notDeleted =
      report.deleted && (await tryRemove(deps.sqs, deps.caller, deps.onFailureQueue, message));
    ranges.push(notDeleted ? { ...report, deleted: false, reason: `replayed, but ${notDeleted}` } : report);
  }
  return {
    table: deps.settings.table,
    region: deps.settings.region,
    queue: deps.onFailureQueue.name,
    dryRun: !!deps.dryRun,
    ranges,
    totals: totalsOf(ranges),
    throttled: { ...deps.caller.throttled },
  };
}

interface OnFailureInfo {
  readonly range?: ShardRange;
  readonly firstArrival?: string;
  readonly condition?: string;
  readonly problem?: string;
}

/** The metadata Lambda writes to an on-failure destination for a stream batch. */
export function parseOnFailure(body: string): OnFailureInfo {
  let doc: { DDBStreamBatchInfo?: Record<string, unknown>; requestContext?: { condition?: unknown } };
  try {
    doc = JSON.parse(body);
  } catch (e) {
    return { problem: `not JSON: ${(e as Error).message}` };
  }
  const info = doc?.DDBStreamBatchInfo;
  const fields = ['streamArn', 'shardId', 'startSequenceNumber', 'endSequenceNumber'] as const;
  const missing = fields.filter((f) => typeof info?.[f] !== 'string' || !info[f]);
  if (!info || missing.length)
    return { problem: `not a stream on-failure record: no DDBStreamBatchInfo.${missing[0] ?? 'shardId'}` };
  const range = Object.fromEntries(fields.map((f) => [f, String(info[f])])) as unknown as ShardRange;
  return {
    range,
    ...(typeof info.approximateArrivalOfFirstRecord === 'string'
      ? { firstArrival: info.approximateArrivalOfFirstRecord }
      : {}),
    ...(typeof doc.requestContext?.condition === 'string' ? { condition: doc.requestContext.condition } : {}),
  };
}

async function replayOne(
  message: LeasedMessage,
  info: OnFailureInfo,
  deps: ReplayDeps,
): Promise<RangeReport> {
  const base = {
    messageId: message.messageId,
    ...(info.range ? { range: info.range } : {}),
    ...(info.firstArrival ? { firstArrival: info.firstArrival } : {}),
    ...(info.condition ? { condition: info.condition } : {}),
    records: 0,
    outcomes: noOutcomes(),
    deleted: false,
  };
  if (!info.range) return { ...base, status: 'failed', reason: info.problem };
  const foreign = foreignStream(info.range.streamArn, deps.settings);
  if (foreign) return { ...base, status: 'not-this-replicator', reason: foreign };
  const read = await readShardRange(deps.streams, deps.caller, info.range, deps.settings.region);
  if (read.status === 'unrecoverable') return { ...base, status: 'unrecoverable', reason: read.reason };
  const records = read.records.filter((r) => !isPhantomRemove(r));
  const counted = { ...base, records: records.length };
  const incomplete = read.complete
    ? undefined
    : `the shard ended before ${info.range.endSequenceNumber}: ${records.length} records read`;
  if (deps.dryRun)
    return { ...counted, status: 'would-replay', ...(incomplete ? { reason: incomplete } : {}) };
  const { outcomes, errors } = await reapply(records, deps);
  const reason = outcomes.failed
    ? `${outcomes.failed} record${outcomes.failed === 1 ? '' : 's'} failed again: ${errors.slice(0, 3).join('; ')}`
    : incomplete;
  return {
    ...counted,
    outcomes,
    status: reason ? 'failed' : 'replayed',
    ...(reason ? { reason } : {}),
    deleted: !reason,
  };
}

/** The range through the replicator's own batch logic; outcomes from its metrics. */
async function reapply(
  records: DynamoDBRecord[],
  deps: ReplayDeps,
): Promise<{ outcomes: ReplayOutcomes; errors: string[] }> {
  const telemetry = new CollectingTelemetry();
  let failed: number;
  try {
    const res = await processBatch(
      { Records: records },
      {
        settings: deps.settings,
        clients: deps.clients,
        parker: new QueueParker(deps),
        telemetry,
        deadline: Date.now() + (deps.rangeTimeoutMs ?? 300_000),
      },
    );
    failed = res.batchItemFailures.length;
  } catch (e) {
    return { outcomes: { ...noOutcomes(), failed: records.length }, errors: [describeError(e)] };
  }
  const outcomes: ReplayOutcomes = {
    applied: telemetry.total('RecordsApplied'),
    alreadyNewer: telemetry.total('RecordsSkippedStale'),
    conflictsLost: telemetry.total('ConflictsLost'),
    deferred: telemetry.total('RecordsDeferred'),
    parked: telemetry.total('RecordsParked'),
    failed,
  };
  const errors = telemetry.logs
    .filter((l) => l.level === 'error')
    .map(
      (l) =>
        `${l.message}${l.fields.error ? `: ${String(l.fields.error)}` : l.fields.reason ? `: ${String(l.fields.reason)}` : ''}`,
    );
  return { outcomes, errors };
}

/** Parks on the real parking queue through the caller's SQS client (the function's SqsParker builds its own). */
class QueueParker implements Parker {
  constructor(private readonly deps: ReplayDeps) {}

  async park(targetRegion: string, message: ParkedMessage): Promise<void> {
    const q = this.deps.parkingQueues[targetRegion];
    if (!q) throw new Error(`no parking queue for region ${targetRegion}`);
    await sendBody(this.deps.sqs, this.deps.caller, q, JSON.stringify(message));
  }
}

/**
 * Why a stream ARN is not this replicator's table, or undefined. The table only: the queue is the
 * region's, and DynamoDB Local writes `ddblocal` where AWS writes the region.
 */
function foreignStream(streamArn: string, settings: ReplicatorSettings): string | undefined {
  const table = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(streamArn)?.[1];
  if (!table) return `not a DynamoDB stream ARN: ${streamArn}`;
  if (table !== settings.table) return `the range is from the stream of ${table}, not of ${settings.table}`;
  return undefined;
}

/**
 * A REMOVE without its old image on a stream with old images: only DynamoDB Local writes these, when two
 * deletes race (docs/platform.md#dynamodb-local); Lambda never delivers one, so neither does a replay.
 */
function isPhantomRemove(r: DynamoDBRecord): boolean {
  const view = r.dynamodb?.StreamViewType;
  return (
    r.eventName === 'REMOVE' &&
    !r.dynamodb?.OldImage &&
    (view === 'NEW_AND_OLD_IMAGES' || view === 'OLD_IMAGE')
  );
}

function orderOf(info: OnFailureInfo): string {
  return info.range?.shardId ?? '\uffff';
}

function compareRanges(a: OnFailureInfo, b: OnFailureInfo): number {
  return a.range && b.range ? compareSequence(a.range.startSequenceNumber, b.range.startSequenceNumber) : 0;
}

function noOutcomes(): ReplayOutcomes {
  return { applied: 0, alreadyNewer: 0, conflictsLost: 0, deferred: 0, parked: 0, failed: 0 };
}

function totalsOf(ranges: readonly RangeReport[]): ReplayReport['totals'] {
  const t = { ...noOutcomes(), records: 0, deleted: 0, left: 0 };
  for (const r of ranges) {
    for (const k of Object.keys(r.outcomes) as (keyof ReplayOutcomes)[]) t[k] += r.outcomes[k];
    t.records += r.records;
    if (r.deleted) t.deleted += 1;
    else t.left += 1;
  }
  return t;
}
