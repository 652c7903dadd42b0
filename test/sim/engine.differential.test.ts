/**
 * Keeps the simulator's DynamoDB model honest: random request sequences, built from the shapes the
 * project's code sends (lambda/core/apply.ts, origin.ts), run on DynamoDB Local and on the model must
 * give the same outputs, errors, consumed capacity, final items and stream records.
 *
 * Not generated, because the model follows AWS where DynamoDB Local differs
 * (docs/platform.md#simulator-model): an update inside a transaction that cannot apply to its item,
 * and a ConditionCheck on an item over 1 KB.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { StreamReader } from '../../lib/local/stream-reader';
import { compareSequence } from '../../lambda/contract';
import { client, createTable, uniqueName } from '../support/dynamo';
import { SimDynamo } from './engine';

const REGION = 'eu-west-1';
const RUNS = Number(process.env.DDBM_DIFF_RUNS ?? 100);
const MAX_REQUESTS = 20;

// ---------------------------------------------------------------------------------------------
// The request language: abstract requests, rendered to SDK commands the same way for both sides.

type Role = 'A' | 'B';
/** A: partition key only; B: string partition key and number sort key. */
const KEYS: Record<Role, Record<string, AttributeValue>[]> = {
  A: [{ pk: { S: 'k0' } }, { pk: { S: 'k1' } }, { pk: { S: 'k2' } }],
  B: [
    { pk: { S: 'k0' }, sk: { N: '1' } },
    { pk: { S: 'k0' }, sk: { N: '10' } },
    { pk: { S: 'k1' }, sk: { N: '1' } },
  ],
};

type Attr = 'ver' | 'sver' | 'ord' | 'data' | 'tags' | 'extra' | 'pad' | 'cnt';
const ATTRS: Attr[] = ['ver', 'sver', 'ord', 'data', 'tags', 'extra', 'pad', 'cnt'];
type Op = '=' | '<>' | '<' | '<=' | '>' | '>=';
const OPS: Op[] = ['=', '<>', '<', '<=', '>', '>='];

type Cond =
  | { readonly k: 'exists' | 'not_exists'; readonly a: Attr | 'pk' }
  | { readonly k: 'cmp'; readonly op: Op; readonly a: Attr; readonly v: AttributeValue }
  | { readonly k: 'paths'; readonly op: Op; readonly a: Attr; readonly b: Attr }
  | { readonly k: 'begins'; readonly a: Attr; readonly v: AttributeValue }
  | { readonly k: 'between'; readonly a: Attr; readonly lo: AttributeValue; readonly hi: AttributeValue }
  | { readonly k: 'in'; readonly a: Attr; readonly vs: AttributeValue[] }
  | { readonly k: 'size'; readonly op: Op; readonly a: Attr; readonly n: number }
  | { readonly k: 'contains'; readonly a: Attr; readonly v: AttributeValue }
  | { readonly k: 'type'; readonly a: Attr; readonly t: string }
  | { readonly k: 'and' | 'or'; readonly l: Cond; readonly r: Cond }
  | { readonly k: 'not'; readonly c: Cond };

type Action =
  | { readonly k: 'set'; readonly a: Attr; readonly v: AttributeValue }
  | { readonly k: 'copy'; readonly a: Attr; readonly b: Attr }
  | { readonly k: 'counter' }
  | { readonly k: 'add' | 'delete'; readonly a: Attr; readonly v: AttributeValue }
  | { readonly k: 'remove'; readonly a: Attr };

type ReturnValues = 'NONE' | 'ALL_OLD' | 'ALL_NEW' | 'UPDATED_OLD' | 'UPDATED_NEW';
type Capacity = 'TOTAL' | 'INDEXES';

