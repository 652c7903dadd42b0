/**
 * Attribute values in the two shapes the replicator meets. Pure: no SDK imports.
 *
 * - Stream shape (`@types/aws-lambda` `AttributeValue`): what stream records carry and what intents
 *   hold, because intents are parked on SQS as JSON. Binary values are base64 strings.
 * - SDK shape: what `@aws-sdk/client-dynamodb` sends. Binary values are `Uint8Array`.
 */
import type { AttributeValue as StreamAttributeValue } from 'aws-lambda';

export type { StreamAttributeValue };
/** An item image or key in stream shape. */
export type Image = Record<string, StreamAttributeValue>;

/** Structural SDK attribute value (assignable to `@aws-sdk/client-dynamodb`'s `AttributeValue`). */
export type SdkAttributeValue =
  | { S: string }
  | { N: string }
  | { B: Uint8Array }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: Uint8Array[] }
  | { M: Record<string, SdkAttributeValue> }
  | { L: SdkAttributeValue[] }
  | { NULL: boolean }
  | { BOOL: boolean };
export type SdkImage = Record<string, SdkAttributeValue>;

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const fromBytes = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function toSdkValue(v: StreamAttributeValue): SdkAttributeValue {
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.B !== undefined) return { B: b64(v.B) };
  if (v.SS !== undefined) return { SS: [...v.SS] };
  if (v.NS !== undefined) return { NS: [...v.NS] };
  if (v.BS !== undefined) return { BS: v.BS.map(b64) };
  if (v.M !== undefined) return { M: toSdkImage(v.M) };
  if (v.L !== undefined) return { L: v.L.map(toSdkValue) };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  throw new Error(`unsupported attribute value: ${JSON.stringify(v)}`);
}

export function toSdkImage(image: Image): SdkImage {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toSdkValue(v)]));
}

/** SDK shape back to stream shape (items returned by GetItem or ALL_OLD). */
export function fromSdkValue(v: Record<string, unknown>): StreamAttributeValue {
  const x = v as Partial<Record<string, unknown>>;
  if (typeof x.S === 'string') return { S: x.S };
  if (typeof x.N === 'string') return { N: x.N };
  if (x.B instanceof Uint8Array) return { B: fromBytes(x.B) };
  if (Array.isArray(x.SS)) return { SS: [...(x.SS as string[])] };
  if (Array.isArray(x.NS)) return { NS: [...(x.NS as string[])] };
  if (Array.isArray(x.BS)) return { BS: (x.BS as Uint8Array[]).map(fromBytes) };
  if (x.M && typeof x.M === 'object')
    return { M: fromSdkImage(x.M as Record<string, Record<string, unknown>>) };
  if (Array.isArray(x.L)) return { L: (x.L as Record<string, unknown>[]).map(fromSdkValue) };
  if (typeof x.NULL === 'boolean') return { NULL: x.NULL };
  if (typeof x.BOOL === 'boolean') return { BOOL: x.BOOL };
  throw new Error(`unsupported attribute value: ${JSON.stringify(v)}`);
}

export function fromSdkImage(image: Record<string, Record<string, unknown>>): Image {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, fromSdkValue(v)]));
}

/** Canonical JSON of a value: map keys and set members sorted, so equal values give equal strings. */
export function canonical(v: StreamAttributeValue): string {
  if (v.SS) return JSON.stringify({ SS: [...v.SS].sort() });
  if (v.NS) return JSON.stringify({ NS: [...v.NS].sort() });
  if (v.BS) return JSON.stringify({ BS: [...v.BS].sort() });
  if (v.M) return `{"M":${canonicalImage(v.M)}}`;
  if (v.L) return `{"L":[${v.L.map(canonical).join(',')}]}`;
  return JSON.stringify(v);
}

export function canonicalImage(image: Image): string {
  return `{${Object.keys(image)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(image[k])}`)
    .join(',')}}`;
}

/** Names of the attributes whose values differ between two images (present in one only counts). */
export function changedAttributes(a: Image, b: Image, ignore: (name: string) => boolean): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names]
    .filter((n) => !ignore(n))
    .filter(
      (n) =>
        (a[n] === undefined) !== (b[n] === undefined) ||
        (a[n] !== undefined && canonical(a[n]) !== canonical(b[n]!)),
    )
    .sort();
}
