/**
 * DynamoDB numbers as exact decimals: up to 38 significant digits, magnitude 1E-130 to below 1E+126
 * (Naming rules and data types, "Number"). They are stored normalized, the way DynamoDB returns them
 * ("1.50" → "1.5", "1e2" → "100", "-0" → "0"), and compared and added without going through floats,
 * which would round integers longer than 15 digits.
 */
import { validation } from './errors';

/** value = (neg ? -1 : 1) × digits × 10^scale; digits has no leading or trailing zeros ('' is zero). */
export interface Decimal {
  readonly neg: boolean;
  readonly digits: string;
  readonly scale: number;
}

const NUMBER = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const SAFE_INT = /^-?\d{1,15}$/;

export function parseDecimal(text: string): Decimal {
  const m = NUMBER.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === ''))
    throw validation('A value provided cannot be converted into a number');
  const frac = m[3] ?? '';
  let digits = m[2] + frac;
  let scale = Number(m[4] ?? 0) - frac.length;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 48) start += 1;
  let end = digits.length;
  while (end > start && digits.charCodeAt(end - 1) === 48) {
    end -= 1;
    scale += 1;
  }
  digits = digits.slice(start, end);
  if (digits === '') return { neg: false, digits: '', scale: 0 };
  return checkRange({ neg: m[1] === '-', digits, scale });
}

function checkRange(d: Decimal): Decimal {
  if (d.digits.length > 38)
    throw validation('Attempting to store more than 38 significant digits in a Number');
  const exponent = d.digits.length + d.scale - 1;
  if (exponent > 125)
    throw validation(
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
    );
  if (exponent < -130)
    throw validation(
      'Number underflow. Attempting to store a number with magnitude smaller than supported range',
    );
  return d;
}

export function formatDecimal(d: Decimal): string {
  if (d.digits === '') return '0';
  const sign = d.neg ? '-' : '';
  if (d.scale >= 0) return sign + d.digits + '0'.repeat(d.scale);
  const point = d.digits.length + d.scale;
  if (point > 0) return `${sign}${d.digits.slice(0, point)}.${d.digits.slice(point)}`;
  return `${sign}0.${'0'.repeat(-point)}${d.digits}`;
}

const cache = new Map<string, string>();

/** The stored form of a number attribute (ValidationException for what DynamoDB refuses). */
export function normalizeNumber(text: string): string {
  if (typeof text !== 'string') throw validation('A value provided cannot be converted into a number');
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const out = formatDecimal(parseDecimal(text));
  if (cache.size > 50_000) cache.clear();
  cache.set(text, out);
  return out;
}

/** Compares two normalized numbers: negative, zero or positive. */
export function compareNumbers(a: string, b: string): number {
  if (a === b) return 0;
  // The common case (versions, counters) stays exact in a double.
  if (SAFE_INT.test(a) && SAFE_INT.test(b)) return Number(a) - Number(b);
  return compareDecimals(parseDecimal(a), parseDecimal(b));
}

function compareDecimals(a: Decimal, b: Decimal): number {
  const signA = a.digits === '' ? 0 : a.neg ? -1 : 1;
  const signB = b.digits === '' ? 0 : b.neg ? -1 : 1;
  if (signA !== signB) return signA - signB;
  if (signA === 0) return 0;
  const magnitude = compareMagnitude(a, b);
  return signA > 0 ? magnitude : -magnitude;
}

function compareMagnitude(a: Decimal, b: Decimal): number {
  const ea = a.digits.length + a.scale;
  const eb = b.digits.length + b.scale;
  if (ea !== eb) return ea - eb;
  const width = Math.max(a.digits.length, b.digits.length);
  const da = a.digits.padEnd(width, '0');
  const db = b.digits.padEnd(width, '0');
  return da < db ? -1 : da > db ? 1 : 0;
}

/** a + b (or a − b), exactly; the result is checked like a stored number. */
export function addNumbers(a: string, b: string, subtract = false): string {
  if (SAFE_INT.test(a) && SAFE_INT.test(b)) {
    const sum = subtract ? Number(a) - Number(b) : Number(a) + Number(b);
    if (Number.isSafeInteger(sum)) return String(sum === 0 ? 0 : sum);
  }
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.min(x.scale, y.scale);
  const big = (d: Decimal, neg: boolean) =>
    d.digits === '' ? 0n : (neg ? -1n : 1n) * BigInt(d.digits) * 10n ** BigInt(d.scale - scale);
  const sum = big(x, x.neg) + big(y, subtract ? !y.neg : y.neg);
  const text = sum < 0n ? `-${(-sum).toString()}` : sum.toString();
  return formatDecimal(parseDecimal(`${text}e${scale}`));
}
