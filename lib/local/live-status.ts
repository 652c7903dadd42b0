import type { DynamoStreamEventSource } from './event-source';
import type { LocalQueue, LocalQueues } from './local-queue';
import type { LocalPlan, PlanQueue } from './plan';
import type { PairFigures, StatsCollector } from './report';

/**
 * The live figures of a running local mirror, as the control endpoint serves them (`GET /status`,
 * lib/local/control.ts) and `ddb-mirror status --endpoint` prints them: per table and source → target
 * pair the run's figures and the depths of the pair's parking queue and DLQ; per replicator its
 * on-failure queue and the backlog of its event source; the latest errors.
 */

export interface QueueDepth {
  readonly name: string;
  /** Messages that can be received now (SQS ApproximateNumberOfMessages). */
  readonly visible: number;
  /** Received and not yet deleted (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight: number;
  /** Age of the oldest message held, seconds; absent when the queue is empty. */
  readonly oldestAgeSeconds?: number;
}

export interface LivePair extends PairFigures {
  readonly parking?: QueueDepth;
  readonly dlq?: QueueDepth;
}

export interface LiveReplicator {
  readonly table: string;
  readonly region: string;
  readonly onFailure?: QueueDepth;
  /** Stream records read and not yet checkpointed, and how long the oldest of them has waited (ms). */
  readonly backlog: { readonly records: number; readonly oldestMs?: number };
}

export interface LiveStatus {
  readonly at: string;
  readonly pairs: readonly LivePair[];
  readonly replicators: readonly LiveReplicator[];
  /** The latest errors (at most {@link RECENT_ERRORS}), oldest first. */
  readonly errors: readonly { readonly at: string; readonly source: string; readonly message: string }[];
}

export const RECENT_ERRORS = 20;

/** A stream event source of the run, with the replicator it feeds. */
export interface LiveStreamSource {
  readonly table: string;
  readonly region: string;
  readonly source: Pick<DynamoStreamEventSource, 'pending' | 'oldestPendingReadAt'>;
}

export function liveStatus(input: {
  readonly plan: LocalPlan;
  readonly stats: StatsCollector;
  readonly queues: LocalQueues;
  readonly streamSources: readonly LiveStreamSource[];
  readonly now?: number;
}): LiveStatus {
  const now = input.now ?? Date.now();
  const depth = (q: PlanQueue | undefined): QueueDepth | undefined => {
    const local = q ? input.queues.get(q.arn) : undefined;
    return local ? queueDepth(local, now) : undefined;
  };
  const replicator = (table: string, region: string) =>
    input.plan.functions.find((f) => f.settings?.table === table && f.settings.region === region);
  const pairs = input.stats.figures().map((p): LivePair => {
    const url = replicator(p.table, p.source)?.settings?.peers.find(
      (x) => x.region === p.target,
    )?.parkingQueueUrl;
    const parking = input.plan.queues.find((q) => q.url === url);
    const dlq = input.plan.queues.find((q) => q.arn === parking?.redrive?.deadLetterTargetArn);
    return { ...p, ...optional('parking', depth(parking)), ...optional('dlq', depth(dlq)) };
  });
  const replicators = input.streamSources.map(({ table, region, source }): LiveReplicator => {
    const fn = replicator(table, region);
    const mapping = input.plan.mappings.find(
      (m) => m.functionName === fn?.name && m.source.kind === 'stream',
    );
    const since = source.oldestPendingReadAt;
    return {
      table,
      region,
      ...optional('onFailure', depth(mapping?.onFailure)),
      backlog: {
        records: source.pending,
        ...(since !== undefined ? { oldestMs: Math.max(0, now - since) } : {}),
      },
    };
  });
  const errors = input.stats.errors
    .slice(-RECENT_ERRORS)
    .map((e) => ({ at: new Date(e.at).toISOString(), source: e.source, message: e.message }));
  return { at: new Date(now).toISOString(), pairs, replicators, errors };
}

export function queueDepth(q: LocalQueue, now = Date.now()): QueueDepth {
  const oldest = q.oldestSentTimestamp;
  return {
    name: q.name,
    visible: q.visibleCount,
    inFlight: q.inFlightCount,
    ...(oldest !== undefined ? { oldestAgeSeconds: Math.max(0, Math.floor((now - oldest) / 1000)) } : {}),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
