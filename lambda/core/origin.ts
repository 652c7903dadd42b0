/**
 * Origin-side writes: what a region's replicator writes in its own region (docs/replication.md,
 * "How a local change gets its order key", "Deferred writes"). All are conditional and idempotent,
 * so a replayed record writes nothing twice.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  RESERVED,
  TOMBSTONE_ATTRIBUTES as TA,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import { applyIntent, readTombstone, type ApplyOptions, type Outcome } from './apply';
import { fromSdkImage, toSdkImage, toSdkValue, type Image } from './attributes';
import { send, sendConditional } from './dynamo';
import type {
  LifeMarkerIntent,
  ResolveIntent,
  StampIntent,
  TombstoneIntent,
  TombstoneState,
} from './intents';
import { itemOrder, olderThan } from './item-order';
import { formatOrd, parseOrd } from './order';

/**
 * Orders a local save whose order key no image carries (a life born after a tombstone, or a save
 * whose whole-item PutItem dropped `_ddbm_ord`): `SET _ddbm_ord, _ddbm_ver` while the item still
 * holds the record's data. False when it does not (the application moved on; fine).
 */
export async function stampLocal(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  stamp: StampIntent,
  options: ApplyOptions,
): Promise<boolean> {
  // The item must still hold the record's data, not just its version: a later life of the key
  // (deleted and saved again, back at this version) must not get this record's order key.
  const guard = sameData(stamp.same ?? {});
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new UpdateItemCommand({
        TableName: settings.table,
        Key: toSdkImage(stamp.key),
        UpdateExpression: 'SET #ord = :ord, #sver = :v',
        ConditionExpression: `#ver = :v${guard.expression} AND ${stamp.replaces === undefined ? 'attribute_not_exists(#ord)' : '#ord = :replaces'}`,
        ExpressionAttributeNames: {
          '#ord': RESERVED.order,
          '#sver': RESERVED.stampedVersion,
          '#ver': settings.versionAttribute,
          ...guard.names,
        },
        ExpressionAttributeValues: {
          ':ord': { S: stamp.ord },
          ':v': { N: stamp.version },
          ...(stamp.replaces === undefined ? {} : { ':replaces': { S: stamp.replaces } }),
          ...guard.values,
        },
      }),
  );
  return !failure;
}

/** Records a delete in this region's tombstone table. False when a tombstone at least as new is there (fine). */
export async function writeLocalTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  t: TombstoneIntent,
  options: ApplyOptions,
): Promise<boolean> {
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new UpdateItemCommand({
        ...localTombstoneUpdate(settings, t, options),
      }),
  );
  return !failure;
}

/** The tombstone write of a delete recorded here, with this region's stream position. */
function localTombstoneUpdate(settings: ReplicatorSettings, t: TombstoneIntent, options: ApplyOptions) {
  return {
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
      ':exp': { N: String(epochSeconds(options) + settings.tombstoneTtlSeconds) },
    },
  };
}

/**
 * Remembers the record that started (or last decided) the key's life here. False when the tombstone
 * changed since it was read (the caller reads it again and decides again).
 */
export async function writeLifeMarker(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  m: LifeMarkerIntent,
  options: ApplyOptions,
): Promise<boolean> {
  const sameTombstone = m.expectedOrd === undefined ? 'attribute_not_exists(#ord)' : '#ord = :expected';
  const failure = await sendConditional(
    client,
    settings,
    options,
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
          ':exp': { N: String(epochSeconds(options) + settings.tombstoneTtlSeconds) },
          ...(m.expectedOrd === undefined ? {} : { ':expected': { S: m.expectedOrd } }),
        },
      }),
  );
  return !failure;
}

