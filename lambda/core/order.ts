/**
 * Order keys (docs/replication.md, "Order key"). Pure.
 *
 * Every numeric field is left-padded to a fixed width so that DynamoDB's byte-wise string comparison
 * (and JavaScript's `<` on these ASCII strings) is the numeric order: compare order keys as strings.
 */

export const SEQUENCE_DIGITS = 40;
export const GEN_DIGITS = 10;
export const VERSION_DIGITS = 20;

const DIGITS = /^[0-9]+$/;

/** Left-pads a non-negative integer string to `width` digits; throws if it does not fit. */
export function pad(value: string | number | bigint, width: number): string {
  const s = typeof value === 'string' ? value : value.toString();
  if (!DIGITS.test(s)) throw new Error(`not a non-negative integer: ${JSON.stringify(s)}`);
  const trimmed = s.replace(/^0+(?=.)/, '');
  if (trimmed.length > width) throw new Error(`${s} does not fit in ${width} digits`);
  return trimmed.padStart(width, '0');
}

/** A stream SequenceNumber is a numeric string of 21 to 40 characters (Streams API, SequenceNumberRange). */
export function isSequenceNumber(value: unknown): value is string {
  return (
    typeof value === 'string' && DIGITS.test(value) && value.length >= 21 && value.length <= SEQUENCE_DIGITS
  );
}

/** One-way order key (and the local stream position kept on tombstones): the sequence number padded to 40 digits. */
export function sequenceOrd(sequenceNumber: string): string {
  if (!isSequenceNumber(sequenceNumber))
    throw new Error(`not a stream sequence number: ${JSON.stringify(sequenceNumber)}`);
  return pad(sequenceNumber, SEQUENCE_DIGITS);
}

export interface MultiActiveOrd {
  /** Generation: 0 for the first life of a key, tombstone's gen + 1 for each later life. */
  readonly gen: number;
  /** The application's version attribute (decimal integer string, no padding). */
  readonly version: string;
  /** Region whose application made the change (for a delete: the origin of the deleted version). */
  readonly origin: string;
  readonly deleted: boolean;
}

const MULTI = /^([0-9]{10})#([0-9]{20})#([^#]+)#([01])$/;

/** `gen(10)#version(20)#origin#d`. */
export function formatOrd(o: MultiActiveOrd): string {
  if (!o.origin || o.origin.includes('#'))
    throw new Error(`invalid origin region: ${JSON.stringify(o.origin)}`);
  if (!Number.isSafeInteger(o.gen) || o.gen < 0) throw new Error(`invalid generation: ${o.gen}`);
  return `${pad(o.gen, GEN_DIGITS)}#${pad(o.version, VERSION_DIGITS)}#${o.origin}#${o.deleted ? 1 : 0}`;
}

/** Parses a multi-active order key; undefined when it is not one. */
export function parseOrd(ord: unknown): MultiActiveOrd | undefined {
  if (typeof ord !== 'string') return undefined;
  const m = MULTI.exec(ord);
  if (!m) return undefined;
  return { gen: Number(m[1]), version: m[2].replace(/^0+(?=.)/, ''), origin: m[3], deleted: m[4] === '1' };
}

/** The order key of the delete of the version that `ord` orders (same gen, version and origin; d = 1). */
export function deleteOrdOf(ord: MultiActiveOrd): string {
  return formatOrd({ ...ord, deleted: true });
}

/** Byte-wise string order, which DynamoDB also uses for the conditions: negative, zero or positive. */
export function compareOrd(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalises a version number attribute (`N`) to a decimal integer string, or undefined if it is not one. */
export function parseVersion(n: unknown): string | undefined {
  if (typeof n !== 'string' || !DIGITS.test(n)) return undefined;
  const trimmed = n.replace(/^0+(?=.)/, '');
  return trimmed.length <= VERSION_DIGITS ? trimmed : undefined;
}

/** Numeric comparison of two normalised version strings. */
export function compareVersion(a: string, b: string): number {
  return compareOrd(pad(a, VERSION_DIGITS), pad(b, VERSION_DIGITS));
}
