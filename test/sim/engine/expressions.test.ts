import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { SimDynamo, type SdkItem } from './index';
import { parseCondition, parseUpdate } from './expressions';
import { evaluate } from './evaluate';
import { addNumbers, compareNumbers, normalizeNumber } from './numbers';
import { compareStrings, normalizeItem, numberSize } from './values';

const R = 'eu-west-1';
const T = 'Items';
const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string | number): AttributeValue => ({ N: String(n) });

function engine(): SimDynamo {
  const sim = new SimDynamo();
  sim.createTable(R, { name: T, partitionKey: 'pk', stream: true });
  return sim;
}

/** Whether `condition` holds on `item` (a conditional put of the same key, judged by the engine). */
function holds(
  item: SdkItem,
  condition: string,
  values: SdkItem = {},
  names: Record<string, string> = {},
): boolean {
  const sim = engine();
  sim.execute(R, new PutItemCommand({ TableName: T, Item: item }));
  try {
    sim.execute(
      R,
      new PutItemCommand({
        TableName: T,
        Item: { pk: item.pk, probe: S('x') },
        ConditionExpression: condition,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
      }),
    );
    return true;
  } catch (e) {
    if ((e as Error).name === 'ConditionalCheckFailedException') return false;
    throw e;
  }
}

function validationMessage(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect((e as Error).name).toBe('ValidationException');
    return (e as Error).message;
  }
  throw new Error('expected a ValidationException');
}

describe('numbers', () => {
  test('are stored in the form DynamoDB returns them', () => {
    expect(
      ['1.50', '1e2', '-0', '-0.00100', '1.23E+5', '000', '1E-5', '-12.5e-1'].map(normalizeNumber),
    ).toEqual(['1.5', '100', '0', '-0.001', '123000', '0', '0.00001', '-1.25']);
  });

  test('compare exactly past the 15 digits a double holds', () => {
    const a = '12345678901234567890123';
    const b = '12345678901234567890124';
    expect(Number(a)).toBe(Number(b)); // what going through floats would decide
    expect(compareNumbers(a, b)).toBeLessThan(0);
    expect(compareNumbers('-' + a, '-' + b)).toBeGreaterThan(0);
    expect(compareNumbers('0.1', '0.10000000000000000001')).toBeLessThan(0);
    expect(compareNumbers('-1', '0')).toBeLessThan(0);
  });

  test('add and subtract exactly', () => {
    expect(addNumbers('12345678901234567890123', '1')).toBe('12345678901234567890124');
    expect(addNumbers('0.1', '0.2')).toBe('0.3');
    expect(addNumbers('5', '7', true)).toBe('-2');
    expect(addNumbers('1.5', '1.5', true)).toBe('0');
  });

  test('are sized as a base-100 mantissa, an exponent byte and a sign byte when negative', () => {
    expect(
      ['0', '1', '1.5', '100', '123000', '-0.001', '0.00001', '-1.25', '12345678901234567890123'].map(
        numberSize,
      ),
    ).toEqual([1, 2, 3, 2, 3, 3, 2, 4, 13]);
  });

  test('more than 38 significant digits, or an unparsable number, are refused', () => {
    expect(validationMessage(() => normalizeNumber('1'.repeat(39)))).toMatch(/38 significant digits/);
    expect(validationMessage(() => normalizeNumber('1.2.3'))).toMatch(/cannot be converted into a number/);
    expect(validationMessage(() => normalizeNumber('1e126'))).toMatch(/overflow/);
  });
});

describe('strings', () => {
  test('order by UTF-8 bytes (code points), not by UTF-16 code units', () => {
    const bmpHigh = '\uFFFD'; // U+FFFD: EF BF BD in UTF-8
    const astral = '😀'; // U+1F600: F0 9F 98 80
    expect(bmpHigh > astral).toBe(true); // JavaScript's order
    expect(compareStrings(bmpHigh, astral)).toBeLessThan(0);
    expect(holds({ pk: S('k'), s: S(bmpHigh) }, 's < :v', { ':v': S(astral) })).toBe(true);
  });
});

