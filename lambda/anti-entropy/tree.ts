/**
 * The files anti-entropy writes where the data lives, and how the comparison reads them by byte ranges.
 *
 * - A **part file** holds the entries one scan segment (or export file) found for one partition, in no
 *   order: the hash step writes one per partition it met.
 * - A **tree file** holds one partition of one region: the bucket sums of every level, then the entries
 *   sorted by key hash, then their keys. The comparison reads the top level whole and, below it, only
 *   the records of the buckets that differ; a bucket's entries are contiguous, so a differing leaf is one
 *   range read, and keys are read only for the entries that differ.
 *
 * Layout (little-endian): magic, header length (u32), header JSON, then per level `count, hi, lo`
 * (3 × u32) per bucket, entries `kh, kl, ih, il` (4 × u32), key offsets ((n + 1) × u32), keys (UTF-8).
 */
import { addEntry, addSum, compareEntries, emptySum, prefix, type BucketSum, type Entry } from './hash';
import { bucketsPerPartition, levelBits, type HashPlan } from './plan';

const TREE_MAGIC = 'DDBMAE01';
const PART_MAGIC = 'DDBMAP01';
const RECORD = 12;
const HASHES = 16;

export interface TreeHeader {
  readonly plan: HashPlan;
  readonly partition: number;
  readonly entries: number;
  /** Byte offset and bucket count of each level, the top first. */
  readonly levels: readonly { readonly offset: number; readonly buckets: number }[];
  readonly hashes: number;
  readonly keyOffsets: number;
  readonly keys: number;
  readonly size: number;
}

/** The partition an entry belongs to. */
export const partitionOf = (plan: HashPlan, e: Pick<Entry, 'kh'>): number => prefix(e.kh, plan.partitionBits);

/** Entries split by partition (index = partition). */
export function byPartition(plan: HashPlan, entries: Iterable<Entry>): Entry[][] {
  const out: Entry[][] = Array.from({ length: 2 ** plan.partitionBits }, () => []);
  for (const e of entries) out[partitionOf(plan, e)].push(e);
  return out;
}

/** A part file: the entries of one partition found by one worker. */
export function encodePart(entries: readonly Entry[]): Buffer {
  const keys = entries.map((e) => Buffer.from(e.key));
  const size = 12 + entries.length * (HASHES + 4) + keys.reduce((n, k) => n + k.length, 0);
  const buf = Buffer.alloc(size);
  buf.write(PART_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(entries.length, 8);
  let at = 12;
  entries.forEach((e, i) => {
    buf.writeUInt32LE(e.kh, at);
    buf.writeUInt32LE(e.kl, at + 4);
    buf.writeUInt32LE(e.ih, at + 8);
    buf.writeUInt32LE(e.il, at + 12);
    buf.writeUInt32LE(keys[i].length, at + 16);
    keys[i].copy(buf, at + 20);
    at += 20 + keys[i].length;
  });
  return buf;
}

export function decodePart(buf: Uint8Array): Entry[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.toString('latin1', 0, 8) !== PART_MAGIC) throw new Error('not an anti-entropy part file');
  const n = b.readUInt32LE(8);
  const out: Entry[] = [];
  let at = 12;
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(at + 16);
    out.push({
      kh: b.readUInt32LE(at),
      kl: b.readUInt32LE(at + 4),
      ih: b.readUInt32LE(at + 8),
      il: b.readUInt32LE(at + 12),
      key: b.toString('utf8', at + 20, at + 20 + len),
    });
    at += 20 + len;
  }
  return out;
}

