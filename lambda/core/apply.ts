/**
 * Executes intents (docs/replication.md, "Applying at a peer", "How a local change gets its order
 * key"). Takes its clients as parameters and never constructs one.
 *
 * Every attribute name goes through an ExpressionAttributeNames placeholder: names starting with `_`
 * are rejected as bare names in expressions, and application key names may be reserved words.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { fromSdkImage, toSdkImage, toSdkValue, type Image } from './attributes';
import type { LifeMarkerIntent, StampIntent, TombstoneIntent, TombstoneState, WriteIntent } from './intents';
import {
  RESERVED,
  TOMBSTONE_ATTRIBUTES as TA,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import { parseOrd, parseVersion } from './order';
import {
  backoffDelay,
  describeError,
  isTransient,
  mayRetry,
  realSleep,
  withRetry,
  type RetryClock,
} from './retry';

/** What the target held when a condition failed. */
export interface Holder {
  readonly source: 'item' | 'tombstone';
  readonly ord?: string;
  readonly version?: string;
  /** Origin of the held version (from its order key); for a tombstone, the region that recorded it. */
  readonly origin?: string;
  readonly deletedBy?: string;
}

export type Outcome =
  | { readonly status: 'applied'; readonly attempts: number }
  /** The target already holds this write or a later one. */
  | { readonly status: 'stale'; readonly holder: Holder; readonly attempts: number }
  /** A concurrent write from another origin won (docs: "Conflicts and contract breaks are visible"). */
  | { readonly status: 'conflict-lost'; readonly winner: Holder; readonly attempts: number }
  /** The target item is unstamped (a local save its replicator has not ordered yet) after the retry budget. */
  | { readonly status: 'pending'; readonly holder: Holder; readonly attempts: number }
  /** The target could not be written: transient errors past the budget, or a non-retryable error. */
  | {
      readonly status: 'unavailable';
      readonly error: string;
      readonly retryable: boolean;
      readonly attempts: number;
    };

export interface ApplyOptions extends RetryClock {
  /** Epoch seconds, for tombstone expiry. @default Date.now */
  readonly nowSeconds?: () => number;
  /** Overrides settings.pendingWaitMs (the parked-record consumer can afford to wait longer). */
  readonly pendingWaitMs?: number;
}

type Attempt =
  | Outcome
  | {
      readonly status: 'retry';
      readonly why: 'pending' | 'transient';
      readonly holder?: Holder;
      readonly error?: string;
    };

/** Longest single wait between attempts on a pending (unstamped) target item. */
const PENDING_MAX_DELAY_MS = 1000;

/**
 * How long the replicator waits for a pending (unstamped) target item before parking the record (see
 * ReplicatorSettings.pendingWaitMs): a few polls of the target's replicator. Short, because while a
 * replicator waits its shard waits, and two regions may be waiting on each other's stamps.
 */
export const DEFAULT_PENDING_WAIT_MS = 1_000;

/** The parked-record consumer blocks no stream, so it waits longer for a pending target item. */
export const CONSUMER_PENDING_WAIT_MS = 20_000;

/** One TransactWriteItems per attempt; retried while pending or transient, within maxAttempts and the deadline. */
export async function applyIntent(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  intent: WriteIntent,
  options: ApplyOptions,
): Promise<Outcome> {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    const result = await attemptOnce(client, settings, intent, options, attempt);
    if (result.status !== 'retry') return result;
    // Pending is not a fault: it lasts until the target's own replicator stamps its local save
    // (about one poll plus one batch). Wait for that on its own budget rather than maxAttempts; the
    // budget is short in the replicator (two replicators waiting on each other's stamps would stall
    // both shards) and long in the parked-record consumer, which blocks no stream.
    const pending = result.why === 'pending';
    const delay = pending
      ? Math.min(PENDING_MAX_DELAY_MS, backoffDelay(attempt, settings, random))
      : backoffDelay(attempt, settings, random);
    const mayGoOn = pending
      ? now() - started + delay <
          (options.pendingWaitMs ?? settings.pendingWaitMs ?? DEFAULT_PENDING_WAIT_MS) &&
        now() + delay < options.deadline
      : mayRetry(attempt, delay, settings, options);
    if (!mayGoOn) {
      return result.why === 'pending'
        ? { status: 'pending', holder: result.holder!, attempts: attempt }
        : { status: 'unavailable', error: result.error ?? 'unknown', retryable: true, attempts: attempt };
    }
    await sleep(delay);
  }
}

