/**
 * Stream record → decision (docs/replication.md). Pure: no SDK, no clock, no I/O.
 *
 * Where a multi-active decision needs the local tombstone (the generation of a new life, the echo
 * check of a REMOVE, the check of a replicated insert), `decide` returns `need-tombstone`; the caller
 * reads it and calls again with it. The I/O steps that follow a decision (a stamp, an undo) report what
 * they met, and `afterStamp`/`afterUndo` decide the next step from that, here too.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { changedAttributes, type Image, type StreamAttributeValue } from '../core/attributes';
import type { StampIntent, TombstoneIntent, TombstoneState, WriteIntent } from '../core/intents';
import {
  RESERVED,
  RESERVED_PREFIX,
  lastWriterWins,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import {
  compareVersion,
  formatOrd,
  isSequenceNumber,
  parseOrd,
  parseVersion,
  sequenceOrd,
  type MultiActiveOrd,
} from '../core/order';

export type SkipReason =
  /** A peer's replicated save or delete arriving in this region's stream, or this region's own stamp. */
  | 'echo'
  /** A TTL expiry while `ttl.replicateDeletes` is false. */
  | 'ttl-not-replicated'
  /** A change no peer needs: a later change of the item (or the item's removal) supersedes it. */
  | 'superseded';

export interface ContractViolation {
  readonly oldVersion: string;
  readonly newVersion: string;
  /** Attributes (other than reserved ones and the version) whose values changed. */
  readonly changedAttributes: readonly string[];
}

export type Decision =
  | {
      readonly kind: 'skip';
      readonly reason: SkipReason;
      readonly key: Image;
      /** A TTL expiry kept local: still recorded, so the key's next life here gets a new generation. */
      readonly localTombstone?: TombstoneIntent;
    }
  | { readonly kind: 'malformed'; readonly reason: string; readonly key?: Image }
  | { readonly kind: 'need-tombstone'; readonly key: Image }
  /** Send `intent` to every peer; a local delete is recorded in the local tombstone table first. */
  | {
      readonly kind: 'replicate';
      readonly key: Image;
      readonly intent: WriteIntent;
      readonly localTombstone?: TombstoneIntent;
      readonly contractViolation?: ContractViolation;
    }
  /**
   * A local save that no image orders (a new life, or a whole-item PutItem that dropped the order
   * key): stamp its order key onto the item, then send it (invariant 4). `inherited`: the generation
   * comes from the old image, so the order key follows from this record alone.
   */
  | {
      readonly kind: 'stamp';
      readonly key: Image;
      readonly stamp: StampIntent;
      readonly image: Image;
      readonly inherited: boolean;
      readonly contractViolation?: ContractViolation;
    }
  /**
   * A peer's save created the item here, and this region's tombstone covers it (a stale or duplicate
   * save that landed after the delete): remove whatever replicated state the tombstone covers.
   */
  | {
      readonly kind: 'undo';
      readonly key: Image;
      readonly tombstone: string;
      /** Last writer wins: the state to remove, exactly (an application save on it since survives). */
      readonly held?: { readonly ord: string; readonly same?: Image };
    };

const EVENT_NAMES = new Set(['INSERT', 'MODIFY', 'REMOVE']);

/**
 * @param tombstone multi-active only: the local tombstone of the record's key, `null` when there is
 *   none (or it expired), `undefined` when not read yet (then the answer may be `need-tombstone`).
 */
export function decide(
  record: DynamoDBRecord,
  settings: ReplicatorSettings,
  tombstone?: TombstoneState | null,
): Decision {
  const checked = validate(record, settings);
  if ('reason' in checked) return { kind: 'malformed', ...checked };
  return settings.mode === 'one-way'
    ? decideOneWay(checked, settings)
    : decideMultiActive(checked, settings, tombstone);
}

/**
 * For one item's records of a batch, in stream order: which saves a later record of the batch
 * supersedes. Such a save is not sent (nor stamped): peers need only the highest state (invariant 1),
 * and the later change orders after it. Only an application save is ever skipped, and only for a later
 * record that changes the item's data: a replicator's stamp of this very state does not (it carries no
 * send of its own), a malformed record is never skipped (it is reported), and neither is a save whose
 * PutItem dropped the order key.
 */
export function supersededInBatch(
  records: readonly DynamoDBRecord[],
  settings: ReplicatorSettings,
): boolean[] {
  const checked = records.map((r) => validate(r, settings));
  let laterChange = false;
  const out = new Array<boolean>(records.length).fill(false);
  for (let i = records.length - 1; i >= 0; i -= 1) {
    const c = checked[i];
    if ('reason' in c) continue;
    if (laterChange && applicationSave(c, settings)) out[i] = true;
    // Last writer wins: a peer's save may replace a local save before it is stamped, and the local one
    // may still win (afterStampLww), so only the application's own later changes supersede it.
    const replicated = lastWriterWins(settings) && c.eventName !== 'REMOVE' && replicatorWrote(c, settings);
    if ((c.eventName !== 'MODIFY' || applicationChanged(c)) && !replicated) laterChange = true;
  }
  return out;
}

