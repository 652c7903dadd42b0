/**
 * `drain`: what waits in a replicator's parking queues (records a target could not take) and their DLQs
 * (records the parked-record consumer gave up on after `parkingMaxReceiveCount` receives). Shows them,
 * then either re-drives each through the guards with the consumer's own `applyParkedBody` (a target that
 * holds something newer keeps it), or (`toQueue`) moves the DLQ's messages back to their parking queue
 * for the consumer to retry. A message is deleted only after it was applied (or was stale, lost a
 * conflict, or was deferred to its region), refused as older than the tombstone lifetime allows, or
 * after its copy was sent to the parking queue.
 *
 * A moved message keeps its body, and with it the `parkedAt` its write's age counts from: SQS starts
 * the copy's own retention again, so that age is the only one that survives (docs/platform.md#parking).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ReplicatorSettings } from '../contract';
import { applyParkedBody, parseParkedMessage } from '../parked/consumer';
import { describeError } from '../core/retry';
import { CollectingTelemetry } from '../core/telemetry';
import type { AwsCaller } from './aws-call';
import {
  leaseMessages,
  queueCounts,
  release,
  sendBody,
  tryRemove,
  type LeasedMessage,
  type QueueRef,
} from './queues';

export interface DrainTarget {
  readonly target: string;
  readonly parking: QueueRef;
  readonly dlq: QueueRef;
}

export interface DrainDeps {
  readonly settings: ReplicatorSettings;
  /** A DynamoDB client per target region. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  /** The replicator region's SQS client (the queues live there). */
  readonly sqs: SQSClient;
  readonly caller: AwsCaller;
  readonly targets: readonly DrainTarget[];
  /** Move DLQ messages back to their parking queue instead of re-driving them; parking queues are only shown. */
  readonly toQueue?: boolean;
  /** Show a sample of each queue; change nothing. */
  readonly dryRun?: boolean;
  /** Messages shown per queue. @default 5 */
  readonly sample?: number;
  /** At most this many messages handled per queue. @default 1000 */
  readonly maxMessages?: number;
  /** How long messages are hidden while this run holds them. @default 300 */
  readonly leaseSeconds?: number;
  readonly now?: () => number;
}

export interface ParkedSample {
  readonly messageId: string;
  readonly key?: unknown;
  readonly op?: string;
  readonly origin?: string;
  readonly reason?: string;
  /** When the write was first parked (the body's `parkedAt`). */
  readonly parkedAt?: string;
  /** Age of the write since it was first parked; for a body without `parkedAt`, of the SQS message. */
  readonly ageSeconds?: number;
  readonly receiveCount?: number;
  /** Set when the body is not a parked record. */
  readonly invalid?: string;
}

export interface QueueDrain {
  readonly queue: string;
  /** Before this run (SQS ApproximateNumberOfMessages / …NotVisible). */
  readonly visible: number;
  readonly inFlight: number;
  readonly read: number;
  /** Age of the oldest message read, seconds (as `ParkedSample.ageSeconds`). */
  readonly oldestAgeSeconds?: number;
  readonly sample: readonly ParkedSample[];
  /** Re-driven: applied, already newer at the target, lost a conflict, or deferred to the target region. */
  readonly applied: number;
  readonly alreadyNewer: number;
  readonly conflictsLost: number;
  readonly deferred: number;
  /** Older than the tombstone lifetime allows: deleted, never applied (the consumer's own rule). */
  readonly refused: number;
  /** Sent back to the parking queue (`toQueue`, DLQ only). */
  readonly moved: number;
  readonly deleted: number;
  /** Left on the queue, each with its reason. */
  readonly failed: readonly { readonly messageId: string; readonly reason: string }[];
  /** The refused writes' keys: `verify --repair` brings them to the winning state. */
  readonly refusedKeys: readonly {
    readonly messageId: string;
    readonly key: unknown;
    readonly ageSeconds: number;
  }[];
}

export interface DrainReport {
  readonly table: string;
  readonly region: string;
  readonly dryRun: boolean;
  readonly mode: 'redrive' | 'to-queue';
  readonly targets: readonly {
    readonly target: string;
    readonly parking: QueueDrain;
    readonly dlq: QueueDrain;
  }[];
  readonly throttled: Readonly<Record<string, number>>;
}

export async function drainParked(deps: DrainDeps): Promise<DrainReport> {
  const targets = [];
  for (const t of deps.targets) {
    // Parking queue first: with toQueue, messages moved from the DLQ are not read again in this run.
    const parking = await drainQueue(t.parking, deps.toQueue ? 'show' : 'redrive', t, deps);
    const dlq = await drainQueue(t.dlq, deps.toQueue ? 'move' : 'redrive', t, deps);
    targets.push({ target: t.target, parking, dlq });
  }
  return {
    table: deps.settings.table,
    region: deps.settings.region,
    dryRun: !!deps.dryRun,
    mode: deps.toQueue ? 'to-queue' : 'redrive',
    targets,
    throttled: { ...deps.caller.throttled },
  };
}