/** The tree file of one partition from all of its entries (in any order). */
export function buildTree(plan: HashPlan, partition: number, entries: readonly Entry[]): Buffer {
  const sorted = [...entries].sort(compareEntries);
  const leafLevel = plan.depth;
  const leafBuckets = bucketsPerPartition(plan, leafLevel);
  const first = partition * leafBuckets;
  const levels: BucketSum[][] = [];
  levels[leafLevel] = Array.from({ length: leafBuckets }, emptySum);
  for (const e of sorted) {
    const bucket = prefix(e.kh, levelBits(plan, leafLevel)) - first;
    if (bucket < 0 || bucket >= leafBuckets)
      throw new Error(`an entry of partition ${partitionOf(plan, e)} was given to partition ${partition}`);
    addEntry(levels[leafLevel][bucket], e);
  }
  const fanout = 2 ** plan.fanoutBits;
  for (let level = leafLevel - 1; level >= 0; level--) {
    levels[level] = Array.from({ length: bucketsPerPartition(plan, level) }, (_v, i) => {
      const sum = emptySum();
      for (let c = 0; c < fanout; c++) addSum(sum, levels[level + 1][i * fanout + c]);
      return sum;
    });
  }
  const keys = sorted.map((e) => Buffer.from(e.key));
  const keyBytes = keys.reduce((n, k) => n + k.length, 0);
  // The header's offsets depend on its own length: lay out with a fixed-width placeholder length.
  const layout = (headerLength: number): TreeHeader => {
    let at = 12 + headerLength;
    const levelOffsets = levels.map((l) => {
      const offset = at;
      at += l.length * RECORD;
      return { offset, buckets: l.length };
    });
    const hashes = at;
    const keyOffsets = hashes + sorted.length * HASHES;
    const keysAt = keyOffsets + (sorted.length + 1) * 4;
    return {
      plan,
      partition,
      entries: sorted.length,
      levels: levelOffsets,
      hashes,
      keyOffsets,
      keys: keysAt,
      size: keysAt + keyBytes,
    };
  };
  let headerLength = Buffer.byteLength(JSON.stringify(layout(0)));
  for (;;) {
    const next = Buffer.byteLength(JSON.stringify(layout(headerLength)));
    if (next <= headerLength) break;
    headerLength = next;
  }
  const header = layout(headerLength);
  const buf = Buffer.alloc(header.size);
  buf.write(TREE_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(headerLength, 8);
  buf.write(JSON.stringify(header).padEnd(headerLength, ' '), 12, 'utf8');
  levels.forEach((l, i) => {
    let at = header.levels[i].offset;
    for (const s of l) {
      buf.writeUInt32LE(s.count, at);
      buf.writeUInt32LE(s.hi, at + 4);
      buf.writeUInt32LE(s.lo, at + 8);
      at += RECORD;
    }
  });
  let keyAt = 0;
  sorted.forEach((e, i) => {
    const at = header.hashes + i * HASHES;
    buf.writeUInt32LE(e.kh, at);
    buf.writeUInt32LE(e.kl, at + 4);
    buf.writeUInt32LE(e.ih, at + 8);
    buf.writeUInt32LE(e.il, at + 12);
    buf.writeUInt32LE(keyAt, header.keyOffsets + i * 4);
    keys[i].copy(buf, header.keys + keyAt);
    keyAt += keys[i].length;
  });
  buf.writeUInt32LE(keyAt, header.keyOffsets + sorted.length * 4);
  return buf;
}

/** Reads `length` bytes at `offset` of one file (an S3 ranged GET, or a slice in memory). */
export type ReadRange = (offset: number, length: number) => Promise<Uint8Array>;

export interface Range {
  readonly from: number;
  readonly count: number;
}

/** An entry as the tree stores it, without its key. */
export type EntryHash = Omit<Entry, 'key'>;

/** Bytes read before the header's length is known: most headers fit. */
const FIRST_READ = 1024;

/** One region's tree file of one partition, read by ranges. */
export class TreeReader {
  private constructor(
    private readonly read: ReadRange,
    readonly header: TreeHeader,
  ) {}

  static async open(read: ReadRange): Promise<TreeReader> {
    let head = Buffer.from(await read(0, FIRST_READ));
    if (head.toString('latin1', 0, 8) !== TREE_MAGIC) throw new Error('not an anti-entropy tree file');
    const length = head.readUInt32LE(8);
    if (head.length < 12 + length)
      head = Buffer.concat([head, await read(head.length, 12 + length - head.length)]);
    return new TreeReader(read, JSON.parse(head.toString('utf8', 12, 12 + length)) as TreeHeader);
  }

  /** The bucket sums of each range of buckets at `level`. */
  async level(level: number, ranges: readonly Range[]): Promise<BucketSum[][]> {
    const base = this.header.levels[level].offset;
    return this.ranges(ranges, RECORD, base, (b, at) => ({
      count: b.readUInt32LE(at),
      hi: b.readUInt32LE(at + 4),
      lo: b.readUInt32LE(at + 8),
    }));
  }

  /** The entries (without keys) of each range of entry indexes. */
  async hashes(ranges: readonly Range[]): Promise<EntryHash[][]> {
    return this.ranges(ranges, HASHES, this.header.hashes, (b, at) => ({
      kh: b.readUInt32LE(at),
      kl: b.readUInt32LE(at + 4),
      ih: b.readUInt32LE(at + 8),
      il: b.readUInt32LE(at + 12),
    }));
  }

  /** The keys of the entries at `indexes`, in that order. */
  async keys(indexes: readonly number[]): Promise<string[]> {
    const bounds = await this.ranges(
      indexes.map((i) => ({ from: i, count: 2 })),
      4,
      this.header.keyOffsets,
      (b, at) => b.readUInt32LE(at),
    );
    const blobs = await this.ranges(
      bounds.map(([start, end]) => ({ from: start, count: end - start })),
      1,
      this.header.keys,
      (b, at) => b[at],
    );
    return blobs.map((bytes) => Buffer.from(bytes).toString('utf8'));
  }

  /** Reads each range of fixed-size records, one read per run of adjacent or overlapping ranges. */
  private async ranges<T>(
    ranges: readonly Range[],
    size: number,
    base: number,
    decode: (b: Buffer, at: number) => T,
  ): Promise<T[][]> {
    const order = ranges.map((r, i) => ({ ...r, i })).sort((a, b) => a.from - b.from);
    const runs: { from: number; to: number; members: typeof order }[] = [];
    for (const r of order) {
      const last = runs[runs.length - 1];
      if (last && r.from <= last.to) {
        last.to = Math.max(last.to, r.from + r.count);
        last.members.push(r);
      } else runs.push({ from: r.from, to: r.from + r.count, members: [r] });
    }
    const out: T[][] = new Array(ranges.length);
    await Promise.all(
      runs.map(async (run) => {
        const bytes =
          run.to > run.from
            ? Buffer.from(await this.read(base + run.from * size, (run.to - run.from) * size))
            : Buffer.alloc(0);
        for (const m of run.members)
          out[m.i] = Array.from({ length: m.count }, (_v, k) =>
            decode(bytes, (m.from - run.from + k) * size),
          );
      }),
    );
    return out;
  }
}
