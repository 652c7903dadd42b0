import { decide, lifeGeneration, replicatedImage, type Decision } from '../../../lambda/replicator/decide';
import { formatOrd, sequenceOrd } from '../../../lambda/core/order';
import type { WriteIntent } from '../../../lambda/core/intents';
import {
  insertRecord,
  modifyRecord,
  multiActiveSettings,
  N,
  oneWaySettings,
  removeRecord,
  S,
  streamRecord,
} from '../../support/records';

const HERE = 'eu-west-1';
const PEER = 'us-east-1';
const key = { pk: S('order-1') };
const ord = (gen: number, version: number, origin: string, deleted = false) =>
  formatOrd({ gen, version: String(version), origin, deleted });
/** An image stamped at `version` with the given order key. */
const stamped = (version: number, o: string, extra = {}) => ({
  version: N(version),
  _ddbm_ord: S(o),
  _ddbm_ver: N(version),
  ...extra,
});

function expectKind<K extends Decision['kind']>(d: Decision, kind: K): Extract<Decision, { kind: K }> {
  expect(d.kind).toBe(kind);
  return d as Extract<Decision, { kind: K }>;
}
const intentOf = (d: Decision): WriteIntent => expectKind(d, 'replicate').intent;
const rawSeq = (n: number) => String(100000000000000000000n + BigInt(n));

describe('validation: malformed records are reported, never dropped', () => {
  const settings = oneWaySettings();
  test.each([
    [
      'an unknown eventName (the article checked for "DELETE")',
      streamRecord('DELETE', key, { oldImage: key }),
    ],
    ['no dynamodb section', { ...insertRecord(key, {}), dynamodb: undefined }],
    ['no Keys', streamRecord('INSERT', undefined, { newImage: key })],
    ['Keys without the partition key', streamRecord('INSERT', { other: S('x') }, { newImage: key })],
    [
      'a key attribute that is not S, N or B',
      streamRecord('INSERT', { pk: { BOOL: true } }, { newImage: key }),
    ],
    ['a KEYS_ONLY stream', insertRecord(key, {}, { streamViewType: 'KEYS_ONLY' })],
    ['a NEW_IMAGE stream', insertRecord(key, {}, { streamViewType: 'NEW_IMAGE' })],
    ['a 20-digit SequenceNumber', insertRecord(key, {}, { sequenceNumber: '12345678901234567890' })],
    ['a non-numeric SequenceNumber', insertRecord(key, {}, { sequenceNumber: 'abc' })],
    ['an INSERT without NewImage', streamRecord('INSERT', key, {})],
    ['a MODIFY without OldImage', streamRecord('MODIFY', key, { newImage: key })],
    ['a REMOVE without OldImage', streamRecord('REMOVE', key, {})],
  ])('GIVEN %s WHEN decided THEN malformed', (_name, record) => {
    const d = decide(record, settings);
    expect(expectKind(d, 'malformed').reason).toEqual(expect.any(String));
  });

  test('GIVEN images at the top level of the record (the article read record.NewImage) THEN malformed: images live in record.dynamodb', () => {
    const record = { ...streamRecord('INSERT', key, {}), NewImage: { ...key, a: S('x') } };
    expect(expectKind(decide(record, settings), 'malformed').reason).toMatch(/NewImage/);
  });

  test('GIVEN a table with a sort key WHEN Keys lack it THEN malformed naming both key attributes', () => {
    const d = decide(insertRecord(key, {}), oneWaySettings({ sortKey: 'sk' }));
    expect(expectKind(d, 'malformed').reason).toMatch(/pk, sk/);
  });

  test('GIVEN a malformed record with valid Keys THEN the decision carries the key for the log line', () => {
    const d = decide(insertRecord(key, {}, { streamViewType: 'KEYS_ONLY' }), settings);
    expect(expectKind(d, 'malformed').key).toEqual(key);
  });

  test.each([
    ['no version', {}],
    ['a non-numeric version', { version: S('7') }],
    ['a fractional version', { version: N('1.5') }],
    ['a version over 20 digits', { version: N('1'.repeat(21)) }],
    ['a garbage _ddbm_ord', { version: N(1), _ddbm_ord: S('yesterday') }],
  ])('GIVEN a multi-active save with %s THEN malformed', (_name, image) => {
    const d = decide(insertRecord(key, image), multiActiveSettings(), null);
    expectKind(d, 'malformed');
  });

  test('GIVEN a multi-active REMOVE whose old image has no version THEN malformed', () => {
    expectKind(decide(removeRecord(key, { a: S('x') }), multiActiveSettings(), null), 'malformed');
  });
});

