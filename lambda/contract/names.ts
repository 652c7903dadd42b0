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
