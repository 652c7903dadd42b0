/**
 * One stream batch: records grouped by item, items in parallel (bounded), each item's records
 * strictly in stream order, every record sent to every peer.
 *
 * Not Powertools `BatchProcessor`: it processes every record, in parallel by default, and does not
 * stop an item at its first failure (docs/platform.md#event-source-mapping), so a later change of an item could be applied
 * before an earlier one that failed. Here a failed record fails every later record of its item.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { canonicalImage } from '../core/attributes';
import type { ParkedMessage, ResolveIntent, TombstoneIntent, WriteIntent } from '../core/intents';
import type { ReplicatorSettings } from '../contract';
import { applyIntent, lostConflict, type Outcome } from '../core/apply';
import {
  deleteLocally,
  readLocalTombstone,
  resolveDeferred,
  stampLocal,
  writeLifeMarker,
} from '../core/origin';
import { decide, replicatedPut, type Decision } from './decide';
import { describeError, type RetryClock } from '../core/retry';
import type { Telemetry } from '../core/telemetry';

/** Where a record bound for an unreachable target is kept (an SQS queue per target in production). */
export interface Parker {
  park(targetRegion: string, message: ParkedMessage): Promise<void>;
}

export interface ProcessDeps extends RetryClock {
  readonly settings: ReplicatorSettings;
  /** A client per region: this region's (stamps, tombstones) and every peer's. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly parker: Parker;
  readonly telemetry: Telemetry;
  /** Epoch seconds (tombstone expiry). @default Date.now */
  readonly nowSeconds?: () => number;
}

/** Marker writes lose only to a concurrent tombstone change; a few re-reads settle it. */
const MAX_DECIDE_ROUNDS = 4;