describe('one-way', () => {
  const settings = oneWaySettings({ excludeAttributes: ['secret'] });

  test('GIVEN an INSERT THEN a put of the full image with _ddbm_ord = sequence number padded to 40 digits', () => {
    const seq = '100000000000000000042';
    const d = decide(insertRecord(key, { a: S('x'), n: N(3) }, { sequenceNumber: seq }), settings);
    expect(intentOf(d)).toEqual({
      op: 'put',
      key,
      item: { pk: S('order-1'), a: S('x'), n: N(3), _ddbm_ord: S(sequenceOrd(seq)) },
      ord: sequenceOrd(seq),
      origin: HERE,
    });
  });

  test('GIVEN a MODIFY THEN the new image is sent, not the old', () => {
    const d = decide(modifyRecord(key, { a: S('old') }, { a: S('new') }), settings);
    expect((intentOf(d) as Extract<WriteIntent, { op: 'put' }>).item.a).toEqual(S('new'));
  });

  test('GIVEN a REMOVE (the article never handled it) THEN a delete ordered by its sequence number', () => {
    const seq = '1000000000000000000000000000000000000007';
    const d = decide(removeRecord(key, { a: S('x') }, { sequenceNumber: seq }), settings);
    expect(intentOf(d)).toEqual({ op: 'delete', key, ord: seq, origin: HERE });
  });

  test('GIVEN excluded and reserved attributes in the image THEN they are stripped and a fresh stamp is added', () => {
    const seq = '100000000000000000043';
    const d = decide(
      insertRecord(
        key,
        { a: S('x'), secret: S('s'), _ddbm_ord: S('stale'), _ddbm_other: S('y') },
        { sequenceNumber: seq },
      ),
      settings,
    );
    const item = (intentOf(d) as Extract<WriteIntent, { op: 'put' }>).item;
    expect(item).toEqual({ pk: S('order-1'), a: S('x'), _ddbm_ord: S(sequenceOrd(seq)) });
  });

  test('GIVEN a TTL expiry and replicateDeletes false THEN skipped', () => {
    const d = decide(
      removeRecord(key, {}, { ttl: true }),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: false } }),
    );
    expect(expectKind(d, 'skip').reason).toBe('ttl-not-replicated');
  });

  test('GIVEN a TTL expiry and replicateDeletes true THEN sent as a delete', () => {
    const d = decide(
      removeRecord(key, {}, { ttl: true }),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: true } }),
    );
    expect(intentOf(d).op).toBe('delete');
  });

  test('GIVEN a user delete (no service identity) on a table with TTL THEN sent as a delete', () => {
    const d = decide(
      removeRecord(key, {}),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: false } }),
    );
    expect(intentOf(d).op).toBe('delete');
  });

  test('GIVEN a REMOVE by a user whose principal is not the DynamoDB service THEN it is not a TTL expiry', () => {
    const record = {
      ...removeRecord(key, {}),
      userIdentity: { type: 'Service', principalId: 'someone.amazonaws.com' },
    };
    expect(
      intentOf(decide(record, oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: false } }))).op,
    ).toBe('delete');
  });

  test('order keys of a 21-digit and a 40-digit sequence number compare numerically', () => {
    const early = intentOf(
      decide(insertRecord(key, {}, { sequenceNumber: '999999999999999999999' }), settings),
    );
    const late = intentOf(
      decide(insertRecord(key, {}, { sequenceNumber: '1000000000000000000000000000000000000000' }), settings),
    );
    expect(early.ord < late.ord).toBe(true);
  });
});

