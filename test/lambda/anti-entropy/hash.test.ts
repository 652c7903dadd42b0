import fc from 'fast-check';
import {
  addEntry,
  digestOf,
  emptySum,
  entryOf,
  itemSize,
  keyItemOf,
  sameSum,
} from '../../../lambda/anti-entropy/hash';
import { planFor, planProblems, levelBits } from '../../../lambda/anti-entropy/plan';
import { buildTree, decodePart, encodePart, TreeReader } from '../../../lambda/anti-entropy/tree';
import { item, TABLE } from './fixtures';

/** The pure parts of anti-entropy: what an item hashes to, how sums add up, the plan and the files. */

describe('item hashes', () => {
  test('leave out _ddbm_* and excluded attributes, as verify compares', () => {
    // GIVEN two copies that differ only in replicator metadata and an excluded attribute
    const a = item('p', 1, 'x', { _ddbm_ord: { S: '0001' }, localCache: { S: 'A' } });
    const b = item('p', 1, 'x', { _ddbm_ord: { S: '0002' }, _ddbm_ver: { N: '3' } });
    // THEN they hash alike; a change of data does not
    expect(digestOf(entryOf(a, TABLE))).toBe(digestOf(entryOf(b, TABLE)));
    expect(digestOf(entryOf(item('p', 1, 'y'), TABLE))).not.toBe(digestOf(entryOf(a, TABLE)));
  });

  test('do not depend on attribute or set order, and tell numbers apart by value', () => {
    const a = { sk: { N: '1' }, pk: { S: 'p' }, tags: { SS: ['b', 'a'] }, n: { N: '1.50' } };
    const b = { pk: { S: 'p' }, n: { N: '1.5' }, tags: { SS: ['a', 'b'] }, sk: { N: '1' } };
    expect(digestOf(entryOf(a, TABLE))).toBe(digestOf(entryOf(b, TABLE)));
    expect(digestOf(entryOf({ ...b, n: { N: '15' } }, TABLE))).not.toBe(digestOf(entryOf(a, TABLE)));
  });

  test('keep a key that can be read again, binaries included', () => {
    // GIVEN a key with a binary sort key
    const table = { ...TABLE, keyNames: ['pk', 'bin'] };
    const bytes = new Uint8Array([0, 255, 7]);
    const e = entryOf({ pk: { S: 'p' }, bin: { B: bytes }, data: { S: 'x' } }, table);
    // THEN the entry's key gives back the SDK key
    expect(keyItemOf(e.key)).toEqual({ pk: { S: 'p' }, bin: { B: bytes } });
  });

  test('sum to the same bucket hash in any order, and a sum tells a changed item', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 40 }), fc.integer(), (datas, seed) => {
        const entries = datas.map((d, i) => entryOf(item('p', i, d), TABLE));
        const shuffled = [...entries].sort(() => ((seed = (seed * 16807) % 2147483647) % 3) - 1);
        const [a, b] = [emptySum(), emptySum()];
        entries.forEach((e) => addEntry(a, e));
        shuffled.forEach((e) => addEntry(b, e));
        const changed = emptySum();
        entries.forEach((e, i) => addEntry(changed, i ? e : entryOf(item('p', 0, `${datas[0]}!`), TABLE)));
        return sameSum(a, b) && !sameSum(a, changed);
      }),
    );
  });
});

describe('item sizes', () => {
  test('count names and values as DynamoDB does', () => {
    // 'pk' + 'abc' = 5; 'n' + 3 significant digits → 2 + 1 = 4; 'b' + 3 bytes = 4; 'ok' + 1 = 3
    expect(itemSize({ pk: { S: 'abc' } })).toBe(5);
    expect(itemSize({ n: { N: '-12.300' } })).toBe(4);
    expect(itemSize({ b: { B: new Uint8Array(3) } })).toBe(4);
    expect(itemSize({ ok: { BOOL: true } })).toBe(3);
    // a map: 3 + per element 1 + name + value: 'm' + 3 + (1 + 'a' + 'xy') = 1 + 3 + 4 = 8
    expect(itemSize({ m: { M: { a: { S: 'xy' } } } })).toBe(8);
    expect(itemSize({ l: { L: [{ S: 'é' }, { NULL: true }] } })).toBe(1 + 3 + (1 + 2) + (1 + 1));
  });
});