async function attemptOnce(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  intent: WriteIntent,
  options: ApplyOptions,
  attempts: number,
): Promise<Attempt> {
  const items = transactItems(settings, intent, epochSeconds(options));
  try {
    await client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    return { status: 'applied', attempts };
  } catch (e) {
    const err = e as {
      name?: string;
      CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[];
    };
    if (err.name === 'TransactionCanceledException' && !isTransient(e)) {
      const reasons = err.CancellationReasons ?? [];
      const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (
        failed >= 0 &&
        reasons.every((r) => r.Code === 'None' || r.Code === 'ConditionalCheckFailed' || r.Code === undefined)
      ) {
        // The tombstone's verdict first: a delete at least as new covers the record whatever the item holds.
        const tombstoneIdx = intent.op === 'put' ? 0 : 1;
        const itemIdx = 1 - tombstoneIdx;
        const tombstoneFailed = reasons[tombstoneIdx]?.Code === 'ConditionalCheckFailed';
        const raw = reasons[tombstoneFailed ? tombstoneIdx : itemIdx]?.Item;
        const image = raw ? fromSdkImage(raw as Record<string, Record<string, unknown>>) : undefined;
        const holder = tombstoneFailed ? tombstoneHolder(image) : itemHolder(image, settings);
        if (!tombstoneFailed && settings.mode === 'multi-active' && image && !isStamped(image, settings))
          return { status: 'retry', why: 'pending', holder };
        return lostConflict(intent, holder, settings)
          ? { status: 'conflict-lost', winner: holder, attempts }
          : { status: 'stale', holder, attempts };
      }
      return {
        status: 'unavailable',
        error: describeError(e) + ` ${JSON.stringify(reasons)}`,
        retryable: false,
        attempts,
      };
    }
    if (isTransient(e)) return { status: 'retry', why: 'transient', error: describeError(e) };
    return { status: 'unavailable', error: describeError(e), retryable: false, attempts };
  }
}