/** Last writer wins: the record's order key changed, or only reserved attributes did: a replicator wrote it. */
function replicatorWrote(c: Checked, settings: ReplicatorSettings): boolean {
  const now = c.newImage?.[RESERVED.order]?.S;
  return (
    (now !== undefined && !(c.oldImage && sameStamp(c.oldImage, c.newImage!))) ||
    !applicationChanged(c) ||
    settings.mode !== 'multi-active'
  );
}

/** Last writer wins: two images carry the same stamp (order key and stamping record). */
function sameStamp(a: Image, b: Image): boolean {
  return (
    a[RESERVED.order]?.S === b[RESERVED.order]?.S && a[RESERVED.stampedBy]?.S === b[RESERVED.stampedBy]?.S
  );
}

/** A save the application made (multi-active: not written by a replicator). */
function applicationSave(c: Checked, settings: ReplicatorSettings): boolean {
  if (c.eventName === 'REMOVE') return false;
  if (settings.mode === 'one-way') return true;
  const now = readStamp(c.newImage!, settings);
  const before = c.oldImage ? readStamp(c.oldImage, settings) : undefined;
  if ('reason' in now || now.version === undefined || (before && 'reason' in before)) return false;
  if (now.stamped && (!before || before.ordRaw !== now.ordRaw)) return false;
  // A whole-item PutItem that dropped the order key is handled even when superseded: if its item is
  // gone, only this record knows the generation its delete must carry (`afterStamp`).
  if (!now.ord && before?.ord) return false;
  return applicationChanged(c);
}

interface Checked {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly key: Image;
  readonly newImage?: Image;
  readonly oldImage?: Image;
  readonly sequenceNumber: string;
  /** Epoch seconds (ApproximateCreationDateTime), when the record has it. */
  readonly approximateCreation?: number;
  readonly ttlExpiry: boolean;
}

function validate(
  record: DynamoDBRecord,
  settings: ReplicatorSettings,
): Checked | { reason: string; key?: Image } {
  const ddb = record.dynamodb;
  const keys = ddb?.Keys;
  const keyNames = [settings.partitionKey, ...(settings.sortKey ? [settings.sortKey] : [])];
  const key =
    keys && keyNames.every((k) => isKeyValue(keys[k]))
      ? Object.fromEntries(keyNames.map((k) => [k, keys[k]]))
      : undefined;
  const bad = (reason: string) => ({ reason, ...(key ? { key } : {}) });
  if (!EVENT_NAMES.has(record.eventName as string))
    return bad(`unknown eventName ${JSON.stringify(record.eventName)}`);
  if (!ddb) return bad('no dynamodb section');
  if (!key) return bad(`Keys missing or without key attribute(s) ${keyNames.join(', ')}`);
  if (ddb.StreamViewType !== 'NEW_AND_OLD_IMAGES')
    return bad(`StreamViewType must be NEW_AND_OLD_IMAGES, got ${JSON.stringify(ddb.StreamViewType)}`);
  if (!isSequenceNumber(ddb.SequenceNumber))
    return bad(`SequenceNumber must be 21 to 40 digits, got ${JSON.stringify(ddb.SequenceNumber)}`);
  const eventName = record.eventName as Checked['eventName'];
  if (eventName !== 'REMOVE' && !ddb.NewImage) return bad(`${eventName} without NewImage`);
  if (eventName === 'MODIFY' && !ddb.OldImage) return bad('MODIFY without OldImage');
  if (eventName === 'REMOVE' && !ddb.OldImage) return bad('REMOVE without OldImage');
  const ui = record.userIdentity as { type?: string; principalId?: string } | undefined;
  return {
    eventName,
    key,
    newImage: ddb.NewImage,
    oldImage: ddb.OldImage,
    sequenceNumber: ddb.SequenceNumber,
    ...(typeof ddb.ApproximateCreationDateTime === 'number'
      ? { approximateCreation: Math.floor(ddb.ApproximateCreationDateTime) }
      : {}),
    ttlExpiry:
      eventName === 'REMOVE' && ui?.type === 'Service' && ui.principalId === 'dynamodb.amazonaws.com',
  };
}

function isKeyValue(v: StreamAttributeValue | undefined): boolean {
  return !!v && (typeof v.S === 'string' || typeof v.N === 'string' || typeof v.B === 'string');
}

