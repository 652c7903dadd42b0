import type { CompareTable } from '../../../lambda/contract';
import { compareTrees, type PartitionComparison } from '../../../lambda/anti-entropy/compare';
import { entryOf, type HashItem } from '../../../lambda/anti-entropy/hash';
import { partitions, type HashPlan } from '../../../lambda/anti-entropy/plan';
import { MemoryStore, meteredRange, newReadMeter, type ReadMeter } from '../../../lambda/anti-entropy/store';
import { buildTree, byPartition, TreeReader } from '../../../lambda/anti-entropy/tree';

/** Items as SDK-shaped records, per region, hashed into trees and compared as hash verify does. */

export const TABLE: CompareTable = {
  name: 'T',
  mode: 'multi-active',
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  keyNames: ['pk', 'sk'],
  excludeAttributes: ['localCache'],
};

export type Items = readonly HashItem[];

export interface Compared {
  readonly partitions: PartitionComparison[];
  readonly reads: ReadMeter[];
  readonly treeBytes: number[];
  readonly candidates: PartitionComparison['candidates'];
  readonly compared: number;
}

/** Every region's items → trees in memory → compared partition by partition. */
export async function compareRegions(
  plan: HashPlan,
  byRegion: readonly Items[],
  o: { fetchAt?: number; table?: CompareTable } = {},
): Promise<Compared> {
  const table = o.table ?? TABLE;
  const stores = byRegion.map((items) => {
    const store = new MemoryStore();
    byPartition(
      plan,
      items.map((i) => entryOf(i, table)),
    ).forEach((part, p) => void store.put(`t/${p}`, buildTree(plan, p, part)));
    return store;
  });
  const reads = stores.map(newReadMeter);
  const out: PartitionComparison[] = [];
  for (let p = 0; p < partitions(plan); p++) {
    const trees = await Promise.all(
      stores.map((s, r) => TreeReader.open(meteredRange(s, `t/${p}`, reads[r]))),
    );
    out.push(await compareTrees(trees, { fetchAt: o.fetchAt ?? 4 }));
  }
  return {
    partitions: out,
    reads,
    treeBytes: stores.map((s) => s.bytes()),
    candidates: out.flatMap((c) => c.candidates),
    compared: out.reduce((n, c) => n + c.compared, 0),
  };
}

export const item = (
  pk: string,
  sk: number,
  data: string,
  extra: Record<string, unknown> = {},
): HashItem => ({
  pk: { S: pk },
  sk: { N: String(sk) },
  data: { S: data },
  ...extra,
});

/** The key of `item` as the candidates name it. */
export const keyOf = (pk: string, sk: number) => JSON.stringify({ pk: { S: pk }, sk: { N: String(sk) } });
