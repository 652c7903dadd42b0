/**
 * Stream record → decision (docs/replication.md). Pure: no SDK, no clock, no I/O.
 *
 * Where a multi-active decision needs the local tombstone (the generation of a new life, the echo
 * check of a REMOVE), `decide` returns `need-tombstone`; the caller reads it and calls again with it.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { changedAttributes, type Image, type StreamAttributeValue } from '../core/attributes';
import {
  parseWriteIntent,
  type LifeMarkerIntent,
  type ResolveIntent,
  type StampIntent,
  type TombstoneIntent,
  type TombstoneState,
  type WriteIntent,
} from '../core/intents';
import { RESERVED, RESERVED_PREFIX, type MultiActiveSettings, type ReplicatorSettings } from '../contract';
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
  /** A peer's replicated save or delete arriving in this region's stream. */
  | 'echo'
  /** This region's own stamp write. */
  | 'stamp'
  /** A TTL expiry while `ttl.replicateDeletes` is false. */
  | 'ttl-not-replicated'
  /** A replay of a record whose life (or whose delete) a later, already processed change covers. */
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
      /** Multi-active TTL expiry kept local: still recorded, so the key's next life gets a new generation. */
      readonly localTombstone?: TombstoneIntent;
      readonly lifeMarker?: LifeMarkerIntent;
      /** A write a peer deferred on the item, decided now (docs/replication.md, "Deferred writes"). */
      readonly resolve?: ResolveIntent;
      /** A deferred write left on an item this region's application deleted: applied here like a peer write. */
      readonly reapply?: WriteIntent;
    }
  | { readonly kind: 'malformed'; readonly reason: string; readonly key?: Image }
  | { readonly kind: 'need-tombstone'; readonly key: Image }
  | {
      readonly kind: 'replicate';
      readonly key: Image;
      readonly intent: WriteIntent;
      readonly stamp?: StampIntent;
      readonly localTombstone?: TombstoneIntent;
      readonly lifeMarker?: LifeMarkerIntent;
      readonly contractViolation?: ContractViolation;
      readonly resolve?: ResolveIntent;
      readonly reapply?: WriteIntent;
    };

const EVENT_NAMES = new Set(['INSERT', 'MODIFY', 'REMOVE']);

/**
 * @param tombstone multi-active only: the local tombstone of the record's key, `null` when there is
 *   none, `undefined` when not read yet (then the answer may be `need-tombstone`).
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

interface Checked {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly key: Image;
  readonly newImage?: Image;
  readonly oldImage?: Image;
  readonly sequenceNumber: string;
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
): WriteIntent {
  const item: Image = {
    ...replicatedImage(image, key, settings),
    [RESERVED.order]: { S: ord },
    ...(version !== undefined ? { [RESERVED.stampedVersion]: { N: version } } : {}),
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

/** A write a peer deferred on the item (docs/replication.md, "Deferred writes"). */
function readDeferral(image: Image | undefined): WriteIntent | { reason: string } | undefined {
  const raw = image?.[RESERVED.deferred]?.S;
  if (raw === undefined) return undefined;
  const intent = parseWriteIntent(raw);
  return typeof intent === 'string' ? { reason: `${RESERVED.deferred}: ${intent}` } : intent;
}

/** How a local state got its order key, and what the origin must write so that it stays known. */
interface LocalOrder {
  readonly gen: number;
  readonly ord: string;
  /** The item has no order key and its generation is not 0 by default: stamp it. */
  readonly stamp: boolean;
  readonly lifeMarker?: LifeMarkerIntent;
  /** The generation is 0 because nothing records this life (it has no marker and no order key). */
  readonly unrecorded?: boolean;
}

/**
 * The order key of a local state of the item (a save, or with `deleted` the delete of one): its
 * generation comes from the order key it carries, else from the old image's (a whole-item PutItem
 * dropped it), else from the life's record on the tombstone (docs: "How a local change gets its
 * order key").
 */