/** The image as replicated: no excluded attributes, no `_ddbm_*` attributes (the caller adds the new stamp). */
export function replicatedImage(image: Image, key: Image, settings: ReplicatorSettings): Image {
  // Keys and the version are never stripped: without them the target write is meaningless.
  const keep = new Set([
    ...Object.keys(key),
    ...(settings.mode === 'multi-active' ? [settings.versionAttribute] : []),
  ]);
  const excluded = new Set(settings.excludeAttributes);
  const out: Image = {};
  for (const [name, value] of Object.entries(image)) {
    if (name.startsWith(RESERVED_PREFIX)) continue;
    if (excluded.has(name) && !keep.has(name)) continue;
    out[name] = value;
  }
  return { ...out, ...key };
}

/**
 * The put intent that replicates `image` with order key `ord` from `settings.region`: the replicated
 * image stamped with `_ddbm_ord` (and, multi-active, `_ddbm_ver` = the version it orders). Shared with
 * the operations (backfill, repair), which must write exactly what the replicator would.
 */
export function replicatedPut(
  image: Image,
  key: Image,
  settings: ReplicatorSettings,
  ord: string,
  version?: string,
  by?: string,
): WriteIntent {
  // Last writer wins: the stamping record travels with the state, and breaks a tie between two states
  // of one region at the same order key (a later record of it always orders after an earlier one).
  const stampedBy = lastWriterWins(settings) ? (by ?? image[RESERVED.stampedBy]?.S) : undefined;
  const item: Image = {
    ...replicatedImage(image, key, settings),
    [RESERVED.order]: { S: ord },
    ...(version !== undefined ? { [RESERVED.stampedVersion]: { N: version } } : {}),
    ...(stampedBy !== undefined ? { [RESERVED.stampedBy]: { S: stampedBy } } : {}),
  };
  return {
    op: 'put',
    key,
    item,
    ord,
    origin: settings.region,
    ...(version !== undefined ? { version } : {}),
  };
}

function decideOneWay(c: Checked, settings: ReplicatorSettings): Decision {
  const ord = sequenceOrd(c.sequenceNumber);
  const origin = settings.region;
  if (c.eventName === 'REMOVE') {
    if (c.ttlExpiry && !settings.ttl?.replicateDeletes)
      return { kind: 'skip', reason: 'ttl-not-replicated', key: c.key };
    return { kind: 'replicate', key: c.key, intent: { op: 'delete', key: c.key, ord, origin } };
  }
  return { kind: 'replicate', key: c.key, intent: replicatedPut(c.newImage!, c.key, settings, ord) };
}

// ---------------------------------------------------------------------------------------------
// Multi-active (docs/replication.md, "Multi-active tables": each rule names the invariant it keeps).

function decideMultiActive(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
): Decision {
  return c.eventName === 'REMOVE' ? decideRemove(c, settings, tombstone) : decideSave(c, settings, tombstone);
}

interface ImageStamp {
  readonly version?: string;
  /** Raw `_ddbm_ord` (string) if present. */
  readonly ordRaw?: string;
  readonly ord?: MultiActiveOrd;
  /** `_ddbm_ver = version` and an order key present: `_ddbm_ord` orders exactly this version. */
  readonly stamped: boolean;
}

function readStamp(image: Image, settings: MultiActiveSettings): ImageStamp | { reason: string } {
  const version = parseVersion(image[settings.versionAttribute]?.N);
  const ordRaw = image[RESERVED.order]?.S;
  const ord = ordRaw === undefined ? undefined : parseOrd(ordRaw);
  if (ordRaw !== undefined && !ord)
    return { reason: `${RESERVED.order} is not an order key: ${JSON.stringify(ordRaw)}` };
  const stampedVersion = parseVersion(image[RESERVED.stampedVersion]?.N);
  return {
    version,
    ordRaw,
    ord,
    stamped: version !== undefined && ord !== undefined && stampedVersion === version,
  };
}

/**
 * The order key of a state that carries `_ddbm_ord`: exact when stamped at its version (ordered),
 * else the same generation at its own version with this region as origin (saved here since: local).
 */
function orderOf(state: ImageStamp, region: string, deleted: boolean): string {
  if (state.stamped) return formatOrd({ ...state.ord!, deleted });
  return formatOrd({ gen: state.ord!.gen, version: state.version!, origin: region, deleted });
}

/** The generation of a new life here: one above the delete it follows (invariant 2), 0 after none. */
export function lifeGeneration(tombstone: TombstoneState | null): number {
  const gen = tombstone?.ord === undefined ? undefined : parseOrd(tombstone.ord)?.gen;
  return gen === undefined ? 0 : gen + 1;
}

/** Attributes other than reserved ones changed: the application wrote the record, not a replicator. */
function applicationChanged(c: Checked): boolean {
  if (!c.oldImage) return true;
  return changedAttributes(c.oldImage, c.newImage!, (n) => n.startsWith(RESERVED_PREFIX)).length > 0;
}

