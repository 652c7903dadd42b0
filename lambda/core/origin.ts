/**
 * What a region's replicator writes in its own region (docs/replication.md, "Multi-active tables"):
 * the stamp that orders a local save, the tombstone of a local delete, and the undo of a stale save
 * that landed after a delete. All are conditional and return what they met, so that a retry that
 * meets its own earlier effect reaches the same decision (invariant 6).
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  RESERVED,
  TOMBSTONE_ATTRIBUTES as TA,
  lastWriterWins,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import { readTombstone, tombstoneUpdate, type ApplyOptions } from './apply';
import { toSdkImage, toSdkValue, type Image } from './attributes';
import { readConsistent, sendConditional, type ConditionFailure } from './dynamo';
import type { StampIntent, TombstoneIntent, TombstoneState } from './intents';

/** What a conditional write met: nothing in its way, or the item as it was (undefined: no item). */
export type Met = { readonly done: true } | { readonly done: false; readonly held?: Image };

/**
 * Writes a local save's order key onto the item (`SET _ddbm_ord, _ddbm_ver`) while the item still
 * holds the record's state: its version, its scalar data, and the order key it replaces (or none).
 */
export async function stampLocal(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  stamp: StampIntent,
  options: ApplyOptions,
): Promise<Met> {
  // The data, not just the version: a later life of the key (deleted and saved again, back at this
  // version) must not get this record's order key.
  const guard = sameData(stamp.same ?? {});
  // Last writer wins: the clock is the replicator's own (`_ddbm_ver` is the version attribute), so
  // the item cannot hold it yet; the record's sequence number goes beside it.
  const lww = lastWriterWins(settings);
  const version = lww ? '' : '#ver = :v AND ';
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new UpdateItemCommand({
        TableName: settings.table,
        Key: toSdkImage(stamp.key),
        // Last writer wins: an unordered item may carry its life's floor (`_ddbm_base`); a stamp that did
        // not know it is refused, and the stamp removes it.
        UpdateExpression: `SET #ord = :ord, #sver = :v${lww && stamp.by !== undefined ? ', #by = :by' : ''}${lww ? ' REMOVE #base' : ''}`,
        ConditionExpression: `${version}${stamp.replaces === undefined ? `attribute_not_exists(#ord)${lww ? (stamp.base === undefined ? ' AND attribute_not_exists(#base)' : ' AND #base = :base') : ''}` : '#ord = :replaces'}${guard.expression}`,
        ExpressionAttributeNames: {
          '#ord': RESERVED.order,
          '#sver': RESERVED.stampedVersion,
          ...(lww
            ? { '#base': RESERVED.base, ...(stamp.by !== undefined ? { '#by': RESERVED.stampedBy } : {}) }
            : { '#ver': settings.versionAttribute }),
          ...guard.names,
        },
        ExpressionAttributeValues: {
          ':ord': { S: stamp.ord },
          ':v': { N: stamp.version },
          ...(lww && stamp.by !== undefined ? { ':by': { S: stamp.by } } : {}),
          ...(stamp.replaces === undefined ? {} : { ':replaces': { S: stamp.replaces } }),
          ...(lww && stamp.replaces === undefined && stamp.base !== undefined
            ? { ':base': { S: stamp.base } }
            : {}),
          ...guard.values,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
  return metOf(failure);
}

/** Records a delete in this region's tombstone table. False when a live tombstone at least as new is there (fine). */
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
    () => new UpdateItemCommand(tombstoneUpdate({ settings, options }, t)),
  );
  return !failure;
}

/**
 * Removes the replicated state a tombstone covers (`_ddbm_ver = version AND _ddbm_ord <= tombstone`):
 * an ordered item only, so a save the application made since is never removed (invariant 2).
 */
export async function undoCovered(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  key: Image,
  tombstone: string,
  options: ApplyOptions,
  held?: { readonly ord: string; readonly same?: Image },
): Promise<Met> {
  // Last writer wins: an application save leaves the version alone, so the undo also requires the
  // state it means to remove (its order key and data): a save made on it since survives.
  const guard = sameData(held?.same ?? {});
  const exact = held ? ` AND #ord = :held${guard.expression}` : '';
  const lww = lastWriterWins(settings);
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new DeleteItemCommand({
        TableName: settings.table,
        Key: toSdkImage(key),
        ConditionExpression: `${lww ? '' : '#sver = #ver AND '}#ord <= :deleted${exact}`,
        ExpressionAttributeNames: {
          '#ord': RESERVED.order,
          ...(lww ? {} : { '#sver': RESERVED.stampedVersion, '#ver': settings.versionAttribute }),
          ...(held ? guard.names : {}),
        },
        ExpressionAttributeValues: {
          ':deleted': { S: tombstone },
          ...(held ? { ':held': { S: held.ord }, ...guard.values } : {}),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
  return metOf(failure);
}

/**
 * Last writer wins: writes a local save's whole image back with its order key, over the state of
 * another region that replaced it before it was stamped (`replaces`: that state's order key) or where
 * a peer's delete removed it (`replaces` absent). The record's new image is the save itself.
 */
export async function reapplyLocal(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  item: Image,
  replaces: string | undefined,
  options: ApplyOptions,
): Promise<Met> {
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new PutItemCommand({
        TableName: settings.table,
        Item: toSdkImage(item),
        ConditionExpression: replaces === undefined ? 'attribute_not_exists(#pk)' : '#ord = :replaces',
        ExpressionAttributeNames:
          replaces === undefined ? { '#pk': settings.partitionKey } : { '#ord': RESERVED.order },
        ...(replaces === undefined ? {} : { ExpressionAttributeValues: { ':replaces': { S: replaces } } }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
  return metOf(failure);
}

/**
 * Last writer wins: leaves `base` on an unordered item as its life's floor, above any floor it has.
 * Best effort: a stamp or a delete that got there first makes it unnecessary.
 */
export async function markBase(
  client: DynamoDBClient,
  settings: MultiActiveSettings,
  key: Image,
  base: string,
  options: ApplyOptions,
): Promise<Met> {
  const failure = await sendConditional(
    client,
    settings,
    options,
    () =>
      new UpdateItemCommand({
        TableName: settings.table,
        Key: toSdkImage(key),
        UpdateExpression: 'SET #base = :base',
        ConditionExpression:
          'attribute_exists(#pk) AND attribute_not_exists(#ord) AND (attribute_not_exists(#base) OR #base < :base)',
        ExpressionAttributeNames: {
          '#pk': settings.partitionKey,
          '#ord': RESERVED.order,
          '#base': RESERVED.base,
        },
        ExpressionAttributeValues: { ':base': { S: base } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
  );
  return metOf(failure);
}

/** The item as this region holds it now (strongly consistent; undefined: none). */
export function readLocalItem(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  options: ApplyOptions,
): Promise<Image | undefined> {
  return readConsistent(client, settings, options, settings.table, key);
}

/** This region's live tombstone of `key`, or null (none, or expired: invariant 5). */
export async function readLocalTombstone(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  key: Image,
  options: ApplyOptions,
): Promise<TombstoneState | null> {
  const item = await readTombstone(client, settings, key, options);
  if (!item) return null;
  const expires = Number(item[TA.expiresAt]?.N);
  return {
    ...(item[TA.order]?.S !== undefined ? { ord: item[TA.order].S } : {}),
    ...(item[TA.origin]?.S !== undefined ? { origin: item[TA.origin].S } : {}),
    ...(Number.isFinite(expires) ? { expiresAt: expires } : {}),
  };
}

/** What a conditional write met: its failure's item (ALL_OLD), or nothing in its way. */
function metOf(failure: ConditionFailure | undefined): Met {
  return failure ? { done: false, ...(failure.item ? { held: failure.item } : {}) } : { done: true };
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