describe('multi-active saves', () => {
  const settings = multiActiveSettings({ excludeAttributes: ['local'] });

  test('GIVEN an app save on a stamped item THEN gen is inherited, ord = gen#version#here#0, and it is sent with no read and no local write', () => {
    const old = stamped(4, ord(3, 4, PEER), { a: S('x') });
    const now = { ...old, version: N(5), a: S('y') }; // UpdateItem ADD version kept the stamp attributes
    const d = expectKind(decide(modifyRecord(key, old, now), settings), 'replicate');
    const expected = ord(3, 5, HERE);
    expect(d.intent).toEqual({
      op: 'put',
      key,
      item: { pk: S('order-1'), version: N(5), a: S('y'), _ddbm_ord: S(expected), _ddbm_ver: N(5) },
      ord: expected,
      origin: HERE,
      version: '5',
    });
    expect(d.stamp).toBeUndefined();
    expect(d.lifeMarker).toBeUndefined();
    expect(d.contractViolation).toBeUndefined();
  });

  test("GIVEN an app save THEN the stamp is guarded by the new image's scalar data (keys, version, reserved, sets, lists and maps aside)", () => {
    const now = {
      ...key,
      version: N(1),
      s: S('x'),
      n: N(2),
      b: { B: 'AAE=' },
      t: { BOOL: true },
      ss: { SS: ['a'] },
      l: { L: [S('a')] },
      m: { M: { a: S('a') } },
      nul: { NULL: true },
    };
    // A life born after a tombstone is stamped (its generation is not 0 by default).
    const tombstone = { ord: ord(0, 3, PEER, true), origin: PEER };
    const d = expectKind(decide(insertRecord(key, now), settings, tombstone), 'replicate');
    expect(d.stamp?.same).toEqual({ s: S('x'), n: N(2), b: { B: 'AAE=' }, t: { BOOL: true } });
  });

  test('GIVEN a PutItem that dropped the stamp THEN gen falls back to the old image, and the order key is stamped back', () => {
    const old = stamped(4, ord(2, 4, PEER));
    const d = expectKind(decide(modifyRecord(key, old, { version: N(5) }), settings, null), 'replicate');
    expect(d.intent.ord).toBe(ord(2, 5, HERE));
    expect(d.stamp).toMatchObject({ ord: ord(2, 5, HERE), version: '5' });
  });

  test('GIVEN excluded and reserved attributes THEN excluded ones are stripped and the stamp is rewritten', () => {
    const old = stamped(1, ord(0, 1, HERE));
    const now = { ...old, version: N(2), local: S('only here'), _ddbm_junk: S('x') };
    const item = (
      intentOf(decide(modifyRecord(key, old, now), settings)) as Extract<WriteIntent, { op: 'put' }>
    ).item;
    expect(item).toEqual({ pk: S('order-1'), version: N(2), _ddbm_ord: S(ord(0, 2, HERE)), _ddbm_ver: N(2) });
  });

  test('the version and key attributes are never stripped, even if listed as excluded', () => {
    expect(
      replicatedImage(
        { pk: S('k'), version: N(1), x: S('x') },
        { pk: S('k') },
        multiActiveSettings({ excludeAttributes: ['pk', 'version', 'x'] }),
      ),
    ).toEqual({
      pk: S('k'),
      version: N(1),
    });
  });

  test("GIVEN a peer's replicated save arriving in this stream (stamped, stamp changed) THEN skipped as echo with no writes", () => {
    const old = stamped(4, ord(0, 4, HERE));
    const now = stamped(5, ord(0, 5, PEER));
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  test('GIVEN a replicated save that created the item (no old image) THEN skipped as echo', () => {
    expect(expectKind(decide(insertRecord(key, stamped(1, ord(0, 1, PEER))), settings), 'skip').reason).toBe(
      'echo',
    );
  });

  test("GIVEN this region's own stamp write THEN skipped as stamp", () => {
    const old = { version: N(5), _ddbm_ord: S(ord(0, 4, HERE)), _ddbm_ver: N(4) };
    const now = stamped(5, ord(0, 5, HERE));
    expect(expectKind(decide(modifyRecord(key, old, now), settings), 'skip').reason).toBe('stamp');
  });

  test('GIVEN a MODIFY that changed data without a version increase THEN a contract violation, still ordered and sent', () => {
    const old = stamped(5, ord(0, 5, PEER), { a: S('x') });
    const now = { ...old, a: S('y') };
    const d = expectKind(decide(modifyRecord(key, old, now), settings, null), 'replicate');
    expect(d.contractViolation).toEqual({ oldVersion: '5', newVersion: '5', changedAttributes: ['a'] });
    expect(d.intent.ord).toBe(ord(0, 5, HERE));
  });

  // A peer's save can land between this region's delete and its tombstone (the gap deleteLocally
  // closes). A save the application makes of that item is built on the peer's save: it keeps that
  // generation, and the delete (ordered after it or not) decides by order, like any conflict.
  test.each([
    ['after our delete in the stream', 101],
    ['before our delete in the stream', 99],
  ])(
    'GIVEN a save of a peer item that landed %s THEN it keeps the generation it was built on',
    (_name, n) => {
      const tombstone = { ord: ord(0, 2, HERE, true), origin: HERE, sequence: sequenceOrd(rawSeq(100)) };
      const old = stamped(1, ord(0, 1, PEER), { a: S('peer') });
      const now = { ...old, version: N(2), a: S('mine') };
      const d = expectKind(
        decide(modifyRecord(key, old, now, { sequenceNumber: rawSeq(n) }), settings, tombstone),
        'replicate',
      );
      expect(d.intent.ord).toBe(ord(0, 2, HERE));
      expect(d.intent.ord < tombstone.ord).toBe(true);
    },
  );

  test('GIVEN a delete of such a save THEN the delete keeps that generation too', () => {
    const tombstone = { ord: ord(0, 2, HERE, true), origin: HERE, sequence: sequenceOrd(rawSeq(100)) };
    const old = { ...stamped(1, ord(0, 1, PEER), { a: S('mine') }), version: N(3) }; // saved here since
    const d = expectKind(
      decide(removeRecord(key, old, { sequenceNumber: rawSeq(102) }), settings, tombstone),
      'replicate',
    );
    expect(d.intent.ord).toBe(ord(0, 3, HERE, true));
  });

  test('GIVEN a MODIFY whose version went down THEN a contract violation', () => {
    const old = stamped(5, ord(0, 5, HERE));
    const d = expectKind(decide(modifyRecord(key, old, { ...old, version: N(4) }), settings), 'replicate');
    expect(d.contractViolation).toMatchObject({ oldVersion: '5', newVersion: '4' });
  });

  test('GIVEN a normal save THEN no contract violation, even if only reserved attributes differ', () => {
    const old = stamped(5, ord(0, 5, HERE), { a: S('x') });
    const d = expectKind(
      decide(modifyRecord(key, old, { ...old, version: N(6), a: S('y') }), settings),
      'replicate',
    );
    expect(d.contractViolation).toBeUndefined();
  });

  test('GIVEN a contract violation on an item already stamped with the same order key THEN no stamp write is asked', () => {
    const old = stamped(5, ord(0, 5, HERE), { a: S('x') });
    const d = expectKind(decide(modifyRecord(key, old, { ...old, a: S('y') }), settings), 'replicate');
    expect(d.stamp).toBeUndefined();
  });

  describe('a new life takes its generation from the local tombstone', () => {
    const seq = '100000000000000000500';
    const insert = insertRecord(key, { version: N(1) }, { sequenceNumber: seq });

    test('GIVEN no tombstone read yet THEN the decision asks for it', () => {
      expect(decide(insert, settings)).toEqual({ kind: 'need-tombstone', key });
    });

    test('GIVEN no tombstone THEN generation 0, with no marker and no stamp (the common insert writes nothing here)', () => {
      const d = expectKind(decide(insert, settings, null), 'replicate');
      expect(d.intent.ord).toBe(ord(0, 1, HERE));
      expect(d.lifeMarker).toBeUndefined();
      expect(d.stamp).toBeUndefined();
    });

    test('GIVEN a tombstone of generation 3 THEN generation 4, and the marker expects that tombstone', () => {
      const t = { ord: ord(3, 9, PEER, true), origin: PEER };
      const d = expectKind(decide(insert, settings, t), 'replicate');
      expect(d.intent.ord).toBe(ord(4, 1, HERE));
      expect(d.lifeMarker).toEqual({
        key,
        bornSequence: sequenceOrd(seq),
        generation: 4,
        expectedOrd: t.ord,
      });
    });

    test('GIVEN a replay of the INSERT after its life was deleted THEN superseded (not "tombstone gen + 1": no resurrection)', () => {
      const t = {
        ord: ord(4, 1, HERE, true),
        origin: PEER,
        bornSequence: sequenceOrd(seq),
        bornGeneration: 4,
      };
      expect(expectKind(decide(insert, settings, t), 'skip').reason).toBe('superseded');
    });

    test('GIVEN a replay of the INSERT while its life goes on THEN the same generation, no new marker', () => {
      const t = {
        ord: ord(3, 9, PEER, true),
        origin: PEER,
        bornSequence: sequenceOrd(seq),
        bornGeneration: 4,
      };
      const d = expectKind(decide(insert, settings, t), 'replicate');
      expect(d.intent.ord).toBe(ord(4, 1, HERE));
      expect(d.lifeMarker).toBeUndefined();
    });
  });

  test('GIVEN an unstamped MODIFY (its INSERT not stamped yet) THEN it continues the marked life', () => {
    const t = {
      ord: ord(1, 3, PEER, true),
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 2,
    };
    const record = modifyRecord(
      key,
      { version: N(1) },
      { version: N(2) },
      { sequenceNumber: '100000000000000000200' },
    );
    const d = expectKind(decide(record, settings, t), 'replicate');
    expect(d.intent.ord).toBe(ord(2, 2, HERE));
    expect(d.lifeMarker).toBeUndefined();
  });
});

describe('lifeGeneration', () => {
  const s = (n: number) => sequenceOrd(String(100000000000000000000n + BigInt(n)));
  const none = (generation: number) => ({ generation, mark: false, source: 'none' });
  const marked = (generation: number) => ({ generation, mark: false, source: 'marker' });
  const fromTombstone = (generation: number) => ({ generation, mark: true, source: 'tombstone' });
  test.each([
    ['no tombstone', null, s(5), true, none(0)],
    ['a tombstone without marker', { ord: ord(2, 1, PEER, true) }, s(5), true, fromTombstone(3)],
    ['a marker from a later record', { bornSequence: s(9), bornGeneration: 1 }, s(5), true, 'superseded'],
    ['a marker of this record, life alive', { bornSequence: s(5), bornGeneration: 1 }, s(5), true, marked(1)],
    [
      'a marker of this record, life deleted',
      { ord: ord(1, 2, PEER, true), bornSequence: s(5), bornGeneration: 1 },
      s(5),
      true,
      'superseded',
    ],
    [
      'an earlier life ended, new INSERT',
      { ord: ord(1, 2, PEER, true), bornSequence: s(3), bornGeneration: 1 },
      s(5),
      true,
      fromTombstone(2),
    ],
    [
      'an earlier life ended without a tombstone gen',
      { bornSequence: s(3), bornGeneration: 1 },
      s(5),
      true,
      fromTombstone(2),
    ],
    [
      'continuing the marked life',
      { ord: ord(0, 2, PEER, true), bornSequence: s(3), bornGeneration: 1 },
      s(5),
      false,
      marked(1),
    ],
    [
      'continuing a life since deleted',
      { ord: ord(1, 2, PEER, true), bornSequence: s(3), bornGeneration: 1 },
      s(5),
      false,
      'superseded',
    ],
    // A life born with no tombstone here has no marker: a later record of it is generation 0.
    ['continuing an unmarked life', { ord: ord(0, 0, PEER, true), origin: PEER }, s(5), false, none(0)],
    // A birth this region recorded a tombstone after (its local position is later): the life ended.
    [
      'a replayed birth whose life this region deleted since',
      { ord: ord(0, 1, HERE, true), sequence: s(8) },
      s(5),
      true,
      'superseded',
    ],
    // A peer's delete of the same generation that orders before this record covers neither the
    // life nor the record (bug: the generation alone was compared, and this region's own later
    // delete of its version-1 save was skipped as superseded).
    [
      "continuing the marked life after a peer's earlier-ordered delete of its generation",
      { ord: ord(1, 1, 'ap-south-1', true), bornSequence: s(3), bornGeneration: 1 },
      s(5),
      false,
      marked(1),
    ],
    [
      "the marking record replayed after a peer's earlier-ordered delete of its generation",
      { ord: ord(1, 1, 'ap-south-1', true), bornSequence: s(5), bornGeneration: 1 },
      s(5),
      true,
      marked(1),
    ],
    [
      "continuing the marked life after a peer's later-ordered delete of its version",
      { ord: ord(1, 1, 'zz-west-9', true), bornSequence: s(3), bornGeneration: 1 },
      s(5),
      false,
      'superseded',
    ],
  ])('%s', (_name, tombstone, sequence, starts, expected) => {
    expect(
      lifeGeneration(tombstone, sequence, starts, { version: '1', origin: HERE, deleted: false }),
    ).toEqual(expected);
  });
});

describe('multi-active deletes', () => {
  const settings = multiActiveSettings();
  const seq = '100000000000000000900';

  test('GIVEN no tombstone read yet THEN the decision asks for it (echo check)', () => {
    expect(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings).kind).toBe('need-tombstone');
  });

  test("GIVEN a stamped old image THEN ord = the deleted version's gen#version#origin#1, sent and recorded locally", () => {
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { sequenceNumber: seq }), settings, null),
      'replicate',
    );
    const expected = ord(1, 3, PEER, true);
    expect(d.intent).toEqual({ op: 'delete', key, ord: expected, origin: HERE, version: '3' });
    expect(d.localTombstone).toEqual({ key, ord: expected, origin: HERE, sequence: sequenceOrd(seq) });
  });

  test('GIVEN an unstamped old image (a local save not ordered yet) THEN origin is this region, gen from its _ddbm_ord', () => {
    const old = { version: N(4), _ddbm_ord: S(ord(1, 3, PEER)), _ddbm_ver: N(3) };
    const d = expectKind(decide(removeRecord(key, old), settings, null), 'replicate');
    expect(d.intent.ord).toBe(ord(1, 4, HERE, true));
  });

  test('GIVEN an unstamped old image without any stamp THEN gen from the life marker', () => {
    const t = {
      ord: ord(0, 2, PEER, true),
      origin: PEER,
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 1,
    };
    const d = expectKind(
      decide(removeRecord(key, { version: N(1) }, { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    expect(d.intent.ord).toBe(ord(1, 1, HERE, true));
  });

  test("GIVEN an unstamped version-1 old image of the marked life AND a peer's same-generation delete that orders before it THEN this region's delete is still sent", () => {
    // Both regions saved version 1 and each deleted its own save; the peer's delete (origin sorting
    // first) was recorded here before this REMOVE was read. It covers only the peer's version.
    const t = {
      ord: ord(0, 1, 'ap-south-1', true),
      origin: 'ap-south-1',
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 0,
    };
    const d = expectKind(
      decide(removeRecord(key, { version: N(1) }, { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    expect(d.intent.ord).toBe(ord(0, 1, HERE, true));
    expect(d.localTombstone?.ord).toBe(ord(0, 1, HERE, true));
  });

  test('GIVEN a tombstone from another region covering the old image THEN skipped as the echo of a replicated delete', () => {
    const t = { ord: ord(1, 3, PEER, true), origin: PEER };
    expect(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t)).toEqual({
      kind: 'skip',
      reason: 'echo',
      key,
    });
  });

  test('GIVEN a tombstone from another region that is older THEN sent (a real local delete)', () => {
    const t = { ord: ord(0, 9, PEER, true), origin: PEER };
    expectKind(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t), 'replicate');
  });

  test('GIVEN a replay of this very REMOVE after its tombstone was written THEN the same delete is sent again', () => {
    const t = { ord: ord(1, 3, PEER, true), origin: HERE, sequence: sequenceOrd(seq) };
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    expect(d.intent.ord).toBe(t.ord);
  });

  test('GIVEN a replay of an old REMOVE after a later local delete THEN superseded', () => {
    const t = { ord: ord(2, 1, HERE, true), origin: HERE, sequence: sequenceOrd('100000000000000009999') };
    expect(
      expectKind(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t), 'skip').reason,
    ).toBe('superseded');
  });

  test('GIVEN a TTL expiry and replicateDeletes false THEN not sent, but recorded in the local tombstone', () => {
    const s = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: false } });
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { ttl: true, sequenceNumber: seq }), s, null),
      'skip',
    );
    expect(d.reason).toBe('ttl-not-replicated');
    expect(d.localTombstone).toEqual({
      key,
      ord: ord(1, 3, PEER, true),
      origin: HERE,
      sequence: sequenceOrd(seq),
    });
  });

  test('GIVEN a TTL expiry and replicateDeletes true THEN sent as a delete', () => {
    const s = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: true } });
    expect(intentOf(decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { ttl: true }), s, null)).op).toBe(
      'delete',
    );
  });
});

