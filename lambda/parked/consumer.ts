/**
 * Parked-record consumer: re-applies records parked for a target that was unreachable, through
 * the same conditions as the replicator (a parked record that became stale is simply done).
 *
 * A write older than the tombstone lifetime allows is refused: the tombstone of a key deleted after it
 * may have expired at the target, where the write would bring the deleted item back
 * (docs/replication.md, "Failures").
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Image } from '../core/attributes';
import { parseWriteIntent, type ParkedMessage } from '../core/intents';
import type { ReplicatorSettings } from '../contract';
import { applyIntent, type Outcome } from '../core/apply';
import { describeError, type RetryClock } from '../core/retry';
import type { Telemetry } from '../core/telemetry';

export interface ConsumerDeps extends RetryClock {
  readonly settings: ReplicatorSettings;
  /** A client per target region. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly telemetry: Telemetry;
}

/**
 * How much younger than the tombstone lifetime a parked write must be to be applied. A stream record
 * waits up to a day (the stream's retention, the event source's record-age bound) before it is parked,
 * so `parkedAt` can be a day after the write, and a delete that followed the write can have started its
 * tombstone's lifetime that much earlier. The second day covers clocks and the time between this check
 * and the write.
 */
export const PARKED_AGE_MARGIN_SECONDS = 2 * 86_400;

/** The oldest a parked write may be, by its `parkedAt`, to be applied at a target. */
export function parkedAgeLimitSeconds(settings: Pick<ReplicatorSettings, 'tombstoneTtlSeconds'>): number {
  return settings.tombstoneTtlSeconds - PARKED_AGE_MARGIN_SECONDS;
}

export type ParkedResult =
  | { readonly status: 'done'; readonly outcome: Outcome }
  /**
   * Older than {@link parkedAgeLimitSeconds}: never applied, and acknowledged (deleted from its queue),
   * since it only grows older. Counted (`ParkedTooOld`) and logged with its identity.
   */
  | {
      readonly status: 'refused';
      readonly key: Image;
      readonly ageSeconds: number;
      readonly limitSeconds: number;
    }
  /** Still unreachable: leave it on the queue (retried after the visibility timeout). */
  | { readonly status: 'retry'; readonly outcome: Outcome }
  /** Not a parked message: never applicable (goes to the parking DLQ after maxReceiveCount). */
  | { readonly status: 'invalid'; readonly reason: string };

/** Parses and checks a message body. */
export function parseParkedMessage(body: string): ParkedMessage | string {
  let m: Partial<ParkedMessage>;
  try {
    m = JSON.parse(body);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (!m || typeof m !== 'object') return 'not an object';
  const problems: string[] = [];
  if (typeof m.targetRegion !== 'string' || !m.targetRegion) problems.push('targetRegion');
  if (typeof m.table !== 'string' || !m.table) problems.push('table');
  const intent = m.intent === undefined ? 'missing' : parseWriteIntent(m.intent);
  if (typeof intent === 'string') problems.push(`intent (${intent})`);
  // Without it the write's age is unknown, and an old write must not pass for a fresh one.
  if (typeof m.parkedAt !== 'string' || Number.isNaN(Date.parse(m.parkedAt))) problems.push('parkedAt');
  return problems.length ? `invalid or missing: ${problems.join(', ')}` : (m as ParkedMessage);
}

/** Applies one parked message body (usable locally, without SQS). */
export async function applyParkedBody(body: string, deps: ConsumerDeps): Promise<ParkedResult> {
  const { settings, telemetry } = deps;
  const parsed = parseParkedMessage(body);
  if (typeof parsed === 'string') return { status: 'invalid', reason: parsed };
  if (parsed.table !== settings.table)
    return { status: 'invalid', reason: `table ${parsed.table} is not ${settings.table}` };
  const client = deps.clients[parsed.targetRegion];
  if (!client) return { status: 'invalid', reason: `no client for target region ${parsed.targetRegion}` };
  const dims = { table: settings.table, targetRegion: parsed.targetRegion };
  const refused = tooOld(parsed, deps);
  if (refused) return refused;
  const outcome = await applyIntent(client, settings, parsed.targetRegion, parsed.intent, deps);
  switch (outcome.status) {
    case 'applied':
      telemetry.metric('RecordsApplied', 1, dims);
      return { status: 'done', outcome };
    case 'stale':
      telemetry.metric('RecordsSkippedStale', 1, dims);
      return { status: 'done', outcome };
    case 'conflict-lost':
      telemetry.metric('ConflictsLost', 1, dims);
      telemetry.warn('Conflict lost', {
        targetRegion: parsed.targetRegion,
        key: parsed.intent.key,
        version: parsed.intent.version,
        origin: parsed.intent.origin,
        winnerVersion: outcome.winner.version,
        winnerOrigin: outcome.winner.origin,
        sequenceNumber: parsed.sequenceNumber,
      });
      return { status: 'done', outcome };
    case 'deferred':
      // The target's item still waits for its own region's stamp: stay on the queue, tried again after
      // the visibility timeout (docs/replication.md, "A write that meets an unordered item waits").
      telemetry.metric('RecordsDeferred', 1, dims);
      return { status: 'retry', outcome };
    default:
      telemetry.metric('Errors', 1, dims);
      return { status: 'retry', outcome };
  }
}

/**
 * Refuses a write older than the tombstone lifetime allows. Its age counts from `parkedAt`, which a
 * re-drive keeps (`drain` sends the body as it is), never from the SQS message's own age.
 */
function tooOld(
  m: ParkedMessage,
  deps: ConsumerDeps,
): Extract<ParkedResult, { status: 'refused' }> | undefined {
  const now = (deps.now ?? Date.now)();
  const ageSeconds = Math.floor((now - Date.parse(m.parkedAt)) / 1000);
  const limitSeconds = parkedAgeLimitSeconds(deps.settings);
  if (ageSeconds <= limitSeconds) return undefined;
  deps.telemetry.metric('ParkedTooOld', 1, { table: deps.settings.table });
  deps.telemetry.error('Parked write older than the tombstone lifetime allows: refused, not applied', {
    eventID: m.eventID,
    sequenceNumber: m.sequenceNumber,
    key: m.intent.key,
    op: m.intent.op,
    origin: m.origin,
    targetRegion: m.targetRegion,
    parkedAt: m.parkedAt,
    ageSeconds,
    limitSeconds,
  });
  return { status: 'refused', key: m.intent.key, ageSeconds, limitSeconds };
}

/** SQS partial batch response: failed messages stay on the queue. */
export async function consumeParked(event: SQSEvent, deps: ConsumerDeps): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  for (const message of event.Records) {
    let result: ParkedResult;
    try {
      result = await applyParkedBody(message.body, deps);
    } catch (e) {
      result = { status: 'invalid', reason: describeError(e) };
    }
    // A refused write is acknowledged: retrying it can only find it older.
    if (result.status === 'done' || result.status === 'refused') continue;
    failures.push({ itemIdentifier: message.messageId });
    if (result.status === 'invalid') {
      deps.telemetry.metric('MalformedRecords', 1, { table: deps.settings.table });
      deps.telemetry.error('Parked message cannot be applied', {
        messageId: message.messageId,
        reason: result.reason,
      });
    } else {
      deps.telemetry.warn('Parked record still not applicable', {
        messageId: message.messageId,
        outcome: result.outcome,
      });
    }
  }
  return { batchItemFailures: failures };
}
