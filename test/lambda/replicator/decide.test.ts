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
  ])('treats %s as malformed', (_name, record) => {
    const d = decide(record, settings);
    expect(expectKind(d, 'malformed').reason).toEqual(expect.any(String));
  });

  test('treats images at the top level of the record as malformed (the article read record.NewImage): images live in record.dynamodb', () => {
    // GIVEN a record with its NewImage at the top level
    const record = { ...streamRecord('INSERT', key, {}), NewImage: { ...key, a: S('x') } };
    // WHEN decided THEN malformed, naming NewImage
    expect(expectKind(decide(record, settings), 'malformed').reason).toMatch(/NewImage/);
  });

  test("treats Keys that lack the table's sort key as malformed, naming both key attributes", () => {
    const d = decide(insertRecord(key, {}), oneWaySettings({ sortKey: 'sk' }));
    expect(expectKind(d, 'malformed').reason).toMatch(/pk, sk/);
  });

  test('a malformed record with valid Keys keeps its key in the decision, for the log line', () => {
    const d = decide(insertRecord(key, {}, { streamViewType: 'KEYS_ONLY' }), settings);
    expect(expectKind(d, 'malformed').key).toEqual(key);
  });

  test.each([
    ['no version', {}],
    ['a non-numeric version', { version: S('7') }],
    ['a fractional version', { version: N('1.5') }],
    ['a version over 20 digits', { version: N('1'.repeat(21)) }],
    ['a garbage _ddbm_ord', { version: N(1), _ddbm_ord: S('yesterday') }],
  ])('treats a multi-active save with %s as malformed', (_name, image) => {
    const d = decide(insertRecord(key, image), multiActiveSettings(), null);
    expectKind(d, 'malformed');
  });

  test('treats a multi-active REMOVE whose old image has no version as malformed', () => {
    expectKind(decide(removeRecord(key, { a: S('x') }), multiActiveSettings(), null), 'malformed');
  });
});