export async function processBatch(
  event: DynamoDBStreamEvent,
  deps: ProcessDeps,
): Promise<DynamoDBBatchResponse> {
  const groups = new Map<string, DynamoDBRecord[]>();
  event.Records.forEach((record, i) => {
    const keys = record.dynamodb?.Keys;
    // A record without keys cannot be grouped: it stands alone (and will be malformed).
    const id = keys ? canonicalImage(keys) : `#unkeyed-${i}`;
    const list = groups.get(id);
    if (list) list.push(record);
    else groups.set(id, [record]);
  });

  const ctx: BatchContext = { deps, downTargets: new Set() };
  const failed: string[] = [];
  await forEachBounded([...groups.values()], Math.max(1, deps.settings.maxConcurrency), async (records) => {
    for (let i = 0; i < records.length; i += 1) {
      const ok = await handleRecord(records[i], ctx);
      if (!ok) {
        // Lambda resumes from the lowest failed sequence number; later records of this item must not
        // be acknowledged ahead of it.
        for (const r of records.slice(i)) failed.push(r.dynamodb?.SequenceNumber ?? '');
        return;
      }
    }
  });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

interface BatchContext {
  readonly deps: ProcessDeps;
  /** Targets that stayed unreachable in this invocation: later records for them are parked at once. */
  readonly downTargets: Set<string>;
}

function identity(record: DynamoDBRecord): Record<string, unknown> {
  return {
    eventID: record.eventID,
    sequenceNumber: record.dynamodb?.SequenceNumber,
    keys: record.dynamodb?.Keys,
  };
}

/** True when the record is done: every target applied, was stale, lost, or got it parked. */
async function handleRecord(record: DynamoDBRecord, ctx: BatchContext): Promise<boolean> {
  const { deps } = ctx;
  const { settings, telemetry } = deps;
  const dims = { table: settings.table };
  if ((deps.now ?? Date.now)() >= deps.deadline) return false; // out of time: leave it to the next invocation
  const local = deps.clients[settings.region];
  try {
    const decision = await decideWithLocalState(record, ctx);
    switch (decision.kind) {
      case 'malformed':
        telemetry.metric('MalformedRecords', 1, dims);
        telemetry.error('Malformed stream record', { ...identity(record), reason: decision.reason });
        return false;
      case 'need-tombstone':
        throw new Error('tombstone still needed after reading it');
      case 'skip': {
        const later = decision.localTombstone
          ? await recordLocalDelete(record, decision.localTombstone, ctx)
          : true;
        await settleDeferred(record, decision, ctx);
        if (decision.reason === 'echo' || decision.reason === 'stamp')
          telemetry.metric('EchoesSkipped', 1, dims);
        return later;
      }
      case 'replicate': {
        if (decision.contractViolation) {
          telemetry.metric('ContractViolations', 1, dims);
          telemetry.warn('Contract violation: data changed without a version increase', {
            ...identity(record),
            ...decision.contractViolation,
          });
        }
        // Origin side first, so a crash between here and the peers replays into the same order key.
        if (decision.stamp && settings.mode === 'multi-active')
          await stampLocal(local, settings, decision.stamp, deps);
        const later = decision.localTombstone
          ? await recordLocalDelete(record, decision.localTombstone, ctx)
          : true;
        await settleDeferred(record, decision, ctx);
        const sent = await sendToPeers(record, decision.intent, ctx);
        return later && sent;
      }
    }
  } catch (e) {
    telemetry.metric('Errors', 1, dims);
    telemetry.error('Record could not be handled', { ...identity(record), error: describeError(e) });
    return false;
  }
}

/**
 * Records a local delete (lambda/core/origin.ts, deleteLocally). When the application saved an item
 * that came back in the gap before this tombstone, that save is the next life: it is sent to every
 * peer here, as its own record would have been had it ordered after the delete.
 */
async function recordLocalDelete(
  record: DynamoDBRecord,
  tombstone: TombstoneIntent,
  ctx: BatchContext,
): Promise<boolean> {
  const { settings } = ctx.deps;
  const later = await deleteLocally(ctx.deps.clients[settings.region], settings, tombstone, ctx.deps);
  if (!later) return true;
  return sendToPeers(
    record,
    replicatedPut(later.image, tombstone.key, settings, later.ord, later.version),
    ctx,
  );
}

/** The intent sent to every peer at once; true when each one took it (applied, stale, lost or parked). */
async function sendToPeers(record: DynamoDBRecord, intent: WriteIntent, ctx: BatchContext): Promise<boolean> {
  const results = await Promise.all(
    ctx.deps.settings.peers.map((p) => sendToTarget(record, intent, p.region, ctx)),
  );
  return results.every(Boolean);
}

async function decideWithLocalState(record: DynamoDBRecord, ctx: BatchContext): Promise<Decision> {
  const { settings } = ctx.deps;
  const local = ctx.deps.clients[settings.region];
  for (let round = 1; ; round += 1) {
    let decision = decide(record, settings);
    if (decision.kind === 'need-tombstone') {
      const tombstone = await readLocalTombstone(local, settings, decision.key, ctx.deps);
      decision = decide(record, settings, tombstone);
    }
    if ((decision.kind !== 'replicate' && decision.kind !== 'skip') || !decision.lifeMarker) return decision;
    if (await writeLifeMarker(local, settings, decision.lifeMarker, ctx.deps)) return decision;
    if (round >= MAX_DECIDE_ROUNDS)
      throw new Error('the local tombstone kept changing while a new life was being ordered');
  }
}

/**
 * A write a peer deferred on this region's item: decided against the state the record shows, or
 * (its item deleted here) applied like a peer write. Counted and logged like a peer's outcome.
 */
async function settleDeferred(
  record: DynamoDBRecord,
  decision: Extract<Decision, { kind: 'skip' | 'replicate' }>,
  ctx: BatchContext,
): Promise<void> {
  const { settings, telemetry } = ctx.deps;
  if (settings.mode !== 'multi-active') return;
  const local = ctx.deps.clients[settings.region];
  const deferred = decision.resolve?.deferred ?? decision.reapply;
  if (!deferred) return;
  const outcome: Outcome = decision.resolve
    ? await resolveDeferred(local, settings, decision.resolve, ctx.deps).then((r) =>
        r.status === 'reapplied'
          ? r.outcome
          : r.status === 'applied'
            ? { status: 'applied' }
            : dropped(decision.resolve!),
      )
    : await applyIntent(local, settings, settings.region, deferred, ctx.deps);
  if (outcome.status === 'unavailable') throw new Error(`deferred write: ${outcome.error}`);
  telemetry.metric('DeferredResolved', 1, { table: settings.table });
  if (outcome.status === 'conflict-lost') {
    telemetry.metric('ConflictsLost', 1, { table: settings.table });
    telemetry.warn('Conflict lost (deferred write)', {
      ...identity(record),
      key: deferred.key,
      op: deferred.op,
      version: deferred.version,
      origin: deferred.origin,
      ord: deferred.ord,
      winnerOrd: outcome.winner.ord,
      winnerOrigin: outcome.winner.origin,
    });
  }
}

/** A deferred write that ordered before the state it met: stale, or a lost conflict. */
function dropped(r: ResolveIntent): Outcome {
  const holder = { source: 'item' as const, ord: r.holds };
  return lostConflict(r.deferred, holder)
    ? { status: 'conflict-lost', winner: holder }
    : { status: 'stale', holder };
}

async function sendToTarget(
  record: DynamoDBRecord,
  intent: WriteIntent,
  target: string,
  ctx: BatchContext,
): Promise<boolean> {
  const { settings, telemetry } = ctx.deps;
  const dims = { table: settings.table, targetRegion: target };
  let reason: string;
  if (ctx.downTargets.has(target)) {
    reason = 'target unreachable earlier in this invocation';
  } else {
    const client = ctx.deps.clients[target];
    const outcome: Outcome = client
      ? await applyIntent(client, settings, target, intent, ctx.deps)
      : { status: 'unavailable', error: `no client for region ${target}`, retryable: false };
    switch (outcome.status) {
      case 'applied': {
        telemetry.metric('RecordsApplied', 1, dims);
        const created = record.dynamodb?.ApproximateCreationDateTime;
        if (created) telemetry.metric('ReplicationLatency', Math.max(0, Date.now() - created * 1000), dims);
        return true;
      }
      case 'stale':
        telemetry.metric('RecordsSkippedStale', 1, dims);
        return true;
      case 'conflict-lost':
        telemetry.metric('ConflictsLost', 1, dims);
        telemetry.warn('Conflict lost', {
          ...identity(record),
          targetRegion: target,
          key: intent.key,
          op: intent.op,
          version: intent.version,
          origin: intent.origin,
          ord: intent.ord,
          winnerVersion: outcome.winner.version,
          winnerOrigin: outcome.winner.origin,
          winnerOrd: outcome.winner.ord,
          winnerSource: outcome.winner.source,
        });
        return true;
      case 'deferred':
        telemetry.metric('RecordsDeferred', 1, dims);
        return true;
      case 'unavailable':
        telemetry.metric('Errors', 1, dims);
        if (outcome.retryable) ctx.downTargets.add(target);
        reason = outcome.error;
        break;
    }
  }
  try {
    await ctx.deps.parker.park(target, {
      targetRegion: target,
      table: settings.table,
      intent,
      origin: settings.region,
      sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
      eventID: record.eventID ?? '',
      parkedAt: new Date().toISOString(),
      reason,
    });
    telemetry.metric('RecordsParked', 1, dims);
    telemetry.warn('Record parked', { ...identity(record), targetRegion: target, reason });
    return true;
  } catch (e) {
    telemetry.metric('Errors', 1, dims);
    telemetry.error('Parking failed', {
      ...identity(record),
      targetRegion: target,
      reason,
      error: describeError(e),
    });
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
