/**
 * What a region of a multi-active table holds for one key, in the order of writes
 * (docs/replication.md, "What an item holds"), judged from outside the replicator: by backfill (the
 * order key to send an item with) and by repair (which region's state is the latest). Pure.
 */
import { lastWriterWins, type MultiActiveSettings } from '../contract';
import type { Image } from '../core/attributes';
import type { TombstoneState } from '../core/intents';
import { itemOrder } from '../core/item-order';
import { formatOrd, parseOrd } from '../core/order';
import { lifeGeneration } from '../replicator/decide';

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
 * An unordered item (one its region's replicator has not stamped yet, or that predates the mirror)
 * gets the generation a new life after the region's live tombstone gets (lambda/replicator/decide.ts,
 * `lifeGeneration`), as its replicator will give it: tombstones only grow, so it is never more.
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
  // Last writer wins: an item never stamped (it was there before the mirror, or its save is not read
  // yet) orders at clock 0, below every save the replicator stamps from a stream record.
  const version = lastWriterWins(settings) ? '0' : parseOrd(order.floor)?.version;
  if (version === undefined)
    return { kind: 'malformed', reason: `no integer ${settings.versionAttribute} of at most 20 digits` };
  if (tombstone === undefined) return { kind: 'need-tombstone' };
  const ord = formatOrd({ gen: lifeGeneration(tombstone), version, origin: region, deleted: false });
  return { kind: 'item', ord, version, image: item };
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