type Request =
  | {
      readonly k: 'put';
      readonly table: Role;
      readonly key: number;
      readonly item: Partial<Record<Attr, AttributeValue>>;
      readonly cond?: Cond;
      readonly rv: 'NONE' | 'ALL_OLD';
      readonly onFail: boolean;
      readonly cap: Capacity;
    }
  | {
      readonly k: 'update';
      readonly table: Role;
      readonly key: number;
      readonly actions: Action[];
      readonly cond?: Cond;
      readonly rv: ReturnValues;
      readonly onFail: boolean;
      readonly cap: Capacity;
    }
  | {
      readonly k: 'delete';
      readonly table: Role;
      readonly key: number;
      readonly cond?: Cond;
      readonly rv: 'NONE' | 'ALL_OLD';
      readonly onFail: boolean;
      readonly cap: Capacity;
    }
  | {
      /** apply.ts's delete: Delete(item) + Update(tombstone), here across the two tables. */
      readonly k: 'tx';
      readonly del: { readonly key: number; readonly cond?: Cond };
      readonly upd: {
        readonly table: Role;
        readonly key: number;
        readonly actions: Action[];
        readonly cond?: Cond;
      };
      readonly cap: Capacity;
    }
  | {
      readonly k: 'get';
      readonly table: Role;
      readonly key: number;
      readonly consistent: boolean;
      readonly cap: Capacity;
    };

// ---------------------------------------------------------------------------------------------
// Generators.

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
const pad10 = (n: number, w: number) => String(n).padStart(w, '0');

const ORDS = [0, 1].flatMap((gen) =>
  [1, 2, 3].flatMap((ver) =>
    ['eu-west-1', 'us-east-1'].flatMap((origin) =>
      [0, 1].map((d) => `${pad10(gen, 10)}#${pad10(ver, 20)}#${origin}#${d}`),
    ),
  ),
);
const ord = fc.constantFrom(...ORDS).map(S);
const ordPrefix = fc
  .constantFrom('0000000000#', '0000000001#', `${pad10(0, 10)}#${pad10(2, 20)}#`, '')
  .map(S);
const version = fc
  .constantFrom('1', '2', '3', '2.5', '-1', '100', '12345678901234567890123', '12345678901234567890124')
  .map(N);
const data = fc.constantFrom('a', 'b', 'ab', 'é', '😀', '\uFFFD', '').map(S);
const tags = fc
  .uniqueArray(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })
  .map((SS) => ({ SS }));
const extra = fc.oneof<fc.Arbitrary<AttributeValue>[]>(
  tags,
  fc.uniqueArray(fc.constantFrom('1', '10', '2.5'), { minLength: 1, maxLength: 3 }).map((NS) => ({ NS })),
  fc.boolean().map((BOOL) => ({ BOOL })),
  fc.constant({ NULL: true }),
  fc.constant({ L: [N('1'), S('x'), { M: { y: { BOOL: false } } }] }),
  // Nested numbers in their normalized spelling: DynamoDB Local keeps the spelling it was sent
  // (docs/platform.md#simulator-model), though it compares them as numbers.
  fc.constant({ M: { x: S('y'), n: N('12.5') } }),
  fc.constantFrom([1, 2], [1, 3], [255]).map((b) => ({ B: new Uint8Array(b) })),
  fc.constantFrom('1', '1.0', '-0.5').map(N),
  data,
);
// Sizes around the 1 KB write unit and the 4 KB read unit.
const pad = fc
  .oneof(fc.integer({ min: 990, max: 1030 }), fc.integer({ min: 4060, max: 4100 }), fc.constant(1))
  .map((n) => S('x'.repeat(n)));

/** A value of the attribute's usual type, now and then of another one. */
function valueFor(a: Attr): fc.Arbitrary<AttributeValue> {
  const usual: Record<Attr, fc.Arbitrary<AttributeValue>> = {
    ver: version,
    sver: version,
    cnt: version,
    ord: fc.oneof(ord, ordPrefix),
    data,
    tags,
    extra,
    pad,
  };
  return fc.oneof({ arbitrary: usual[a], weight: 5 }, { arbitrary: fc.oneof(data, version), weight: 1 });
}

const attr = fc.constantFrom(...ATTRS);
const cmpOp = fc.constantFrom(...OPS);

