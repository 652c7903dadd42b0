/**
 * What a region of a multi-active table holds for one key, in the order of writes
 * (docs/replication.md, "What an item holds"), judged from outside the replicator: by backfill (the
 * order key to send an item with) and by repair (which region's state is the latest). Pure.
 */
import type { MultiActiveSettings } from '../contract';
import type { Image } from '../core/attributes';
import type { TombstoneState } from '../core/intents';
import { itemOrder } from '../core/item-order';
import { formatOrd, parseOrd } from '../core/order';
import { lifeGeneration } from '../replicator/decide';

/** Later than any stream sequence number: a life judged from outside is never the record that started it. */
const AFTER_EVERY_RECORD = '9'.repeat(40);

export type HeldState =
  /** A live item and its order key (for an unordered item: the key its life's generation gives it). */
  | { readonly kind: 'item'; readonly ord: string; readonly version: string; readonly image: Image }
  /** No item (or an unordered one its tombstone covers): the delete the tombstone records. */
  | { readonly kind: 'deleted'; readonly ord: string; readonly origin?: string; readonly version?: string }
  /** Neither an item nor a delete. */
  | { readonly kind: 'none' }
  /** An item the replicator could not order either (no integer version, a broken `_ddbm_ord`). */
  | { readonly kind: 'malformed'; readonly reason: string }
  /** An unordered item (or no item): the region's tombstone decides; read it and ask again. */
  | { readonly kind: 'need-tombstone' };

/**
 * The state `region` holds, from its item (undefined: none) and its tombstone (null: none;
 * undefined: not read yet).
 *
 * An unordered item gets its generation from the tombstone as the region's replicator would give a
 * later record of the same life: the life marker's generation, else 0. That is never more than the
 * true generation (a life the replicator has not marked yet may have a higher one), so the order
 * key can only understate the item: it loses to the replicator's own send of the same state, never
 * beats a later state. An item the tombstone covers is treated as the delete it may be a replay of.
 */
export function heldState(
  item: Image | undefined,
  tombstone: TombstoneState | null | undefined,
  settings: MultiActiveSettings,
  region: string,
): HeldState {
  if (!item) {
    if (tombstone === undefined) return { kind: 'need-tombstone' };
    return deletedState(tombstone);
  }
  const order = itemOrder(item, settings.versionAttribute, region);
  if (!order)
    return {
      kind: 'malformed',
      reason: `no integer ${settings.versionAttribute} of at most 20 digits, or a _ddbm_ord that is not an order key`,
    };
  if (order.kind !== 'unordered')
    return { kind: 'item', ord: order.ord, version: order.parsed.version, image: item };
  const version = parseOrd(order.floor)?.version;
  if (version === undefined)
    return { kind: 'malformed', reason: `no integer ${settings.versionAttribute} of at most 20 digits` };
  if (tombstone === undefined) return { kind: 'need-tombstone' };
  const change = { version, origin: region, deleted: false };
  const life = lifeGeneration(tombstone, AFTER_EVERY_RECORD, false, change);
  if (life === 'superseded') return deletedState(tombstone);
  return { kind: 'item', ord: formatOrd({ gen: life.generation, ...change }), version, image: item };
}

function deletedState(tombstone: TombstoneState | null): HeldState {
  if (tombstone?.ord === undefined) return { kind: 'none' };
  const parsed = parseOrd(tombstone.ord);
  return {
    kind: 'deleted',
    ord: tombstone.ord,
    ...(tombstone.origin !== undefined ? { origin: tombstone.origin } : {}),
    ...(parsed ? { version: parsed.version } : {}),
  };
}