/** The transaction for one intent. Exported for tests of the exact expressions. */
export function transactItems(
  settings: ReplicatorSettings,
  intent: WriteIntent,
  nowSeconds: number,
): TransactWriteItem[] {
  const key = toSdkImage(intent.key);
  const ordValue = { ':ord': { S: intent.ord } };
  // One-way: a replica item without `_ddbm_ord` is a stray local write and is overwritten.
  // Multi-active: an existing item must be stamped (`_ddbm_ver = version`); an unstamped one is a
  // concurrent local save not ordered yet, and the write waits (pending).
  const itemCondition: { ConditionExpression: string; ExpressionAttributeNames: Record<string, string> } =
    settings.mode === 'one-way'
      ? {
          ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord',
          ExpressionAttributeNames: { '#ord': RESERVED.order },
        }
      : {
          ConditionExpression: 'attribute_not_exists(#pk) OR (#sver = #ver AND #ord < :ord)',
          ExpressionAttributeNames: {
            '#pk': settings.partitionKey,
            '#sver': RESERVED.stampedVersion,
            '#ver': settings.versionAttribute,
            '#ord': RESERVED.order,
          },
        };
  // Tombstone items may carry only a life marker (no order key): test the order key, not the key.
  const tombstoneCondition = {
    ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  if (intent.op === 'put') {
    return [
      {
        ConditionCheck: {
          TableName: settings.tombstoneTable,
          Key: key,
          ...tombstoneCondition,
          ExpressionAttributeNames: { '#ord': TA.order },
          ExpressionAttributeValues: ordValue,
        },
      },
      {
        Put: {
          TableName: settings.table,
          Item: toSdkImage(intent.item),
          ...itemCondition,
          ExpressionAttributeValues: ordValue,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ];
  }
  return [
    {
      Delete: {
        TableName: settings.table,
        Key: key,
        ...itemCondition,
        ExpressionAttributeValues: ordValue,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      // Update, not Put: the target region's life marker on the same tombstone item must survive.
      Update: {
        TableName: settings.tombstoneTable,
        Key: key,
        UpdateExpression: 'SET #ord = :ord, #origin = :origin, #exp = :exp REMOVE #seq',
        ...tombstoneCondition,
        ExpressionAttributeNames: {
          '#ord': TA.order,
          '#origin': TA.origin,
          '#exp': TA.expiresAt,
          '#seq': TA.sequence,
        },
        ExpressionAttributeValues: {
          ...ordValue,
          ':origin': { S: intent.origin },
          ':exp': { N: String(nowSeconds + settings.tombstoneTtlSeconds) },
        },
      },
    },
  ];
}

function isStamped(image: Image, settings: MultiActiveSettings): boolean {
  const v = parseVersion(image[settings.versionAttribute]?.N);
  return (
    v !== undefined &&
    parseVersion(image[RESERVED.stampedVersion]?.N) === v &&
    image[RESERVED.order]?.S !== undefined
  );
}

function itemHolder(image: Image | undefined, settings: ReplicatorSettings): Holder {
  const ord = image?.[RESERVED.order]?.S;
  const parsed = parseOrd(ord);
  const version = settings.mode === 'multi-active' ? image?.[settings.versionAttribute]?.N : undefined;
  return {
    source: 'item',
    ...(ord ? { ord } : {}),
    ...(version ? { version } : {}),
    ...(parsed ? { origin: parsed.origin } : {}),
  };
}

function tombstoneHolder(image: Image | undefined): Holder {
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

/**
 * A lost conflict (multi-active only): the winner was not built on this write.
 * - A save loses a conflict to a write of the same generation and version from another origin.
 * - A delete loses a conflict to a live item of the same generation: a save that saw the delete
 *   would have started a new generation, so this one was concurrent with it.
 */
export function lostConflict(intent: WriteIntent, holder: Holder, settings: ReplicatorSettings): boolean {
  if (settings.mode !== 'multi-active') return false;
  const mine = parseOrd(intent.ord);
  const theirs = parseOrd(holder.ord);
  if (!mine || !theirs || mine.gen !== theirs.gen) return false;
  if (intent.op === 'delete') return holder.source === 'item' && !theirs.deleted;
  return theirs.version === mine.version && theirs.origin !== mine.origin;
}

/** Origin side: `SET _ddbm_ord, _ddbm_ver IF version = :v AND stamp older`. False when the condition failed (fine). */
export async function stampLocal(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  stamp: StampIntent,
  clock: RetryClock,
): Promise<boolean> {
  // The item must still hold the record's data, not just its version: a later life of the key
  // (deleted and saved again, back at this version) must not get this record's order key.
  const same = Object.entries(stamp.same ?? {});
  const sameNames = Object.fromEntries(same.map(([name], i) => [`#s${i}`, name]));
  const sameValues = Object.fromEntries(same.map(([, value], i) => [`:s${i}`, toSdkValue(value)]));
  const sameCondition = same.map((_, i) => ` AND #s${i} = :s${i}`).join('');
  return sendConditional(
    client,
    settings,
    clock,
    () =>
      new UpdateItemCommand({
        TableName: settings.table,
        Key: toSdkImage(stamp.key),
        UpdateExpression: 'SET #ord = :ord, #sver = :v',
        // Only an unstamped item, or one this region stamped lower: an item stamped at this
        // version by a peer holds the peer's data (it landed while this region's item was
        // deleted, or won a conflict), and must keep the peer's order key.
        ConditionExpression:
          `#ver = :v${sameCondition} AND ` +
          '(attribute_not_exists(#sver) OR #sver <> :v OR (#ord < :ord AND contains(#ord, :self)))',
        ExpressionAttributeNames: {
          '#ord': RESERVED.order,
          '#sver': RESERVED.stampedVersion,
          '#ver': settings.versionAttribute,
          ...sameNames,
        },
        ExpressionAttributeValues: {
          ':ord': { S: stamp.ord },
          ':v': { N: stamp.version },
          ':self': { S: `#${settings.region}#` },
          ...sameValues,
        },
      }),
  );
}

/** Origin side: record a local delete. False when a tombstone at least as new is already there (fine). */
export async function writeLocalTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  t: TombstoneIntent,
  clock: ApplyOptions,
): Promise<boolean> {
  const now = epochSeconds(clock);
  return sendConditional(
    client,
    settings,
    clock,
    () =>
      new UpdateItemCommand({
        TableName: settings.tombstoneTable,
        Key: toSdkImage(t.key),
        UpdateExpression: 'SET #ord = :ord, #origin = :origin, #seq = :seq, #exp = :exp',
        ConditionExpression: 'attribute_not_exists(#ord) OR #ord < :ord',
        ExpressionAttributeNames: {
          '#ord': TA.order,
          '#origin': TA.origin,
          '#seq': TA.sequence,
          '#exp': TA.expiresAt,
        },
        ExpressionAttributeValues: {
          ':ord': { S: t.ord },
          ':origin': { S: t.origin },
          ':seq': { S: t.sequence },
          ':exp': { N: String(now + settings.tombstoneTtlSeconds) },
        },
      }),
  );
}

/**
 * Origin side: remember the record that started the key's life here. False when the tombstone
 * changed since it was read (the caller reads it again and decides again).
 */
export async function writeLifeMarker(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  m: LifeMarkerIntent,
  clock: ApplyOptions,
): Promise<boolean> {
  const now = epochSeconds(clock);
  const sameTombstone = m.expectedOrd === undefined ? 'attribute_not_exists(#ord)' : '#ord = :expected';
  return sendConditional(
    client,
    settings,
    clock,
    () =>
      new UpdateItemCommand({
        TableName: settings.tombstoneTable,
        Key: toSdkImage(m.key),
        // The expiry only ever moves later: keeping a tombstone longer is harmless.
        UpdateExpression: 'SET #born = :born, #gen = :gen, #exp = :exp',
        ConditionExpression: `(attribute_not_exists(#born) OR #born < :born) AND ${sameTombstone}`,
        ExpressionAttributeNames: {
          '#born': TA.bornSequence,
          '#gen': TA.bornGeneration,
          '#exp': TA.expiresAt,
          '#ord': TA.order,
        },
        ExpressionAttributeValues: {
          ':born': { S: m.bornSequence },
          ':gen': { N: String(m.generation) },
          ':exp': { N: String(now + settings.tombstoneTtlSeconds) },
          ...(m.expectedOrd === undefined ? {} : { ':expected': { S: m.expectedOrd } }),
        },
      }),
  );
}

/**
 * Origin side of a local delete: record the tombstone, then delete a peer's replicated item that
 * landed in the gap between the application's delete and this tombstone (stamped, from another
 * origin, older than the delete). Without the tombstone that write found nothing to stop it; left
 * alone it would outlive the delete here while every peer deletes it.
 *
 * Tombstone first, then the conditional delete — never "look for such an item, and if there is
 * none write the tombstone": a peer's save landing between the look and the tombstone would
 * survive (a peer's replicator writes whenever it likes). In this order every peer save either
 * landed before the tombstone (and the delete that follows removes it) or meets the tombstone
 * (and fails its condition there). A replay does both again: neither write changes anything twice.
 *
 * A local item from this origin is never touched: it is a newer local life (or one this region
 * stamped), which the delete did not see.
 */
export async function deleteLocally(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  t: TombstoneIntent,
  clock: ApplyOptions,
): Promise<void> {
  await writeLocalTombstone(client, settings, t, clock);
  if (settings.mode !== 'multi-active') return;
  await sendConditional(
    client,
    settings,
    clock,
    () =>
      new DeleteItemCommand({
        TableName: settings.table,
        Key: toSdkImage(t.key),
        ConditionExpression:
          'attribute_exists(#pk) AND #sver = #ver AND #ord < :ord AND NOT contains(#ord, :self)',
        ExpressionAttributeNames: {
          '#pk': settings.partitionKey,
          '#sver': RESERVED.stampedVersion,
          '#ver': settings.versionAttribute,
          '#ord': RESERVED.order,
        },
        ExpressionAttributeValues: { ':ord': { S: t.ord }, ':self': { S: `#${t.origin}#` } },
      }),
  );
}

export async function readLocalTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  clock: RetryClock,
): Promise<TombstoneState | null> {
  const res = await withRetry(
    () =>
      client.send(
        new GetItemCommand({
          TableName: settings.tombstoneTable,
          Key: toSdkImage(key),
          ConsistentRead: true,
        }),
      ),
    settings,
    clock,
  );
  if (!res.Item) return null;
  const item = fromSdkImage(res.Item as unknown as Record<string, Record<string, unknown>>);
  const bornGen = item[TA.bornGeneration]?.N;
  return {
    ...(item[TA.order]?.S !== undefined ? { ord: item[TA.order].S } : {}),
    ...(item[TA.origin]?.S !== undefined ? { origin: item[TA.origin].S } : {}),
    ...(item[TA.sequence]?.S !== undefined ? { sequence: item[TA.sequence].S } : {}),
    ...(item[TA.bornSequence]?.S !== undefined ? { bornSequence: item[TA.bornSequence].S } : {}),
    ...(bornGen !== undefined ? { bornGeneration: Number(bornGen) } : {}),
  };
}

/** Epoch seconds (tombstone expiry), from the injected clock when there is one. */
function epochSeconds(clock: { readonly nowSeconds?: () => number }): number {
  return clock.nowSeconds ? clock.nowSeconds() : Math.floor(Date.now() / 1000);
}

/**
 * Sends a conditional write, retrying transient errors; false when its condition failed (which the
 * callers treat as "already done or superseded", never as an error). The command is built per attempt.
 */
async function sendConditional(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  clock: RetryClock,
  command: () => UpdateItemCommand | DeleteItemCommand,
): Promise<boolean> {
  return conditional(() => withRetry(() => client.send(command()), settings, clock));
}

async function conditional(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (e) {
    if (
      e instanceof ConditionalCheckFailedException ||
      (e as { name?: string }).name === 'ConditionalCheckFailedException'
    )
      return false;
    throw e;
  }
}