function decideSave(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
): Decision {
  if (lastWriterWins(settings)) return decideSaveLww(c, settings, tombstone);
  const malformed = (reason: string): Decision => ({ kind: 'malformed', reason, key: c.key });
  const now = readStamp(c.newImage!, settings);
  if ('reason' in now) return malformed(`NewImage: ${now.reason}`);
  if (now.version === undefined)
    return malformed(
      `NewImage has no version attribute ${settings.versionAttribute} holding an integer of at most 20 digits`,
    );
  const before = c.oldImage ? readStamp(c.oldImage, settings) : undefined;
  if (before && 'reason' in before) return malformed(`OldImage: ${before.reason}`);

  // Written by a replicator (a peer's save, this region's stamp or undo): never sent on (no loops).
  // A peer's save that created the item is checked against this region's tombstone (invariant 3).
  if ((now.stamped && (!before || before.ordRaw !== now.ordRaw)) || !applicationChanged(c)) {
    if (c.eventName !== 'INSERT' || !now.stamped) return { kind: 'skip', reason: 'echo', key: c.key };
    if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
    if (tombstone?.ord === undefined || tombstone.ord < now.ordRaw!)
      return { kind: 'skip', reason: 'echo', key: c.key };
    return { kind: 'undo', key: c.key, tombstone: tombstone.ord };
  }

  const contractViolation = violation(c, now, before, settings);
  const extra = contractViolation ? { contractViolation } : {};
  if (now.ord) {
    // Saved on a state that carries its order key: the order follows from the record (invariant 2).
    const ord = orderOf(now, settings.region, false);
    return {
      kind: 'replicate',
      key: c.key,
      intent: replicatedPut(c.newImage!, c.key, settings, ord, now.version),
      ...extra,
    };
  }
  // No order key on the item: stamp one first (invariant 4).
  let gen: number;
  if (before?.ord) gen = before.ord.gen;
  else if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
  else gen = lifeGeneration(tombstone);
  const ord = formatOrd({ gen, version: now.version, origin: settings.region, deleted: false });
  const same = stampGuard(c.newImage!, c.key, settings);
  return {
    kind: 'stamp',
    key: c.key,
    stamp: { key: c.key, ord, version: now.version, ...(Object.keys(same).length ? { same } : {}) },
    image: c.newImage!,
    inherited: before?.ord !== undefined,
    ...extra,
  };
}

/** Milliseconds of the stream record's creation: the physical part of a last-writer-wins clock. */
function recordMillis(c: Checked): number {
  return (c.approximateCreation ?? 0) * 1000;
}

/**
 * Last writer wins (docs/replication.md, "Last writer wins"): no writer keeps a contract, so every
 * application save is stamped by its own region's replicator. Its order key is a hybrid logical
 * clock: the record's time, raised above the order key of the state it replaced (the images carry
 * it), within the same generation; a save that orders at or below this region's tombstone starts the
 * next life (invariant 2), so the tombstone is read for every save.
 */
function decideSaveLww(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
): Decision {
  const malformed = (reason: string): Decision => ({ kind: 'malformed', reason, key: c.key });
  const now = readStamp(c.newImage!, settings);
  if ('reason' in now) return malformed(`NewImage: ${now.reason}`);
  const before = c.oldImage ? readStamp(c.oldImage, settings) : undefined;
  if (before && 'reason' in before) return malformed(`OldImage: ${before.reason}`);

  // A replicator's write changes the order key or its record (a peer's save, a stamp, a write-back).
  if ((now.ord && (!before || !sameStamp(c.oldImage!, c.newImage!))) || !applicationChanged(c)) {
    if (c.eventName !== 'INSERT' || !now.ord) return { kind: 'skip', reason: 'echo', key: c.key };
    if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
    if (tombstone?.ord === undefined || tombstone.ord < now.ordRaw!)
      return { kind: 'skip', reason: 'echo', key: c.key };
    const same = stampGuard(c.newImage!, c.key, settings);
    return {
      kind: 'undo',
      key: c.key,
      tombstone: tombstone.ord,
      held: { ord: now.ordRaw!, ...(Object.keys(same).length ? { same } : {}) },
    };
  }
  if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
  // The life's latest order key: the images' own, else a floor an earlier record left (`_ddbm_base`).
  const floorOf = (image: Image | undefined) => parseOrd(image?.[RESERVED.base]?.S);
  const base = now.ord ?? before?.ord ?? floorOf(c.newImage) ?? floorOf(c.oldImage);
  const clock = String(base ? Math.max(recordMillis(c), Number(base.version) + 1) : recordMillis(c));
  const life = formatOrd({
    gen: base ? base.gen : lifeGeneration(tombstone),
    version: clock,
    origin: settings.region,
    deleted: false,
  });
  const raised = tombstone?.ord !== undefined && tombstone.ord >= life;
  const ord = raised
    ? formatOrd({ gen: lifeGeneration(tombstone), version: clock, origin: settings.region, deleted: false })
    : life;
  const same = stampGuard(c.newImage!, c.key, settings);
  return {
    kind: 'stamp',
    key: c.key,
    stamp: {
      key: c.key,
      ord,
      version: clock,
      by: sequenceOrd(c.sequenceNumber),
      ...(raised ? { life } : {}),
      ...(now.ordRaw !== undefined ? { replaces: now.ordRaw } : {}),
      ...(Object.keys(same).length ? { same } : {}),
    },
    image: c.newImage!,
    inherited: base !== undefined,
  };
}