describe('condition expressions', () => {
  const item = {
    pk: S('k'),
    ord: S('0000000001#00000000000000000003#eu-west-1#0'),
    ver: N(3),
    tags: { SS: ['a', 'b'] },
    lst: { L: [N(1), S('two')] },
    doc: { M: { nested: S('deep') } },
    flag: { BOOL: true },
  };

  test('comparators order numbers numerically and strings byte-wise', () => {
    expect(holds(item, 'ver < :v', { ':v': N(10) })).toBe(true);
    expect(holds(item, 'ver > :v', { ':v': N('2.5') })).toBe(true);
    expect(holds(item, 'ord < :o', { ':o': S('0000000001#00000000000000000003#us-east-1#0') })).toBe(true);
    expect(holds(item, 'ord >= :o', { ':o': S('0000000002#') })).toBe(false);
  });

  test('a comparison with a missing attribute or another type is false, and <> is its negation', () => {
    expect(holds(item, 'nope = :v', { ':v': S('x') })).toBe(false);
    expect(holds(item, 'nope < :v', { ':v': S('x') })).toBe(false);
    expect(holds(item, 'ver < :v', { ':v': S('9') })).toBe(false);
    expect(holds(item, 'ver = :v', { ':v': S('3') })).toBe(false);
    expect(holds(item, 'nope <> :v', { ':v': S('x') })).toBe(true);
    expect(holds(item, 'ver <> :v', { ':v': S('3') })).toBe(true);
    expect(holds(item, 'ver <> :v', { ':v': N('3.0') })).toBe(false);
  });

  test('functions: attribute_exists, begins_with, contains, size, attribute_type', () => {
    expect(holds(item, 'attribute_exists(ord) AND attribute_not_exists(gone)')).toBe(true);
    expect(holds(item, 'begins_with(ord, :g)', { ':g': S('0000000001#') })).toBe(true);
    expect(holds(item, 'begins_with(ord, :g)', { ':g': S('0000000002#') })).toBe(false);
    expect(holds(item, 'contains(tags, :t) AND NOT contains(tags, :u)', { ':t': S('a'), ':u': S('z') })).toBe(
      true,
    );
    expect(holds(item, 'contains(lst, :t)', { ':t': S('two') })).toBe(true);
    expect(holds(item, 'size(tags) = :two AND size(lst) = :two AND size(ord) > :two', { ':two': N(2) })).toBe(
      true,
    );
    expect(
      holds(item, 'attribute_type(ver, :n) AND attribute_type(flag, :b)', { ':n': S('N'), ':b': S('BOOL') }),
    ).toBe(true);
  });

  test('BETWEEN and IN', () => {
    expect(holds(item, 'ver BETWEEN :a AND :b', { ':a': N(3), ':b': N(4) })).toBe(true);
    expect(holds(item, 'ver BETWEEN :a AND :b', { ':a': N(4), ':b': N(5) })).toBe(false);
    expect(holds(item, 'ver IN (:a, :b)', { ':a': N(1), ':b': N(3) })).toBe(true);
    expect(holds(item, 'ver IN (:a, :b)', { ':a': N(1), ':b': N(2) })).toBe(false);
  });

  test('nested paths into maps and lists', () => {
    expect(holds(item, 'doc.nested = :d AND lst[1] = :t', { ':d': S('deep'), ':t': S('two') })).toBe(true);
    expect(holds(item, 'attribute_exists(lst[2])')).toBe(false);
  });

  test('NOT binds tighter than AND, and AND tighter than OR', () => {
    const ph = { names: {}, values: {} };
    const t = (s: string) => evaluate(parseCondition(s).tree, normalizeItem({ a: S('1') }), ph);
    // (NOT exists(a)) AND exists(b) is false; NOT (exists(a) AND exists(b)) would be true.
    expect(t('NOT attribute_exists(a) AND attribute_exists(b)')).toBe(false);
    // exists(a) OR (exists(b) AND exists(c)) is true; (exists(a) OR exists(b)) AND exists(c) would be false.
    expect(t('attribute_exists(a) OR attribute_exists(b) AND attribute_exists(c)')).toBe(true);
    expect(t('(attribute_exists(a) OR attribute_exists(b)) AND attribute_exists(c)')).toBe(false);
  });

  test('keywords are case-insensitive; one text is parsed once', () => {
    expect(holds(item, 'ver = :v and not attribute_exists(gone) Or ver < :v', { ':v': N(3) })).toBe(true);
    expect(parseCondition('attribute_exists(a)')).toBe(parseCondition('attribute_exists(a)'));
  });

  test('refuses what DynamoDB refuses', () => {
    const sim = engine();
    const put = (extra: object) => () =>
      sim.execute(R, new PutItemCommand({ TableName: T, Item: { pk: S('k') }, ...extra }));
    expect(validationMessage(put({ ConditionExpression: 'attribute_exists(name)' }))).toMatch(
      /reserved keyword; reserved keyword: name/,
    );
    expect(validationMessage(put({ ConditionExpression: 'attribute_exists(_x)' }))).toMatch(/Syntax error/);
    expect(validationMessage(put({ ConditionExpression: 'a = ' }))).toMatch(/Syntax error/);
    expect(
      validationMessage(
        put({ ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: { ':v': S('x') } }),
      ),
    ).toMatch(/unused in expressions: keys: \{:v\}/);
    expect(
      validationMessage(
        put({ ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: { '#v': 'x' } }),
      ),
    ).toMatch(/ExpressionAttributeNames unused/);
    expect(validationMessage(put({ ConditionExpression: 'a = :missing' }))).toMatch(
      /not defined; attribute value: :missing/,
    );
    expect(
      validationMessage(put({ ConditionExpression: '#a = :v', ExpressionAttributeValues: { ':v': S('x') } })),
    ).toMatch(/not defined; attribute name: #a/);
    expect(
      validationMessage(
        put({ ConditionExpression: 'a < :b', ExpressionAttributeValues: { ':b': { BOOL: true } } }),
      ),
    ).toMatch(/operator or function: <, operand type: BOOL/);
    expect(
      validationMessage(
        put({
          ConditionExpression: 'a BETWEEN :hi AND :lo',
          ExpressionAttributeValues: { ':hi': N(2), ':lo': N(1) },
        }),
      ),
    ).toMatch(/BETWEEN/);
    expect(
      validationMessage(put({ ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: {} })),
    ).toMatch(/must not be empty/);
  });
});

describe('update expressions', () => {
  function updated(before: SdkItem, update: string, values: SdkItem = {}): SdkItem | undefined {
    const sim = engine();
    sim.execute(R, new PutItemCommand({ TableName: T, Item: { pk: S('k'), ...before } }));
    sim.execute(
      R,
      new UpdateItemCommand({
        TableName: T,
        Key: { pk: S('k') },
        UpdateExpression: update,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
      }),
    );
    const { pk: _pk, ...rest } = sim.getItem(R, T, { pk: S('k') }) ?? {};
    return rest;
  }

  test('SET: values, other attributes, arithmetic, if_not_exists and list_append read the old item', () => {
    expect(
      updated(
        { a: N(1), b: N(2), l: { L: [N(1)] } },
        'SET a = b, b = a, c = if_not_exists(c, :z) + :one, l = list_append(l, :l)',
        {
          ':z': N(10),
          ':one': N(1),
          ':l': { L: [N(2)] },
        },
      ),
    ).toEqual({ a: N(2), b: N(1), c: N(11), l: { L: [N(1), N(2)] } });
    expect(updated({ a: N('12345678901234567890123') }, 'SET a = a - :one', { ':one': N(1) })).toEqual({
      a: N('12345678901234567890122'),
    });
  });

  test('REMOVE, ADD and DELETE; a set emptied by DELETE is removed', () => {
    expect(
      updated(
        { a: N(1), gone: S('x'), tags: { SS: ['a', 'b'] }, nums: { NS: ['1'] } },
        'REMOVE gone ADD a :two, tags :c, fresh :two DELETE nums :one',
        {
          ':two': N(2),
          ':c': { SS: ['c', 'a'] },
          ':one': { NS: ['1'] },
        },
      ),
    ).toEqual({ a: N(3), tags: { SS: ['a', 'b', 'c'] }, fresh: N(2) });
  });

  test('nested SET and REMOVE, past the end of a list appends', () => {
    expect(
      updated(
        { m: { M: { x: S('a'), l: { L: [N(1), N(2)] } } } },
        'SET m.y = :v, m.l[9] = :v REMOVE m.l[0], m.x',
        {
          ':v': S('v'),
        },
      ),
    ).toEqual({ m: { M: { y: S('v'), l: { L: [N(2), S('v')] } } } });
  });

  test('refuses key attributes, overlapping paths, missing operands and wrong types', () => {
    const sim = engine();
    sim.execute(R, new PutItemCommand({ TableName: T, Item: { pk: S('k'), s: S('x') } }));
    const update = (UpdateExpression: string, values?: SdkItem) => () =>
      sim.execute(
        R,
        new UpdateItemCommand({
          TableName: T,
          Key: { pk: S('k') },
          UpdateExpression,
          ExpressionAttributeValues: values,
        }),
      );
    expect(validationMessage(update('SET pk = :v', { ':v': S('y') }))).toMatch(/part of the key/);
    expect(validationMessage(update('SET a = :v REMOVE a', { ':v': S('y') }))).toMatch(/overlap/);
    expect(validationMessage(update('SET a = nope + :v', { ':v': N(1) }))).toMatch(
      /does not exist in the item/,
    );
    expect(validationMessage(update('SET a = s + :v', { ':v': N(1) }))).toMatch(/incorrect data type/);
    expect(validationMessage(update('ADD s :v', { ':v': S('y') }))).toMatch(/operator or function: ADD/);
    expect(validationMessage(update('SET nope.x = :v', { ':v': S('y') }))).toMatch(/document path provided/);
    expect(validationMessage(update('SET a = :v SET b = :v', { ':v': S('y') }))).toMatch(/only be used once/);
    expect(parseUpdate('SET a = :v')).toBe(parseUpdate('SET a = :v'));
  });

  test('ReturnValues: UPDATED_OLD and UPDATED_NEW hold only the attributes the update touched', () => {
    const sim = engine();
    sim.execute(R, new PutItemCommand({ TableName: T, Item: { pk: S('k'), a: N(1), b: N(1) } }));
    const run = (rv: 'UPDATED_OLD' | 'UPDATED_NEW' | 'ALL_NEW' | 'ALL_OLD') =>
      sim.execute(
        R,
        new UpdateItemCommand({
          TableName: T,
          Key: { pk: S('k') },
          UpdateExpression: 'ADD a :one',
          ExpressionAttributeValues: { ':one': N(1) },
          ReturnValues: rv,
        }),
      ).Attributes;
    expect(run('UPDATED_OLD')).toEqual({ a: N(1) });
    expect(run('UPDATED_NEW')).toEqual({ a: N(3) });
    expect(run('ALL_OLD')).toEqual({ pk: S('k'), a: N(3), b: N(1) });
    expect(run('ALL_NEW')).toEqual({ pk: S('k'), a: N(5), b: N(1) });
  });
});

describe('projections, queries and scans', () => {
  function sorted(): SimDynamo {
    const sim = new SimDynamo();
    sim.createTable(R, { name: T, partitionKey: 'pk', sortKey: 'sk', sortKeyType: 'N', stream: false });
    for (const pk of ['a', 'b', 'c'])
      for (const sk of [1, 2, 10, 11])
        sim.execute(
          R,
          new PutItemCommand({
            TableName: T,
            Item: { pk: S(pk), sk: N(sk), v: S(`${pk}${sk}`), m: { M: { x: N(sk) } } },
          }),
        );
    return sim;
  }

  test('GetItem projects top-level and nested attributes', () => {
    const sim = sorted();
    const out = sim.execute(
      R,
      new GetItemCommand({ TableName: T, Key: { pk: S('a'), sk: N(2) }, ProjectionExpression: 'v, m.x' }),
    );
    expect(out.Item).toEqual({ v: S('a2'), m: { M: { x: N(2) } } });
  });

  test('Query selects a partition in numeric sort-key order, both ways, with key conditions on the sort key', () => {
    const sim = sorted();
    const q = (extra: object, values: SdkItem = {}) =>
      (
        sim.execute(
          R,
          new QueryCommand({
            TableName: T,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': S('b'), ...values },
            ...extra,
          }),
        ).Items as SdkItem[]
      ).map((i) => i.sk.N);
    expect(q({})).toEqual(['1', '2', '10', '11']);
    expect(q({ ScanIndexForward: false })).toEqual(['11', '10', '2', '1']);
    expect(
      q({ KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi' }, { ':lo': N(2), ':hi': N(10) }),
    ).toEqual(['2', '10']);
    expect(
      q(
        { KeyConditionExpression: 'pk = :p AND sk > :lo', FilterExpression: 'v <> :v' },
        { ':lo': N(1), ':v': S('b10') },
      ),
    ).toEqual(['2', '11']);
  });

  test('Limit and ExclusiveStartKey page through a Scan segment by segment, each item exactly once', () => {
    const sim = sorted();
    const seen: string[] = [];
    for (let segment = 0; segment < 3; segment += 1) {
      let start: SdkItem | undefined;
      do {
        const page = sim.execute(
          R,
          new ScanCommand({
            TableName: T,
            Segment: segment,
            TotalSegments: 3,
            Limit: 2,
            ExclusiveStartKey: start,
          }),
        );
        seen.push(...(page.Items as SdkItem[]).map((i) => i.v.S!));
        start = page.LastEvaluatedKey as SdkItem | undefined;
      } while (start);
    }
    expect(seen.sort()).toEqual(
      ['a', 'b', 'c'].flatMap((pk) => [1, 2, 10, 11].map((sk) => `${pk}${sk}`)).sort(),
    );
  });

  test('DeleteItem with a failed condition leaves the item', () => {
    const sim = sorted();
    expect(() =>
      sim.execute(
        R,
        new DeleteItemCommand({
          TableName: T,
          Key: { pk: S('a'), sk: N(1) },
          ConditionExpression: 'v = :v',
          ExpressionAttributeValues: { ':v': S('other') },
        }),
      ),
    ).toThrow(expect.objectContaining({ name: 'ConditionalCheckFailedException' }));
    expect(sim.getItem(R, T, { pk: S('a'), sk: N(1) })?.v).toEqual(S('a1'));
  });
});