/**
 * Origin side of a local delete: record the tombstone, then deal with an item that landed in the gap
 * between the application's delete and this tombstone. Without the tombstone nothing stopped it.
 *
 * - A peer's save older than the delete (ordered: `_ddbm_ver = version`), left alone, would outlive the
 *   delete here while every peer deletes it: it is removed (conditional `DeleteItem`).
 * - An item the application saved since (local: it carries a peer's order key at another version) is a
 *   save made after the delete in this region, so it must order after it everywhere: it becomes the
 *   next life (generation of the delete + 1), is stamped so here, and returned for the caller to send.
 *   Ordered by the stale key it inherited, it would lose to its own region's earlier delete.
 * - An unordered item is a newer local life: its INSERT takes the next generation; never touched.
 *
 * Tombstone first, then look: a peer's save landing after the tombstone meets it (its insert check
 * reads the tombstone and undoes it), one landing before is found by the look. The look is a read,
 * so the common case (no gap item) writes nothing more.
 */
export async function deleteLocally(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  t: TombstoneIntent,
  options: ApplyOptions,
): Promise<LaterLocalSave | undefined> {
  await writeLocalTombstone(client, settings, t, options);
  if (settings.mode !== 'multi-active') return undefined;
  const deleted = parseOrd(t.ord);
  if (!deleted) return undefined;
  const res = await send<{ Item?: Record<string, unknown> }>(
    client,
    settings,
    options,
    () =>
      new GetItemCommand({
        TableName: settings.table,
        Key: toSdkImage(t.key),
        ConsistentRead: true,
      }),
  );
  if (!res.Item) return undefined;
  const image = fromSdkImage(res.Item as Record<string, Record<string, unknown>>);
  const held = itemOrder(image, settings.versionAttribute, settings.region);
  if (!held || held.kind === 'unordered' || held.ord >= t.ord) return undefined;
  if (held.kind === 'local') return nextLife(client, settings, t.key, image, deleted.gen + 1, options);
  const older = olderThan(deleted, settings.region, settings.versionAttribute);
  await sendConditional(
    client,
    settings,
    options,
    () =>
      new DeleteItemCommand({
        TableName: settings.table,
        Key: toSdkImage(t.key),
        ConditionExpression: `attribute_exists(#pk) AND (${older.expression})`,
        ExpressionAttributeNames: { '#pk': settings.partitionKey, ...older.names },
        ExpressionAttributeValues: older.values,
      }),
  );
  return undefined;
}

/** A save the application made after its own delete, ordered as the next life: to send to every peer. */
export interface LaterLocalSave {
  readonly image: Image;
  readonly ord: string;
  readonly version: string;
}

/** Stamps a local item as generation `gen` at its own version, if it still holds what was read. */
async function nextLife(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  key: Image,
  image: Image,
  gen: number,
  options: ApplyOptions,
): Promise<LaterLocalSave | undefined> {
  const version = image[settings.versionAttribute]!.N!;
  const ord = formatOrd({ gen, version, origin: settings.region, deleted: false });
  // Still the state that was read: its version and the stale order key it inherited.
  const stamped = await stampLocal(
    client,
    settings,
    { key, ord, version, replaces: image[RESERVED.order]!.S! },
    options,
  );
  // Changed since (saved again, or deleted): that later record is handled in its turn.
  if (!stamped) return undefined;
  return {
    image: { ...image, [RESERVED.order]: { S: ord }, [RESERVED.stampedVersion]: { N: version } },
    ord,
    version,
  };
}

export async function readLocalTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  options: ApplyOptions,
): Promise<TombstoneState | null> {
  const item = await readTombstone(client, settings, key, options);
  if (!item) return null;
  const bornGen = item[TA.bornGeneration]?.N;
  return {
    ...(item[TA.order]?.S !== undefined ? { ord: item[TA.order].S } : {}),
    ...(item[TA.origin]?.S !== undefined ? { origin: item[TA.origin].S } : {}),
    ...(item[TA.sequence]?.S !== undefined ? { sequence: item[TA.sequence].S } : {}),
    ...(item[TA.bornSequence]?.S !== undefined ? { bornSequence: item[TA.bornSequence].S } : {}),
    ...(bornGen !== undefined ? { bornGeneration: Number(bornGen) } : {}),
  };
}

export type Resolution =
  | { readonly status: 'dropped' }
  | { readonly status: 'applied' }
  /** The item no longer showed the state: the deferred write went through the peer path instead. */
  | { readonly status: 'reapplied'; readonly outcome: Outcome };

