/**
 * Attribute values inside the model: validated and normalized on the way in (numbers in DynamoDB's
 * stored form, sets sorted and free of duplicates), compared as DynamoDB compares them, sized as it
 * bills them, and copied on the way out so no caller shares the stored objects.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AttributeValue as StreamValue } from 'aws-lambda';
import { validation } from './errors';
import { compareNumbers, normalizeNumber } from './numbers';

/** A stored value: exactly one member, numbers normalized, sets sorted. */
export type Val =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly B: Uint8Array }
  | { readonly SS: readonly string[] }
  | { readonly NS: readonly string[] }
  | { readonly BS: readonly Uint8Array[] }
  | { readonly M: Readonly<Record<string, Val>> }
  | { readonly L: readonly Val[] }
  | { readonly NULL: true }
  | { readonly BOOL: boolean };
export type Item = Readonly<Record<string, Val>>;
export type SdkItem = Record<string, AttributeValue>;
export type TypeName = 'S' | 'N' | 'B' | 'SS' | 'NS' | 'BS' | 'M' | 'L' | 'NULL' | 'BOOL';

/** Every member of `Val` readable at once: the cheap way to switch on the type. */
export type Loose = {
  readonly S?: string;
  readonly N?: string;
  readonly B?: Uint8Array;
  readonly SS?: readonly string[];
  readonly NS?: readonly string[];
  readonly BS?: readonly Uint8Array[];
  readonly M?: Readonly<Record<string, Val>>;
  readonly L?: readonly Val[];
  readonly NULL?: true;
  readonly BOOL?: boolean;
};
const loose = (v: Val): Loose => v as Loose;

export function typeOf(v: Val): TypeName {
  const x = loose(v);
  if (x.S !== undefined) return 'S';
  if (x.N !== undefined) return 'N';
  if (x.B !== undefined) return 'B';
  if (x.M !== undefined) return 'M';
  if (x.L !== undefined) return 'L';
  if (x.SS !== undefined) return 'SS';
  if (x.NS !== undefined) return 'NS';
  if (x.BS !== undefined) return 'BS';
  if (x.BOOL !== undefined) return 'BOOL';
  return 'NULL';
}

const TYPES: readonly TypeName[] = ['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL'];
export const isTypeName = (s: string): s is TypeName => (TYPES as readonly string[]).includes(s);

// ---------------------------------------------------------------------------------------------
// In: validation and normalization.

const SET_NAMES: Record<string, string> = { SS: 'string set', NS: 'number set', BS: 'binary set' };

/** A value from a request, checked as DynamoDB checks it. */
export function normalizeValue(raw: unknown): Val {
  if (raw === null || typeof raw !== 'object')
    throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  const r = raw as Record<string, unknown>;
  let found: TypeName | undefined;
  for (const t of TYPES) {
    if (r[t] === undefined) continue;
    if (found)
      throw validation(
        'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
      );
    found = t;
  }
  if (!found)
    throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  const v = r[found];
  switch (found) {
    case 'S':
      if (typeof v !== 'string') throw validation('S must be a string');
      return { S: v };
    case 'N':
      return { N: normalizeNumber(v as string) };
    case 'B':
      return { B: bytes(v) };
    case 'BOOL':
      if (typeof v !== 'boolean') throw validation('BOOL must be a boolean');
      return { BOOL: v };
    case 'NULL':
      if (v !== true)
        throw validation(
          'One or more parameter values were invalid: Null attribute value types must have the value of true',
        );
      return { NULL: true };
    case 'M': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw validation('M must be a map');
      const out: Record<string, Val> = {};
      for (const [k, x] of Object.entries(v)) out[k] = normalizeValue(x);
      return { M: out };
    }
    case 'L':
      if (!Array.isArray(v)) throw validation('L must be a list');
      return { L: v.map(normalizeValue) };
    default:
      return normalizeSet(found, v);
  }
}

function bytes(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw validation('B must be binary (a Uint8Array)');
  return new Uint8Array(v);
}

