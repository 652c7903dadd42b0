/**
 * Applies a replicated change at a target region (docs/replication.md, "Applying at a peer"). Takes
 * its client as a parameter and never constructs one.
 *
 * The common case is one conditional PutItem: the condition compares the incoming order key with
 * what the item holds. Only an insert (no item to compare with) reads the tombstone, after its write;
 * only a delete writes two items, atomically. Every attribute name goes through an
 * ExpressionAttributeNames placeholder: names starting with `_` are rejected as bare names in
 * expressions, and application key names may be reserved words.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { RESERVED, TOMBSTONE_ATTRIBUTES as TA, type ReplicatorSettings } from '../contract';
import { fromSdkImage, toSdkImage, type Image } from './attributes';
import { send, sendConditional, type ConditionFailure } from './dynamo';
import type { WriteIntent } from './intents';
import { itemOrder, olderThan } from './item-order';
import { parseOrd } from './order';
import { describeError, isTransient, type RetryClock } from './retry';

/** What the target held when a write did not go through. */
export interface Holder {
  readonly source: 'item' | 'tombstone' | 'deferred';
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
   * The target item holds a local save its region has not ordered yet: the write was left on the
   * item for that region's replicator to decide (docs: "Deferred writes"). Nothing waits for it.
   */
  | { readonly status: 'deferred' }
  /** The target could not be written: transient errors past the budget, or a non-retryable error. */
  | { readonly status: 'unavailable'; readonly error: string; readonly retryable: boolean };

export interface ApplyOptions extends RetryClock {
  /** Epoch seconds, for tombstone expiry. @default Date.now */
  readonly nowSeconds?: () => number;
}

/** The item changed under a write this many times in a row: give up for now (the record is retried). */
const MAX_ROUNDS = 4;

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
// One-way: the source is the only writer, so the sequence-number order key decides everything.

async function putOneWay(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  // A replica item without `_ddbm_ord` is a stray local write and is overwritten.
  const result = await put(ctx, intent, {
    expression: 'attribute_not_exists(#ord) OR #ord < :ord',
    names: { '#ord': RESERVED.order },
    values: { ':ord': { S: intent.ord } },
  });
  if ('failed' in result) return { status: 'stale', holder: itemHolder(result.failed.item, ctx) };
  return result.inserted ? afterInsert(ctx, intent) : { status: 'applied' };
}

async function deleteOneWay(ctx: TargetContext, intent: DeleteIntent): Promise<Outcome> {
  // Tombstone first: a stale save that lands after it finds it (afterInsert); one that landed
  // before is removed by the delete that follows. Two writes, so a replay of this same delete (its
  // invocation died between them, or it was parked) finds its own tombstone (one-way order keys are
  // sequence numbers: an equal one is this record). That one is left as it is (a replay changes
  // nothing stored) and is no reason to stop, or the item would never be deleted.
  const tombstone = await recordTombstone(ctx, intent);
  if (tombstone && tombstone.item?.[TA.order]?.S !== intent.ord)
    return { status: 'stale', holder: tombstoneHolder(tombstone.item) };
  await sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new DeleteItemCommand({
        TableName: ctx.settings.table,
        Key: toSdkImage(intent.key),
        ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord',
        ExpressionAttributeNames: { '#ord': RESERVED.order },
        ExpressionAttributeValues: { ':ord': { S: intent.ord } },
      }),
  );
  return { status: 'applied' };
}

// ---------------------------------------------------------------------------------------------
// Multi-active: the condition judges the item by what it holds (docs: "Judging what a target holds").

async function putMultiActive(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  const incoming = parseIntentOrd(intent);
  const older = olderThan(incoming, ctx.target, versionAttribute(ctx));
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    const result = await put(ctx, intent, {
      expression: `attribute_not_exists(#pk) OR ${older.expression}`,
      names: { '#pk': ctx.settings.partitionKey, ...older.names },
      values: older.values,
    });
    if (!('failed' in result)) return result.inserted ? afterInsert(ctx, intent) : { status: 'applied' };
    const verdict = judge(ctx, intent, result.failed.item);
    if (verdict !== 'defer') return verdict;
    const deferred = await defer(ctx, intent);
    if (deferred !== 'changed') return deferred;
  }
  return contended();
}

async function deleteMultiActive(ctx: TargetContext, intent: DeleteIntent): Promise<Outcome> {
  const incoming = parseIntentOrd(intent);
  const older = olderThan(incoming, ctx.target, versionAttribute(ctx));
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    // One transaction: the tombstone is recorded only if the delete takes effect on the item (or
    // there is none). A tombstone recorded beside a live item this region has not ordered yet would
    // change the generation its replicator gives that item.
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
    if (verdict !== 'defer') return verdict;
    const deferred = await defer(ctx, intent);
    if (deferred !== 'changed') return deferred;
  }
  return contended();
}

/**
 * The item changed under every attempt (writes racing on one key): not a fault of the target, so it
 * does not mark the region down; the record is parked and re-applied later.
 */
function contended(): Outcome {
  return {
    status: 'unavailable',
    error: `the target item changed under each of ${MAX_ROUNDS} attempts`,
    retryable: false,
  };
}

/**
 * The verdict on the item a conditional write failed against: the write is stale or lost a
 * conflict, or the item is unordered and only its region can tell (`defer`). An unordered item's
 * order key is at least its floor (generation 0), so a write at or below the floor loses for sure.
 */