/** A local MODIFY whose data changed while the version did not increase (docs: "Conflicts and contract breaks"). */
function violation(
  c: Checked,
  now: ImageStamp,
  before: ImageStamp | undefined,
  settings: MultiActiveSettings,
): ContractViolation | undefined {
  if (c.eventName !== 'MODIFY' || before?.version === undefined) return undefined;
  const cmp = compareVersion(now.version!, before.version);
  const changed = changedAttributes(
    c.oldImage!,
    c.newImage!,
    (n) => n.startsWith(RESERVED_PREFIX) || n === settings.versionAttribute,
  );
  if (cmp < 0 || (cmp === 0 && changed.length > 0))
    return { oldVersion: before.version, newVersion: now.version!, changedAttributes: changed };
  return undefined;
}

function decideRemove(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
): Decision {
  const malformed = (reason: string): Decision => ({ kind: 'malformed', reason, key: c.key });
  const old = readStamp(c.oldImage!, settings);
  if ('reason' in old) return malformed(`OldImage: ${old.reason}`);
  if (lastWriterWins(settings)) return decideRemoveLww(c, settings, tombstone, old);
  if (old.version === undefined)
    return malformed(
      `OldImage has no version attribute ${settings.versionAttribute} holding an integer of at most 20 digits`,
    );
  // A state that was never stamped was never sent (invariant 4): no peer holds it, nothing to delete.
  if (!old.ord) return { kind: 'skip', reason: 'superseded', key: c.key };
  if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };

  const region = settings.region;
  const ord = orderOf(old, region, true);
  const t = tombstone?.ord;
  if (t !== undefined && t >= ord) {
    // Covered by a delete another region sent (or an undo here): the echo of a replicated delete.
    if (tombstone!.origin !== region) return { kind: 'skip', reason: 'echo', key: c.key };
    // This region's own tombstone: a replay of this delete (send it again), or of an older one.
    if (t > ord) return { kind: 'skip', reason: 'superseded', key: c.key };
  }
  return localDelete(c, settings, ord, old.version!);
}

/**
 * A local delete with order key `ord`: recorded here and sent to every peer, or only recorded (a TTL
 * expiry kept local). The expiry is set once, from the record: every region forgets the delete at the
 * same time (invariant 5).
 */
function localDelete(c: Checked, settings: MultiActiveSettings, ord: string, version: string): Decision {
  const created = c.approximateCreation;
  const localTombstone: TombstoneIntent = {
    key: c.key,
    ord,
    origin: settings.region,
    ...(created !== undefined ? { expiresAt: created + settings.tombstoneTtlSeconds } : {}),
  };
  if (c.ttlExpiry && !settings.ttl?.replicateDeletes)
    return { kind: 'skip', reason: 'ttl-not-replicated', key: c.key, localTombstone };
  return {
    kind: 'replicate',
    key: c.key,
    intent: {
      op: 'delete',
      key: c.key,
      ord,
      origin: settings.region,
      version,
      ...(localTombstone.expiresAt !== undefined ? { expiresAt: localTombstone.expiresAt } : {}),
    },
    localTombstone,
  };
}

/**
 * Last writer wins: a delete is ordered by its own clock (the record's time, raised above the state it
 * removed, in that state's generation), so it orders after a concurrent save with an earlier clock. A
 * state removed at or below the tombstone was removed by a replicator (a peer's delete, or an undo): no
 * ordered item outlives a delete that covers it.
 */
function decideRemoveLww(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
  old: ImageStamp,
): Decision {
  // A state never stamped was never sent (invariant 4); but an unordered state whose life has a floor
  // (`_ddbm_base`) replaced states peers hold, and its removal is theirs too.
  const base = old.ord ?? parseOrd(c.oldImage![RESERVED.base]?.S);
  if (!base) return { kind: 'skip', reason: 'superseded', key: c.key };
  if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
  const region = settings.region;
  const gen = base.gen;
  const clock = String(Math.max(recordMillis(c), Number(base.version) + 1));
  const ord = formatOrd({ gen, version: clock, origin: region, deleted: true });
  const t = tombstone?.ord;
  if (t !== ord) {
    // Only an ordered state is removed by a replicator (a peer's delete, an undo).
    if (old.ord && t !== undefined && t >= old.ordRaw!) return { kind: 'skip', reason: 'echo', key: c.key };
    if (t !== undefined && t > ord) return { kind: 'skip', reason: 'superseded', key: c.key };
  }
  return localDelete(c, settings, ord, clock);
}

