/**
 * What the decision produces and the writer executes. Plain JSON (stream-shaped attribute values),
 * because a write intent is what gets parked on SQS and re-applied later.
 */
import type { Image } from './attributes';

/** A replicated change, complete: apply needs nothing else (docs/replication.md, "Applying at a peer"). */
export type WriteIntent =
  | {
      readonly op: 'put';
      readonly key: Image;
      /** Full new image: excluded and stale `_ddbm_*` attributes stripped, the new stamp added. */
      readonly item: Image;
      readonly ord: string;
      /** Region whose replicator sent the change. */
      readonly origin: string;
      /** Multi-active: the version being saved. */
      readonly version?: string;
    }
  | {
      readonly op: 'delete';
      readonly key: Image;
      readonly ord: string;
      readonly origin: string;
      /** Multi-active: the version being deleted. */
      readonly version?: string;
      /**
       * Epoch seconds after which its tombstones no longer count: set once by the origin, so every
       * region forgets the delete at the same time. @default - now + the table's tombstone lifetime
       */
      readonly expiresAt?: number;
    };

/**
 * Origin side: write the order key of a local save onto the item itself, before the save is sent
 * (docs/replication.md, invariant 4): the decision then travels with the item, and every later record
 * of it (and every retry that meets it) carries it.
 */
export interface StampIntent {
  readonly key: Image;
  readonly ord: string;
  readonly version: string;
  /**
   * Scalar attributes the item must still hold (the record's new image): the version alone does not
   * tell lives apart, and a stamp must never give a later life of the key this record's order key.
   */
  readonly same?: Image;
  /** The order key the item must still carry, replaced by this one. Absent: the item must carry none. */
  readonly replaces?: string;
  /** Last writer wins: the record's sequence number (40 digits), written beside the order key. */
  readonly by?: string;
  /**
   * Last writer wins: the order key in the life the images gave, when the tombstone raised this save
   * to the next life; a removal of that life is sent with it (the same on every retry).
   */
  readonly life?: string;
  /** Last writer wins: the base marker the item carries (`_ddbm_base`), removed by the stamp. */
  readonly base?: string;
}

/** Origin side: record a delete in this region's tombstone table. */
export interface TombstoneIntent {
  readonly key: Image;
  readonly ord: string;
  readonly origin: string;
  /** Epoch seconds after which the tombstone no longer counts (the same in every region). */
  readonly expiresAt?: number;
}

/** A tombstone as read (undefined fields: absent). An expired tombstone is read as none. */
export interface TombstoneState {
  readonly ord?: string;
  readonly origin?: string;
  readonly expiresAt?: number;
}

/** A record bound for a target that stayed unreachable, kept on that target's parking queue. */
export interface ParkedMessage {
  readonly targetRegion: string;
  readonly table: string;
  readonly intent: WriteIntent;
  /** Region whose replicator parked it. */
  readonly origin: string;
  readonly sequenceNumber: string;
  readonly eventID: string;
  /** ISO-8601 time of parking. */
  readonly parkedAt: string;
  /** Why it was parked (last error or 'pending'). */
  readonly reason: string;
}

/** Checks a write intent read back from JSON (a parked message); a reason when it is not one. */
export function parseWriteIntent(json: string | unknown): WriteIntent | string {
  let i: Record<string, unknown>;
  try {
    i = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (!i || typeof i !== 'object') return 'not an object';
  const problems: string[] = [];
  if (i.op !== 'put' && i.op !== 'delete') problems.push('op');
  if (!i.key || typeof i.key !== 'object') problems.push('key');
  if (typeof i.ord !== 'string' || !i.ord) problems.push('ord');
  if (typeof i.origin !== 'string' || !i.origin) problems.push('origin');
  if (i.op === 'put' && (!i.item || typeof i.item !== 'object')) problems.push('item');
  return problems.length ? `invalid or missing: ${problems.join(', ')}` : (i as unknown as WriteIntent);
}