function judge(ctx: TargetContext, intent: WriteIntent, held: Image | undefined): Outcome | 'defer' {
  if (!held) return 'defer'; // deleted since the condition was evaluated: try again
  const order = itemOrder(held, versionAttribute(ctx), ctx.target);
  if (order?.kind === 'unordered') {
    if (order.floor === undefined || intent.ord > order.floor) return 'defer';
    const holder: Holder = { source: 'item', ord: order.floor, origin: ctx.target };
    return lost(intent, holder);
  }
  return lost(intent, itemHolder(held, ctx));
}

/**
 * Leaves the write on an unordered item for its region's replicator (docs: "Deferred writes"): one
 * UpdateItem, and only a later write replaces an earlier deferred one. `changed`: the item is gone
 * or ordered now, so the caller judges it again.
 */
async function defer(ctx: TargetContext, intent: WriteIntent): Promise<Outcome | 'changed'> {
  const failure = await sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new UpdateItemCommand({
        TableName: ctx.settings.table,
        Key: toSdkImage(intent.key),
        UpdateExpression: 'SET #defer = :defer, #defo = :ord',
        ConditionExpression:
          'attribute_exists(#pk) AND attribute_not_exists(#ord) AND (attribute_not_exists(#defo) OR #defo < :ord)',
        ExpressionAttributeNames: {
          '#pk': ctx.settings.partitionKey,
          '#ord': RESERVED.order,
          '#defer': RESERVED.deferred,
          '#defo': RESERVED.deferredOrder,
        },
        ExpressionAttributeValues: { ':defer': { S: JSON.stringify(intent) }, ':ord': { S: intent.ord } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
  if (!failure) return { status: 'deferred' };
  const deferredOrd = failure.item?.[RESERVED.deferredOrder]?.S;
  if (failure.item && failure.item[RESERVED.order] === undefined && deferredOrd !== undefined)
    // A later write is deferred on the item already: whatever the region decides, it is at least that.
    return { status: 'stale', holder: { source: 'deferred', ord: deferredOrd } };
  return 'changed';
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
        ExpressionAttributeValues: condition.values,
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    (output) => {
      inserted = !(output as { Attributes?: unknown }).Attributes;
    },
  );
  return failure ? { failed: failure } : { inserted };
}

/**
 * After a write that created the item: a tombstone at least as new means the key was deleted and
 * this write is stale. Undo it, unless something newer has replaced it since. Reading after the
 * write (never before) leaves no gap: a delete whose tombstone this read misses was recorded later,
 * and removes the item itself (docs: "Why an insert needs no transaction").
 *
 * The undo removes whatever replicated item the tombstone beats, not only this write: a second stale
 * write can replace this one before the undo (it found an item, so it never checks the tombstone
 * itself), and undoing only this write's order key would leave that one standing against the delete.
 * Multi-active: only an ordered item (`_ddbm_ver = version`); a local save has its own order.
 */
async function afterInsert(ctx: TargetContext, intent: PutIntent): Promise<Outcome> {
  const tombstone = await readTombstone(ctx.client, ctx.settings, intent.key, ctx.options);
  const deleted = tombstone?.[TA.order]?.S;
  if (deleted === undefined || deleted < intent.ord) return { status: 'applied' };
  const multi = ctx.settings.mode === 'multi-active';
  await sendConditional(
    ctx.client,
    ctx.settings,
    ctx.options,
    () =>
      new DeleteItemCommand({
        TableName: ctx.settings.table,
        Key: toSdkImage(intent.key),
        ConditionExpression: multi ? '#ord <= :deleted AND #ver = #version' : '#ord <= :deleted',
        ExpressionAttributeNames: {
          '#ord': RESERVED.order,
          ...(multi ? { '#ver': RESERVED.stampedVersion, '#version': versionAttribute(ctx) } : {}),
        },
        ExpressionAttributeValues: { ':deleted': { S: deleted } },
      }),
  );
  return lost(intent, tombstoneHolder(tombstone));
}

/** The tombstone write of a replicated delete: only a later delete replaces it. */
function tombstoneUpdate(ctx: TargetContext, intent: DeleteIntent) {
  const now = ctx.options.nowSeconds ? ctx.options.nowSeconds() : Math.floor(Date.now() / 1000);
  return {
    TableName: ctx.settings.tombstoneTable,
    Key: toSdkImage(intent.key),
    // An Update, not a Put: the target region's own life marker and local position on the same
    // tombstone item survive.
    UpdateExpression: 'SET #ord = :ord, #origin = :origin, #exp = :exp',
    ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord',
    ExpressionAttributeNames: { '#ord': TA.order, '#origin': TA.origin, '#exp': TA.expiresAt },
    ExpressionAttributeValues: {
      ':ord': { S: intent.ord },
      ':origin': { S: intent.origin },
      ':exp': { N: String(now + ctx.settings.tombstoneTtlSeconds) },
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

/** A strongly consistent read of the key's tombstone (undefined: none). */
export async function readTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  options: ApplyOptions,
): Promise<Image | undefined> {
  const res = await send<{ Item?: Record<string, unknown> }>(
    client,
    settings,
    options,
    () =>
      new GetItemCommand({
        TableName: settings.tombstoneTable,
        Key: toSdkImage(key),
        ConsistentRead: true,
      }),
  );
  return res.Item ? fromSdkImage(res.Item as Record<string, Record<string, unknown>>) : undefined;
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
