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
    };

/** Origin side: order the local save so later saves inherit its generation. */
export interface StampIntent {
  readonly key: Image;
  readonly ord: string;
  readonly version: string;
  /**
   * Attributes the item must still hold with these values (scalars of the record's new image): the
   * version alone does not tell lives apart, and a stamp must never give a later life of the key
   * (deleted and saved again, back at the same version) this record's order key.
   */
  readonly same?: Image;
  /**
   * The order key the item must still carry, replaced by this one (a local save re-ordered as the next
   * life). Absent: the item must carry none.
   */
  readonly replaces?: string;
}

/** Origin side: record a local delete in the local tombstone table. */
export interface TombstoneIntent {
  readonly key: Image;
  readonly ord: string;
  readonly origin: string;
  /** Padded stream sequence number of the REMOVE record (recognises a replay of the same record). */
  readonly sequence: string;
}

/**
 * Origin side: remember which local record started the key's current life and the generation it
 * got, so that a replay of that record gets the same generation even after the life has ended.
 */
export interface LifeMarkerIntent {
  readonly key: Image;
  /** Padded stream sequence number of the record that started the life. */
  readonly bornSequence: string;
  readonly generation: number;
  /** The tombstone's order key when it was read (undefined: no order key); the write requires it unchanged. */
  readonly expectedOrd?: string;
}

/** The local tombstone as read (undefined fields: absent). */
export interface TombstoneState {
  readonly ord?: string;
  readonly origin?: string;
  readonly sequence?: string;
  readonly bornSequence?: string;
  readonly bornGeneration?: number;
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

/**
 * Deciding a write a peer deferred on an item this region had not ordered (docs/replication.md,
 * "Deferred writes"), against the state a record of this region's stream shows.
 */
export interface ResolveIntent {
  readonly key: Image;
  readonly deferred: WriteIntent;
  /** The order key of the state the record shows. */
  readonly holds: string;
  /** The deferred write orders after that state: it replaces or deletes it; otherwise it is dropped. */
  readonly wins: boolean;
  /** The item must still show that state: its version, these scalar attributes, this order key (absent: none). */
  readonly version: string;
  readonly same: Image;
  readonly ordered?: string;
  /** The item still carries the deferral (a whole-item PutItem can drop it). */
  readonly deferredOnItem: boolean;
  /** Padded sequence number of the record (recorded on a tombstone the deferred delete writes). */
  readonly sequence: string;
}

/** Checks a write intent read back from JSON (a parked message or a deferral); a reason when it is not one. */
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
