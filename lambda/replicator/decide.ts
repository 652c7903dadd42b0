/**
 * Stream record → decision (docs/replication.md). Pure: no SDK, no clock, no I/O.
 *
 * Where a multi-active decision needs the local tombstone (the generation of a new life, the echo
 * check of a REMOVE), `decide` returns `need-tombstone`; the caller reads it and calls again with it.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { changedAttributes, type Image, type StreamAttributeValue } from '../core/attributes';
import type {
  LifeMarkerIntent,
  StampIntent,
  TombstoneIntent,
  TombstoneState,
  WriteIntent,
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

function decideOneWay(c: Checked, settings: ReplicatorSettings): Decision {
  const ord = sequenceOrd(c.sequenceNumber);
  const origin = settings.region;
  if (c.eventName === 'REMOVE') {
    if (c.ttlExpiry && !settings.ttl?.replicateDeletes)
      return { kind: 'skip', reason: 'ttl-not-replicated', key: c.key };
    return { kind: 'replicate', key: c.key, intent: { op: 'delete', key: c.key, ord, origin } };
  }
  const item = { ...replicatedImage(c.newImage!, c.key, settings), [RESERVED.order]: { S: ord } };
  return { kind: 'replicate', key: c.key, intent: { op: 'put', key: c.key, item, ord, origin } };
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
  readonly ord?: ReturnType<typeof parseOrd>;
  /** `_ddbm_ver = version` and an order key present: `_ddbm_ord` orders exactly this version. */
  readonly stamped: boolean;
}

function readStamp(image: Image, settings: MultiActiveSettings): ImageStamp | { reason: string } {
  const versionAttr = image[settings.versionAttribute];
  const version = parseVersion(versionAttr?.N);
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

  // Written by a replicator (a peer's save, or this region's stamp): the stamp changed, so it is not
  // an application save. Costs no write.
  if (now.stamped && (!before || before.ordRaw !== now.ordRaw))
    return { kind: 'skip', reason: now.ord!.origin === settings.region ? 'stamp' : 'echo', key: c.key };

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

  const sequence = sequenceOrd(c.sequenceNumber);
  let gen: number;
  let lifeMarker: LifeMarkerIntent | undefined;
  const inherited = now.ord ?? before?.ord;
  if (inherited) {
    if (inherited.origin !== settings.region && tombstone === undefined)
      return { kind: 'need-tombstone', key: c.key };
    gen = inheritedGeneration(inherited, tombstone, sequence, settings.region);
    // A PutItem dropped the stamp: remember this life's generation here too, so that a delete of
    // the item before it is stamped again (old image without `_ddbm_ord`) still finds it.
    if (!now.ord && tombstone !== undefined)
      lifeMarker = {
        key: c.key,
        bornSequence: sequence,
        generation: gen,
        ...(tombstone?.ord !== undefined ? { expectedOrd: tombstone.ord } : {}),
      };
    else if (!now.ord) return { kind: 'need-tombstone', key: c.key };
  } else {
    if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };
    const life = lifeGeneration(tombstone, sequence, c.eventName === 'INSERT', {
      version: now.version,
      origin: settings.region,
      deleted: false,
    });
    if (life === 'superseded') return { kind: 'skip', reason: 'superseded', key: c.key };
    gen = life.generation;
    if (life.mark)
      lifeMarker = {
        key: c.key,
        bornSequence: sequence,
        generation: gen,
        ...(tombstone?.ord !== undefined ? { expectedOrd: tombstone.ord } : {}),
      };
  }

  const ord = formatOrd({ gen, version: now.version, origin: settings.region, deleted: false });
  const item: Image = {
    ...replicatedImage(c.newImage!, c.key, settings),
    [RESERVED.order]: { S: ord },
    [RESERVED.stampedVersion]: { N: now.version },
  };
  const alreadyStamped = now.stamped && now.ordRaw === ord;
  const same = stampGuard(c.newImage!, c.key, settings);
  return {
    kind: 'replicate',
    key: c.key,
    intent: { op: 'put', key: c.key, item, ord, origin: settings.region, version: now.version },
    ...(alreadyStamped
      ? {}
      : {
          stamp: {
            key: c.key,
            ord,
            version: now.version,
            ...(Object.keys(same).length ? { same } : {}),
          },
        }),
    ...(lifeMarker ? { lifeMarker } : {}),
    ...(contractViolation ? { contractViolation } : {}),
  };
}

/**
 * The generation of a local change whose images carry an order key from an earlier write. Normally
 * that key's generation. But an image may carry a *peer's* stamp from a save that landed between
 * this region's delete and its tombstone (the gap `deleteLocally` closes). Such an item is recognised
 * by its stamp ordering before this region's own tombstone: once the tombstone is written, no such
 * save can land. An application save of that item follows the delete here (the REMOVE came earlier in
 * this stream), so it — and every later save that still carries the stale stamp — must order after the
 * delete everywhere: it starts the next life, like a save of a deleted key.
 */