function normalizeSet(t: 'SS' | 'NS' | 'BS', v: unknown): Val {
  if (!Array.isArray(v)) throw validation(`${t} must be a list`);
  if (v.length === 0)
    throw validation(`One or more parameter values were invalid: An ${SET_NAMES[t]}  may not be empty`);
  if (t === 'SS') {
    if (!v.every((s) => typeof s === 'string')) throw validation('SS members must be strings');
    return { SS: sortedUnique(v as string[], compareStrings) };
  }
  if (t === 'NS') return { NS: sortedUnique((v as string[]).map(normalizeNumber), compareNumbers) };
  return { BS: sortedUnique(v.map(bytes), compareBytes) };
}

function sortedUnique<T>(members: T[], compare: (a: T, b: T) => number): T[] {
  const sorted = [...members].sort(compare);
  for (let i = 1; i < sorted.length; i += 1)
    if (compare(sorted[i - 1], sorted[i]) === 0) throw validation('Input collection contains duplicates');
  return sorted;
}

export function normalizeItem(raw: unknown, what = 'Item'): Item {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw validation(`One or more parameter values were invalid: ${what} is missing or not a map`);
  const out: Record<string, Val> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (k.length === 0)
      throw validation('One or more parameter values were invalid: An attribute name is empty');
    out[k] = normalizeValue(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Order and equality.

/**
 * Byte-wise order of the UTF-8 encodings, which is code point order. JavaScript's `<` compares UTF-16
 * code units and puts U+E000–U+FFFF after the surrogate pairs of U+10000 and above; UTF-8 does not.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const sy = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return sx - sy;
  }
  return a.length - b.length;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Order of two scalars of the same type (S, N or B); undefined when they are not comparable. */
export function compareScalars(a: Val, b: Val): number | undefined {
  const x = loose(a);
  const y = loose(b);
  if (x.S !== undefined) return y.S !== undefined ? compareStrings(x.S, y.S) : undefined;
  if (x.N !== undefined) return y.N !== undefined ? compareNumbers(x.N, y.N) : undefined;
  if (x.B !== undefined) return y.B !== undefined ? compareBytes(x.B, y.B) : undefined;
  return undefined;
}

export function valuesEqual(a: Val, b: Val): boolean {
  const x = loose(a);
  const y = loose(b);
  // Normalized numbers have one spelling each, so string equality is numeric equality.
  if (x.S !== undefined) return y.S === x.S;
  if (x.N !== undefined) return y.N === x.N;
  return canonical(a) === canonical(b);
}

/** A string equal for equal values only (sets are stored sorted, map keys are sorted here). */
export function canonical(v: Val): string {
  const x = loose(v);
  if (x.S !== undefined) return `S${JSON.stringify(x.S)}`;
  if (x.N !== undefined) return `N${x.N}`;
  if (x.B !== undefined) return `B${base64(x.B)}`;
  if (x.SS !== undefined) return `SS${JSON.stringify(x.SS)}`;
  if (x.NS !== undefined) return `NS[${x.NS.join(',')}]`;
  if (x.BS !== undefined) return `BS[${x.BS.map(base64).join(',')}]`;
  if (x.M !== undefined) return `M${canonicalItem(x.M)}`;
  if (x.L !== undefined) return `L[${x.L.map(canonical).join(',')}]`;
  if (x.BOOL !== undefined) return x.BOOL ? 'T' : 'F';
  return 'NULL';
}

export function canonicalItem(item: Item): string {
  const keys = Object.keys(item).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i += 1)
    out += `${i ? ',' : ''}${JSON.stringify(keys[i])}:${canonical(item[keys[i]])}`;
  return `${out}}`;
}

const base64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

// ---------------------------------------------------------------------------------------------
// Size, as DynamoDB bills it (Developer Guide, "Item sizes and formats"): attribute names count their
// UTF-8 bytes; strings their UTF-8 bytes; binaries their length; numbers as below; BOOL and NULL 1;
// a set the sum of its members; a list or map 3 bytes plus 1 per element plus the elements (map
// entries with their names). The differential test checks these against DynamoDB Local's SizeBytes.

export const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

export function valueSize(v: Val): number {
  const x = loose(v);
  if (x.S !== undefined) return utf8Length(x.S);
  if (x.N !== undefined) return numberSize(x.N);
  if (x.B !== undefined) return x.B.length;
  if (x.SS !== undefined) return x.SS.reduce((n, s) => n + utf8Length(s), 0);
  if (x.NS !== undefined) return x.NS.reduce((n, s) => n + numberSize(s), 0);
  if (x.BS !== undefined) return x.BS.reduce((n, b) => n + b.length, 0);
  if (x.M !== undefined) {
    let n = 3;
    for (const [k, e] of Object.entries(x.M)) n += utf8Length(k) + valueSize(e) + 1;
    return n;
  }
  if (x.L !== undefined) return x.L.reduce((n, e) => n + valueSize(e) + 1, 3);
  return 1;
}

/**
 * A number is stored as a base-100 mantissa (pairs of digits either side of the decimal point, zero
 * pairs at either end dropped) plus an exponent byte, and one byte more when negative: 1.5 is 3 bytes
 * (01|50), 100 is 2 (01), -0.001 is 3 (10, negative), 0 is 1. AWS documents it as "about 1 byte per
 * two significant digits, plus 1"; this is DynamoDB Local's exact count, checked by its SizeBytes.
 */
export function numberSize(n: string): number {
  if (n === '0') return 1;
  const negative = n.charCodeAt(0) === 45;
  const body = negative ? n.slice(1) : n;
  const point = body.indexOf('.');
  let int = point < 0 ? body : body.slice(0, point);
  let frac = point < 0 ? '' : body.slice(point + 1);
  if (int === '0') int = '';
  if (int.length % 2) int = `0${int}`;
  if (frac.length % 2) frac = `${frac}0`;
  let digits = int + frac;
  let start = 0;
  while (start < digits.length && digits.startsWith('00', start)) start += 2;
  let end = digits.length;
  while (end > start && digits.startsWith('00', end - 2)) end -= 2;
  digits = digits.slice(start, end);
  return 1 + digits.length / 2 + (negative ? 1 : 0);
}

export function itemSize(item: Item): number {
  let n = 0;
  for (const k in item) n += utf8Length(k) + valueSize(item[k]);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Out: fresh SDK objects, and the stream (Lambda) shape, where binaries are base64 strings.

export function toSdkValue(v: Val): AttributeValue {
  const x = loose(v);
  if (x.S !== undefined) return { S: x.S };
  if (x.N !== undefined) return { N: x.N };
  if (x.B !== undefined) return { B: new Uint8Array(x.B) };
  if (x.SS !== undefined) return { SS: [...x.SS] };
  if (x.NS !== undefined) return { NS: [...x.NS] };
  if (x.BS !== undefined) return { BS: x.BS.map((b) => new Uint8Array(b)) };
  if (x.M !== undefined) return { M: toSdkItem(x.M) };
  if (x.L !== undefined) return { L: x.L.map(toSdkValue) };
  if (x.BOOL !== undefined) return { BOOL: x.BOOL };
  return { NULL: true };
}

export function toSdkItem(item: Item): SdkItem {
  const out: SdkItem = {};
  for (const k in item) out[k] = toSdkValue(item[k]);
  return out;
}

export function toStreamValue(v: Val): StreamValue {
  const x = loose(v);
  if (x.S !== undefined) return { S: x.S };
  if (x.N !== undefined) return { N: x.N };
  if (x.B !== undefined) return { B: base64(x.B) };
  if (x.SS !== undefined) return { SS: [...x.SS] };
  if (x.NS !== undefined) return { NS: [...x.NS] };
  if (x.BS !== undefined) return { BS: x.BS.map(base64) };
  if (x.M !== undefined) return { M: toStreamImage(x.M) };
  if (x.L !== undefined) return { L: x.L.map(toStreamValue) };
  if (x.BOOL !== undefined) return { BOOL: x.BOOL };
  return { NULL: true };
}

export function toStreamImage(item: Item): Record<string, StreamValue> {
  const out: Record<string, StreamValue> = {};
  for (const k in item) out[k] = toStreamValue(item[k]);
  return out;
}
