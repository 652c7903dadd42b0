/**
 * Names both sides agree on: attributes the replicator writes on application and tombstone items, and
 * the tombstone table beside every mirrored table (docs/replication.md, "Tombstone items").
 */

/** Prefix of every reserved attribute: the application must never write attributes with it. */
export const RESERVED_PREFIX = '_ddbm_';

/** Reserved attribute names written on application items of multi-active tables. */
export const RESERVED = {
  /** Sortable order key of the write that produced this item version (see docs/replication.md). */
  order: '_ddbm_ord',
  /** The value of the version attribute when the replicator stamped `_ddbm_ord`. */
  stampedVersion: '_ddbm_ver',
  /**
   * Last writer wins: the stream sequence number of the record whose stamp this is, so a retry knows
   * its own stamp from another record's at the same clock.
   */
  stampedBy: '_ddbm_by',
  /**
   * Last writer wins: on a peer's replicated save, the order key of the item it replaced (absent: it
   * created the item), so that the item's own region can tell a save of its own that this replaced
   * before it was stamped from one its application deleted first.
   */
  replaced: '_ddbm_over',
  /**
   * Last writer wins: on an item its application saved with no order key (a whole-item PutItem), the
   * highest order key its life is known to have had, left by an earlier record's stamp that met the
   * later save: that save's own stamp orders above it.
   */
  base: '_ddbm_base',
} as const;

/**
 * Attributes of tombstone items (besides the table's key attributes). Reserved-prefixed so they can
 * never clash with an application key attribute.
 */
export const TOMBSTONE_ATTRIBUTES = {
  /** Order key of the delete. */
  order: '_ddbm_ord',
  /** Region whose replicator (or TTL) recorded the delete. */
  origin: '_ddbm_origin',
  /**
   * Epoch seconds after which the tombstone no longer counts (and TTL removes it: the tombstone table's
   * TimeToLiveAttribute). Set by the delete's origin, so every region stops counting it at the same time
   * (docs/replication.md, invariant 5).
   */
  expiresAt: '_ddbm_expires',
} as const;

/** Name of the tombstone table that accompanies an application table. */
export function tombstoneTableName(table: string): string {
  return `${table}-ddbm-tombstones`;
}

/**
 * The one-way backfill's order key: below every real (40-digit) sequence-number key, so any live
 * record replaces a backfilled item (lambda/ops/backfill.ts).
 */
export const BACKFILL_ORD = '0'.repeat(40);
