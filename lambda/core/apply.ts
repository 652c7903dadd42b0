/**
 * Applies a replicated change at a target region (docs/replication.md, "Applying at a peer"). Takes
 * its client as a parameter and never constructs one.
 *
 * A save is one conditional PutItem whose condition compares the incoming order key with what the item
 * holds (invariant 1); a delete writes item and tombstone in one transaction (invariant 3). Every
 * write is idempotent: one that meets its own earlier effect (its answer was lost after it committed)
 * finds the target already at its order key and changes nothing (invariant 6). Every attribute name
 * goes through an ExpressionAttributeNames placeholder: names starting with `_` are rejected as bare
 * names in expressions, and application key names may be reserved words.
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { RESERVED, TOMBSTONE_ATTRIBUTES as TA, lastWriterWins, type ReplicatorSettings } from '../contract';
import { toSdkImage, type Image } from './attributes';
import { readConsistent, sendConditional, type ConditionFailure } from './dynamo';
import type { WriteIntent } from './intents';
import { itemOrder, olderThan } from './item-order';
import { parseOrd } from './order';
import { describeError, isTransient, type RetryClock } from './retry';

/** What the target held when a write did not go through. */
export interface Holder {
  readonly source: 'item' | 'tombstone';
  readonly ord?: string;
  readonly version?: string;
  /** Origin of the held version (from its order key); for a tombstone, the region that recorded it. */
  readonly origin?: string;
  readonly deletedBy?: string;
}

export type Outcome =
  | { readonly status: 'applied' }
  /** The target already holds this write or a later one. */
  | { readonly status: 'stale'; readonly holder: Holder }
  /** A concurrent write from another origin won (docs: "Conflicts and contract breaks are visible"). */
  | { readonly status: 'conflict-lost'; readonly winner: Holder }
  /**
   * The target item holds a save its own region has not ordered yet: only that region's replicator can
   * give it an order key (invariant 4), so the write waits on the parking queue and is tried again
   * (docs: "A write that meets an unordered item waits"). Nothing is written at the target.
   */
  | { readonly status: 'deferred' }
  /** The target could not be written: transient errors past the budget, or a non-retryable error. */
  | { readonly status: 'unavailable'; readonly error: string; readonly retryable: boolean };

export interface ApplyOptions extends RetryClock {
  /** Epoch seconds, for tombstone expiry. @default Date.now */
  readonly nowSeconds?: () => number;
}

/** Applies `intent` in region `target` through `client`. Never throws: failures are an outcome. */
export async function applyIntent(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  target: string,
  intent: WriteIntent,
  options: ApplyOptions,
): Promise<Outcome> {
  const ctx: TargetContext = { client, settings, target, options };
  try {
    if (settings.mode === 'one-way')
      return intent.op === 'put' ? await putOneWay(ctx, intent) : await deleteOneWay(ctx, intent);
    return intent.op === 'put' ? await putMultiActive(ctx, intent) : await deleteMultiActive(ctx, intent);
  } catch (e) {
    return { status: 'unavailable', error: describeError(e), retryable: isTransient(e) };
  }
}

interface TargetContext {
  readonly client: DynamoDBClient;
  readonly settings: ReplicatorSettings;
  readonly target: string;
  readonly options: ApplyOptions;
}

type PutIntent = Extract<WriteIntent, { op: 'put' }>;
type DeleteIntent = Extract<WriteIntent, { op: 'delete' }>;

// ---------------------------------------------------------------------------------------------
// One-way: the source is the only writer, so the sequence-number order key decides everything. The
// replicas have no replicator of their own, so the insert check runs here, after the put.

async function putOneWay(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  // A replica item without `_ddbm_ord` is a stray local write and is overwritten.
  const result = await put(ctx, intent, {
    expression: 'attribute_not_exists(#ord) OR #ord < :ord',
    names: { '#ord': RESERVED.order },
    values: { ':ord': { S: intent.ord } },
  });
  if (!('failed' in result)) return result.inserted ? afterInsert(ctx, intent) : { status: 'applied' };
  // The put met its own effect (it committed and its answer was lost, or the attempt died before the
  // check): it may have created the item, so the check runs again. It runs on every stale put: a later
  // put may have replaced this one's unchecked insert in place (no insert of its own, so no check), and
  // this retry is then the only writer left to look. It only reads, and undoes at most.
  const held = result.failed.item;
  const checked = await afterInsert(ctx, intent);
  if (held?.[RESERVED.order]?.S === intent.ord || checked.status !== 'applied') return checked;
  return { status: 'stale', holder: itemHolder(held, ctx) };
}

