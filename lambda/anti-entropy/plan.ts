/**
 * The shape of the hash tree, which every region must build alike: how many partitions (one tree file
 * each), how many buckets at the top level, how many children per bucket and how deep. Chosen once per
 * run from the largest region's item count. Pure.
 *
 * Sizes (docs/replication.md, "Anti-entropy by range hashes"): the top level costs 12 bytes per bucket
 * and region whatever differs, each level below 12 bytes per child of a bucket that differs, a leaf 16
 * bytes per item. About 64 items per top bucket and 4 children per bucket keep both small: at 0.1 %
 * of keys differing most top buckets agree, and a differing key costs a few hundred bytes per region.
 */

export interface HashPlan {
  /** Partitions: 2^partitionBits tree files per region, by the top bits of the key hash. */
  readonly partitionBits: number;
  /** Top-level buckets: 2^topBits over the whole key space (at least one per partition). */
  readonly topBits: number;
  /** Children per bucket: 2^fanoutBits. */
  readonly fanoutBits: number;
  /** Levels below the top one; leaf buckets have topBits + depth × fanoutBits bits. */
  readonly depth: number;
}

/** Items per top-level bucket the plan aims at. */
export const TOP_BUCKET_ITEMS = 64;
/** Items per leaf bucket the plan aims at. */
export const LEAF_BUCKET_ITEMS = 2;
/** At most this many items per partition: one function builds a partition's tree in memory. */
export const PARTITION_ITEMS = 250_000;
const FANOUT_BITS = 2;
/** Key hash bits the buckets use (the high 32). */
const MAX_BITS = 32;

const log2ceil = (n: number) => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

/** The plan for a table whose largest region holds about `items` items. */
export function planFor(items: number): HashPlan {
  const partitionBits = Math.min(16, log2ceil(items / PARTITION_ITEMS));
  const topBits = Math.min(24, Math.max(partitionBits, log2ceil(items / TOP_BUCKET_ITEMS)));
  const leafBits = Math.min(MAX_BITS, Math.max(topBits, log2ceil(items / LEAF_BUCKET_ITEMS)));
  const depth = Math.ceil((leafBits - topBits) / FANOUT_BITS);
  return { partitionBits, topBits, fanoutBits: FANOUT_BITS, depth: Math.min(depth, maxDepth(topBits)) };
}

const maxDepth = (topBits: number) => Math.floor((MAX_BITS - topBits) / FANOUT_BITS);

/** Bits of a bucket index at `level` (0: the top level). */
export const levelBits = (plan: HashPlan, level: number): number => plan.topBits + level * plan.fanoutBits;

/** Buckets of one partition at `level`. */
export const bucketsPerPartition = (plan: HashPlan, level: number): number =>
  2 ** (levelBits(plan, level) - plan.partitionBits);

export const partitions = (plan: HashPlan): number => 2 ** plan.partitionBits;

/** Problems of a plan read from outside (a state machine's input): empty when it is usable. */
export function planProblems(plan: unknown): string[] {
  const p = plan as Partial<HashPlan> | undefined;
  const int = (v: unknown, min: number, max: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const problems: string[] = [];
  if (!p || typeof p !== 'object') return ['the plan must be an object'];
  if (!int(p.partitionBits, 0, 16)) problems.push('partitionBits must be an integer from 0 to 16');
  if (!int(p.topBits, 0, 24)) problems.push('topBits must be an integer from 0 to 24');
  if (!int(p.fanoutBits, 1, 4)) problems.push('fanoutBits must be an integer from 1 to 4');
  if (!int(p.depth, 0, 16)) problems.push('depth must be an integer from 0 to 16');
  if (!problems.length) {
    if (p.topBits! < p.partitionBits!) problems.push('topBits must be at least partitionBits');
    if (p.topBits! + p.depth! * p.fanoutBits! > MAX_BITS)
      problems.push(`topBits + depth × fanoutBits must be at most ${MAX_BITS}`);
  }
  return problems;
}
