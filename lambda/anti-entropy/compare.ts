/**
 * The comparison of one partition across regions, by hashes only: the top level of every region's
 * tree, then, only under the buckets whose sums differ, their children, level by level, until a
 * bucket is small enough (or a leaf) to compare its entries; then the keys of the entries that differ.
 * Every read goes through each region's `TreeReader`, so what crosses regions is what is read here.
 */
import { digestOf, sameSum, type BucketSum } from './hash';
import type { EntryHash, TreeReader } from './tree';

/** A key whose copies differ by their hashes: to be read again (verify's re-read rule) before it counts. */
export interface Candidate {
  /** The key attributes as stream-shaped JSON. */
  readonly key: string;
  /** Per region (in the trees' order): the content hash of its copy, or null where it has none. */
  readonly digests: readonly (string | null)[];
}

export interface LevelFigures {
  /** Buckets whose sums were compared at this level. */
  buckets: number;
  /** Of those, the ones that differed. */
  differing: number;
}

export interface PartitionComparison {
  /** Distinct keys compared: agreeing buckets' counts, agreeing entries and the candidates. */
  readonly compared: number;
  /** Entries per region (in the trees' order). */
  readonly items: readonly number[];
  readonly candidates: readonly Candidate[];
  readonly levels: readonly LevelFigures[];
  /** Buckets whose entries were compared one by one. */
  readonly leaves: number;
}

export interface CompareOptions {
  /** A differing bucket whose largest copy holds at most this many items has its entries compared. @default 4 */
  readonly fetchAt?: number;
  /** The region keys are read from when it holds them (its reads do not cross regions). @default 0 */
  readonly home?: number;
}

/** One key hash's entries in each region (in the trees' order), with their index in the tree. */
type Held = (EntryHash & { index: number })[][];

interface Pending {
  readonly index: number;
  readonly starts: readonly number[];
  readonly counts: readonly number[];
}

export async function compareTrees(
  trees: readonly TreeReader[],
  o: CompareOptions = {},
): Promise<PartitionComparison> {
  const plan = trees[0].header.plan;
  const partition = trees[0].header.partition;
  for (const t of trees)
    if (JSON.stringify(t.header.plan) !== JSON.stringify(plan) || t.header.partition !== partition)
      throw new Error('the regions built their trees with different plans: hash them again in one run');
  const fetchAt = o.fetchAt ?? 4;
  const home = o.home ?? 0;
  const fanout = 2 ** plan.fanoutBits;
  const levels: LevelFigures[] = [];
  let compared = 0;
  let leaves = 0;
  const groups: Held[] = [];

  const top = await Promise.all(
    trees.map((t) => t.level(0, [{ from: 0, count: t.header.levels[0].buckets }])),
  );
  const sums = top.map((r) => r[0]);
  const running = trees.map(() => 0);
  let frontier: Pending[] = [];
  levels.push({ buckets: sums[0].length, differing: 0 });
  sums[0].forEach((_s, i) => {
    const counts = sums.map((s) => s[i].count);
    const starts = [...running];
    counts.forEach((c, r) => (running[r] += c));
    if (agree(sums.map((s) => s[i]))) compared += counts[0];
    else frontier.push({ index: i, starts, counts });
  });
  levels[0].differing = frontier.length;

  for (let level = 0; frontier.length; level++) {
    const leaf = (b: Pending) => level === plan.depth || Math.max(...b.counts) <= fetchAt;
    const fetch = frontier.filter(leaf);
    const descend = frontier.filter((b) => !leaf(b));
    leaves += fetch.length;
    const next: Pending[] = [];
    const [entries, children] = await Promise.all([
      Promise.all(
        trees.map((t, r) => t.hashes(fetch.map((b) => ({ from: b.starts[r], count: b.counts[r] })))),
      ),
      descend.length
        ? Promise.all(
            trees.map((t) =>
              t.level(
                level + 1,
                descend.map((b) => ({ from: b.index * fanout, count: fanout })),
              ),
            ),
          )
        : [],
    ]);
    fetch.forEach((b, k) => {
      const byKey = new Map<string, Held>();
      trees.forEach((_t, r) =>
        entries[r][k].forEach((e, j) => {
          const id = `${e.kh}:${e.kl}`;
          const held = byKey.get(id) ?? trees.map(() => []);
          held[r].push({ ...e, index: b.starts[r] + j });
          byKey.set(id, held);
        }),
      );
      for (const held of byKey.values()) {
        const single = held.every((h) => h.length === 1);
        if (single && held.every((h) => digestOf(h[0]) === digestOf(held[0][0]))) compared += 1;
        else groups.push(held);
      }
    });
    if (descend.length) levels.push({ buckets: descend.length * fanout, differing: 0 });
    descend.forEach((b, k) => {
      const starts = [...b.starts];
      for (let c = 0; c < fanout; c++) {
        const child = children.map((r) => r[k][c]);
        const counts = child.map((s) => s.count);
        if (agree(child)) compared += counts[0];
        else next.push({ index: b.index * fanout + c, starts: [...starts], counts });
        counts.forEach((n, r) => (starts[r] += n));
      }
    });
    if (descend.length) levels[level + 1].differing = next.length;
    frontier = next;
  }

  const candidates = await keysOf(trees, groups, home);
  compared += candidates.settled;
  return {
    compared: compared + candidates.list.length,
    items: sums.map((s) => s.reduce((n, b) => n + b.count, 0)),
    candidates: candidates.list,
    levels,
    leaves,
  };
}

const agree = (sums: readonly BucketSum[]) => sums.every((s) => sameSum(s, sums[0]));

/**
 * The keys of the entries that differ, read from one region that holds each (the home region when it
 * does); where a region holds two entries of one key hash, from every region, to tell the keys apart.
 */
async function keysOf(
  trees: readonly TreeReader[],
  groups: readonly Held[],
  home: number,
): Promise<{ list: Candidate[]; settled: number }> {
  const collides = (g: Held) => g.some((h) => h.length > 1);
  const wanted = trees.map(() => new Set<number>());
  for (const g of groups) {
    const holders = trees.map((_t, r) => r).filter((r) => g[r].length);
    const from = collides(g) ? holders : [holders.includes(home) ? home : holders[0]];
    for (const r of from) for (const e of g[r]) wanted[r].add(e.index);
  }
  const read = await Promise.all(
    trees.map(async (t, r) => {
      const indexes = [...wanted[r]];
      const keys = indexes.length ? await t.keys(indexes) : [];
      return new Map(indexes.map((i, k) => [i, keys[k]]));
    }),
  );
  const list: Candidate[] = [];
  let settled = 0;
  for (const g of groups) {
    if (!collides(g)) {
      const r = g.findIndex((h, k) => h.length && read[k].has(h[0].index));
      list.push({
        key: read[r].get(g[r][0].index)!,
        digests: g.map((h) => (h.length ? digestOf(h[0]) : null)),
      });
      continue;
    }
    const byKey = new Map<string, (string | null)[]>();
    g.forEach((held, r) => {
      for (const e of held) {
        const key = read[r].get(e.index)!;
        const digests = byKey.get(key) ?? trees.map(() => null);
        digests[r] = digestOf(e);
        byKey.set(key, digests);
      }
    });
    for (const [key, digests] of byKey) {
      if (digests.every((d) => d !== null && d === digests[0])) settled += 1;
      else list.push({ key, digests });
    }
  }
  return { list, settled };
}
