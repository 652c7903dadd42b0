import fc from 'fast-check';
import { classify, contentText, keyText } from '../../../lambda/contract';
import { keyItemOf } from '../../../lambda/anti-entropy/hash';
import { planFor, type HashPlan } from '../../../lambda/anti-entropy/plan';
import { compareRegions, item, keyOf, TABLE, type Items } from './fixtures';

/**
 * The comparison by range hashes finds exactly the keys whose copies differ as verify compares them
 * (missing, extra, differing, including copies that keep the same order key), and nothing for copies
 * that differ only in replicator metadata or excluded attributes; it reads only under differing buckets.
 */

const REGIONS = TABLE.regions.length;

type Damage = 'missing' | 'extra' | 'differing' | 'same-order-key' | 'metadata' | 'excluded';
const DAMAGES: readonly Damage[] = [
  'missing',
  'extra',
  'differing',
  'same-order-key',
  'metadata',
  'excluded',
];

/** `n` items held alike by every region, each with an order key, then each damage applied in one region. */
function damaged(n: number, damages: readonly { key: number; region: number; kind: Damage }[]) {
  const base = (i: number) => item(`p${i % 97}`, i, `data-${i}`, { _ddbm_ord: { S: `ord-${i}` } });
  const regions = Array.from(
    { length: REGIONS },
    () => new Map(Array.from({ length: n }, (_v, i) => [i, base(i)])),
  );
  const expected = new Set<string>();
  for (const d of damages) {
    const held = regions[d.region];
    const i = d.kind === 'extra' ? n + d.key : d.key % n;
    if (d.kind === 'missing') held.delete(i);
    if (d.kind === 'extra') held.set(i, item(`extra${i}`, i, 'only here'));
    // Content changed, order key kept: what a stray write or a bad repair leaves.
    if (d.kind === 'differing' || d.kind === 'same-order-key')
      held.set(i, {
        ...base(i),
        data: { S: `other-${d.region}` },
        ...(d.kind === 'differing' ? { _ddbm_ord: { S: 'x' } } : {}),
      });
    if (d.kind === 'metadata')
      held.set(i, { ...base(i), _ddbm_ord: { S: 'another' }, _ddbm_ver: { N: '9' } });
    if (d.kind === 'excluded') held.set(i, { ...base(i), localCache: { S: `region ${d.region}` } });
  }
  const byRegion: Items[] = regions.map((m) => [...m.values()]);
  // What verify's full comparison says, item by item.
  const texts = byRegion.map(
    (items) => new Map(items.map((i) => [keyText(i, TABLE.keyNames), contentText(i, TABLE)])),
  );
  const keys = new Set(texts.flatMap((m) => [...m.keys()]));
  for (const key of keys)
    if (
      classify(
        TABLE,
        texts.map((m) => m.get(key) ?? null),
      )
    )
      expected.add(key);
  return { byRegion, expected, keys: keys.size };
}

const candidateKeys = (candidates: readonly { key: string }[]) =>
  new Set(candidates.map((c) => keyText(keyItemOf(c.key), TABLE.keyNames)));

describe('comparison by range hashes', () => {
  test('finds exactly the keys verify finds, whatever the damage, plan and table size (property)', async () => {
    const plans = fc.oneof(
      fc.constant(undefined),
      fc.record({
        partitionBits: fc.integer({ min: 0, max: 2 }),
        topBits: fc.integer({ min: 2, max: 6 }),
        fanoutBits: fc.integer({ min: 1, max: 3 }),
        depth: fc.integer({ min: 0, max: 3 }),
      }),
    );
    const damage = fc.record({
      key: fc.nat({ max: 5000 }),
      region: fc.integer({ min: 0, max: REGIONS - 1 }),
      kind: fc.constantFrom(...DAMAGES),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(damage, { maxLength: 40 }),
        plans,
        fc.integer({ min: 1, max: 16 }),
        async (n, damages, custom, fetchAt) => {
          const { byRegion, expected, keys } = damaged(n, damages);
          const plan: HashPlan = custom ?? planFor(Math.max(...byRegion.map((r) => r.length)));
          const c = await compareRegions(plan, byRegion, { fetchAt });
          expect(candidateKeys(c.candidates)).toEqual(expected);
          expect(c.compared).toBe(keys);
          // Each candidate's digests classify as its copies do.
          for (const cand of c.candidates) expect(classify(TABLE, cand.digests)).toBeDefined();
        },
      ),
      { numRuns: 40 },
    );
  });

  test('names each kind with the regions that hold a copy, and only damage verify counts', async () => {
    // GIVEN 2,000 items, one of each damage in a different region
    const { byRegion } = damaged(2000, [
      { key: 10, region: 1, kind: 'missing' },
      { key: 1, region: 2, kind: 'extra' },
      { key: 30, region: 0, kind: 'differing' },
      { key: 40, region: 1, kind: 'same-order-key' },
      { key: 50, region: 2, kind: 'metadata' },
      { key: 60, region: 0, kind: 'excluded' },
    ]);
    // WHEN compared by hashes
    const c = await compareRegions(planFor(2000), byRegion);
    // THEN exactly the four counted damages are candidates, each with where a copy is and is not
    const held = (key: string) =>
      c.candidates
        .find((x) => x.key === key)!
        .digests.map((d) => (d === null ? '-' : 'y'))
        .join('');
    expect(c.candidates).toHaveLength(4);
    expect(held(keyOf('p10', 10))).toBe('y-y');
    expect(held(JSON.stringify({ pk: { S: 'extra2001' }, sk: { N: '2001' } }))).toBe('--y');
    const differing = c.candidates.find((x) => x.key === keyOf('p40', 40))!.digests;
    expect(differing[0]).toBe(differing[2]);
    expect(differing[1]).not.toBe(differing[0]);
    expect(c.compared).toBe(2001);
  });

  test('reads only the top level of another region when nothing differs, and little more for one key', async () => {
    // GIVEN 8,000 identical items in every region
    const { byRegion } = damaged(8000, []);
    const plan = planFor(8000);
    const same = await compareRegions(plan, byRegion);
    // THEN another region's reads are its header and top level (12 bytes per top bucket)
    const top = 2 ** plan.topBits * 12;
    expect(same.candidates).toEqual([]);
    expect(same.reads[1].bytes).toBeLessThan(top + 2048);
    expect(same.partitions[0].levels).toEqual([{ buckets: 2 ** plan.topBits, differing: 0 }]);
    // WHEN one copy differs in one region
    const one = await compareRegions(
      plan,
      damaged(8000, [{ key: 77, region: 2, kind: 'differing' }]).byRegion,
    );
    // THEN one bucket per level differs, and the descent reads a few hundred bytes more
    expect(one.candidates.map((x) => x.key)).toEqual([keyOf('p77', 77)]);
    expect(one.partitions[0].levels.every((l) => l.differing === 1)).toBe(true);
    expect(one.reads[2].bytes - same.reads[2].bytes).toBeLessThan(500);
    expect(one.reads[2].bytes).toBeLessThan(one.treeBytes[2] / 100);
    // AND the key itself was read from the home region only
    expect(one.reads[1].bytes).toBe(one.reads[2].bytes);
    expect(one.reads[0].bytes).toBeGreaterThan(one.reads[1].bytes);
  });
});
