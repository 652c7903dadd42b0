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
