/**
 * What anti-entropy hashes (docs/replication.md, "Anti-entropy by range hashes"): each item becomes one
 * entry of 64-bit key hash, 64-bit content hash and the key itself. The key hash places the item in a
 * bucket (never the table's partition layout, which differs between regions and over time); the content
 * hash is of the content exactly as `verify` compares it (`contentText`: without `_ddbm_*` and excluded
 * attributes), so two copies that verify calls equal hash equal. Pure.
 */
import { createHash } from 'node:crypto';
import { contentText, keyText, type CompareTable } from '../contract';
import { fromSdkImage, toSdkImage, type Image } from '../core/attributes';

/** An SDK-shaped item (binaries as `Uint8Array`). */
export type HashItem = Readonly<Record<string, unknown>>;

/** One item of one region, as the comparison sees it. */
export interface Entry {
  /** Key hash, high and low 32 bits: the high bits choose the bucket at every level. */
  readonly kh: number;
  readonly kl: number;
  /** Content hash, high and low 32 bits. */
  readonly ih: number;
  readonly il: number;
  /** The key attributes as stream-shaped JSON (binaries base64): enough to read or repair the item. */
  readonly key: string;
}

function hash64(text: string): [number, number] {
  const d = createHash('sha256').update(text).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4)];
}

/** The entry of one item. */
export function entryOf(item: HashItem, table: Pick<CompareTable, 'keyNames' | 'excludeAttributes'>): Entry {
  const [kh, kl] = hash64(keyText(item, table.keyNames));
  const [ih, il] = hash64(contentText(item, table));
  const keyImage = fromSdkImage(
    Object.fromEntries(table.keyNames.map((k) => [k, item[k] as Record<string, unknown>])),
  );
  return { kh, kl, ih, il, key: JSON.stringify(keyImage) };
}

/** The SDK-shaped key of an entry's `key`. */
export function keyItemOf(key: string): Record<string, never> {
  return toSdkImage(JSON.parse(key) as Image) as Record<string, never>;
}

/** Orders entries by key hash (then key, for the astronomically rare equal hashes): the order of every file. */
export function compareEntries(a: Entry, b: Entry): number {
  return a.kh - b.kh || a.kl - b.kl || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The top `bits` bits of a 32-bit hash: the bucket index at a level of that many bits. */
export function prefix(h: number, bits: number): number {
  return bits <= 0 ? 0 : h >>> (32 - bits);
}

/**
 * A bucket's hash: the sum of its entries' content hashes, each 32-bit half modulo 2^32. A sum does
 * not depend on the order the items were read in, and the sums of a bucket's parts (scan segments, child
 * buckets) add up to the bucket's.
 */
export interface BucketSum {
  count: number;
  hi: number;
  lo: number;
}

export const emptySum = (): BucketSum => ({ count: 0, hi: 0, lo: 0 });

export function addEntry(sum: BucketSum, e: Pick<Entry, 'ih' | 'il'>): void {
  sum.count += 1;
  sum.hi = (sum.hi + e.ih) >>> 0;
  sum.lo = (sum.lo + e.il) >>> 0;
}

export function addSum(sum: BucketSum, other: BucketSum): void {
  sum.count += other.count;
  sum.hi = (sum.hi + other.hi) >>> 0;
  sum.lo = (sum.lo + other.lo) >>> 0;
}

export const sameSum = (a: BucketSum, b: BucketSum): boolean =>
  a.count === b.count && a.hi === b.hi && a.lo === b.lo;

/** A content hash as text: what `classify` compares for a key's copies. */
export const digestOf = (e: Pick<Entry, 'ih' | 'il'>): string =>
  e.ih.toString(16).padStart(8, '0') + e.il.toString(16).padStart(8, '0');

/**
 * The size DynamoDB gives an item (what read units and a table's size are counted in): attribute names
 * and values in UTF-8 bytes, a number about one byte per two significant digits plus one, 3 bytes for a
 * list or map plus one per element (docs/replication.md, "Anti-entropy by range hashes").
 */
export function itemSize(item: HashItem): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(v: unknown): number {
  const x = v as Record<string, unknown>;
  if (typeof x.S === 'string') return Buffer.byteLength(x.S);
  if (typeof x.N === 'string') return numberSize(x.N);
  if (x.B instanceof Uint8Array) return x.B.byteLength;
  if (typeof x.B === 'string') return Buffer.from(x.B, 'base64').byteLength;
  if (Array.isArray(x.SS)) return x.SS.reduce((n: number, s: string) => n + Buffer.byteLength(s), 0);
  if (Array.isArray(x.NS)) return x.NS.reduce((n: number, s: string) => n + numberSize(s), 0);
  if (Array.isArray(x.BS))
    return x.BS.reduce((n: number, b: Uint8Array | string) => n + valueSize({ B: b }), 0);
  if (Array.isArray(x.L)) return 3 + x.L.reduce((n: number, e: unknown) => n + 1 + valueSize(e), 0);
  if (x.M && typeof x.M === 'object')
    return (
      3 +
      Object.entries(x.M as Record<string, unknown>).reduce(
        (n, [k, e]) => n + 1 + Buffer.byteLength(k) + valueSize(e),
        0,
      )
    );
  return 1;
}

function numberSize(n: string): number {
  const digits = n
    .replace(/^[-+]?/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  return Math.ceil(digits.replace(/0+$/, '').length / 2) + 1;
}