const atom: fc.Arbitrary<Cond> = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constantFrom('exists' as const, 'not_exists' as const),
      a: fc.constantFrom<Attr | 'pk'>('pk', ...ATTRS),
    }),
    weight: 4,
  },
  {
    arbitrary: attr.chain((a) =>
      fc.record({ k: fc.constant('cmp' as const), op: cmpOp, a: fc.constant(a), v: valueFor(a) }),
    ),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('paths' as const),
      op: cmpOp,
      a: fc.constantFrom<Attr>('sver', 'ver', 'cnt'),
      // The same attribute on both sides is a ValidationException: now and then.
      b: fc.constantFrom<Attr>('ver', 'cnt', 'sver', 'ver', 'cnt', 'sver', 'extra'),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('begins' as const),
      a: fc.constantFrom<Attr>('ord', 'data', 'extra'),
      v: fc.oneof(ordPrefix, data),
    }),
    weight: 3,
  },
  {
    arbitrary: fc
      .record({
        a: fc.constantFrom<Attr>('ver', 'ord'),
        // Bounds of two types are a ValidationException: now and then.
        bounds: fc.oneof(
          { arbitrary: fc.tuple(version, version), weight: 2 },
          { arbitrary: fc.tuple(ord, ord), weight: 2 },
          { arbitrary: fc.tuple(version, ord), weight: 1 },
        ),
      })
      .map(({ a, bounds: [lo, hi] }) => ({ k: 'between' as const, a, lo, hi })),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('in' as const),
      a: fc.constantFrom<Attr>('data', 'ver'),
      vs: fc.array(fc.oneof(data, version), { minLength: 1, maxLength: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('size' as const),
      op: cmpOp,
      a: fc.constantFrom<Attr>('data', 'tags', 'extra', 'ord'),
      n: fc.integer({ min: 0, max: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('contains' as const),
      a: fc.constantFrom<Attr>('tags', 'data', 'extra'),
      v: fc.oneof(data, fc.constantFrom('a', 'b', 'c').map(S), fc.constant(N('1'))),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('type' as const),
      a: attr,
      t: fc.constantFrom('S', 'N', 'SS', 'NS', 'BOOL', 'NULL', 'L', 'M', 'B'),
    }),
    weight: 1,
  },
);

const condition: fc.Arbitrary<Cond> = fc.letrec<{ c: Cond }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: atom, weight: 6 },
    {
      arbitrary: fc.record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('c'), r: tie('c') }),
      weight: 2,
    },
    { arbitrary: fc.record({ k: fc.constant('not' as const), c: tie('c') }), weight: 1 },
  ),
})).c;
const maybeCondition = fc.option(condition, { nil: undefined, freq: 3 });

/** Actions that apply to any item the generators make (no missing operand, no type clash). */
const safeAction: fc.Arbitrary<Action> = fc.oneof(
  fc
    .constantFrom<Attr>('data', 'ord', 'extra', 'pad', 'sver')
    .chain((a) => valueFor(a).map((v) => ({ k: 'set' as const, a, v }))),
  fc.constant({ k: 'counter' as const }),
  fc.record({
    k: fc.constant('remove' as const),
    a: fc.constantFrom<Attr>('data', 'extra', 'pad', 'tags', 'sver'),
  }),
  fc.record({ k: fc.constantFrom('add' as const, 'delete' as const), a: fc.constant<Attr>('tags'), v: tags }),
);
/** Also actions that fail on some items: a missing operand, arithmetic on a non-number. */
const anyAction: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: safeAction, weight: 6 },
  {
    arbitrary: fc.record({
      k: fc.constant('copy' as const),
      a: fc.constantFrom<Attr>('data', 'sver'),
      b: fc.constantFrom<Attr>('ver', 'data', 'cnt'),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('add' as const),
      a: fc.constantFrom<Attr>('ver', 'extra'),
      v: fc.constantFrom('1', '-1', '0.5').map(N),
    }),
    weight: 2,
  },
);
const distinct = (actions: fc.Arbitrary<Action>) =>
  fc.uniqueArray(actions, {
    minLength: 1,
    maxLength: 4,
    selector: (a) => (a.k === 'counter' ? 'cnt' : a.k === 'copy' ? a.a : a.a),
  });

const role = fc.constantFrom<Role>('A', 'B');
const keyIndex = fc.integer({ min: 0, max: 2 });
const cap = fc.constantFrom<Capacity>('TOTAL', 'INDEXES');