// ---------------------------------------------------------------------------------------------
// After an I/O step: what the stamp or the undo met (the item, from ALL_OLD), and what to do next.

export type NextStep =
  /** Send this to every peer. */
  | { readonly kind: 'send'; readonly intent: WriteIntent; readonly localTombstone?: TombstoneIntent }
  /**
   * Stamp the item as it is now (a later state of the same life, or an application save on an undone
   * state). `own`: last writer wins, this record's own save, sent once stamped.
   */
  | { readonly kind: 'restamp'; readonly stamp: StampIntent; readonly image: Image; readonly own?: boolean }
  /** Last writer wins: leave `base` on an unordered item as its life's floor (replacing `replaces`). */
  | { readonly kind: 'mark'; readonly key: Image; readonly base: string; readonly replaces?: string }
  /** Nothing: a later record of the item carries what peers need. */
  | { readonly kind: 'done' }
  /**
   * Last writer wins: another region's state replaced this save before it was stamped (or a peer's
   * delete removed it), and this save orders after it: write the save back with its order key over
   * that state (`replaces`; absent: over no item), then send it.
   */
  | {
      readonly kind: 'reapply';
      readonly stamp: StampIntent;
      readonly image: Image;
      readonly replaces?: string;
    };

/** The item holds this region's stamp: an order key from here at its own version (an ordered state). */
function stampedHere(held: Image, settings: MultiActiveSettings): string | undefined {
  const state = readStamp(held, settings);
  if ('reason' in state || !state.stamped || state.ord!.origin !== settings.region) return undefined;
  return state.ordRaw;
}

/**
 * A stamp did not go through; `held` is what the item holds now (undefined: no item). Every retry of
 * the record reaches the same answer from the same item (invariant 6):
 * - the item holds this stamp already (its first answer was lost, or the send after it never ran):
 *   send that state;
 * - a later state (a higher version): this record's state is superseded, and the later state's own
 *   record orders it; only a state whose generation the old image gave (a whole-item PutItem) is stamped
 *   here with that generation, which no later record could tell;
 * - the item is gone or another life: a new life's state was never sent, nothing to do; a state whose
 *   generation the old image gave was replaced by a PutItem after peers got its earlier states, so
 *   its removal is sent as a delete of this record's version, which covers every copy peers can hold.
 */
export function afterStamp(
  stamp: StampIntent,
  inherited: boolean,
  held: Image | undefined,
  settings: MultiActiveSettings,
  nowSeconds: number,
): NextStep {
  const state = held ? readStamp(held, settings) : undefined;
  const valid = state && !('reason' in state) ? state : undefined;
  if (
    held &&
    stampedHere(held, settings) !== undefined &&
    valid!.version === stamp.version &&
    sameScalars(held, stamp.same)
  )
    return {
      kind: 'send',
      intent: replicatedPut(held, stamp.key, settings, valid!.ordRaw!, stamp.version),
    };
  if (valid?.version !== undefined && compareVersion(valid.version, stamp.version) > 0) {
    // A new life's later state may be a later life (this record re-delivered after the item was deleted
    // and created again): its own record takes the generation from the tombstone, after the delete.
    if (valid.ord || !inherited) return { kind: 'done' };
    const ord = formatOrd({ ...parseOrd(stamp.ord)!, version: valid.version });
    const same = stampGuard(held!, stamp.key, settings);
    return {
      kind: 'restamp',
      stamp: { key: stamp.key, ord, version: valid.version, ...(Object.keys(same).length ? { same } : {}) },
      image: held!,
    };
  }
  // A state ordered after this one replaced it (a peer's concurrent save that won): it reaches every
  // region and covers every copy of this life, so nothing is deleted.
  if (!inherited || (valid?.ord && orderOf(valid, settings.region, false) > stamp.ord))
    return { kind: 'done' };
  return lifeRemoval(stamp.ord, stamp, settings, nowSeconds);
}

/**
 * The removal of the life that `lifeOrd` orders a state of, sent by the record that alone knows it (its
 * item went, and its REMOVE shows no order key): recorded here and sent to every peer.
 */
function lifeRemoval(
  lifeOrd: string,
  stamp: StampIntent,
  settings: MultiActiveSettings,
  nowSeconds: number,
): NextStep {
  const ord = formatOrd({ ...parseOrd(lifeOrd)!, deleted: true });
  const expiresAt = nowSeconds + settings.tombstoneTtlSeconds;
  return {
    kind: 'send',
    intent: { op: 'delete', key: stamp.key, ord, origin: settings.region, version: stamp.version, expiresAt },
    localTombstone: { key: stamp.key, ord, origin: settings.region, expiresAt },
  };
}