function localOrder(
  c: Checked,
  state: ImageStamp,
  before: ImageStamp | undefined,
  tombstone: TombstoneState | null | undefined,
  settings: MultiActiveSettings,
  deleted: boolean,
): LocalOrder | 'need-tombstone' | 'superseded' {
  const change = { version: state.version!, origin: settings.region, deleted };
  const inherited = state.ord ?? before?.ord;
  if (inherited) {
    const ord = formatOrd({ gen: inherited.gen, ...change });
    if (state.ord || deleted) return { gen: inherited.gen, ord, stamp: false };
    // A whole-item PutItem dropped the order key: stamp it back, and remember the generation on the
    // tombstone too, for a delete that comes before the stamp lands.
    if (tombstone === undefined) return 'need-tombstone';
    const sequence = sequenceOrd(c.sequenceNumber);
    return {
      gen: inherited.gen,
      ord,
      stamp: true,
      lifeMarker: marker(c.key, sequence, inherited.gen, tombstone),
    };
  }
  if (tombstone === undefined) return 'need-tombstone';
  const sequence = sequenceOrd(c.sequenceNumber);
  const life = lifeGeneration(tombstone, sequence, c.eventName === 'INSERT', change);
  if (life === 'superseded') return 'superseded';
  const ord = formatOrd({ gen: life.generation, ...change });
  return {
    gen: life.generation,
    ord,
    stamp: life.source !== 'none' && !deleted,
    ...(life.source === 'none' ? { unrecorded: true } : {}),
    ...(life.mark ? { lifeMarker: marker(c.key, sequence, life.generation, tombstone) } : {}),
  };
}

function marker(
  key: Image,
  bornSequence: string,
  generation: number,
  tombstone: TombstoneState | null,
): LifeMarkerIntent {
  return {
    key,
    bornSequence,
    generation,
    ...(tombstone?.ord !== undefined ? { expectedOrd: tombstone.ord } : {}),
  };
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
  const malformed = (reason: string): Decision => ({ kind: 'malformed', reason, key: c.key });
  const now = readStamp(c.newImage!, settings);
  if ('reason' in now) return malformed(`NewImage: ${now.reason}`);
  if (now.version === undefined)
    return malformed(
      `NewImage has no version attribute ${settings.versionAttribute} holding an integer of at most 20 digits`,
    );
  const before = c.oldImage ? readStamp(c.oldImage, settings) : undefined;
  if (before && 'reason' in before) return malformed(`OldImage: ${before.reason}`);
  const deferral = readDeferral(c.newImage) ?? readDeferral(c.oldImage);
  if (deferral && 'reason' in deferral) return malformed(deferral.reason);

  // Written by a replicator: a peer's save, a stamp, a deferral, or this region deciding one. Costs no
  // write, unless it leaves a deferred write to decide.
  if ((now.stamped && (!before || before.ordRaw !== now.ordRaw)) || !applicationChanged(c)) {
    const reason: SkipReason = now.stamped && now.ord!.origin === settings.region ? 'stamp' : 'echo';
    if (!deferral) return { kind: 'skip', reason, key: c.key };
    const order = now.stamped
      ? { gen: now.ord!.gen, ord: now.ordRaw!, stamp: false }
      : localOrder(c, now, undefined, tombstone, settings, false);
    if (typeof order === 'string')
      return order === 'need-tombstone'
        ? { kind: 'need-tombstone', key: c.key }
        : { kind: 'skip', reason, key: c.key };
    return { kind: 'skip', reason, key: c.key, ...resolution(c, settings, now, order, deferral, tombstone) };
  }

  let contractViolation: ContractViolation | undefined;
  if (c.eventName === 'MODIFY' && before?.version !== undefined) {
    const cmp = compareVersion(now.version, before.version);
    const changed = changedAttributes(
      c.oldImage!,
      c.newImage!,
      (n) => n.startsWith(RESERVED_PREFIX) || n === settings.versionAttribute,
    );
    if (cmp < 0 || (cmp === 0 && changed.length > 0))
      contractViolation = { oldVersion: before.version, newVersion: now.version, changedAttributes: changed };
  }

  const order = localOrder(c, now, before, tombstone, settings, false);
  if (order === 'need-tombstone') return { kind: 'need-tombstone', key: c.key };
  if (order === 'superseded') return { kind: 'skip', reason: 'superseded', key: c.key };

  const same = stampGuard(c.newImage!, c.key, settings);
  return {
    kind: 'replicate',
    key: c.key,
    intent: replicatedPut(c.newImage!, c.key, settings, order.ord, now.version),
    ...(order.stamp
      ? {
          stamp: {
            key: c.key,
            ord: order.ord,
            version: now.version,
            ...(Object.keys(same).length ? { same } : {}),
          },
        }
      : {}),
    ...('lifeMarker' in order && order.lifeMarker ? { lifeMarker: order.lifeMarker } : {}),
    ...(deferral ? resolution(c, settings, now, order, deferral, tombstone) : {}),
    ...(contractViolation ? { contractViolation } : {}),
  };
}