const request: fc.Arbitrary<Request> = fc.oneof(
  {
    arbitrary: fc.record({
      k: fc.constant('put' as const),
      table: role,
      key: keyIndex,
      item: fc.record(
        { ver: version, sver: version, ord, data, tags, extra, pad, cnt: version },
        { requiredKeys: [] },
      ) as fc.Arbitrary<Partial<Record<Attr, AttributeValue>>>,
      cond: maybeCondition,
      rv: fc.constantFrom('NONE' as const, 'ALL_OLD' as const),
      onFail: fc.boolean(),
      cap,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('update' as const),
      table: role,
      key: keyIndex,
      actions: distinct(anyAction),
      cond: maybeCondition,
      rv: fc.constantFrom<ReturnValues>('NONE', 'ALL_OLD', 'ALL_NEW', 'UPDATED_OLD', 'UPDATED_NEW'),
      onFail: fc.boolean(),
      cap,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('delete' as const),
      table: role,
      key: keyIndex,
      cond: maybeCondition,
      rv: fc.constantFrom('NONE' as const, 'ALL_OLD' as const),
      onFail: fc.boolean(),
      cap,
    }),
    weight: 2,
  },
  {
    arbitrary: fc
      .record({
        k: fc.constant('tx' as const),
        del: fc.record({ key: keyIndex, cond: maybeCondition }),
        upd: fc.record({
          table: fc.constantFrom<Role>('B', 'B', 'B', 'A'),
          key: keyIndex,
          actions: distinct(safeAction),
          cond: maybeCondition,
        }),
        cap,
      })
      // Now and then on the deleted item itself: a ValidationException on both sides. Without
      // conditions: when one fails, DynamoDB Local cancels instead and returns, as the old item,
      // something the other action wrote.
      .map((tx) =>
        tx.upd.table === 'A' && tx.upd.key === tx.del.key
          ? { ...tx, del: { key: tx.del.key }, upd: { ...tx.upd, cond: undefined } }
          : tx,
      ),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('get' as const),
      table: role,
      key: keyIndex,
      consistent: fc.boolean(),
      cap,
    }),
    weight: 1,
  },
);

// ---------------------------------------------------------------------------------------------
// Rendering.