async function deleteOneWay(ctx: TargetContext, intent: DeleteIntent): Promise<Outcome> {
  // Tombstone first: a stale save that lands after it finds it (afterInsert); one that landed
  // before is removed by the delete that follows. A replay of this same delete (its invocation died
  // between the two writes, or its answer was lost) finds its own tombstone (one-way order keys are
  // sequence numbers: an equal one is this record), leaves it as it is and still deletes the item.
  const tombstone = await recordTombstone(ctx, intent);
  if (tombstone && tombstone.item?.[TA.order]?.S !== intent.ord)
    return { status: 'stale', holder: tombstoneHolder(tombstone.item) };
  await deleteReplicaItem(ctx, intent.key, 'attribute_not_exists(#ord) OR #ord < :bound', intent.ord);
  return { status: 'applied' };
}

/** One-way: removes the replica's item if its order key passes `condition` against `:bound`. */
function deleteReplicaItem(ctx: TargetContext, key: Image, condition: string, bound: string) {
  return sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new DeleteItemCommand({
        TableName: ctx.settings.table,
        Key: toSdkImage(key),
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#ord': RESERVED.order },
        ExpressionAttributeValues: { ':bound': { S: bound } },
      }),
  );
}

/**
 * One-way, after a put that created the item (or met its own effect): a live tombstone at least as
 * new means the key was deleted and this write is stale; undo it. Reading after the write (never
 * before) leaves no gap: a delete whose tombstone this read misses was recorded later, and removes
 * the item itself. The undo removes whatever replicated item the tombstone beats, not only this
 * write: a second stale write can replace this one before the undo.
 */
async function afterInsert(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  const tombstone = await readTombstone(ctx.client, ctx.settings, intent.key, ctx.options);
  const deleted = tombstone?.[TA.order]?.S;
  if (deleted === undefined || deleted < intent.ord) return { status: 'applied' };
  await deleteReplicaItem(ctx, intent.key, '#ord <= :bound', deleted);
  return lost(intent, tombstoneHolder(tombstone));
}

// ---------------------------------------------------------------------------------------------
// Multi-active: the condition judges the item by what it holds (docs: "Judging what a target holds").
// A save that creates the item is checked against the tombstone by the target region's own
// replicator, when it reads the INSERT from its stream (decide: 'undo'; origin.ts: undoCovered).

/** The item vanished between the condition and its ALL_OLD (a racing delete): judged again. */
const MAX_ROUNDS = 3;

async function putMultiActive(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  if (lastWriterWins(ctx.settings)) return putLastWriterWins(ctx, intent);
  const incoming = parseIntentOrd(intent);
  const older = olderThan(incoming, ctx.target, versionAttribute(ctx));
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    const result = await put(ctx, intent, {
      expression: `attribute_not_exists(#pk) OR ${older.expression}`,
      names: { '#pk': ctx.settings.partitionKey, ...older.names },
      values: older.values,
    });
    if (!('failed' in result)) return { status: 'applied' };
    const verdict = judge(ctx, intent, result.failed.item);
    if (verdict !== 'again') return verdict;
  }
  return contended();
}

/**
 * Last writer wins: the item is read first, and the put names what it replaces (`_ddbm_over`, on the
 * condition that the item still carries it): the item's own region writes back a save of its own that
 * this replaced before it was stamped, if that save orders later (`afterStampLww`), and only then. An
 * item with no order key is a save its region has not stamped yet: the write waits (invariant 4).
 */
