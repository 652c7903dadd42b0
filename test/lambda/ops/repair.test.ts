import type { CompareTable } from '../../../lambda/contract';
import type { Image } from '../../../lambda/core/attributes';
import { itemOrder } from '../../../lambda/core/item-order';
import { deleteOrdOf, formatOrd, parseOrd } from '../../../lambda/core/order';
import { planRepair, raisedOrd, type Holding, type RepairWrite } from '../../../lambda/ops/repair';
import { multiActiveSettings, N, S } from '../../support/records';

/** How repair orders copies that share an order key: pure, no engine. */

const [A, B, C] = ['ap-south-1', 'eu-west-1', 'us-east-1'];
const table: CompareTable = {
  name: 'Orders',
  mode: 'multi-active',
  regions: [A, B, C],
  keyNames: ['pk'],
  excludeAttributes: [],
};
const settings = Object.fromEntries(
  [A, B, C].map((r) => [
    r,
    multiActiveSettings({
      region: r,
      peers: [A, B, C].filter((p) => p !== r).map((p) => ({ region: p, parkingQueueUrl: 'q' })),
    }),
  ]),
);
const key = { pk: S('k') };
const ord = (version: number, origin: string) =>
  formatOrd({ gen: 2, version: String(version), origin, deleted: false });
/** An item a replicator wrote at `ordKey` (ordered: `_ddbm_ver` is its version). */
const ordered = (data: string, ordKey: string, version = 7): Image => ({
  ...key,
  version: N(version),
  data: S(data),
  _ddbm_ord: S(ordKey),
  _ddbm_ver: N(version),
});
const holding = (region: string, item?: Image): Holding => ({
  region,
  tombstone: null,
  ...(item ? { item } : {}),
});
const summary = (writes: readonly RepairWrite[]) =>
  writes
    .map(
      (w) =>
        `${w.region} ${w.intent.op} ${w.intent.ord} ${w.intent.op === 'put' ? w.intent.item.data.S : ''}`,
    )
    .sort();

describe('raisedOrd', () => {
  test('orders after the copy it raises and every other origin below it, before the next save, and parses back', () => {
    // GIVEN the order key two regions share, saved by eu-west-1 at version 7
    const shared = ord(7, B);

    // WHEN
    const raised = raisedOrd(shared);

    // THEN it is a multi-active order key at the same generation and version
    expect(parseOrd(raised)).toEqual({ gen: 2, version: '7', origin: `${B}+`, deleted: false });
    // AND it sorts after the shared key, its delete and a save of the same version from an origin before it
    for (const below of [shared, deleteOrdOf(parseOrd(shared)!), ord(7, A)])
      expect(raised > below).toBe(true);
    // AND before the next save anywhere, the delete of the raised state and the next generation
    for (const above of [
      ord(8, A),
      deleteOrdOf(parseOrd(raised)!),
      formatOrd({ ...parseOrd(shared)!, gen: 3 }),
    ])
      expect(raised < above).toBe(true);
    // AND raising again goes higher still
    expect(raisedOrd(raised) > raised).toBe(true);
  });

  test('refuses the order key of a delete', () => {
    expect(() => raisedOrd(deleteOrdOf(parseOrd(ord(7, B))!))).toThrow(/not the order key of a save/);
  });

  test('a repaired item is ordered at its version, and the application’s next save orders after it', () => {
    // GIVEN an item a repair wrote
    const raised = raisedOrd(ord(7, B));
    const repaired = ordered('winner', raised);

    // WHEN the application saves it again in us-east-1 (ADD version 1; _ddbm_* kept)
    const saved = { ...repaired, version: N(8), data: S('later') };

    // THEN the repaired item is ordered at exactly its key, and the save is local, after it
    expect(itemOrder(repaired, 'version', C)).toEqual({
      kind: 'ordered',
      ord: raised,
      parsed: parseOrd(raised),
    });
    const next = itemOrder(saved, 'version', C)!;
    expect(next).toMatchObject({ kind: 'local', ord: ord(8, C) });
    expect(next.kind !== 'unordered' && next.ord > raised).toBe(true);
  });
});

describe('planRepair (multi-active) with copies that share an order key', () => {
  test('picks the greatest content among the copies at the highest order key and writes it everywhere, above them', () => {
    // GIVEN three regions at one order key, two holding 'apple', one 'pear' (an edit that kept the version)
    const shared = ord(7, B);
    const holdings = [
      holding(A, ordered('apple', shared)),
      holding(B, ordered('pear', shared)),
      holding(C, ordered('apple', shared)),
    ];

    // WHEN planned in every order of the regions
    const orders = [holdings, [...holdings].reverse(), [holdings[1], holdings[2], holdings[0]]];
    const plans = orders.map((h) => planRepair(table, settings, key, h));

    // THEN each plan writes 'pear' (the greater canonical content) to every region with the raised key
    const expected = [A, B, C].map((r) => `${r} put ${raisedOrd(shared)} pear`).sort();
    for (const plan of plans) expect('writes' in plan && summary(plan.writes)).toEqual(expected);
  });

  test('raises the key above a local copy whose own order key equals the others', () => {
    // GIVEN us-east-1 saved version 7 on a state of generation 2 and sent it (its own item stays local), and
    // a peer's copy of that save was edited by hand
    const local = { ...key, version: N(7), data: S('as saved'), _ddbm_ord: S(ord(6, A)), _ddbm_ver: N(6) };
    const holdings = [
      holding(A, ordered('edited', ord(7, C))),
      holding(B, ordered('as saved', ord(7, C))),
      holding(C, local),
    ];

    // WHEN
    const plan = planRepair(table, settings, key, holdings);

    // THEN the copies tie at us-east-1's key; the greater content wins everywhere above it
    expect('writes' in plan && summary(plan.writes)).toEqual(
      [A, B, C].map((r) => `${r} put ${ord(7, `${C}+`)} edited`).sort(),
    );
  });

  test('keeps the highest order key and writes only the regions that differ when no other copy shares it', () => {
    // GIVEN version 8 in ap-south-1, version 7 elsewhere
    const holdings = [
      holding(A, ordered('new', ord(8, A), 8)),
      holding(B, ordered('old', ord(7, B))),
      holding(C, ordered('new', ord(8, A), 8)),
    ];

    // WHEN
    const plan = planRepair(table, settings, key, holdings);

    // THEN
    expect('writes' in plan && summary(plan.writes)).toEqual([`${B} put ${ord(8, A)} new`]);
  });
});