/**
 * Last writer wins: a stamp did not go through; `held` is what the item holds now. Told apart by the
 * order key the item carries and the record that stamped it (`_ddbm_by`), the same on every retry:
 * - this stamp (its answer was lost): send;
 * - the order key the save was made on, still there: the application saved again since, and that
 *   record stamps it; none at all: a later whole-item PutItem, the same;
 * - a later record's stamp of this region: done; an earlier record's stamp over this save (its data
 *   guard could not tell them apart): stamp this one above it;
 * - another region's state: ordered after this save, it wins (done); ordered before, it replaced this
 *   save before it was stamped, and the save goes back over it (`reapply`);
 * - no item: the application deleted it (its REMOVE carries the delete), or a peer's delete did: the
 *   save is then lost to that concurrent delete, as a delete from the same instant wins.
 */
export function afterStampLww(
  stamp: StampIntent,
  inherited: boolean,
  image: Image,
  held: Image | undefined,
  settings: MultiActiveSettings,
  nowSeconds: number,
): NextStep {
  // A whole-item PutItem dropped the order key, and the item went (or a peer's save was put where it
  // was: a peer never replaces an item without an order key): the REMOVE shows no order key and sends
  // nothing, so this record sends the removal of the life peers hold (as afterStamp does).
  const peerLower =
    held?.[RESERVED.order]?.S !== undefined &&
    parseOrd(held[RESERVED.order]!.S)?.origin !== settings.region &&
    held[RESERVED.order]!.S! < stamp.ord;
  const lifeRemoved = inherited && stamp.replaces === undefined;
  if (!held || (peerLower && lifeRemoved)) {
    if (!lifeRemoved) return { kind: 'done' };
    return lifeRemoval(stamp.life ?? stamp.ord, stamp, settings, nowSeconds);
  }
  const state = readStamp(held, settings);
  if ('reason' in state) return { kind: 'done' };
  const by = held[RESERVED.stampedBy]?.S;
  // This record's stamp (its answer lost), perhaps raised above another stamp when first made. Its
  // own save is sent, never what the item holds now: a later save on it orders by its own record.
  if (by !== undefined && by === stamp.by && state.ord?.origin === settings.region)
    return {
      kind: 'send',
      intent: replicatedPut(image, stamp.key, settings, state.ordRaw!, state.version!, stamp.by),
    };
  if (!state.ord) {
    const base = held[RESERVED.base]?.S;
    if (!sameScalars(held, stamp.same)) {
      // A later save with no order key (a whole-item PutItem): its record cannot know this life's
      // order key, so it is left on the item as a floor that the later save's stamp orders above.
      if (base !== undefined && base >= stamp.ord) return { kind: 'done' };
      return {
        kind: 'mark',
        key: stamp.key,
        base: stamp.ord,
        ...(base !== undefined ? { replaces: base } : {}),
      };
    }
    // This save, unstamped, under a floor an earlier record left: stamped above the floor, and sent.
    const floor = base !== undefined ? parseOrd(base) : undefined;
    const raised = floor && base! >= stamp.ord;
    const version = raised ? String(Number(floor.version) + 1) : stamp.version;
    const ord = raised
      ? formatOrd({ gen: floor.gen, version, origin: settings.region, deleted: false })
      : stamp.ord;
    const { replaces: _r, base: _b, ...rest } = stamp;
    return {
      kind: 'restamp',
      own: true,
      stamp: { ...rest, ord, version, ...(base !== undefined ? { base } : {}) },
      image,
    };
  }
  if (state.ordRaw === stamp.replaces) return { kind: 'done' };
  const here = state.ord.origin === settings.region;
  if (here && by !== undefined && stamp.by !== undefined && by > stamp.by) return { kind: 'done' };
  if (here) {
    // An earlier record's stamp or write-back over this save (its guard could not tell them apart, or
    // a peer's save it wrote back over had replaced this later one): this save goes back above it.
    if (state.ordRaw! < stamp.ord) return { kind: 'reapply', stamp, image, replaces: state.ordRaw! };
    const version = String(Number(state.ord.version) + 1);
    const ord = formatOrd({ ...state.ord, version, origin: settings.region, deleted: false });
    return { kind: 'reapply', stamp: { ...stamp, ord, version }, image, replaces: state.ordRaw! };
  }
  if (state.ordRaw! > stamp.ord) return { kind: 'done' };
  // Written back only over a peer's save that replaced the very state this save was made on: one that
  // created the item came after the application here deleted this save. A save made on a state with no
  // order key names none; a clock-0 stamp of this region over it is backfill's or repair's stamp of
  // this very save, not yet read (the replicator stamps at a record's time, never at 0). Invariant 2: the
  // save orders after the state it was made on. A retry meets its own write-back by its `_ddbm_by`.
  const over = held[RESERVED.replaced]?.S;
  const madeOn =
    stamp.replaces !== undefined
      ? over === stamp.replaces
      : over !== undefined && opsStampHere(over, settings);
  if (!madeOn) return { kind: 'done' };
  return { kind: 'reapply', stamp, image, replaces: state.ordRaw! };
}

