/**
 * What an item holds, in the order of writes (docs/replication.md, "Judging what a target holds").
 * Pure: the same rules give the condition a write sends and the verdict on the item it gets back.
 */
import { RESERVED } from '../contract';
import type { Image } from './attributes';
import { formatOrd, parseOrd, parseVersion, type MultiActiveOrd } from './order';

export type ItemOrder =
  /** Written by a replicator and not saved since: `_ddbm_ord` orders exactly this state. */
  | { readonly kind: 'ordered'; readonly ord: string; readonly parsed: MultiActiveOrd }
  /**
   * Saved by this region's application since its last ordered state: the same generation, the
   * item's own version, this region as origin.
   */
  | { readonly kind: 'local'; readonly ord: string; readonly parsed: MultiActiveOrd }
  /**
   * Never ordered here (a life this region's application created, or an item whose order key a
   * whole-item PutItem dropped): its generation is known only to this region's replicator.
   * `floor` is the least order key it can have (generation 0).
   */
  | { readonly kind: 'unordered'; readonly floor?: string };

/**
 * The order of `image` held in region `here` of a multi-active table; undefined when the image is
 * not one the replicator or a contract-keeping application writes (no integer version, or an
 * `_ddbm_ord` that is not an order key).
 */
export function itemOrder(image: Image, versionAttribute: string, here: string): ItemOrder | undefined {
  const version = parseVersion(image[versionAttribute]?.N);
  const raw = image[RESERVED.order]?.S;
  if (raw === undefined) {
    return {
      kind: 'unordered',
      ...(version !== undefined
        ? { floor: formatOrd({ gen: 0, version, origin: here, deleted: false }) }
        : {}),
    };
  }
  const parsed = parseOrd(raw);
  if (!parsed || version === undefined) return undefined;
  if (parseVersion(image[RESERVED.stampedVersion]?.N) === version)
    return { kind: 'ordered', ord: raw, parsed };
  const local: MultiActiveOrd = { gen: parsed.gen, version, origin: here, deleted: false };
  return { kind: 'local', ord: formatOrd(local), parsed: local };
}

export interface Condition {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, { S: string } | { N: string }>;
}

/**
 * "The item in region `here` orders before `incoming`", as a condition expression, for items that
 * exist and are ordered or local (an unordered item never passes: only its region can order it).
 *
 * A local item's order key is not stored, so it is compared by parts: its generation is the prefix
 * of its stale `_ddbm_ord` (zero-padded, so prefixes compare like numbers), its version is the
 * version attribute (a number), and its origin is `here`, known to the writer.
 */
export function olderThan(incoming: MultiActiveOrd, here: string, versionAttribute: string): Condition {
  // Last writer wins: the replicator's own `_ddbm_ver` is the version, so every item with an order key
  // is ordered by it (an application save since is put right by its own region: `afterStampLww`).
  if (versionAttribute === RESERVED.stampedVersion)
    return {
      expression: '#ord < :iord',
      names: { '#ord': RESERVED.order },
      values: { ':iord': { S: formatOrd(incoming) } },
    };
  const genPrefix = `${formatOrd(incoming).slice(0, 10)}#`;
  // Same generation and version: the local item (origin `here`, a save) orders first only when
  // `here` sorts before the incoming origin, or the incoming write is a delete from `here` itself.
  const tieWins = here < incoming.origin || (here === incoming.origin && incoming.deleted);
  const sameVersion = tieWins ? ' OR #ver = :iver' : '';
  return {
    expression:
      '(#sver = #ver AND #ord < :iord) OR (attribute_exists(#ord) AND ' +
      '(attribute_not_exists(#sver) OR #sver <> #ver) AND ' +
      `(#ord < :igen OR (begins_with(#ord, :igen) AND (#ver < :iver${sameVersion}))))`,
    names: { '#ord': RESERVED.order, '#sver': RESERVED.stampedVersion, '#ver': versionAttribute },
    values: {
      ':iord': { S: formatOrd(incoming) },
      ':igen': { S: genPrefix },
      ':iver': { N: incoming.version },
    },
  };
}