describe('plans', () => {
  test('scale partitions, top buckets and depth with the table', () => {
    expect(planFor(0)).toEqual({ partitionBits: 0, topBits: 0, fanoutBits: 2, depth: 0 });
    const small = planFor(20_000);
    expect(small.partitionBits).toBe(0);
    expect(2 ** small.topBits).toBeGreaterThanOrEqual(20_000 / 64);
    const big = planFor(500_000_000);
    // 250,000 items per partition at most, about 64 per top bucket, about 2 per leaf
    expect(500_000_000 / 2 ** big.partitionBits).toBeLessThanOrEqual(250_000);
    expect(500_000_000 / 2 ** big.topBits).toBeLessThanOrEqual(64);
    expect(500_000_000 / 2 ** levelBits(big, big.depth)).toBeLessThanOrEqual(2);
    for (const n of [0, 1, 63, 64, 65, 1e4, 1e6, 5e8, 1e10]) expect(planProblems(planFor(n))).toEqual([]);
  });

  test('refuse a plan from outside that the files cannot hold', () => {
    expect(planProblems({ partitionBits: 3, topBits: 2, fanoutBits: 2, depth: 20 })).toEqual([
      'depth must be an integer from 0 to 16',
    ]);
    expect(planProblems({ partitionBits: 3, topBits: 2, fanoutBits: 2, depth: 2 })).toEqual([
      'topBits must be at least partitionBits',
    ]);
    expect(planProblems('x')).toEqual(['the plan must be an object']);
  });
});

describe('files', () => {
  test('a part file gives back its entries', () => {
    const entries = ['a', 'b', 'ü'].map((d, i) => entryOf(item(`p${d}`, i, d), TABLE));
    expect(decodePart(encodePart(entries))).toEqual(entries);
  });

  test('a tree file gives back every level, entry and key by ranges, and is the same in any input order', async () => {
    // GIVEN 500 items in a tree of 2 partitions
    const plan = { partitionBits: 1, topBits: 3, fanoutBits: 2, depth: 2 };
    const entries = Array.from({ length: 500 }, (_v, i) => entryOf(item(`p${i}`, i, `d${i}`), TABLE));
    const mine = entries.filter((e) => e.kh >>> 31 === 1);
    const file = buildTree(plan, 1, mine);
    // THEN the same entries in reverse build the same bytes
    expect(buildTree(plan, 1, [...mine].reverse()).equals(file)).toBe(true);
    const reader = await TreeReader.open(async (at, n) => file.subarray(at, at + n));
    // AND every level sums to the partition's entries; ranges read out of order come back in order
    for (let level = 0; level <= plan.depth; level++) {
      const buckets = reader.header.levels[level].buckets;
      const [all] = await reader.level(level, [{ from: 0, count: buckets }]);
      expect(all.reduce((n, s) => n + s.count, 0)).toBe(mine.length);
      const [late, early] = await reader.level(level, [
        { from: buckets / 2, count: buckets / 2 },
        { from: 0, count: 1 },
      ]);
      expect([...early, ...late]).toEqual([all[0], ...all.slice(buckets / 2)]);
    }
    // AND entries are sorted by key hash, with their keys
    const [hashes] = await reader.hashes([{ from: 0, count: mine.length }]);
    const sorted = [...mine].sort((a, b) => a.kh - b.kh || a.kl - b.kl);
    expect(hashes.map((h) => h.kh)).toEqual(sorted.map((e) => e.kh));
    expect(await reader.keys([3, 0, mine.length - 1])).toEqual(
      [3, 0, mine.length - 1].map((i) => sorted[i].key),
    );
  });

  test('a tree refuses an entry of another partition', () => {
    const plan = { partitionBits: 1, topBits: 1, fanoutBits: 2, depth: 0 };
    const e = entryOf(item('p', 1, 'x'), TABLE);
    expect(() => buildTree(plan, (e.kh >>> 31) ^ 1, [e])).toThrow(/was given to partition/);
  });
});