async function putLastWriterWins(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    const held = await readConsistent(ctx.client, ctx.settings, ctx.options, ctx.settings.table, intent.key);
    const seen = held?.[RESERVED.order]?.S;
    if (held && seen === undefined) return { status: 'deferred' };
    if (seen !== undefined && !laterThan(intent, seen, held?.[RESERVED.stampedBy]?.S))
      return lost(intent, itemHolder(held, ctx));
    const result = await put(
      ctx,
      {
        ...intent,
        item: { ...intent.item, ...(seen !== undefined ? { [RESERVED.replaced]: { S: seen } } : {}) },
      },
      seen === undefined
        ? { expression: 'attribute_not_exists(#pk)', names: { '#pk': ctx.settings.partitionKey }, values: {} }
        : { expression: '#ord = :seen', names: { '#ord': RESERVED.order }, values: { ':seen': { S: seen } } },
    );
    if (!('failed' in result)) return { status: 'applied' };
  }
  return contended();
}

/** Last writer wins: the order key, then the stamping record (a later record of one region wins a tie). */
function laterThan(intent: PutIntent, ord: string, by: string | undefined): boolean {
  if (intent.ord !== ord) return intent.ord > ord;
  const mine = intent.item[RESERVED.stampedBy]?.S;
  return mine !== undefined && (by === undefined || mine > by);
}

async function deleteMultiActive(ctx: TargetContext, intent: DeleteIntent): Promise<Outcome> {
  const incoming = parseIntentOrd(intent);
  const older = olderThan(incoming, ctx.target, versionAttribute(ctx));
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    // One transaction: the tombstone is recorded only if the delete takes effect on the item (or
    // there is none). A tombstone beside a live item would cover it.
    const failure = await sendConditional(
      ctx.client,
      ctx.settings,
      ctx.options,
      () =>
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Delete: {
                TableName: ctx.settings.table,
                Key: toSdkImage(intent.key),
                ConditionExpression: `attribute_not_exists(#pk) OR ${older.expression}`,
                ExpressionAttributeNames: { '#pk': ctx.settings.partitionKey, ...older.names },
                ExpressionAttributeValues: older.values,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Update: { ...tombstoneUpdate(ctx, intent), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
          ],
        }),
    );
    if (!failure) return { status: 'applied' };
    if (failure.index === 1) return { status: 'stale', holder: tombstoneHolder(failure.item) };
    const verdict = judge(ctx, intent, failure.item);
    if (verdict !== 'again') return verdict;
  }
  return contended();
}

/** Racing writes changed the item under every attempt: parked and re-applied later. */
function contended(): Outcome {
  return {
    status: 'unavailable',
    error: `the target item changed under each of ${MAX_ROUNDS} attempts`,
    retryable: false,
  };
}

/**
 * The verdict on the item a conditional write failed against: the write is stale or lost a
 * conflict, or the item is unordered and only its own region can order it: the write waits (invariant
 * 4). No verdict is taken against an unordered item, not even "it loses for sure": that state may be
 * deleted before it is ever stamped, and then no region but this one would have known it.
 */