class Placeholders {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private n = 0;
  name(a: string): string {
    this.names[`#${a}`] = a;
    return `#${a}`;
  }
  value(v: AttributeValue): string {
    const p = `:v${this.n++}`;
    this.values[p] = v;
    return p;
  }
  spread() {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

function renderCondition(c: Cond, ph: Placeholders): string {
  switch (c.k) {
    case 'exists':
      return `attribute_exists(${ph.name(c.a)})`;
    case 'not_exists':
      return `attribute_not_exists(${ph.name(c.a)})`;
    case 'cmp':
      return `${ph.name(c.a)} ${c.op} ${ph.value(c.v)}`;
    case 'paths':
      return `${ph.name(c.a)} ${c.op} ${ph.name(c.b)}`;
    case 'begins':
      return `begins_with(${ph.name(c.a)}, ${ph.value(c.v)})`;
    case 'between':
      return `${ph.name(c.a)} BETWEEN ${ph.value(c.lo)} AND ${ph.value(c.hi)}`;
    case 'in':
      return `${ph.name(c.a)} IN (${c.vs.map((v) => ph.value(v)).join(', ')})`;
    case 'size':
      return `size(${ph.name(c.a)}) ${c.op} ${ph.value(N(String(c.n)))}`;
    case 'contains':
      return `contains(${ph.name(c.a)}, ${ph.value(c.v)})`;
    case 'type':
      return `attribute_type(${ph.name(c.a)}, ${ph.value(S(c.t))})`;
    case 'and':
    case 'or':
      return `(${renderCondition(c.l, ph)}) ${c.k.toUpperCase()} (${renderCondition(c.r, ph)})`;
    case 'not':
      return `NOT (${renderCondition(c.c, ph)})`;
  }
}

function renderUpdate(actions: readonly Action[], ph: Placeholders): string {
  const set: string[] = [];
  const remove: string[] = [];
  const add: string[] = [];
  const del: string[] = [];
  for (const a of actions) {
    if (a.k === 'set') set.push(`${ph.name(a.a)} = ${ph.value(a.v)}`);
    else if (a.k === 'copy') set.push(`${ph.name(a.a)} = ${ph.name(a.b)}`);
    else if (a.k === 'counter')
      set.push(
        `${ph.name('cnt')} = if_not_exists(${ph.name('cnt')}, ${ph.value(N('0'))}) + ${ph.value(N('1'))}`,
      );
    else if (a.k === 'remove') remove.push(ph.name(a.a));
    else if (a.k === 'add') add.push(`${ph.name(a.a)} ${ph.value(a.v)}`);
    else del.push(`${ph.name(a.a)} ${ph.value(a.v)}`);
  }
  return [
    set.length ? `SET ${set.join(', ')}` : '',
    remove.length ? `REMOVE ${remove.join(', ')}` : '',
    add.length ? `ADD ${add.join(', ')}` : '',
    del.length ? `DELETE ${del.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

type Command =
  PutItemCommand | UpdateItemCommand | DeleteItemCommand | GetItemCommand | TransactWriteItemsCommand;

/** A fresh command for `r` (one per side: nothing is shared between them). */
function render(r: Request, tables: Record<Role, string>): Command {
  const ph = new Placeholders();
  const cond = (c: Cond | undefined) => (c ? { ConditionExpression: renderCondition(c, ph) } : {});
  const onFail = (yes: boolean) => (yes ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {});
  switch (r.k) {
    case 'put': {
      const item = { ...(r.item as Record<string, AttributeValue>), ...KEYS[r.table][r.key] };
      const c = cond(r.cond);
      return new PutItemCommand({
        TableName: tables[r.table],
        Item: item,
        ...c,
        ...ph.spread(),
        ReturnValues: r.rv,
        ...onFail(r.onFail),
        ReturnConsumedCapacity: r.cap,
      });
    }
    case 'update': {
      const update = renderUpdate(r.actions, ph);
      const c = cond(r.cond);
      return new UpdateItemCommand({
        TableName: tables[r.table],
        Key: KEYS[r.table][r.key],
        UpdateExpression: update,
        ...c,
        ...ph.spread(),
        ReturnValues: r.rv,
        ...onFail(r.onFail),
        ReturnConsumedCapacity: r.cap,
      });
    }
    case 'delete': {
      const c = cond(r.cond);
      return new DeleteItemCommand({
        TableName: tables[r.table],
        Key: KEYS[r.table][r.key],
        ...c,
        ...ph.spread(),
        ReturnValues: r.rv,
        ...onFail(r.onFail),
        ReturnConsumedCapacity: r.cap,
      });
    }
    case 'get':
      return new GetItemCommand({
        TableName: tables[r.table],
        Key: KEYS[r.table][r.key],
        ConsistentRead: r.consistent,
        ReturnConsumedCapacity: r.cap,
      });
    case 'tx': {
      const delPh = new Placeholders();
      const delCond = r.del.cond ? { ConditionExpression: renderCondition(r.del.cond, delPh) } : {};
      const updPh = new Placeholders();
      const update = renderUpdate(r.upd.actions, updPh);
      const updCond = r.upd.cond ? { ConditionExpression: renderCondition(r.upd.cond, updPh) } : {};
      const items: TransactWriteItem[] = [
        {
          Delete: {
            TableName: tables.A,
            Key: KEYS.A[r.del.key],
            ...delCond,
            ...delPh.spread(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: tables[r.upd.table],
            Key: KEYS[r.upd.table][r.upd.key],
            UpdateExpression: update,
            ...updCond,
            ...updPh.spread(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ];
      return new TransactWriteItemsCommand({ TransactItems: items, ReturnConsumedCapacity: r.cap });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Comparable forms (independent of the model's own code).

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** A value with binaries as base64 and set members sorted: equal values, equal JSON. */
function canon(v: unknown): Json {
  if (v instanceof Uint8Array) return `b64:${Buffer.from(v).toString('base64')}`;
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, Json> = {};
    for (const k of Object.keys(o).sort()) {
      if (o[k] === undefined) continue;
      // Stream images carry binaries as base64 strings, SDK values as bytes.
      const bytes = (b: unknown) =>
        `b64:${typeof b === 'string' ? b : Buffer.from(b as Uint8Array).toString('base64')}`;
      if (k === 'SS' || k === 'NS') out[k] = (o[k] as string[]).slice().sort();
      else if (k === 'BS') out[k] = (o[k] as unknown[]).map(bytes).sort();
      else if (k === 'B') out[k] = bytes(o[k]);
      else if (k === 'N' && typeof o[k] === 'string') out[k] = dropFractionZeros(o[k] as string);
      else out[k] = canon(o[k]);
    }
    return out;
  }
  return v as Json;
}

/**
 * DynamoDB Local's arithmetic keeps the scale of its operands (ADD 0.5 to 2.5 stores "3.0"); AWS, and
 * the model, store every number normalized ("3"), as Local does for numbers it is sent.
 */
const dropFractionZeros = (n: string) => n.replace(/^(-?\d+)(?:\.0+|(\.\d*?[1-9])0+)$/, '$1$2');

interface Outcome {
  readonly ok?: { readonly attributes?: Json; readonly item?: Json; readonly capacity: Json };
  readonly error?: { readonly name: string; readonly item?: Json; readonly reasons?: Json };
}

function capacityOf(out: Record<string, unknown>, roles: Record<string, Role>): Json {
  const c = out.ConsumedCapacity as
    { TableName: string; CapacityUnits: number } | { TableName: string; CapacityUnits: number }[] | undefined;
  const list = c === undefined ? [] : Array.isArray(c) ? c : [c];
  return list
    .map((x) => [roles[x.TableName], x.CapacityUnits] as [Role, number])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function outcome(run: () => Record<string, unknown>, roles: Record<string, Role>): Outcome {
  try {
    const out = run();
    return {
      ok: {
        attributes: canon(out.Attributes) ?? null,
        item: canon(out.Item) ?? null,
        capacity: capacityOf(out, roles),
      },
    };
  } catch (e) {
    const err = e as {
      name: string;
      Item?: unknown;
      CancellationReasons?: { Code?: string; Item?: unknown }[];
    };
    return {
      error: {
        name: err.name,
        item: canon(err.Item) ?? null,
        reasons: err.CancellationReasons
          ? err.CancellationReasons.map((r) => ({ code: r.Code ?? null, item: canon(r.Item) ?? null }))
          : null,
      },
    };
  }
}

async function outcomeAsync(
  run: () => Promise<Record<string, unknown>>,
  roles: Record<string, Role>,
): Promise<Outcome> {
  let result: Record<string, unknown> | undefined;
  let error: unknown;
  try {
    result = await run();
  } catch (e) {
    error = e;
  }
  return outcome(() => {
    if (result) return result;
    throw error;
  }, roles);
}

/**
 * DynamoDB Local lists a transaction's capacity per table in its own order (AWS: in the order of the
 * actions), and bills a transactional Delete of a missing item half a unit (the table's total rounded up);
 * the model bills every action twice a standard write (docs/platform.md#simulator-model). Both are
 * mapped to Local's form here.
 */
function localBilling(o: Outcome, missingDelete: boolean): Outcome {
  if (!o.ok || !Array.isArray(o.ok.capacity) || o.ok.capacity.length === 0) return o;
  let list = o.ok.capacity as [Role, number][];
  // Local: half a unit for the missing item's Delete, the table's total rounded up.
  if (missingDelete)
    list = list.map(([role, units]) => [role, role === 'A' ? Math.ceil(units - 1.5) : units]);
  return { ok: { ...o.ok, capacity: [...list].sort((a, b) => (a[0] < b[0] ? -1 : 1)) } };
}

const withoutCapacity = (o: Outcome): Outcome => (o.ok ? { ok: { ...o.ok, capacity: 'not compared' } } : o);

const recordForm = (r: DynamoDBRecord) => ({
  eventName: r.eventName ?? null,
  keys: canon(r.dynamodb?.Keys) ?? null,
  newImage: canon(r.dynamodb?.NewImage) ?? null,
  oldImage: canon(r.dynamodb?.OldImage) ?? null,
  sizeBytes: r.dynamodb?.SizeBytes ?? null,
});

function strictlyIncreasing(records: readonly DynamoDBRecord[]): boolean {
  const seq = records.map((r) => r.dynamodb!.SequenceNumber!);
  return seq.every((s, i) => /^[0-9]{21,40}$/.test(s) && (i === 0 || compareSequence(seq[i - 1], s) < 0));
}

async function readAll(reader: StreamReader): Promise<DynamoDBRecord[]> {
  const out: DynamoDBRecord[] = [];
  for (;;) {
    const batch = await reader.pollRecords();
    if (!batch.length) return out;
    out.push(...batch);
  }
}

async function scanLocal(table: string): Promise<Json[]> {
  const res = await client(REGION).send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return (res.Items ?? []).map(canon).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

const sortJson = (items: unknown[]) =>
  items.map(canon).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

// ---------------------------------------------------------------------------------------------

describe('the DynamoDB model against DynamoDB Local', () => {
  const stats = { runs: 0, requests: 0, conditionFailures: 0, validations: 0, cancellations: 0, records: 0 };
  const started = Date.now();

  afterAll(() => {
    if (process.env.DDBM_DIFF_STATS)
      process.stdout.write(`differential: ${JSON.stringify({ ...stats, ms: Date.now() - started })}\n`);
  });

  test('gives the same outputs, errors, capacity, items and stream records for random request sequences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: MAX_REQUESTS, size: 'max' }),
        async (requests) => {
          stats.runs += 1;
          const tables: Record<Role, string> = { A: uniqueName('DiffA'), B: uniqueName('DiffB') };
          const roles: Record<string, Role> = { [tables.A]: 'A', [tables.B]: 'B' };
          const arnA = await createTable(
            REGION,
            tables.A,
            { partitionKey: { name: 'pk', type: 'S' } },
            { withStream: true },
          );
          const arnB = await createTable(
            REGION,
            tables.B,
            { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
            { withStream: true },
          );
          const sim = new SimDynamo();
          sim.createTable(REGION, { name: tables.A, partitionKey: 'pk', stream: true });
          sim.createTable(REGION, {
            name: tables.B,
            partitionKey: 'pk',
            sortKey: 'sk',
            sortKeyType: 'N',
            stream: true,
          });

          for (const [i, r] of requests.entries()) {
            stats.requests += 1;
            let local = await outcomeAsync(
              () =>
                client(REGION).send(render(r, tables) as never) as unknown as Promise<
                  Record<string, unknown>
                >,
              roles,
            );
            const missingDelete = r.k === 'tx' && !sim.getItem(REGION, tables.A, KEYS.A[r.del.key]);
            let model = localBilling(
              outcome(() => sim.execute(REGION, render(r, tables)), roles),
              missingDelete,
            );
            // Local adds up the sizes of a transaction's actions on one table before it rounds (two small
            // writes: 2 units); AWS bills each action (docs/platform.md#simulator-model). Not compared.
            if (r.k === 'tx' && r.upd.table === 'A') {
              model = withoutCapacity(model);
              local = withoutCapacity(local);
            }
            if (local.error?.name === 'ConditionalCheckFailedException') stats.conditionFailures += 1;
            if (local.error?.name === 'ValidationException') stats.validations += 1;
            if (local.error?.name === 'TransactionCanceledException') stats.cancellations += 1;
            expect({ step: i, request: r, ...model }).toEqual({ step: i, request: r, ...local });
          }

          expect(sortJson(sim.items(REGION, tables.A))).toEqual(await scanLocal(tables.A));
          expect(sortJson(sim.items(REGION, tables.B))).toEqual(await scanLocal(tables.B));

          for (const [role, arn] of [
            ['A', arnA],
            ['B', arnB],
          ] as const) {
            const localRecords = await readAll(new StreamReader({ region: REGION, streamArn: arn! }));
            const modelRecords = sim.stream(REGION, tables[role]);
            stats.records += modelRecords.length;
            expect(modelRecords.map(recordForm)).toEqual(localRecords.map(recordForm));
            expect(strictlyIncreasing(modelRecords)).toBe(true);
            expect(strictlyIncreasing(localRecords)).toBe(true);
          }
          // One sequence for the region: no number appears in both tables' streams.
          const all = [...sim.stream(REGION, tables.A), ...sim.stream(REGION, tables.B)].map(
            (x) => x.dynamodb!.SequenceNumber,
          );
          expect(new Set(all).size).toBe(all.length);
        },
      ),
      { numRuns: RUNS, ...(process.env.DDBM_DIFF_SEED ? { seed: Number(process.env.DDBM_DIFF_SEED) } : {}) },
    );
  });
});
