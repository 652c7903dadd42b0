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
import { canonicalImage, type Image } from '../core/attributes';
import type { ParkedMessage, StampIntent, WriteIntent } from '../core/intents';
import {
  RESERVED,
  RESERVED_PREFIX,
  lastWriterWins,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import { applyIntent, nowSeconds, type Outcome } from '../core/apply';
import {
  readLocalItem,
  markBase,
  readLocalTombstone,
  reapplyLocal,
  stampLocal,
  undoCovered,
  writeLocalTombstone,
} from '../core/origin';
import {
  afterStamp,
  afterStampLww,
  afterUndo,
  decide,
  peerStateCovered,
  replicatedPut,
  stampGuard,
  supersededInBatch,
  type Decision,
  type NextStep,
} from './decide';
import { describeError, type RetryClock } from '../core/retry';
import type { Telemetry } from '../core/telemetry';

/** Where a record bound for an unreachable target is kept (an SQS queue per target in production). */
export interface Parker {
  /** `delaySeconds`: not delivered to the consumer before then (SQS DelaySeconds). */
  park(
    targetRegion: string,
    message: ParkedMessage,
    options?: { readonly delaySeconds?: number },
  ): Promise<void>;
}

/**
 * A write that waits for its target's region to stamp an item is first tried again after this long:
 * a replicator stamps a new item within about a second of its save (Lambda polls a shard about four
 * times a second), and retrying at once would only find it unordered again.
 */
export const WAIT_DELAY_SECONDS = 2;

export interface ProcessDeps extends RetryClock {
  readonly settings: ReplicatorSettings;
  /** A client per region: this region's (stamps, tombstones) and every peer's. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly parker: Parker;
  readonly telemetry: Telemetry;
  /** Epoch seconds (tombstone expiry). @default Date.now */
  readonly nowSeconds?: () => number;
}

/** A stamp or undo meets a later state each time the application saves again: give up after this many. */
const MAX_STEPS = 4;

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
    const superseded = supersededInBatch(records, deps.settings);
    for (let i = 0; i < records.length; i += 1) {
      if (superseded[i]) continue;
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

/** True when the record is done: every target applied, was stale, lost, waits, or got it parked. */
async function handleRecord(record: DynamoDBRecord, ctx: BatchContext): Promise<boolean> {
  const { deps } = ctx;
  const { settings, telemetry } = deps;
  const dims = { table: settings.table };
  if ((deps.now ?? Date.now)() >= deps.deadline) return false; // out of time: leave it to the next invocation
  try {
    let decision = decide(record, settings);
    if (decision.kind === 'need-tombstone') {
      const local = deps.clients[settings.region];
      decision = decide(record, settings, await readLocalTombstone(local, settings, decision.key, deps));
    }
    switch (decision.kind) {
      case 'malformed':
        telemetry.metric('MalformedRecords', 1, dims);
        telemetry.error('Malformed stream record', { ...identity(record), reason: decision.reason });
        return false;
      case 'need-tombstone':
        throw new Error('tombstone still needed after reading it');
      case 'skip':
        if (decision.localTombstone)
          await writeLocalTombstone(deps.clients[settings.region], settings, decision.localTombstone, deps);
        if (decision.reason === 'echo') telemetry.metric('EchoesSkipped', 1, dims);
        return true;
      case 'replicate':
        warnViolation(record, decision, ctx);
        return follow(record, ctx, {
          kind: 'send',
          intent: decision.intent,
          ...(decision.localTombstone ? { localTombstone: decision.localTombstone } : {}),
        });
      case 'stamp':
        warnViolation(record, decision, ctx);
        return follow(
          record,
          ctx,
          await stampThenNext(decision.stamp, decision.inherited, decision.image, ctx),
        );
      case 'undo':
        return follow(record, ctx, await undoThenNext(decision.key, decision.tombstone, ctx, decision.held));
    }
  } catch (e) {
    telemetry.metric('Errors', 1, dims);
    telemetry.error('Record could not be handled', { ...identity(record), error: describeError(e) });
    return false;
  }
}

function warnViolation(
  record: DynamoDBRecord,
  decision: Extract<Decision, { kind: 'replicate' | 'stamp' }>,
  ctx: BatchContext,
): void {
  if (!decision.contractViolation) return;
  ctx.deps.telemetry.metric('ContractViolations', 1, { table: ctx.deps.settings.table });
  ctx.deps.telemetry.warn('Contract violation: data changed without a version increase', {
    ...identity(record),
    ...decision.contractViolation,
  });
}

/**
 * Carries out a send, or the step a stamp or undo led to. A local delete is recorded first (a retry of
 * the record finds it and sends the same delete), then whatever the item holds is looked at: a delete
 * found by `afterStamp` needs that look as much as an application delete does (swarm seed 1955: a new
 * life stamped below it stayed here while peers undid it).
 */
async function follow(record: DynamoDBRecord, ctx: BatchContext, next: NextStep): Promise<boolean> {
  if (next.kind === 'done') return true;
  if (next.kind === 'restamp' || next.kind === 'reapply' || next.kind === 'mark')
    throw new Error(`the item kept changing under ${MAX_STEPS} stamps`);
  const { settings } = ctx.deps;
  if (!next.localTombstone) return sendToPeers(record, next.intent, ctx);
  await writeLocalTombstone(ctx.deps.clients[settings.region], settings, next.localTombstone, ctx.deps);
  const after = await lookAfterDelete(next.localTombstone.key, next.localTombstone.ord, ctx);
  const sent = await sendToPeers(record, next.intent, ctx);
  return (await follow(record, ctx, after)) && sent;
}

/**
 * Stamps an order key onto the item, then returns the send (invariant 4). A stamp that does not go
 * through reports what it met, and `next` decides from that (a retry that meets its own stamp finds
 * it there: invariant 6). `restampSends`: a state stamped after the first is sent here too; otherwise
 * its own record sends it.
 */
async function stampUntilSettled(
  first: StampIntent,
  image: Image,
  ctx: BatchContext,
  next: (stamp: StampIntent, held: Image | undefined) => NextStep,
  restampSends: boolean,
): Promise<NextStep> {
  const settings = ctx.deps.settings as MultiActiveSettings;
  const local = ctx.deps.clients[settings.region];
  let stamp = first;
  let stamped = image;
  let reapply: { readonly replaces?: string } | undefined;
  let own = false;
  for (let step = 1; step <= MAX_STEPS; step += 1) {
    const sends = stamp === first || restampSends || reapply !== undefined || own;
    const met = reapply
      ? await reapplyLocal(local, settings, reappliedItem(stamped, stamp), reapply.replaces, ctx.deps)
      : await stampLocal(local, settings, stamp, ctx.deps);
    if (met.done)
      return sends
        ? {
            kind: 'send',
            intent: replicatedPut(stamped, stamp.key, settings, stamp.ord, stamp.version, stamp.by),
          }
        : { kind: 'done' };
    const after = next(stamp, met.held);
    if (after.kind === 'mark') {
      // The later save is gone before its floor was left: this record sends the life's removal.
      const marked = await markBase(local, settings, after.key, after.base, ctx.deps);
      if (marked.done || marked.held) return { kind: 'done' };
      const gone = next(stamp, undefined);
      return gone.kind === 'send' ? gone : { kind: 'done' };
    }
    // A restamped state's own record sends it; a delete found for it is sent here, since no record
    // of its own carries that removal (`afterStamp`).
    if (after.kind !== 'restamp' && after.kind !== 'reapply')
      return sends || (after.kind === 'send' && after.intent.op === 'delete') ? after : { kind: 'done' };
    reapply =
      after.kind === 'reapply'
        ? { ...(after.replaces !== undefined ? { replaces: after.replaces } : {}) }
        : undefined;
    own = after.kind === 'restamp' && after.own === true;
    stamp = after.stamp;
    stamped = after.image;
  }
  return { kind: 'restamp', stamp, image: stamped };
}

/** Last writer wins: the save as written back here (all its attributes, with its order key and record). */
function reappliedItem(image: Image, stamp: StampIntent): Image {
  const item: Image = {};
  for (const [name, value] of Object.entries(image))
    if (!name.startsWith(RESERVED_PREFIX)) item[name] = value;
  return {
    ...item,
    [RESERVED.order]: { S: stamp.ord },
    [RESERVED.stampedVersion]: { N: stamp.version },
    ...(stamp.by !== undefined ? { [RESERVED.stampedBy]: { S: stamp.by } } : {}),
  };
}

/** A local save no image orders: stamped, then sent; a later state found instead is handled by `afterStamp`. */
function stampThenNext(first: StampIntent, inherited: boolean, image: Image, ctx: BatchContext) {
  const settings = ctx.deps.settings as MultiActiveSettings;
  // Last writer wins: every stamp, restamp or write-back is this record's own save, sent from here.
  if (lastWriterWins(settings))
    return stampUntilSettled(
      first,
      image,
      ctx,
      (stamp, held) => afterStampLww(stamp, inherited, image, held, settings, nowSeconds(ctx.deps)),
      false,
    );
  return stampUntilSettled(
    first,
    image,
    ctx,
    // A restamp keeps the generation the old image gave (only that case restamps): its removal is
    // still this record's to send.
    (stamp, held) => afterStamp(stamp, inherited, held, settings, nowSeconds(ctx.deps)),
    false,
  );
}

/**
 * Removes a stale replicated save that a local tombstone covers (invariant 3). An application save made
 * on it since is stamped as the next life and sent (`afterUndo`).
 */
async function undoThenNext(
  key: Image,
  tombstone: string,
  ctx: BatchContext,
  exact?: { readonly ord: string; readonly same?: Image },
): Promise<NextStep> {
  const settings = ctx.deps.settings as MultiActiveSettings;
  const local = ctx.deps.clients[settings.region];
  let guard = exact;
  for (let step = 1; step <= MAX_STEPS; step += 1) {
    const undone = await undoCovered(local, settings, key, tombstone, ctx.deps, guard);
    if (undone.done) {
      ctx.deps.telemetry.metric('StaleInsertsUndone', 1, { table: settings.table });
      return { kind: 'done' };
    }
    if (!guard) return orderAfterDelete(key, tombstone, undone.held, ctx);
    // Last writer wins: the state undone exactly, changed by the application since, is saved after the
    // delete: its own record stamps it above the tombstone. Another peer's covered state that replaced
    // it in place is undone in its turn.
    const held = undone.held;
    const ord = held?.[RESERVED.order]?.S;
    if (!held || ord === guard.ord) return { kind: 'done' };
    if (!peerStateCovered(held, tombstone, settings)) return orderAfterDelete(key, tombstone, held, ctx);
    const same = stampGuard(held, key, settings);
    guard = { ord: ord!, ...(Object.keys(same).length ? { same } : {}) };
  }
  throw new Error(`the item kept changing under ${MAX_STEPS} undos`);
}

/**
 * After this region recorded a local delete: whatever the item holds now was written after it. A
 * peer's state the tombstone covers is undone; this region's own state at or below it (its record was
 * ordered before the delete was recorded: a discarded range replayed late) is the next life
 * (invariants 2, 3). The common case reads one absent item.
 */
async function lookAfterDelete(key: Image, tombstone: string, ctx: BatchContext): Promise<NextStep> {
  const { settings } = ctx.deps;
  if (settings.mode !== 'multi-active') return { kind: 'done' };
  const held = await readLocalItem(ctx.deps.clients[settings.region], settings, key, ctx.deps);
  // Last writer wins: the item cannot tell a peer's stale state from an application save made on it
  // after it landed; the peer state's own INSERT record undoes it exactly (decide: 'undo').
  if (held && peerStateCovered(held, tombstone, settings) && !lastWriterWins(settings))
    return undoThenNext(key, tombstone, ctx);
  return orderAfterDelete(key, tombstone, held, ctx);
}

/** What an item holds after a delete recorded here, ordered (`afterUndo`), restamped until it settles. */
function orderAfterDelete(key: Image, tombstone: string, held: Image | undefined, ctx: BatchContext) {
  const settings = ctx.deps.settings as MultiActiveSettings;
  const first = afterUndo(key, tombstone, held, settings);
  if (first.kind !== 'restamp') return Promise.resolve(first);
  return stampUntilSettled(
    first.stamp,
    first.image,
    ctx,
    (_stamp, now) => afterUndo(key, tombstone, now, settings),
    true,
  );
}

/** The intent sent to every peer at once; true when each one took it (applied, stale, lost, waits or parked). */
async function sendToPeers(record: DynamoDBRecord, intent: WriteIntent, ctx: BatchContext): Promise<boolean> {
  const results = await Promise.all(
    ctx.deps.settings.peers.map((p) => sendToTarget(record, intent, p.region, ctx)),
  );
  return results.every(Boolean);
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
  let delaySeconds: number | undefined;
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
        if (created)
          telemetry.metric(
            'ReplicationLatency',
            Math.max(0, (ctx.deps.now ?? Date.now)() - created * 1000),
            dims,
          );
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
        // The target's item waits for its own region's stamp: the write waits on the parking queue,
        // which tries it again (docs/replication.md, "A write that meets an unordered item waits").
        telemetry.metric('RecordsDeferred', 1, dims);
        reason = `waiting for ${target} to order its own save of the item`;
        delaySeconds = WAIT_DELAY_SECONDS;
        break;
      case 'unavailable':
        telemetry.metric('Errors', 1, dims);
        if (outcome.retryable) ctx.downTargets.add(target);
        reason = outcome.error;
        break;
    }
  }
  try {
    await ctx.deps.parker.park(
      target,
      {
        targetRegion: target,
        table: settings.table,
        intent,
        origin: settings.region,
        sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
        eventID: record.eventID ?? '',
        parkedAt: new Date((ctx.deps.now ?? Date.now)()).toISOString(),
        reason,
      },
      delaySeconds === undefined ? undefined : { delaySeconds },
    );
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
