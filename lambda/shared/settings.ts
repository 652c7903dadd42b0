/**
 * The contract between the CDK constructs (which write it into each function's environment as
 * `DDBM_SETTINGS`) and the replicator / parked-record consumer (which read it at cold start).
 * Pure: no SDK imports, so both sides can import it.
 */

export const SETTINGS_ENV = 'DDBM_SETTINGS';

/**
 * See ReplicatorSettings.pendingWaitMs: a few polls of the target's replicator. Short, because while a
 * replicator waits its shard waits, and two regions may be waiting on each other's stamps.
 */
export const DEFAULT_PENDING_WAIT_MS = 1_000;

/** The parked-record consumer blocks no stream, so it waits longer for a pending target item. */
export const CONSUMER_PENDING_WAIT_MS = 20_000;

/** Reserved attribute names written on application items of multi-active tables. */
export const RESERVED = {
  /** Sortable order key of the write that produced this item version (see docs/replication.md). */
  order: '_ddbm_ord',
  /** The value of the version attribute when the replicator stamped `_ddbm_ord`. */
  stampedVersion: '_ddbm_ver',
} as const;

/** Prefix of every reserved attribute: the application must never write attributes with it. */
export const RESERVED_PREFIX = '_ddbm_';

export interface PeerSettings {
  readonly region: string;
  /** SQS queue (in the replicator's own region) where records for this peer are parked. */
  readonly parkingQueueUrl: string;
}

export interface ReplicatorSettings {
  /** Table name, the same in every region. */
  readonly table: string;
  /** Tombstone table name, the same in every region. */
  readonly tombstoneTable: string;
  /** The region this function runs in (the origin of the changes it reads). */
  readonly region: string;
  readonly mode: 'one-way' | 'multi-active';
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Multi-active only: the application's version attribute. */
  readonly versionAttribute?: string;
  readonly peers: readonly PeerSettings[];
  readonly tombstoneTtlSeconds: number;
  readonly ttl?: { readonly attribute: string; readonly replicateDeletes: boolean };
  readonly excludeAttributes: readonly string[];
  /** Items of one batch processed in parallel (records of one item always in order). */
  readonly maxConcurrency: number;
  /** Attempts per record per target before the record is parked. */
  readonly maxAttempts: number;
  /** First back-off delay; doubles per attempt, with full jitter. */
  readonly baseDelayMs: number;
  /**
   * How long a write may wait for a target item that holds an unstamped local save (its region's
   * replicator has not ordered it yet) before the record is parked. @default DEFAULT_PENDING_WAIT_MS
   */
  readonly pendingWaitMs?: number;
}

export function encodeSettings(settings: ReplicatorSettings): string {
  return JSON.stringify(settings);
}

/** Reads and checks the settings; throws one error naming every missing or malformed field. */
export function decodeSettings(raw: string | undefined): ReplicatorSettings {
  if (!raw) throw new Error(`${SETTINGS_ENV} is not set`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${SETTINGS_ENV} is not valid JSON: ${(e as Error).message}`);
  }
  const s = parsed as Record<string, unknown>;
  const errors: string[] = [];
  const str = (k: string) => {
    if (typeof s[k] !== 'string' || s[k] === '')
      errors.push(`${k} must be a non-empty string, got ${JSON.stringify(s[k])}`);
  };
  const num = (k: string) => {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k]) || (s[k] as number) < 0)
      errors.push(`${k} must be a non-negative number, got ${JSON.stringify(s[k])}`);
  };
  ['table', 'tombstoneTable', 'region', 'partitionKey'].forEach(str);
  ['tombstoneTtlSeconds', 'maxConcurrency', 'maxAttempts', 'baseDelayMs'].forEach(num);
  if (s.mode !== 'one-way' && s.mode !== 'multi-active')
    errors.push(`mode must be 'one-way' or 'multi-active', got ${JSON.stringify(s.mode)}`);
  if (s.mode === 'multi-active') str('versionAttribute');
  if (!Array.isArray(s.peers)) errors.push(`peers must be an array, got ${JSON.stringify(s.peers)}`);
  if (!Array.isArray(s.excludeAttributes))
    errors.push(`excludeAttributes must be an array, got ${JSON.stringify(s.excludeAttributes)}`);
  if (errors.length) throw new Error(`${SETTINGS_ENV} is invalid: ${errors.join('; ')}`);
  return s as unknown as ReplicatorSettings;
}

/** Name of the tombstone table that accompanies an application table. */
export function tombstoneTableName(table: string): string {
  return `${table}-ddbm-tombstones`;
}

/**
 * Attributes of tombstone items (besides the table's key attributes). The TTL attribute is shared
 * with the CDK constructs (`TOMBSTONE_TTL_ATTRIBUTE`); the others are the replicator's own.
 * Reserved-prefixed so they can never clash with an application key attribute.
 */
export const TOMBSTONE_ATTRIBUTES = {
  /** Order key of the delete. */
  order: '_ddbm_ord',
  /** Region whose replicator (or TTL) recorded the delete. */
  origin: '_ddbm_origin',
  /** Local deletes only: the padded stream sequence number of the REMOVE record that wrote it. */
  sequence: '_ddbm_seq',
  /** Padded stream sequence number of the local save that started the key's current life here. */
  bornSequence: '_ddbm_born',
  /** Generation assigned to that life. */
  bornGeneration: '_ddbm_born_gen',
  /** Epoch seconds after which TTL removes the tombstone (TimeToLiveAttribute of the tombstone table). */
  expiresAt: '_ddbm_expires',
} as const;