describe('purity', () => {
  test('the same record and state always give the same decision', () => {
    const r = modifyRecord(key, stamped(1, ord(0, 1, HERE)), {
      version: N(2),
      _ddbm_ord: S(ord(0, 1, HERE)),
      _ddbm_ver: N(1),
    });
    expect(decide(r, multiActiveSettings())).toEqual(decide(r, multiActiveSettings()));
  });
});

describe('a PutItem that dropped the stamp, then a delete before the next stamp', () => {
  const settings = multiActiveSettings();
  const sModify = '100000000000000000300';
  const sRemove = '100000000000000000400';

  test('GIVEN the stamp-less MODIFY THEN it is stamped back, and its generation is remembered in the tombstone marker', () => {
    const record = modifyRecord(
      key,
      stamped(4, ord(1, 4, PEER)),
      { version: N(5) },
      { sequenceNumber: sModify },
    );
    expect(decide(record, settings).kind).toBe('need-tombstone');
    const t = {
      ord: ord(0, 2, HERE, true),
      origin: HERE,
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 0,
    };
    const d = expectKind(decide(record, settings, t), 'replicate');
    expect(d.intent.ord).toBe(ord(1, 5, HERE));
    expect(d.lifeMarker).toEqual({
      key,
      bornSequence: sequenceOrd(sModify),
      generation: 1,
      expectedOrd: t.ord,
    });
    expect(d.stamp).toMatchObject({ ord: ord(1, 5, HERE) });
  });

  test('GIVEN that marker WHEN the stamp-less item is deleted THEN the delete carries the right generation (not skipped)', () => {
    const t = {
      ord: ord(0, 2, HERE, true),
      origin: HERE,
      bornSequence: sequenceOrd(sModify),
      bornGeneration: 1,
    };
    const d = expectKind(
      decide(removeRecord(key, { version: N(5) }, { sequenceNumber: sRemove }), settings, t),
      'replicate',
    );
    expect(d.intent.ord).toBe(ord(1, 5, HERE, true));
  });
});

