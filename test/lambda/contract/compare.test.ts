import { classify, inSample, keyFraction, keyText, contentText } from '../../../lambda/contract';

const oneWay = { mode: 'one-way', regions: ['src', 'r1', 'r2'] } as const;
const multi = { mode: 'multi-active', regions: ['a', 'b', 'c'] } as const;

describe('classifying a key whose copies differ', () => {
  test('one-way copies are measured against the source', () => {
    // GIVEN the source's state and each replica's WHEN classified THEN the kind names the replicas at fault
    expect(classify(oneWay, ['x', 'x', 'x'])).toBeUndefined();
    expect(classify(oneWay, ['x', null, 'x'])).toEqual({ kind: 'missing', regions: ['r1'] });
    expect(classify(oneWay, [null, 'x', null])).toEqual({ kind: 'only', regions: ['r1'] });
    expect(classify(oneWay, ['x', 'y', null])).toEqual({ kind: 'differing', regions: ['r1', 'r2'] });
  });

  test('multi-active copies are measured against the content most regions hold', () => {
    // GIVEN what each region holds WHEN classified THEN the odd one out is named
    expect(classify(multi, ['x', 'x', 'x'])).toBeUndefined();
    expect(classify(multi, ['x', null, 'x'])).toEqual({ kind: 'missing', regions: ['b'] });
    expect(classify(multi, [null, null, 'x'])).toEqual({ kind: 'only', regions: ['c'] });
    expect(classify(multi, ['y', 'x', 'x'])).toEqual({ kind: 'differing', regions: ['a'] });
    expect(classify(multi, ['x', 'y', null])).toEqual({ kind: 'differing', regions: ['b', 'c'] });
  });

  test('leaves out reserved and excluded attributes, set order and number spelling', () => {
    // GIVEN two copies that differ only in what is not replicated or not meaningful
    const table = { excludeAttributes: ['localCache'] };
    const a = {
      id: { S: 'k' },
      n: { N: '1.50' },
      tags: { SS: ['x', 'y'] },
      _ddbm_ord: { S: '1' },
      localCache: { S: 'a' },
    };
    const b = { tags: { SS: ['y', 'x'] }, n: { N: '1.5' }, id: { S: 'k' }, localCache: { S: 'b' } };
    // WHEN their contents are compared THEN they are the same
    expect(contentText(a, table)).toBe(contentText(b, table));
    expect(keyText(a, ['id'])).toBe('{"id":{"S":"k"}}');
  });
});

describe('sampling keys', () => {
  test('picks the same keys wherever they are read, about the fraction asked for', () => {
    // GIVEN 10,000 keys WHEN a tenth is sampled twice
    const keys = Array.from({ length: 10_000 }, (_, i) => keyText({ pk: { S: `k${i}` } }, ['pk']));
    const first = keys.filter((k) => inSample(k, 0.1));
    const second = keys.filter((k) => inSample(k, 0.1));
    // THEN both samples are the same keys, close to 1,000 of them, and a fraction of 1 takes every key
    expect(second).toEqual(first);
    expect(first.length).toBeGreaterThan(900);
    expect(first.length).toBeLessThan(1100);
    expect(keys.every((k) => inSample(k, 1))).toBe(true);
    expect(keys.every((k) => keyFraction(k) >= 0 && keyFraction(k) < 1)).toBe(true);
  });
});