export function inheritedGeneration(
  inherited: MultiActiveOrd,
  tombstone: TombstoneState | null | undefined,
  sequence: string,
  region: string,
): number {
  if (
    inherited.origin === region ||
    tombstone?.origin !== region ||
    tombstone.sequence === undefined ||
    tombstone.ord === undefined ||
    tombstone.sequence >= sequence
  )
    return inherited.gen;
  const deleted = parseOrd(tombstone.ord);
  if (!deleted || formatOrd(inherited) >= tombstone.ord) return inherited.gen;
  return deleted.gen + 1;
}

/** At most this many attributes guard a stamp (a condition expression is limited to 4 KB). */
export const STAMP_GUARD_MAX_ATTRIBUTES = 32;

/**
 * What a stamp requires the local item to still hold besides the version: the new image's scalar
 * attributes (S, N, B, BOOL; first STAMP_GUARD_MAX_ATTRIBUTES by name), keys, version and reserved
 * ones aside. The item a record describes holds exactly its new image, so the guard never refuses the
 * right item; it refuses a later life of the key that the application deleted and saved again at the
 * same version with other data. Sets, lists and maps are left out: a guard must never refuse the
 * right item on a representation difference, and an item that keeps failing its stamp would make
 * every peer's write wait for it.
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
 * The generation of a local change whose images carry no order key (a save before its life was
 * first stamped here). `starts`: the record creates the item (INSERT), so it starts a new life.
 *
 * The tombstone remembers the record that started the current life (`bornSequence`) and the
 * generation it got. That makes a replay safe: a record re-delivered after its life ended must not
 * read the newer tombstone and claim "tombstone gen + 1" — that would resurrect it everywhere.
 *
 * `change`: the record's version, and whether it is a delete; with the generation it gives the
 * record's order key (origin: this region). A record of the marked life is covered only by a
 * tombstone whose order key is at least that order key: a peer's delete of the same generation that
 * orders *before* it (a concurrent delete of a lower version, or of the same version from an origin
 * that sorts first) ends neither the life nor this record, which must still be sent.
 */
export function lifeGeneration(
  tombstone: TombstoneState | null,
  sequence: string,
  starts: boolean,
  change: { readonly version: string; readonly origin: string; readonly deleted: boolean },
): { generation: number; mark: boolean } | 'superseded' {
  const deletedGen = tombstone?.ord !== undefined ? parseOrd(tombstone.ord)?.gen : undefined;
  const afterDelete = deletedGen === undefined ? 0 : deletedGen + 1;
  const born = tombstone?.bornSequence;
  const bornGen = tombstone?.bornGeneration;
  if (born === undefined || bornGen === undefined) return { generation: afterDelete, mark: true };
  // A later life already started here: this record's life is over and was sent before.
  if (born > sequence) return 'superseded';
  if (born === sequence || !starts) {
    // The life born at `born` (this record's life); this record is covered if a delete that orders
    // at or after it was recorded since (the full order key, not just the generation).
    const mine = formatOrd({ gen: bornGen, ...change });
    if (tombstone?.ord !== undefined && tombstone.ord >= mine) return 'superseded';
    return { generation: bornGen, mark: false };
  }
  return { generation: Math.max(afterDelete, bornGen + 1), mark: true };
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
  if (tombstone === undefined) return { kind: 'need-tombstone', key: c.key };

  const region = settings.region;
  const sequence = sequenceOrd(c.sequenceNumber);
  const keepLocal = c.ttlExpiry && !settings.ttl?.replicateDeletes;
  const result = (ord: string): Decision => {
    const localTombstone: TombstoneIntent = { key: c.key, ord, origin: region, sequence };
    if (keepLocal) return { kind: 'skip', reason: 'ttl-not-replicated', key: c.key, localTombstone };
    return {
      kind: 'replicate',
      key: c.key,
      intent: { op: 'delete', key: c.key, ord, origin: region, version: old.version! },
      localTombstone,
    };
  };

  // A replay of this very record after its tombstone was written: send the same delete again.
  if (tombstone?.origin === region && tombstone.sequence === sequence && tombstone.ord !== undefined)
    return result(tombstone.ord);

  let ord: string;
  if (old.stamped) {
    ord = formatOrd({ ...old.ord!, deleted: true });
  } else {
    // The deleted version is a local save not stamped yet: its origin is this region.
    let gen: number;
    if (old.ord) gen = inheritedGeneration(old.ord, tombstone, sequence, region);
    else {
      const life = lifeGeneration(tombstone, sequence, false, {
        version: old.version,
        origin: region,
        deleted: true,
      });
      if (life === 'superseded') return { kind: 'skip', reason: 'superseded', key: c.key };
      gen = life.generation;
    }
    ord = formatOrd({ gen, version: old.version, origin: region, deleted: true });
  }

  // Covered by a tombstone from another region: the echo of a replicated delete (0 writes). Covered
  // by a newer tombstone of ours: a replay of a delete sent before.
  const t = tombstone?.ord;
  if (t !== undefined && t >= ord)
    return { kind: 'skip', reason: tombstone?.origin !== region ? 'echo' : 'superseded', key: c.key };
  return result(ord);
}