/**
 * Deciding a deferred write against the state this record shows (docs: "Deferred writes"). The
 * state's order key is exact here, so the later of the two wins, as at every peer. Before a deferred
 * write ends a life that has no record on the tombstone, the life gets one: a replay of its earlier
 * records must not read a later tombstone and take a new generation.
 */
function resolution(
  c: Checked,
  settings: MultiActiveSettings,
  state: ImageStamp,
  order: LocalOrder | { gen: number; ord: string; stamp: boolean },
  deferred: WriteIntent,
  tombstone: TombstoneState | null | undefined,
): { resolve: ResolveIntent; lifeMarker?: LifeMarkerIntent } {
  const sequence = sequenceOrd(c.sequenceNumber);
  const wins = deferred.ord > order.ord;
  const needsMarker = wins && 'unrecorded' in order && order.unrecorded === true;
  const resolve: ResolveIntent = {
    key: c.key,
    deferred,
    holds: order.ord,
    wins,
    version: state.version!,
    same: stampGuard(c.newImage!, c.key, settings),
    ...(state.ordRaw !== undefined ? { ordered: state.ordRaw } : {}),
    deferredOnItem: c.newImage![RESERVED.deferredOrder]?.S === deferred.ord,
    sequence,
  };
  return {
    resolve,
    ...(needsMarker && tombstone !== undefined
      ? { lifeMarker: marker(c.key, sequence, order.gen, tombstone) }
      : {}),
  };
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

/**
 * The generation of a local change whose images carry no order key: a life this region's
 * application started. `starts`: the record creates the item (INSERT).
 *
 * A life born while the key has no tombstone here is generation 0 and nothing records it (the
 * common case costs no write). A life born after a tombstone gets the tombstone's generation + 1,
 * and the tombstone item remembers the record that started it (`bornSequence`, the _life marker_).
 * That makes a replay safe: a record re-delivered after its life ended must not read the newer
 * tombstone and claim "tombstone gen + 1" — that would resurrect it everywhere. A tombstone this
 * region recorded after the record (its local position `sequence` is later) ended the life; a
 * later life's marker says the same.
 *
 * `change`: the record's version and whether it is a delete; with the generation it gives the
 * record's order key (origin: this region). A record is covered only by a tombstone whose order key
 * is at least that order key.
 */
export function lifeGeneration(
  tombstone: TombstoneState | null,
  sequence: string,
  starts: boolean,
  change: { readonly version: string; readonly origin: string; readonly deleted: boolean },
): { generation: number; mark: boolean; source: 'none' | 'marker' | 'tombstone' } | 'superseded' {
  if (!tombstone) return { generation: 0, mark: false, source: 'none' };
  const covered = (gen: number) =>
    tombstone.ord !== undefined && tombstone.ord >= formatOrd({ gen, ...change });
  const born = tombstone.bornSequence;
  const bornGen = tombstone.bornGeneration;
  if (born !== undefined && bornGen !== undefined) {
    // A later life already started here: this record's life is over and was sent before.
    if (born > sequence) return 'superseded';
    if (born === sequence || !starts)
      return covered(bornGen) ? 'superseded' : { generation: bornGen, mark: false, source: 'marker' };
  }
  // A later record of a life born without a marker, or a birth this region recorded a tombstone
  // after: generation 0.
  if (!starts || (born === undefined && tombstone.sequence !== undefined && tombstone.sequence > sequence))
    return covered(0) ? 'superseded' : { generation: 0, mark: false, source: 'none' };
  const deletedGen = tombstone.ord !== undefined ? parseOrd(tombstone.ord)?.gen : undefined;
  const afterDelete = deletedGen === undefined ? 0 : deletedGen + 1;
  const generation = Math.max(afterDelete, bornGen === undefined ? 0 : bornGen + 1);
  return { generation, mark: true, source: 'tombstone' };
}

function decideRemove(
  c: Checked,
  settings: MultiActiveSettings,
  tombstone: TombstoneState | null | undefined,
): Decision {
  const malformed = (reason: string): Decision => ({ kind: 'malformed', reason, key: c.key });
  const old = readStamp(c.oldImage!, settings);
  if ('reason' in old) return malformed(`OldImage: ${old.reason}`);
  if (old.version === undefined)
    return malformed(
      `OldImage has no version attribute ${settings.versionAttribute} holding an integer of at most 20 digits`,
    );
  const deferral = readDeferral(c.oldImage);
  if (deferral && 'reason' in deferral) return malformed(deferral.reason);
  if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };

  const region = settings.region;
  const sequence = sequenceOrd(c.sequenceNumber);
  // A write deferred on the deleted item was never decided: apply it here now, like any peer write.
  const reapply = deferral ? { reapply: deferral } : {};
  const keepLocal = c.ttlExpiry && !settings.ttl?.replicateDeletes;
  const result = (ord: string): Decision => {
    const localTombstone: TombstoneIntent = { key: c.key, ord, origin: region, sequence };
    if (keepLocal)
      return { kind: 'skip', reason: 'ttl-not-replicated', key: c.key, localTombstone, ...reapply };
    return {
      kind: 'replicate',
      key: c.key,
      intent: { op: 'delete', key: c.key, ord, origin: region, version: old.version! },
      localTombstone,
      ...reapply,
    };
  };

  // A replay of this very record after its tombstone was written: send the same delete again.
  if (tombstone?.origin === region && tombstone.sequence === sequence && tombstone.ord !== undefined)
    return result(tombstone.ord);

  let ord: string;
  if (old.stamped) ord = formatOrd({ ...old.ord!, deleted: true });
  else {
    const order = localOrder(c, old, undefined, tombstone, settings, true);
    if (order === 'need-tombstone') return { kind: 'need-tombstone', key: c.key };
    if (order === 'superseded')
      return {
        kind: 'skip',
        reason: 'superseded',
        key: c.key,
        ...reapply,
        ...endOfUnrecordedLife(c, old, tombstone),
      };
    ord = order.ord;
  }

  // Covered by a tombstone from another region: the echo of a replicated delete (0 writes). Covered
  // by a newer tombstone of ours: a replay of a delete sent before.
  const t = tombstone?.ord;
  if (t !== undefined && t >= ord)
    return {
      kind: 'skip',
      reason: tombstone?.origin !== region ? 'echo' : 'superseded',
      key: c.key,
      ...reapply,
    };
  return result(ord);
}

/**
 * A covered REMOVE that ends a life nothing on the tombstone records: the application deleted an
 * unordered item (generation 0, no marker) and a peer's delete of the same life was recorded here
 * before this record was read. Without a note, a re-delivered INSERT of that life would find a
 * tombstone with no marker and no local position, read it as written before the life began, and
 * start generation 1: a resurrection sent to every peer. The marker at this record's position says
 * "the life up to here is over" (docs/replication.md, "How a local change gets its order key").
 *
 * Only this race writes: a replicated item (ordered old image) has no local birth to replay, and a
 * peer delete of a live unordered item is deferred and decided here, which writes the marker then.
 */
function endOfUnrecordedLife(
  c: Checked,
  old: ImageStamp,
  tombstone: TombstoneState | null,
): { lifeMarker?: LifeMarkerIntent } {
  if (old.ordRaw !== undefined || !tombstone || tombstone.bornSequence !== undefined) return {};
  const sequence = sequenceOrd(c.sequenceNumber);
  if (tombstone.sequence !== undefined && tombstone.sequence >= sequence) return {};
  return { lifeMarker: marker(c.key, sequence, 0, tombstone) };
}