/**
 * Decides a deferred write against the state it was judged against (docs: "Deferred writes"): a
 * later write replaces or deletes the state, an earlier one is dropped. Every write is guarded by
 * the state (and the deferral) still being there; when the item has moved on, the deferred write
 * is applied like any peer write, which judges the new state or defers again.
 */
export async function resolveDeferred(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  r: ResolveIntent,
  options: ApplyOptions,
): Promise<Resolution> {
  const guard = stateGuard(settings, r);
  if (!r.wins) {
    if (!r.deferredOnItem) return { status: 'dropped' };
    await sendConditional(
      client,
      settings,
      options,
      () =>
        new UpdateItemCommand({
          TableName: settings.table,
          Key: toSdkImage(r.key),
          UpdateExpression: 'REMOVE #defer, #defo',
          ConditionExpression: '#defo = :defo',
          ExpressionAttributeNames: { '#defer': RESERVED.deferred, '#defo': RESERVED.deferredOrder },
          ExpressionAttributeValues: { ':defo': { S: r.deferred.ord } },
        }),
    );
    return { status: 'dropped' };
  }
  const intent = r.deferred;
  let failed;
  if (intent.op === 'put') {
    failed = await sendConditional(
      client,
      settings,
      options,
      () =>
        new PutItemCommand({
          TableName: settings.table,
          Item: toSdkImage(intent.item),
          ConditionExpression: guard.expression,
          ExpressionAttributeNames: guard.names,
          ExpressionAttributeValues: guard.values,
        }),
    );
  } else {
    // One transaction: a tombstone beside a live item would cover it, and its later records would
    // read as replays. Not guarded by the deferral: a later deferral on the deleted item comes back in
    // the REMOVE record's old image and is applied then. The tombstone's local position marks the
    // life as ended here.
    const stateOnly = stateGuard(settings, { ...r, deferredOnItem: false });
    const tombstone = { key: r.key, ord: intent.ord, origin: intent.origin, sequence: r.sequence };
    failed = await sendConditional(
      client,
      settings,
      options,
      () =>
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Delete: {
                TableName: settings.table,
                Key: toSdkImage(r.key),
                ConditionExpression: stateOnly.expression,
                ExpressionAttributeNames: stateOnly.names,
                ExpressionAttributeValues: stateOnly.values,
              },
            },
            { Update: localTombstoneUpdate(settings, tombstone, options) },
          ],
        }),
    );
  }
  if (!failed) return { status: 'applied' };
  return {
    status: 'reapplied',
    outcome: await applyIntent(client, settings, settings.region, intent, options),
  };
}

/** "The item still shows the state the record showed" (and still carries the deferral, if it did). */
function stateGuard(settings: MultiActiveSettings, r: ResolveIntent) {
  const same = sameData(r.same);
  const ordered = r.ordered === undefined ? 'attribute_not_exists(#ord)' : '#ord = :ord';
  const deferred = r.deferredOnItem ? ' AND #defo = :defo' : '';
  return {
    expression: `#ver = :v${same.expression} AND ${ordered}${deferred}`,
    names: {
      '#ver': settings.versionAttribute,
      '#ord': RESERVED.order,
      ...(r.deferredOnItem ? { '#defo': RESERVED.deferredOrder } : {}),
      ...same.names,
    },
    values: {
      ':v': { N: r.version },
      ...(r.ordered === undefined ? {} : { ':ord': { S: r.ordered } }),
      ...(r.deferredOnItem ? { ':defo': { S: r.deferred.ord } } : {}),
      ...same.values,
    },
  };
}

/** ` AND a = :s0 AND …` for the guard attributes. */
function sameData(same: Image) {
  const entries = Object.entries(same);
  return {
    expression: entries.map((_, i) => ` AND #s${i} = :s${i}`).join(''),
    names: Object.fromEntries(entries.map(([name], i) => [`#s${i}`, name])),
    values: Object.fromEntries(entries.map(([, value], i) => [`:s${i}`, toSdkValue(value)])),
  };
}

function epochSeconds(options: ApplyOptions): number {
  return options.nowSeconds ? options.nowSeconds() : Math.floor(Date.now() / 1000);
}