describe('deferred writes (a peer write left on an item this region had not ordered)', () => {
  const settings = multiActiveSettings();
  const seq = '100000000000000000700';
  const peerSave: WriteIntent = {
    op: 'put',
    key,
    item: { ...key, version: N(3), a: S('peer'), _ddbm_ord: S(ord(0, 3, PEER)), _ddbm_ver: N(3) },
    ord: ord(0, 3, PEER),
    origin: PEER,
    version: '3',
  };
  const deferredOn = (image: Record<string, unknown>, intent: WriteIntent = peerSave) => ({
    ...image,
    _ddbm_defer: S(JSON.stringify(intent)),
    _ddbm_defo: S(intent.ord),
  });
  const local = { ...key, version: N(2), a: S('mine') };

  test('GIVEN the deferral record THEN it is a replicator write (0 sends), decided against the local state', () => {
    const record = modifyRecord(key, local, deferredOn(local), { sequenceNumber: seq });
    // An unordered local life: its generation is read from the tombstone first.
    expect(decide(record, settings)).toEqual({ kind: 'need-tombstone', key });
    const d = expectKind(decide(record, settings, null), 'skip');
    expect(d.reason).toBe('echo');
    expect(d.resolve).toEqual({
      key,
      deferred: peerSave,
      holds: ord(0, 2, HERE),
      wins: true,
      version: '2',
      same: { a: S('mine') },
      deferredOnItem: true,
      sequence: sequenceOrd(seq),
    });
    // The deferred save ends a life nothing records yet: the life is marked first.
    expect(d.lifeMarker).toEqual({ key, bornSequence: sequenceOrd(seq), generation: 0 });
  });

  test('GIVEN the local state orders after the deferred write THEN it is dropped, with no marker', () => {
    const mine = { ...local, version: N(4) };
    const record = modifyRecord(key, mine, deferredOn(mine), { sequenceNumber: seq });
    const d = expectKind(decide(record, settings, null), 'skip');
    expect(d.resolve).toMatchObject({ holds: ord(0, 4, HERE), wins: false });
    expect(d.lifeMarker).toBeUndefined();
  });

  test('GIVEN an application save of an item that carries a deferral THEN it is sent and the deferral decided against it', () => {
    const before = deferredOn(local);
    const after = deferredOn({ ...local, version: N(3), a: S('mine again') });
    const d = expectKind(decide(modifyRecord(key, before, after), settings, null), 'replicate');
    expect(d.intent.ord).toBe(ord(0, 3, HERE));
    // (0, 3, eu-west-1) vs (0, 3, us-east-1): the peer's origin sorts later and wins.
    expect(d.resolve).toMatchObject({ holds: ord(0, 3, HERE), wins: true, version: '3' });
  });

  test('GIVEN the application deleted an item that carried a deferral THEN the deferred write is applied here afterwards', () => {
    const d = expectKind(decide(removeRecord(key, deferredOn(local)), settings, null), 'replicate');
    expect(d.intent.op).toBe('delete');
    expect(d.reapply).toEqual(peerSave);
  });

  test('GIVEN a deferral that is not a write intent THEN the record is malformed, never acknowledged', () => {
    const record = modifyRecord(key, local, { ...local, _ddbm_defer: S('{"op":"merge"}') });
    expect(expectKind(decide(record, settings, null), 'malformed').reason).toMatch(/_ddbm_defer/);
  });
});