function judge(ctx: TargetContext, intent: WriteIntent, held: Image | undefined): Outcome | 'again' {
  if (!held) return 'again';
  const order = itemOrder(held, versionAttribute(ctx), ctx.target);
  if (order?.kind === 'unordered') return { status: 'deferred' };
  return lost(intent, itemHolder(held, ctx));
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

/** A conditional PutItem of the intent's image; tells whether it created the item. */
async function put(
  ctx: TargetContext,
  intent: PutIntent,
  condition: {
    expression: string;
    names: Record<string, string>;
    values: Record<string, { S: string } | { N: string }>;
  },
): Promise<{ inserted: boolean } | { failed: ConditionFailure }> {
  let inserted = false;
  const failure = await sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new PutItemCommand({
        TableName: ctx.settings.table,
        Item: toSdkImage(intent.item),
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: condition.names,
        ...(Object.keys(condition.values).length ? { ExpressionAttributeValues: condition.values } : {}),
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    (output) => {
      inserted = !(output as { Attributes?: unknown }).Attributes;
    },
  );
  return failure ? { failed: failure } : { inserted };
}

/** Epoch seconds now, as the options tell it. */
export function nowSeconds(options: ApplyOptions): number {
  return options.nowSeconds ? options.nowSeconds() : Math.floor(Date.now() / 1000);
}

/**
 * The tombstone write of a delete: only a later delete replaces a live tombstone; an expired one
 * counts as none (invariant 5). An Update, not a Put: whatever else the item holds survives.
 */
export function tombstoneUpdate(
  ctx: { readonly settings: ReplicatorSettings; readonly options: ApplyOptions },
  t: { readonly key: Image; readonly ord: string; readonly origin: string; readonly expiresAt?: number },
) {
  const now = nowSeconds(ctx.options);
  return {
    TableName: ctx.settings.tombstoneTable,
    Key: toSdkImage(t.key),
    UpdateExpression: 'SET #ord = :ord, #origin = :origin, #exp = :exp',
    ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord OR #exp < :now',
    ExpressionAttributeNames: { '#ord': TA.order, '#origin': TA.origin, '#exp': TA.expiresAt },
    ExpressionAttributeValues: {
      ':ord': { S: t.ord },
      ':origin': { S: t.origin },
      ':exp': { N: String(t.expiresAt ?? now + ctx.settings.tombstoneTtlSeconds) },
      ':now': { N: String(now) },
    },
  };
}

/** Records a one-way delete's tombstone; the failure (a tombstone at least as new, returned) or undefined. */
async function recordTombstone(
  ctx: TargetContext,
  intent: DeleteIntent,
): Promise<ConditionFailure | undefined> {
  return sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new UpdateItemCommand({
        ...tombstoneUpdate(ctx, intent),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
}

/** A strongly consistent read of the key's tombstone (undefined: none, or expired). */
export async function readTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  options: ApplyOptions,
): Promise<Image | undefined> {
  const item = await readConsistent(client, settings, options, settings.tombstoneTable, key);
  // TTL removes an expired tombstone days late, and at another time in every region; it stops
  // counting at its expiry, everywhere at once (invariant 5).
  const expires = Number(item?.[TA.expiresAt]?.N);
  return Number.isFinite(expires) && expires < nowSeconds(options) ? undefined : item;
}

function lost(intent: WriteIntent, holder: Holder): Outcome {
  return lostConflict(intent, holder)
    ? { status: 'conflict-lost', winner: holder }
    : { status: 'stale', holder };
}

/**
 * A lost conflict (multi-active only): the winner was not built on this write.
 * - A save loses a conflict to a write of the same generation and version from another origin.
 * - A delete loses a conflict to a live item of the same generation: a save that saw the delete
 *   would have started a new generation, so this one was concurrent with it.
 */
export function lostConflict(intent: WriteIntent, holder: Holder): boolean {
  const mine = parseOrd(intent.ord);
  const theirs = parseOrd(holder.ord);
  if (!mine || !theirs || mine.gen !== theirs.gen) return false;
  if (intent.op === 'delete') return holder.source === 'item' && !theirs.deleted;
  return theirs.version === mine.version && theirs.origin !== mine.origin;
}

function itemHolder(image: Image | undefined, ctx: TargetContext): Holder {
  if (ctx.settings.mode === 'multi-active' && image) {
    const order = itemOrder(image, ctx.settings.versionAttribute, ctx.target);
    if (order && order.kind !== 'unordered')
      return { source: 'item', ord: order.ord, version: order.parsed.version, origin: order.parsed.origin };
  }
  const ord = image?.[RESERVED.order]?.S;
  return { source: 'item', ...(ord ? { ord } : {}) };
}

export function tombstoneHolder(image: Image | undefined): Holder {
  const ord = image?.[TA.order]?.S;
  const parsed = parseOrd(ord);
  const deletedBy = image?.[TA.origin]?.S;
  return {
    source: 'tombstone',
    ...(ord ? { ord } : {}),
    ...(parsed ? { version: parsed.version, origin: parsed.origin } : {}),
    ...(deletedBy ? { deletedBy } : {}),
  };
}

function versionAttribute(ctx: TargetContext): string {
  if (ctx.settings.mode !== 'multi-active') throw new Error('one-way tables have no version attribute');
  return ctx.settings.versionAttribute;
}

function parseIntentOrd(intent: WriteIntent) {
  const parsed = parseOrd(intent.ord);
  if (!parsed) throw new Error(`not a multi-active order key: ${JSON.stringify(intent.ord)}`);
  return parsed;
}
