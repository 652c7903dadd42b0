import {
  compareOrd,
  compareVersion,
  deleteOrdOf,
  formatOrd,
  isSequenceNumber,
  pad,
  parseOrd,
  parseVersion,
  sequenceOrd,
} from '../../../lambda/core/order';

describe('one-way order keys', () => {
  test('a sequence number is padded to 40 digits', () => {
    // GIVEN a 21-digit sequence number WHEN encoded THEN it is 40 digits with leading zeros
    expect(sequenceOrd('100000000000000000001')).toBe('0000000000000000000100000000000000000001');
  });

  test('a 21-digit sequence number orders before a 40-digit one, although it is larger as a plain string', () => {
    // GIVEN '9…' (21 digits) and '1…' (40 digits): plain string compare would put the 40-digit one first
    const short = '900000000000000000000';
    const long = '1000000000000000000000000000000000000000';
    expect(short > long).toBe(true);
    // THEN the encoded keys compare numerically
    expect(compareOrd(sequenceOrd(short), sequenceOrd(long))).toBeLessThan(0);
  });

  test('consecutive sequence numbers compare in order across a digit-count change', () => {
    const a = '999999999999999999999';
    const b = '1000000000000000000000';
    expect(sequenceOrd(a) < sequenceOrd(b)).toBe(true);
  });

  test.each([
    ['20 digits', '12345678901234567890', false],
    ['21 digits', '123456789012345678901', true],
    ['40 digits', '1'.repeat(40), true],
    ['41 digits', '1'.repeat(41), false],
    ['not numeric', '12345678901234567890a', false],
    ['a number', 12345, false],
  ])('isSequenceNumber: %s → %s', (_name, value, expected) => {
    expect(isSequenceNumber(value)).toBe(expected);
  });

  test('sequenceOrd rejects something that is not a sequence number', () => {
    expect(() => sequenceOrd('42')).toThrow(/not a stream sequence number/);
  });
});

describe('multi-active order keys', () => {
  test('formats gen(10)#version(20)#origin#d', () => {
    expect(formatOrd({ gen: 2, version: '17', origin: 'eu-west-1', deleted: false })).toBe(
      '0000000002#00000000000000000017#eu-west-1#0',
    );
  });

  test('parse is the inverse of format', () => {
    const o = { gen: 12, version: '98765', origin: 'ap-southeast-2', deleted: true };
    expect(parseOrd(formatOrd(o))).toEqual(o);
  });

  test.each([
    ['not a string', 5],
    ['a one-way key', '0000000000000000000100000000000000000001'],
    ['bad d', '0000000002#00000000000000000017#eu-west-1#2'],
    ['short gen', '02#00000000000000000017#eu-west-1#0'],
    ['no origin', '0000000002#00000000000000000017##0'],
  ])('parseOrd rejects %s', (_name, value) => {
    expect(parseOrd(value)).toBeUndefined();
  });

  test('generation orders before version: a new life at version 1 beats the old life at version 99', () => {
    const oldLife = formatOrd({ gen: 0, version: '99', origin: 'us-east-1', deleted: true });
    const newLife = formatOrd({ gen: 1, version: '1', origin: 'eu-west-1', deleted: false });
    expect(compareOrd(newLife, oldLife)).toBeGreaterThan(0);
  });

  test('version orders numerically: 10 after 9', () => {
    const v9 = formatOrd({ gen: 0, version: '9', origin: 'x-1', deleted: false });
    const v10 = formatOrd({ gen: 0, version: '10', origin: 'x-1', deleted: false });
    expect(v10 > v9).toBe(true);
  });

  test('origin breaks a tie between concurrent saves of the same version, deterministically', () => {
    const a = formatOrd({ gen: 0, version: '3', origin: 'eu-west-1', deleted: false });
    const b = formatOrd({ gen: 0, version: '3', origin: 'us-east-1', deleted: false });
    expect(compareOrd(a, b)).toBeLessThan(0);
    expect(compareOrd(b, a)).toBeGreaterThan(0);
  });

  test('a region name that is a prefix of another still gives a total order', () => {
    const short = formatOrd({ gen: 0, version: '3', origin: 'us-east-1', deleted: true });
    const long = formatOrd({ gen: 0, version: '3', origin: 'us-east-10', deleted: false });
    expect(compareOrd(short, long)).toBeLessThan(0);
  });

  test('a delete orders after the very version it deletes and before the next version', () => {
    const save = { gen: 0, version: '3', origin: 'eu-west-1', deleted: false };
    const del = deleteOrdOf(save);
    expect(del > formatOrd(save)).toBe(true);
    expect(del < formatOrd({ ...save, version: '4' })).toBe(true);
  });

  test('rejects an origin containing # and a version longer than 20 digits', () => {
    expect(() => formatOrd({ gen: 0, version: '1', origin: 'a#b', deleted: false })).toThrow(/origin/);
    expect(() => formatOrd({ gen: 0, version: '1'.repeat(21), origin: 'x', deleted: false })).toThrow(
      /20 digits/,
    );
    expect(() => formatOrd({ gen: -1, version: '1', origin: 'x', deleted: false })).toThrow(/generation/);
  });
});

describe('versions and padding', () => {
  test.each([
    ['5', '5'],
    ['007', '7'],
    ['0', '0'],
    ['5.5', undefined],
    ['-1', undefined],
    ['1e3', undefined],
    ['1'.repeat(21), undefined],
    [undefined, undefined],
  ])('parseVersion(%p) → %p', (input, expected) => {
    expect(parseVersion(input)).toBe(expected);
  });

  test('compareVersion is numeric', () => {
    expect(compareVersion('9', '10')).toBeLessThan(0);
    expect(compareVersion('10', '10')).toBe(0);
  });

  test('pad refuses values that do not fit', () => {
    expect(pad('42', 5)).toBe('00042');
    expect(() => pad('123456', 5)).toThrow(/does not fit/);
    expect(() => pad('-1', 5)).toThrow(/non-negative integer/);
  });
});