describe('one-way', () => {
  const settings = oneWaySettings({ excludeAttributes: ['secret'] });

  test('sends an INSERT as a put of the full image with _ddbm_ord = the sequence number padded to 40 digits', () => {
    // GIVEN an INSERT at a 21-digit sequence number
    const seq = '100000000000000000042';
    // WHEN decided
    const d = decide(insertRecord(key, { a: S('x'), n: N(3) }, { sequenceNumber: seq }), settings);
    // THEN a put of the full image, ordered by the padded sequence number
    expect(intentOf(d)).toEqual({
      op: 'put',
      key,
      item: { pk: S('order-1'), a: S('x'), n: N(3), _ddbm_ord: S(sequenceOrd(seq)) },
      ord: sequenceOrd(seq),
      origin: HERE,
    });
  });

  test('sends the new image of a MODIFY, not the old', () => {
    const d = decide(modifyRecord(key, { a: S('old') }, { a: S('new') }), settings);
    expect((intentOf(d) as Extract<WriteIntent, { op: 'put' }>).item.a).toEqual(S('new'));
  });

  test('sends a REMOVE (the article never handled it) as a delete ordered by its sequence number', () => {
    // GIVEN a REMOVE at a 40-digit sequence number
    const seq = '1000000000000000000000000000000000000007';
    // WHEN decided
    const d = decide(removeRecord(key, { a: S('x') }, { sequenceNumber: seq }), settings);
    // THEN a delete ordered by that sequence number
    expect(intentOf(d)).toEqual({ op: 'delete', key, ord: seq, origin: HERE });
  });

  test('strips excluded and reserved attributes from the image and adds a fresh stamp', () => {
    // GIVEN an INSERT whose image carries an excluded attribute and reserved ones
    const seq = '100000000000000000043';
    // WHEN decided
    const d = decide(
      insertRecord(
        key,
        { a: S('x'), secret: S('s'), _ddbm_ord: S('stale'), _ddbm_other: S('y') },
        { sequenceNumber: seq },
      ),
      settings,
    );
    const item = (intentOf(d) as Extract<WriteIntent, { op: 'put' }>).item;
    // THEN only the data is sent, with a fresh stamp
    expect(item).toEqual({ pk: S('order-1'), a: S('x'), _ddbm_ord: S(sequenceOrd(seq)) });
  });

  test('skips a TTL expiry when replicateDeletes is false', () => {
    const d = decide(
      removeRecord(key, {}, { ttl: true }),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: false } }),
    );
    expect(expectKind(d, 'skip').reason).toBe('ttl-not-replicated');
  });

  test('sends a TTL expiry as a delete when replicateDeletes is true', () => {
    const d = decide(
      removeRecord(key, {}, { ttl: true }),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: true } }),
    );
    expect(intentOf(d).op).toBe('delete');
  });

  test('sends a user delete (no service identity) on a table with TTL as a delete', () => {
    const d = decide(
      removeRecord(key, {}),
      oneWaySettings({ ttl: { attribute: 'exp', replicateDeletes: false } }),
    );
    expect(intentOf(d).op).toBe('delete');
  });

  test('a REMOVE by a user whose principal is not the DynamoDB service is not a TTL expiry', () => {
    // GIVEN a REMOVE by a service principal that is not DynamoDB's
    const record = {
      ...removeRecord(key, {}),
      userIdentity: { type: 'Service', principalId: 'someone.amazonaws.com' },
    };
    // WHEN decided on a table that does not replicate TTL deletes THEN it is sent as a delete
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

  test('sends an app save on a stamped item with no read and no local write: gen is inherited, ord = gen#version#here#0', () => {
    // GIVEN an app save on an item a peer stamped
    const old = stamped(4, ord(3, 4, PEER), { a: S('x') });
    const now = { ...old, version: N(5), a: S('y') }; // UpdateItem ADD version kept the stamp attributes
    // WHEN decided without a tombstone read
    const d = expectKind(decide(modifyRecord(key, old, now), settings), 'replicate');
    // THEN it is sent in the inherited generation, with no stamp and no marker
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

  test("guards the stamp of an app save by the new image's scalar data (keys, version, reserved, sets, lists and maps aside)", () => {
    // GIVEN an app save whose image holds every attribute type
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
    // WHEN decided
    const d = expectKind(decide(insertRecord(key, now), settings, tombstone), 'replicate');
    // THEN only the scalar data guards the stamp
    expect(d.stamp?.same).toEqual({ s: S('x'), n: N(2), b: { B: 'AAE=' }, t: { BOOL: true } });
  });

  test('takes gen from the old image when a PutItem dropped the stamp, and stamps the order key back', () => {
    // GIVEN a stamped item
    const old = stamped(4, ord(2, 4, PEER));
    // WHEN a PutItem that dropped the stamp is decided
    const d = expectKind(decide(modifyRecord(key, old, { version: N(5) }), settings, null), 'replicate');
    // THEN the old image's generation is kept and stamped back
    expect(d.intent.ord).toBe(ord(2, 5, HERE));
    expect(d.stamp).toMatchObject({ ord: ord(2, 5, HERE), version: '5' });
  });

  test('on a save with excluded and reserved attributes, strips the excluded ones and rewrites the stamp', () => {
    // GIVEN a save carrying an excluded attribute and a stray reserved one
    const old = stamped(1, ord(0, 1, HERE));
    const now = { ...old, version: N(2), local: S('only here'), _ddbm_junk: S('x') };
    // WHEN decided
    const item = (
      intentOf(decide(modifyRecord(key, old, now), settings)) as Extract<WriteIntent, { op: 'put' }>
    ).item;
    // THEN only the data is sent, with the stamp rewritten
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

  test("skips a peer's replicated save arriving in this stream (stamped, stamp changed) as an echo, with no writes", () => {
    // GIVEN a save whose stamp changed to a peer's
    const old = stamped(4, ord(0, 4, HERE));
    const now = stamped(5, ord(0, 5, PEER));
    // WHEN decided THEN an echo, with nothing to write
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  test('skips a replicated save that created the item (no old image) as an echo', () => {
    expect(expectKind(decide(insertRecord(key, stamped(1, ord(0, 1, PEER))), settings), 'skip').reason).toBe(
      'echo',
    );
  });

  test("skips this region's own stamp write as a stamp", () => {
    // GIVEN this region stamping its own version 5
    const old = { version: N(5), _ddbm_ord: S(ord(0, 4, HERE)), _ddbm_ver: N(4) };
    const now = stamped(5, ord(0, 5, HERE));
    // WHEN decided THEN skipped as a stamp
    expect(expectKind(decide(modifyRecord(key, old, now), settings), 'skip').reason).toBe('stamp');
  });

  test('flags a MODIFY that changed data without a version increase as a contract violation, and still orders and sends it', () => {
    // GIVEN a MODIFY that changed data at the same version
    const old = stamped(5, ord(0, 5, PEER), { a: S('x') });
    const now = { ...old, a: S('y') };
    // WHEN decided
    const d = expectKind(decide(modifyRecord(key, old, now), settings, null), 'replicate');
    // THEN a contract violation, still ordered and sent
    expect(d.contractViolation).toEqual({ oldVersion: '5', newVersion: '5', changedAttributes: ['a'] });
    expect(d.intent.ord).toBe(ord(0, 5, HERE));
  });

  // A peer's save can land between this region's delete and its tombstone (the gap deleteLocally
  // closes). A save the application makes of that item is built on the peer's save: it keeps that
  // generation, and the delete (ordered after it or not) decides by order, like any conflict.
  test.each([
    ['after our delete in the stream', 101],
    ['before our delete in the stream', 99],
  ])('a save of a peer item that landed %s keeps the generation it was built on', (_name, n) => {
    // GIVEN our delete at position 100, and a save of the peer's item at position n
    const tombstone = { ord: ord(0, 2, HERE, true), origin: HERE, sequence: sequenceOrd(rawSeq(100)) };
    const old = stamped(1, ord(0, 1, PEER), { a: S('peer') });
    const now = { ...old, version: N(2), a: S('mine') };
    // WHEN the save is decided
    const d = expectKind(
      decide(modifyRecord(key, old, now, { sequenceNumber: rawSeq(n) }), settings, tombstone),
      'replicate',
    );
    // THEN it keeps the peer's generation, and the delete decides by order
    expect(d.intent.ord).toBe(ord(0, 2, HERE));
    expect(d.intent.ord < tombstone.ord).toBe(true);
  });

  test('a delete of such a save keeps that generation too', () => {
    // GIVEN our earlier delete, and such a save of the peer's item
    const tombstone = { ord: ord(0, 2, HERE, true), origin: HERE, sequence: sequenceOrd(rawSeq(100)) };
    const old = { ...stamped(1, ord(0, 1, PEER), { a: S('mine') }), version: N(3) }; // saved here since
    // WHEN its delete is decided
    const d = expectKind(
      decide(removeRecord(key, old, { sequenceNumber: rawSeq(102) }), settings, tombstone),
      'replicate',
    );
    // THEN the delete keeps the peer's generation
    expect(d.intent.ord).toBe(ord(0, 3, HERE, true));
  });

  test('flags a MODIFY whose version went down as a contract violation', () => {
    // GIVEN an item at version 5
    const old = stamped(5, ord(0, 5, HERE));
    // WHEN a MODIFY to version 4 is decided
    const d = expectKind(decide(modifyRecord(key, old, { ...old, version: N(4) }), settings), 'replicate');
    // THEN a contract violation
    expect(d.contractViolation).toMatchObject({ oldVersion: '5', newVersion: '4' });
  });

  test('finds no contract violation in a normal save, even if only reserved attributes differ', () => {
    // GIVEN an item at version 5
    const old = stamped(5, ord(0, 5, HERE), { a: S('x') });
    // WHEN a normal save to version 6 is decided
    const d = expectKind(
      decide(modifyRecord(key, old, { ...old, version: N(6), a: S('y') }), settings),
      'replicate',
    );
    // THEN no contract violation
    expect(d.contractViolation).toBeUndefined();
  });

  test('asks no stamp write for a contract violation on an item already stamped with the same order key', () => {
    // GIVEN an item already stamped at (0, 5, here)
    const old = stamped(5, ord(0, 5, HERE), { a: S('x') });
    // WHEN a contract violation at the same version is decided
    const d = expectKind(decide(modifyRecord(key, old, { ...old, a: S('y') }), settings), 'replicate');
    // THEN no stamp write is asked
    expect(d.stamp).toBeUndefined();
  });

  describe('a new life takes its generation from the local tombstone', () => {
    const seq = '100000000000000000500';
    const insert = insertRecord(key, { version: N(1) }, { sequenceNumber: seq });

    test('asks for the tombstone when none was read yet', () => {
      expect(decide(insert, settings)).toEqual({ kind: 'need-tombstone', key });
    });

    test('starts generation 0 when there is no tombstone, with no marker and no stamp (the common insert writes nothing here)', () => {
      const d = expectKind(decide(insert, settings, null), 'replicate');
      expect(d.intent.ord).toBe(ord(0, 1, HERE));
      expect(d.lifeMarker).toBeUndefined();
      expect(d.stamp).toBeUndefined();
    });

    test('after a tombstone of generation 3, starts generation 4 with a marker that expects that tombstone', () => {
      // GIVEN a tombstone of generation 3
      const t = { ord: ord(3, 9, PEER, true), origin: PEER };
      // WHEN the INSERT is decided
      const d = expectKind(decide(insert, settings, t), 'replicate');
      // THEN generation 4, and the marker expects that tombstone
      expect(d.intent.ord).toBe(ord(4, 1, HERE));
      expect(d.lifeMarker).toEqual({
        key,
        bornSequence: sequenceOrd(seq),
        generation: 4,
        expectedOrd: t.ord,
      });
    });

    test('skips a replay of the INSERT after its life was deleted as superseded (not "tombstone gen + 1": no resurrection)', () => {
      // GIVEN the life this INSERT began, since deleted
      const t = {
        ord: ord(4, 1, HERE, true),
        origin: PEER,
        bornSequence: sequenceOrd(seq),
        bornGeneration: 4,
      };
      // WHEN the INSERT is replayed THEN superseded
      expect(expectKind(decide(insert, settings, t), 'skip').reason).toBe('superseded');
    });

    test('keeps the same generation for a replay of the INSERT while its life goes on, with no new marker', () => {
      // GIVEN the life this INSERT began, still going on
      const t = {
        ord: ord(3, 9, PEER, true),
        origin: PEER,
        bornSequence: sequenceOrd(seq),
        bornGeneration: 4,
      };
      // WHEN the INSERT is replayed
      const d = expectKind(decide(insert, settings, t), 'replicate');
      // THEN the same generation, no new marker
      expect(d.intent.ord).toBe(ord(4, 1, HERE));
      expect(d.lifeMarker).toBeUndefined();
    });
  });

  test('an unstamped MODIFY (its INSERT not stamped yet) continues the marked life', () => {
    // GIVEN a life marked at its INSERT, and an unstamped MODIFY after it
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
    // WHEN decided
    const d = expectKind(decide(record, settings, t), 'replicate');
    // THEN it continues the marked generation, with no new marker
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

  test('asks for the tombstone when none was read yet (echo check)', () => {
    expect(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings).kind).toBe('need-tombstone');
  });

  test("orders the delete of a stamped old image by the deleted version's gen#version#origin#1, sends it and records it locally", () => {
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { sequenceNumber: seq }), settings, null),
      'replicate',
    );
    const expected = ord(1, 3, PEER, true);
    expect(d.intent).toEqual({ op: 'delete', key, ord: expected, origin: HERE, version: '3' });
    expect(d.localTombstone).toEqual({ key, ord: expected, origin: HERE, sequence: sequenceOrd(seq) });
  });

  test('deletes an unstamped old image (a local save not ordered yet) as this region, with gen from its _ddbm_ord', () => {
    // GIVEN a local save at version 4 on a peer's stamp
    const old = { version: N(4), _ddbm_ord: S(ord(1, 3, PEER)), _ddbm_ver: N(3) };
    // WHEN its delete is decided
    const d = expectKind(decide(removeRecord(key, old), settings, null), 'replicate');
    // THEN ordered as this region, in the stamp's generation
    expect(d.intent.ord).toBe(ord(1, 4, HERE, true));
  });

  test('takes gen from the life marker for an unstamped old image without any stamp', () => {
    // GIVEN a life marker of generation 1
    const t = {
      ord: ord(0, 2, PEER, true),
      origin: PEER,
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 1,
    };
    // WHEN the delete of an image without any stamp is decided
    const d = expectKind(
      decide(removeRecord(key, { version: N(1) }, { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    // THEN generation 1
    expect(d.intent.ord).toBe(ord(1, 1, HERE, true));
  });

  test("still sends this region's delete of an unstamped version-1 old image of the marked life when a peer's same-generation delete orders before it", () => {
    // GIVEN a peer's same-generation delete, ordering first, in the tombstone of the marked life
    // Both regions saved version 1 and each deleted its own save; the peer's delete (origin sorting
    // first) was recorded here before this REMOVE was read. It covers only the peer's version.
    const t = {
      ord: ord(0, 1, 'ap-south-1', true),
      origin: 'ap-south-1',
      bornSequence: sequenceOrd('100000000000000000100'),
      bornGeneration: 0,
    };
    // WHEN this region's delete of its version 1 is decided
    const d = expectKind(
      decide(removeRecord(key, { version: N(1) }, { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    // THEN it is still sent and recorded
    expect(d.intent.ord).toBe(ord(0, 1, HERE, true));
    expect(d.localTombstone?.ord).toBe(ord(0, 1, HERE, true));
  });

  test('skips a delete whose old image a tombstone from another region covers, as the echo of a replicated delete', () => {
    // GIVEN a peer's tombstone of version 3
    const t = { ord: ord(1, 3, PEER, true), origin: PEER };
    // WHEN the delete of version 3 is decided THEN an echo
    expect(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t)).toEqual({
      kind: 'skip',
      reason: 'echo',
      key,
    });
  });

  test('sends a delete over an older tombstone from another region (a real local delete)', () => {
    // GIVEN an older tombstone from a peer
    const t = { ord: ord(0, 9, PEER, true), origin: PEER };
    // WHEN a later life's delete is decided THEN it is sent
    expectKind(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t), 'replicate');
  });

  test('sends the same delete again when this very REMOVE is replayed after its tombstone was written', () => {
    // GIVEN the tombstone this REMOVE wrote
    const t = { ord: ord(1, 3, PEER, true), origin: HERE, sequence: sequenceOrd(seq) };
    // WHEN the REMOVE is replayed
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { sequenceNumber: seq }), settings, t),
      'replicate',
    );
    // THEN the same delete is sent
    expect(d.intent.ord).toBe(t.ord);
  });

  describe('a local delete of an unordered life that a peer tombstone covered first', () => {
    // The application saved the key here (generation 0, nothing recorded) and deleted it; a peer
    // deleted its copy of the same life, and that tombstone was recorded here before this REMOVE
    // was read.
    const born = rawSeq(1);
    const removed = rawSeq(2);
    const peerTombstone = { ord: ord(0, 1, HERE, true), origin: PEER };
    const remove = removeRecord(key, { version: N(1) }, { sequenceNumber: removed });

    test('is skipped, and marks the end of the life at its own position (expecting that tombstone)', () => {
      // WHEN the REMOVE is decided
      const d = expectKind(decide(remove, settings, peerTombstone), 'skip');
      // THEN nothing is sent (the peer's delete covers it), and the marker says the life up to here is over
      expect(d.reason).toBe('superseded');
      expect(d.lifeMarker).toEqual({
        key,
        bornSequence: sequenceOrd(removed),
        generation: 0,
        expectedOrd: peerTombstone.ord,
      });
    });

    test('with the marker written, a re-delivered INSERT of that life is superseded (no generation 1 sent)', () => {
      // GIVEN the tombstone with the marker
      const marked = { ...peerTombstone, bornSequence: sequenceOrd(removed), bornGeneration: 0 };
      // WHEN the INSERT that began the life is re-delivered THEN superseded
      const insert = insertRecord(key, { version: N(1) }, { sequenceNumber: born });
      expect(expectKind(decide(insert, settings, marked), 'skip').reason).toBe('superseded');
      // AND the REMOVE itself, re-delivered, writes nothing more
      expect(decide(remove, settings, marked)).toEqual({ kind: 'skip', reason: 'superseded', key });
    });

    test('without the marker the same INSERT would start generation 1 (the resurrection the marker prevents)', () => {
      const insert = insertRecord(key, { version: N(1) }, { sequenceNumber: born });
      expect(intentOf(decide(insert, settings, peerTombstone)).ord).toBe(ord(1, 1, HERE));
    });

    test('the echo of a replicated item (ordered old image) writes nothing: it has no local birth to replay', () => {
      const d = decide(
        removeRecord(key, stamped(1, ord(0, 1, PEER)), { sequenceNumber: removed }),
        settings,
        {
          ord: ord(0, 1, PEER, true),
          origin: PEER,
        },
      );
      expect(d).toEqual({ kind: 'skip', reason: 'echo', key });
    });

    test('a tombstone that already records a later local position needs no marker', () => {
      const t = { ...peerTombstone, sequence: sequenceOrd(rawSeq(3)) };
      expect(expectKind(decide(remove, settings, t), 'skip').lifeMarker).toBeUndefined();
    });
  });

  test('skips a replay of an old REMOVE after a later local delete as superseded', () => {
    // GIVEN a later local delete
    const t = { ord: ord(2, 1, HERE, true), origin: HERE, sequence: sequenceOrd('100000000000000009999') };
    // WHEN an old REMOVE is replayed THEN superseded
    expect(
      expectKind(decide(removeRecord(key, stamped(3, ord(1, 3, PEER))), settings, t), 'skip').reason,
    ).toBe('superseded');
  });

  test('does not send a TTL expiry when replicateDeletes is false, but records it in the local tombstone', () => {
    // GIVEN TTL deletes that are not replicated
    const s = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: false } });
    // WHEN a TTL expiry is decided
    const d = expectKind(
      decide(removeRecord(key, stamped(3, ord(1, 3, PEER)), { ttl: true, sequenceNumber: seq }), s, null),
      'skip',
    );
    // THEN it is not sent, but recorded in the local tombstone
    expect(d.reason).toBe('ttl-not-replicated');
    expect(d.localTombstone).toEqual({
      key,
      ord: ord(1, 3, PEER, true),
      origin: HERE,
      sequence: sequenceOrd(seq),
    });
  });

  test('sends a TTL expiry as a delete when replicateDeletes is true', () => {
    // GIVEN TTL deletes that are replicated
    const s = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: true } });
    // WHEN a TTL expiry is decided THEN it is sent as a delete
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

  test('stamps the stamp-less MODIFY back and remembers its generation in the tombstone marker', () => {
    // GIVEN the stamp-less MODIFY, which first asks for the tombstone
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
    // WHEN decided with the tombstone
    const d = expectKind(decide(record, settings, t), 'replicate');
    // THEN it is stamped back, and a marker remembers its generation
    expect(d.intent.ord).toBe(ord(1, 5, HERE));
    expect(d.lifeMarker).toEqual({
      key,
      bornSequence: sequenceOrd(sModify),
      generation: 1,
      expectedOrd: t.ord,
    });
    expect(d.stamp).toMatchObject({ ord: ord(1, 5, HERE) });
  });

  test('the delete of the stamp-less item carries the right generation from that marker (not skipped)', () => {
    // GIVEN that marker
    const t = {
      ord: ord(0, 2, HERE, true),
      origin: HERE,
      bornSequence: sequenceOrd(sModify),
      bornGeneration: 1,
    };
    // WHEN the stamp-less item is deleted
    const d = expectKind(
      decide(removeRecord(key, { version: N(5) }, { sequenceNumber: sRemove }), settings, t),
      'replicate',
    );
    // THEN the delete carries the marker's generation
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

  test('treats the deferral record as a replicator write (0 sends) and decides the deferred write against the local state', () => {
    // GIVEN the record of a peer save deferred on a local item
    const record = modifyRecord(key, local, deferredOn(local), { sequenceNumber: seq });
    // An unordered local life: its generation is read from the tombstone first.
    expect(decide(record, settings)).toEqual({ kind: 'need-tombstone', key });
    // WHEN decided with no tombstone
    const d = expectKind(decide(record, settings, null), 'skip');
    // THEN nothing is sent, and the deferred write is judged against the local state
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

  test('drops a deferred write the local state orders after, with no marker', () => {
    // GIVEN a local version 4, above the deferred version 3
    const mine = { ...local, version: N(4) };
    const record = modifyRecord(key, mine, deferredOn(mine), { sequenceNumber: seq });
    // WHEN the deferral record is decided
    const d = expectKind(decide(record, settings, null), 'skip');
    // THEN the deferred write loses, with no marker
    expect(d.resolve).toMatchObject({ holds: ord(0, 4, HERE), wins: false });
    expect(d.lifeMarker).toBeUndefined();
  });

  test('sends an application save of an item that carries a deferral, and decides the deferral against it', () => {
    // GIVEN an application save of an item that carries a deferral
    const before = deferredOn(local);
    const after = deferredOn({ ...local, version: N(3), a: S('mine again') });
    // WHEN decided
    const d = expectKind(decide(modifyRecord(key, before, after), settings, null), 'replicate');
    // THEN it is sent, and the deferral is judged against it
    expect(d.intent.ord).toBe(ord(0, 3, HERE));
    // (0, 3, eu-west-1) vs (0, 3, us-east-1): the peer's origin sorts later and wins.
    expect(d.resolve).toMatchObject({ holds: ord(0, 3, HERE), wins: true, version: '3' });
  });

  test('applies the deferred write here after the application deleted the item that carried it', () => {
    const d = expectKind(decide(removeRecord(key, deferredOn(local)), settings, null), 'replicate');
    expect(d.intent.op).toBe('delete');
    expect(d.reapply).toEqual(peerSave);
  });

  test('treats a record whose deferral is not a write intent as malformed, never acknowledged', () => {
    // GIVEN a deferral that is not a write intent
    const record = modifyRecord(key, local, { ...local, _ddbm_defer: S('{"op":"merge"}') });
    // WHEN decided THEN malformed, naming _ddbm_defer
    expect(expectKind(decide(record, settings, null), 'malformed').reason).toMatch(/_ddbm_defer/);
  });
});