/** A clock-0 order key of this region: what backfill and repair stamp an item its replicator never ordered. */
function opsStampHere(ord: string, settings: MultiActiveSettings): boolean {
  const parsed = parseOrd(ord);
  return (
    parsed !== undefined &&
    parsed.origin === settings.region &&
    !parsed.deleted &&
    Number(parsed.version) === 0
  );
}

/**
 * An undo did not go through (or a local delete was just recorded); `held` is what the item holds now.
 * A save the application made on the undone state came after the delete here, so it must order after
 * it everywhere: it is stamped as the next life (invariant 2); so is a state this region ordered at or
 * below the tombstone. A state this region ordered above it is sent (its send may never have run).
 */
export function afterUndo(
  key: Image,
  tombstone: string,
  held: Image | undefined,
  settings: MultiActiveSettings,
): NextStep {
  if (!held) return { kind: 'done' };
  const state = readStamp(held, settings);
  if ('reason' in state || state.version === undefined) return { kind: 'done' };
  if (!state.ord) {
    // The application replaced the undone state (a whole-item PutItem) after the delete: it follows the
    // delete, not the stale state its record will show as its old image; stamped here, its own record
    // finds the order key on the item.
    const ord = formatOrd({
      gen: parseOrd(tombstone)!.gen + 1,
      version: state.version,
      origin: settings.region,
      deleted: false,
    });
    const same = stampGuard(held, key, settings);
    return {
      kind: 'restamp',
      stamp: { key, ord, version: state.version, ...(Object.keys(same).length ? { same } : {}) },
      image: held,
    };
  }
  const here = stampedHere(held, settings);
  if (here !== undefined && here > tombstone)
    // Last writer wins: what the item holds may be a later save on that state, not the state itself;
    // the record that stamped it sends it (and any later save's record its own).
    return lastWriterWins(settings)
      ? { kind: 'done' }
      : { kind: 'send', intent: replicatedPut(held, key, settings, here, state.version) };
  // This region's own state at or below the tombstone is still here, so it was written after the delete
  // (a delete removes what it covers): its record was ordered before the delete's was recorded here (a
  // discarded range replayed late). It is the next life too.
  if (here === undefined && (state.stamped || state.ordRaw! > tombstone)) return { kind: 'done' };
  const gen = parseOrd(tombstone)!.gen + 1;
  const ord = formatOrd({ gen, version: state.version, origin: settings.region, deleted: false });
  const same = stampGuard(held, key, settings);
  return {
    kind: 'restamp',
    stamp: {
      key,
      ord,
      version: state.version,
      replaces: state.ordRaw!,
      ...(Object.keys(same).length ? { same } : {}),
    },
    image: held,
  };
}

/** A peer's replicated state (ordered, from another origin) that the tombstone covers: to be undone. */
export function peerStateCovered(held: Image, tombstone: string, settings: MultiActiveSettings): boolean {
  const state = readStamp(held, settings);
  return (
    !('reason' in state) &&
    state.stamped &&
    state.ord!.origin !== settings.region &&
    state.ordRaw! <= tombstone
  );
}

function sameScalars(held: Image, same: Image | undefined): boolean {
  return Object.entries(same ?? {}).every(([n, v]) => JSON.stringify(held[n]) === JSON.stringify(v));
}

/** At most this many attributes guard a stamp (a condition expression is limited to 4 KB). */
export const STAMP_GUARD_MAX_ATTRIBUTES = 32;

/**
 * What a stamp requires the local item to still hold besides the version: the new image's scalar
 * attributes (S, N, B, BOOL; first STAMP_GUARD_MAX_ATTRIBUTES by name), keys, version and reserved
 * ones aside. The item a record describes holds exactly its new image, so the guard never refuses the
 * right item; it refuses a later life of the key that the application deleted and saved again at the
 * same version with other data. Sets, lists and maps are left out: a guard must never refuse the
 * right item on a representation difference.
 */
export function stampGuard(image: Image, key: Image, settings: MultiActiveSettings): Image {
  const names = Object.keys(image)
    .filter(
      (n) =>
        !n.startsWith(RESERVED_PREFIX) &&
        !(n in key) &&
        n !== settings.versionAttribute &&
        (image[n].S !== undefined ||
          image[n].N !== undefined ||
          image[n].B !== undefined ||
          image[n].BOOL !== undefined),
    )
    .sort()
    .slice(0, STAMP_GUARD_MAX_ATTRIBUTES);
  return Object.fromEntries(names.map((n) => [n, image[n]]));
}
