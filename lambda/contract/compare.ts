/**
 * The divergence check's pure core, shared by the local mirror's final scan (`lib/local/verify.ts`),
 * `ddb-mirror verify` and the scheduled divergence sampler: what "the same item" means across regions,
 * and how a key whose copies differ is classified.
 *
 * Items are compared after normalising: the replicator's reserved `_ddbm_*` attributes and the
 * table's excluded attributes (region-local by definition) are left out. One-way replicas are compared
 * to the source; multi-active regions to each other. Pure: no SDK, works on SDK-shaped items
 * (`{ S: 'x' }`, binaries as `Uint8Array`) and stream-shaped ones alike.
 */
import { RESERVED_PREFIX } from './names';

/** The little a comparison needs to know about a table. */
export interface CompareTable {
  readonly name: string;
  readonly mode: 'one-way' | 'multi-active';
  /** Every region of the table, the one-way source first. */
  readonly regions: readonly string[];
  /** Partition key name, then the sort key name if any. */
  readonly keyNames: readonly string[];
  readonly excludeAttributes: readonly string[];
}

/** An item as DynamoDB returns it: attribute name → attribute value. */
export type AnyItem = Readonly<Record<string, unknown>>;

/** Drops the attributes that are not expected to match across regions. */
export function normalise<T>(
  item: Readonly<Record<string, T>>,
  table: Pick<CompareTable, 'excludeAttributes'>,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(item)) {
    if (k.startsWith(RESERVED_PREFIX) || table.excludeAttributes.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Canonical JSON of an attribute value: object keys sorted, sets order-insensitive, binaries base64. */
export function canonical(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify({ $b: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => {
        if ((k === 'SS' || k === 'NS' || k === 'BS') && Array.isArray(v))
          return `${JSON.stringify(k)}:[${v.map(canonical).sort().join(',')}]`;
        if (k === 'N' && typeof v === 'string') return `"N":${JSON.stringify(canonicalNumber(v))}`;
        return `${JSON.stringify(k)}:${canonical(v)}`;
      })
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function canonicalNumber(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER ? String(n) : v.trim();
}

/** The item's key as canonical JSON: the same text in every region. */
export function keyText(item: AnyItem, keyNames: readonly string[]): string {
  return canonical(Object.fromEntries(keyNames.map((k) => [k, item[k]])));
}

/** What the comparison sees of an item: canonical JSON of its normalised attributes. */
export function contentText(item: AnyItem, table: Pick<CompareTable, 'excludeAttributes'>): string {
  return canonical(normalise(item, table));
}

/** FNV-1a (32 bits) of a key text, as a fraction in [0, 1): the same for a key wherever it is read. */
export function keyFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

/** Whether a key belongs to the sample of `fraction` (0, 1] of the keys: deterministic by key hash. */
export function inSample(key: string, fraction: number): boolean {
  return fraction >= 1 || keyFraction(key) < fraction;
}

/**
 * How a key's copies differ:
 * - `missing`: absent in some regions, the same everywhere else (one-way: the source holds it);
 * - `only`: present only in some regions (one-way: replicas holding a key the source does not;
 *   multi-active: a key only one region holds);
 * - `differing`: some region holds other content than the reference (one-way: the source;
 *   multi-active: the content most regions hold).
 */
export type DivergenceKind = 'missing' | 'only' | 'differing';

export const DIVERGENCE_KINDS: readonly DivergenceKind[] = ['missing', 'only', 'differing'];

export interface Divergence {
  readonly kind: DivergenceKind;
  /** `only`: the regions that hold the key; otherwise the regions that disagree with the reference. */
  readonly regions: readonly string[];
}

/**
 * Classifies one key from what each region holds (any text that is equal for equal content, e.g.
 * `contentText` or a digest of it; null where the key is absent), in `table.regions` order.
 * Undefined when every region agrees.
 */
export function classify(
  table: Pick<CompareTable, 'mode' | 'regions'>,
  states: readonly (string | null)[],
): Divergence | undefined {
  const regions = table.regions;
  const present = states.filter((s): s is string => s !== null);
  const reference = table.mode === 'one-way' ? states[0] : (mostCommon(present) ?? null);
  const disagree = regions.filter((_r, i) => states[i] !== reference);
  if (!disagree.length) return undefined;
  const holders = regions.filter((_r, i) => states[i] !== null);
  if (table.mode === 'one-way' ? reference === null : holders.length === 1)
    return { kind: 'only', regions: holders };
  const differing = regions.some((_r, i) => states[i] !== null && states[i] !== reference);
  return { kind: differing ? 'differing' : 'missing', regions: disagree };
}

/** The most frequent text; the first one in region order on a tie. */
function mostCommon(texts: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  let best: string | undefined;
  for (const t of texts) if (best === undefined || counts.get(t)! > counts.get(best)!) best = t;
  return best;
}

export interface DivergentKey<T = AnyItem> {
  readonly table: string;
  /** The key as canonical JSON (stable across regions). */
  readonly key: string;
  readonly kind: DivergenceKind;
  /** Normalised item per region; null where the key is absent. */
  readonly states: Readonly<Record<string, T | null>>;
  /** The regions that disagree (see `DivergenceKind`). */
  readonly differing: readonly string[];
}

export interface TableComparison<T = AnyItem> {
  readonly table: string;
  readonly mode: CompareTable['mode'];
  /** Items per region after normalisation. */
  readonly items: Readonly<Record<string, number>>;
  readonly divergent: readonly DivergentKey<T>[];
}

/** Compares whole scans of every region: `byRegion` holds each region's items. */
export function compareItems<T extends AnyItem>(
  table: CompareTable,
  byRegion: Readonly<Record<string, readonly T[]>>,
): TableComparison<T> {
  const maps = new Map<string, Map<string, { item: T; text: string }>>();
  const allKeys = new Set<string>();
  const counts: Record<string, number> = {};
  for (const region of table.regions) {
    const m = new Map<string, { item: T; text: string }>();
    for (const raw of byRegion[region] ?? []) {
      const item = normalise(raw, table) as T;
      const key = keyText(raw, table.keyNames);
      m.set(key, { item, text: canonical(item) });
      allKeys.add(key);
    }
    maps.set(region, m);
    counts[region] = m.size;
  }
  const divergent: DivergentKey<T>[] = [];
  for (const key of [...allKeys].sort()) {
    const held = table.regions.map((r) => maps.get(r)!.get(key));
    const found = classify(
      table,
      held.map((h) => h?.text ?? null),
    );
    if (!found) continue;
    divergent.push({
      table: table.name,
      key,
      kind: found.kind,
      states: Object.fromEntries(table.regions.map((r, i) => [r, held[i]?.item ?? null])),
      differing: found.regions,
    });
  }
  return { table: table.name, mode: table.mode, items: counts, divergent };
}