type Action = 'redrive' | 'move' | 'show';
type Handled =
  | { status: 'done'; outcome: keyof typeof OUTCOME_COLUMN; refused?: { key: unknown; ageSeconds: number } }
  | { status: 'left'; reason: string };

/** Where each way a message was handled is counted. */
const OUTCOME_COLUMN = {
  applied: 'applied',
  stale: 'alreadyNewer',
  'conflict-lost': 'conflictsLost',
  deferred: 'deferred',
  refused: 'refused',
  moved: 'moved',
} as const;

async function drainQueue(
  q: QueueRef,
  action: Action,
  target: DrainTarget,
  deps: DrainDeps,
): Promise<QueueDrain> {
  const counts = await queueCounts(deps.sqs, deps.caller, q);
  const sample = deps.sample ?? 5;
  const showOnly = deps.dryRun || action === 'show';
  const leased = await leaseMessages(deps.sqs, deps.caller, q, {
    max: showOnly ? sample : (deps.maxMessages ?? 1000),
    leaseSeconds: deps.leaseSeconds ?? 300,
  });
  const now = (deps.now ?? Date.now)();
  const result = {
    queue: q.name,
    ...counts,
    read: leased.length,
    ...oldest(leased, now),
    sample: leased.slice(0, sample).map((m) => sampleOf(m, now)),
    applied: 0,
    alreadyNewer: 0,
    conflictsLost: 0,
    deferred: 0,
    refused: 0,
    moved: 0,
    deleted: 0,
    failed: [] as { messageId: string; reason: string }[],
    refusedKeys: [] as { messageId: string; key: unknown; ageSeconds: number }[],
  };
  for (const m of leased) {
    const handled: Handled = showOnly
      ? { status: 'left', reason: '' }
      : await handle(m, action, target, deps);
    if (handled.status === 'left') {
      await release(deps.sqs, deps.caller, q, m);
      if (handled.reason) result.failed.push({ messageId: m.messageId, reason: handled.reason });
      continue;
    }
    result[OUTCOME_COLUMN[handled.outcome]] += 1;
    if (handled.refused) result.refusedKeys.push({ messageId: m.messageId, ...handled.refused });
    const notDeleted = await tryRemove(deps.sqs, deps.caller, q, m);
    if (notDeleted) result.failed.push({ messageId: m.messageId, reason: `handled, but ${notDeleted}` });
    else result.deleted += 1;
  }
  return result;
}

async function handle(
  m: LeasedMessage,
  action: Action,
  target: DrainTarget,
  deps: DrainDeps,
): Promise<Handled> {
  if (action === 'move') {
    await sendBody(deps.sqs, deps.caller, target.parking, m.body);
    return { status: 'done', outcome: 'moved' };
  }
  try {
    const result = await applyParkedBody(m.body, {
      settings: deps.settings,
      clients: deps.clients,
      telemetry: new CollectingTelemetry(),
      deadline: Date.now() + 60_000,
    });
    if (result.status === 'invalid') return { status: 'left', reason: `not applicable: ${result.reason}` };
    if (result.status === 'refused')
      return {
        status: 'done',
        outcome: 'refused',
        refused: { key: result.key, ageSeconds: result.ageSeconds },
      };
    const outcome = result.outcome;
    if (result.status === 'retry' || outcome.status === 'unavailable')
      return {
        status: 'left',
        reason: `target still unavailable: ${outcome.status === 'unavailable' ? outcome.error : outcome.status}`,
      };
    return { status: 'done', outcome: outcome.status };
  } catch (e) {
    return { status: 'left', reason: describeError(e) };
  }
}

function sampleOf(m: LeasedMessage, now: number): ParkedSample {
  const parsed = parseParkedMessage(m.body);
  const since = bornAt(m);
  const age = since !== undefined ? { ageSeconds: Math.max(0, Math.floor((now - since) / 1000)) } : {};
  const count = m.receiveCount !== undefined ? { receiveCount: m.receiveCount } : {};
  if (typeof parsed === 'string') return { messageId: m.messageId, invalid: parsed, ...age, ...count };
  return {
    messageId: m.messageId,
    key: parsed.intent.key,
    op: parsed.intent.op,
    origin: parsed.origin,
    reason: parsed.reason,
    parkedAt: parsed.parkedAt,
    ...age,
    ...count,
  };
}

/** When the message's write was first parked (epoch ms): its body's `parkedAt`, else when SQS got it. */
function bornAt(m: LeasedMessage): number | undefined {
  const parsed = parseParkedMessage(m.body);
  return typeof parsed === 'string' ? m.sentAt : Date.parse(parsed.parkedAt);
}

function oldest(leased: readonly LeasedMessage[], now: number): { oldestAgeSeconds?: number } {
  const born = leased.map(bornAt).filter((t): t is number => t !== undefined);
  return born.length ? { oldestAgeSeconds: Math.max(0, Math.floor((now - Math.min(...born)) / 1000)) } : {};
}
