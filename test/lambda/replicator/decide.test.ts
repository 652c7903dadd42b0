import {
  afterStamp,
  afterStampLww,
  afterUndo,
  peerStateCovered,
  decide,
  lifeGeneration,
  replicatedImage,
  stampGuard,
  STAMP_GUARD_MAX_ATTRIBUTES,
  type Decision,
} from '../../../lambda/replicator/decide';
import { formatOrd, sequenceOrd } from '../../../lambda/core/order';
import type { StampIntent, WriteIntent } from '../../../lambda/core/intents';
import {
  insertRecord,
  modifyRecord,
  multiActiveSettings,
  N,
  oneWaySettings,
  removeRecord,
  S,
  streamRecord,
  type Image,
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

describe('multi-active saves whose new image carries an order key: sent at once, no read, no write here', () => {
  const settings = multiActiveSettings({ excludeAttributes: ['local'] });

  test('an application save of an item a peer ordered is sent in that generation, at its own version, from this region', () => {
    // GIVEN an item a peer ordered at version 4, generation 3
    const old = stamped(4, ord(3, 4, PEER), { a: S('x') });
    const now = { ...old, version: N(5), a: S('y') }; // UpdateItem ADD kept _ddbm_ord and _ddbm_ver
    // WHEN decided with no tombstone read
    const d = expectKind(decide(modifyRecord(key, old, now), settings), 'replicate');
    // THEN a put at (3, 5, here), nothing recorded locally and no contract violation
    const expected = ord(3, 5, HERE);
    expect(d).toEqual({
      kind: 'replicate',
      key,
      intent: {
        op: 'put',
        key,
        item: { pk: S('order-1'), version: N(5), a: S('y'), _ddbm_ord: S(expected), _ddbm_ver: N(5) },
        ord: expected,
        origin: HERE,
        version: '5',
      },
    });
  });

  test('a second application save of a local item keeps the generation and orders by its new version', () => {
    // GIVEN a local item (saved here at version 5 since a peer ordered version 4)
    const old = { version: N(5), _ddbm_ord: S(ord(2, 4, PEER)), _ddbm_ver: N(4) };
    // WHEN the application saves version 6
    const d = decide(modifyRecord(key, old, { ...old, version: N(6) }), settings);
    // THEN it is sent at (2, 6, here)
    expect(intentOf(d).ord).toBe(ord(2, 6, HERE));
  });

  test("strips excluded and reserved attributes and writes the send's own order key", () => {
    // GIVEN a save carrying an excluded attribute and a stray reserved one
    const old = stamped(1, ord(0, 1, HERE));
    const now = { ...old, version: N(2), local: S('only here'), _ddbm_junk: S('x') };
    // WHEN decided
    const item = (
      intentOf(decide(modifyRecord(key, old, now), settings)) as Extract<WriteIntent, { op: 'put' }>
    ).item;
    // THEN only the data is sent, with the order key rewritten
    expect(item).toEqual({ pk: S('order-1'), version: N(2), _ddbm_ord: S(ord(0, 2, HERE)), _ddbm_ver: N(2) });
  });

  test('the version and key attributes are never stripped, even if listed as excluded', () => {
    expect(
      replicatedImage(
        { pk: S('k'), version: N(1), x: S('x') },
        { pk: S('k') },
        multiActiveSettings({ excludeAttributes: ['pk', 'version', 'x'] }),
      ),
    ).toEqual({ pk: S('k'), version: N(1) });
  });

  test('a MODIFY that changed data without a version increase is a contract violation, still sent with the order key the item carries', () => {
    // GIVEN an item a peer ordered at version 5, changed by the application without ADD
    const old = stamped(5, ord(0, 5, PEER), { a: S('x') });
    const now = { ...old, a: S('y') };
    // WHEN decided
    const d = expectKind(decide(modifyRecord(key, old, now), settings), 'replicate');
    // THEN flagged, and sent at the order key it holds: peers that hold that version keep theirs
    expect(d.contractViolation).toEqual({ oldVersion: '5', newVersion: '5', changedAttributes: ['a'] });
    expect(d.intent.ord).toBe(ord(0, 5, PEER));
  });

  test('a MODIFY whose version went down is a contract violation', () => {
    const old = stamped(5, ord(0, 5, HERE));
    const d = expectKind(decide(modifyRecord(key, old, { ...old, version: N(4) }), settings), 'replicate');
    expect(d.contractViolation).toMatchObject({ oldVersion: '5', newVersion: '4' });
    expect(d.intent.ord).toBe(ord(0, 4, HERE));
  });

  test('a normal save is no contract violation, even if reserved attributes differ', () => {
    const old = stamped(5, ord(0, 5, HERE), { a: S('x') });
    const now = { ...old, version: N(6), a: S('y'), _ddbm_junk: S('z') };
    expect(
      expectKind(decide(modifyRecord(key, old, now), settings), 'replicate').contractViolation,
    ).toBeUndefined();
  });
});

describe('multi-active records a replicator wrote (no loops)', () => {
  const settings = multiActiveSettings();

  test("a peer's replicated save over an item here (its order key changed) is an echo, decided with no read", () => {
    const old = stamped(4, ord(0, 4, HERE), { a: S('mine') });
    const now = stamped(5, ord(0, 5, PEER), { a: S('theirs') });
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  test("a peer's replicated save over a local item (saved here since) is an echo", () => {
    const old = { version: N(6), _ddbm_ord: S(ord(0, 4, PEER)), _ddbm_ver: N(4) };
    const now = stamped(7, ord(0, 7, PEER));
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  test("this region's own stamp (only _ddbm_* attributes changed) is an echo", () => {
    const old = { version: N(5), a: S('x') };
    const now = stamped(5, ord(0, 5, HERE), { a: S('x') });
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  test("this region's next-life restamp of a local item (the order key replaced at its version) is an echo", () => {
    const old = { version: N(2), _ddbm_ord: S(ord(0, 1, PEER)), _ddbm_ver: N(1) };
    const now = stamped(2, ord(1, 2, HERE));
    expect(decide(modifyRecord(key, old, now), settings)).toEqual({ kind: 'skip', reason: 'echo', key });
  });

  describe("a peer's replicated save that created the item here is checked against this region's tombstone", () => {
    // A peer's save of version 2 in generation 1.
    const insert = insertRecord(key, stamped(2, ord(1, 2, PEER), { a: S('peer') }));

    test('asks for the tombstone first', () => {
      expect(decide(insert, settings)).toEqual({ kind: 'need-tombstone', key });
    });

    test.each([
      ['no tombstone', null],
      ['a tombstone without an order key', { origin: PEER }],
      ['the tombstone of an earlier version', { ord: ord(1, 1, PEER, true), origin: HERE }],
      ['the tombstone of an earlier generation', { ord: ord(0, 9, HERE, true), origin: HERE }],
    ])('with %s it is an echo (nothing to undo)', (_name, tombstone) => {
      expect(decide(insert, settings, tombstone)).toEqual({ kind: 'skip', reason: 'echo', key });
    });

    test.each([
      ["this region's delete of that version", ord(1, 2, PEER, true), HERE],
      ["another peer's delete of that version", ord(1, 2, PEER, true), 'ap-south-1'],
      ['a delete of a later version', ord(1, 3, HERE, true), HERE],
      ['a delete of a later generation', ord(2, 1, 'ap-south-1', true), 'ap-south-1'],
      // Covered means at or after the save: the comparison's boundary.
      ['a tombstone at exactly its order key', ord(1, 2, PEER), PEER],
    ])('covered by %s it is undone against that tombstone', (_name, t, origin) => {
      expect(decide(insert, settings, { ord: t, origin })).toEqual({ kind: 'undo', key, tombstone: t });
    });
  });
});

describe('multi-active saves that no image orders are stamped before they are sent', () => {
  const settings = multiActiveSettings();
  const stampOf = (d: Decision) => expectKind(d, 'stamp');

  describe('a new life (INSERT without an order key)', () => {
    const insert = insertRecord(key, { version: N(1), a: S('x') });

    test('asks for the tombstone first', () => {
      expect(decide(insert, settings)).toEqual({ kind: 'need-tombstone', key });
    });

    test('with no tombstone, is stamped as generation 0 at its version, guarded by its data', () => {
      expect(decide(insert, settings, null)).toEqual({
        kind: 'stamp',
        key,
        stamp: { key, ord: ord(0, 1, HERE), version: '1', same: { a: S('x') } },
        image: { ...key, version: N(1), a: S('x') },
        inherited: false,
      });
    });

    test.each([
      ['a tombstone without an order key', 0, { origin: PEER }],
      ["a peer's delete of generation 0", 1, { ord: ord(0, 7, PEER, true), origin: PEER }],
      ["this region's delete of generation 3", 4, { ord: ord(3, 2, HERE, true), origin: HERE }],
    ])('after %s, is stamped as generation %d', (_name, gen, tombstone) => {
      expect(stampOf(decide(insert, settings, tombstone)).stamp.ord).toBe(ord(gen, 1, HERE));
    });

    test('an item with no scalar data gets a stamp guarded by its version alone (no `same`)', () => {
      const d = stampOf(decide(insertRecord(key, { version: N(1), tags: { SS: ['a'] } }), settings, null));
      expect(d.stamp).toEqual({ key, ord: ord(0, 1, HERE), version: '1' });
    });
  });

  test('a second application save before the stamp (MODIFY, neither image ordered) takes its generation from the tombstone too', () => {
    const record = modifyRecord(key, { version: N(1) }, { version: N(2), a: S('y') });
    expect(decide(record, settings)).toEqual({ kind: 'need-tombstone', key });
    expect(stampOf(decide(record, settings, { ord: ord(1, 4, PEER, true), origin: PEER })).stamp).toEqual({
      key,
      ord: ord(2, 2, HERE),
      version: '2',
      same: { a: S('y') },
    });
  });

  test.each([
    ['ordered by a peer', stamped(4, ord(2, 4, PEER))],
    ['saved here since', { version: N(4), _ddbm_ord: S(ord(2, 3, PEER)), _ddbm_ver: N(3) }],
  ])(
    'a whole-item PutItem that dropped the order key of an item %s inherits its generation, with no read',
    (_name, old) => {
      // WHEN the PutItem's MODIFY is decided with no tombstone read
      const d = stampOf(decide(modifyRecord(key, old, { version: N(5), a: S('z') }), settings));
      // THEN stamped back in the old image's generation, marked as inherited
      expect(d.stamp).toEqual({ key, ord: ord(2, 5, HERE), version: '5', same: { a: S('z') } });
      expect(d.inherited).toBe(true);
    },
  );

  test('a PutItem that dropped the order key and changed data at the same version is stamped and flagged', () => {
    const old = stamped(5, ord(0, 5, PEER), { a: S('x') });
    const d = stampOf(decide(modifyRecord(key, old, { version: N(5), a: S('y') }), settings));
    expect(d.stamp.ord).toBe(ord(0, 5, HERE));
    expect(d.contractViolation).toEqual({ oldVersion: '5', newVersion: '5', changedAttributes: ['a'] });
  });
});

describe('lifeGeneration', () => {
  test.each([
    ['no tombstone', 0, null],
    ['a tombstone without an order key', 0, { origin: PEER }],
    ['a tombstone of generation 0', 1, { ord: ord(0, 3, PEER, true) }],
    ['a tombstone of generation 41', 42, { ord: ord(41, 1, HERE, true), origin: HERE }],
  ])('after %s is %d', (_name, gen, tombstone) => {
    expect(lifeGeneration(tombstone)).toBe(gen);
  });
});

describe('stampGuard', () => {
  const settings = multiActiveSettings();

  test('keeps the scalar data (S, N, B, BOOL) and leaves out keys, the version, reserved attributes, sets, lists, maps and NULL', () => {
    const image = {
      ...key,
      version: N(1),
      _ddbm_ord: S(ord(0, 1, HERE)),
      s: S('x'),
      n: N(2),
      b: { B: 'AAE=' },
      t: { BOOL: true },
      ss: { SS: ['a'] },
      l: { L: [S('a')] },
      m: { M: { a: S('a') } },
      nul: { NULL: true },
    };
    expect(stampGuard(image, key, settings)).toEqual({
      s: S('x'),
      n: N(2),
      b: { B: 'AAE=' },
      t: { BOOL: true },
    });
  });

  test(`keeps the first ${STAMP_GUARD_MAX_ATTRIBUTES} attributes by name (a condition expression is bounded)`, () => {
    const names = Array.from(
      { length: STAMP_GUARD_MAX_ATTRIBUTES + 8 },
      (_, i) => `a${String(i).padStart(3, '0')}`,
    );
    const image = Object.fromEntries([...names].reverse().map((n) => [n, S(n)]));
    expect(Object.keys(stampGuard({ ...image, ...key, version: N(1) }, key, settings))).toEqual(
      names.slice(0, STAMP_GUARD_MAX_ATTRIBUTES),
    );
  });
});

describe('multi-active deletes', () => {
  const settings = multiActiveSettings();
  const created = 1_700_000_000;
  const expiresAt = created + settings.tombstoneTtlSeconds;
  const removeOf = (old: Image, options = {}) =>
    removeRecord(key, old, { approximateCreationDateTime: created, ...options });
  const peerItem = stamped(3, ord(1, 3, PEER));

  test('of an item never stamped here (unordered old image) is superseded, decided with no read: no peer holds it', () => {
    expect(decide(removeOf({ version: N(2), a: S('x') }), settings)).toEqual({
      kind: 'skip',
      reason: 'superseded',
      key,
    });
  });

  test('of an ordered item asks for the tombstone first (the echo check)', () => {
    expect(decide(removeOf(peerItem), settings)).toEqual({ kind: 'need-tombstone', key });
  });

  test("with no tombstone, is sent as the deleted state's order key with d = 1, recorded here first, both expiring at the record's time + the tombstone lifetime", () => {
    const expected = ord(1, 3, PEER, true);
    expect(decide(removeOf(peerItem), settings, null)).toEqual({
      kind: 'replicate',
      key,
      intent: { op: 'delete', key, ord: expected, origin: HERE, version: '3', expiresAt },
      localTombstone: { key, ord: expected, origin: HERE, expiresAt },
    });
  });

  test('the expiry counts from the whole second of the record', () => {
    const d = expectKind(
      decide(removeOf(peerItem, { approximateCreationDateTime: created + 0.9 }), settings, null),
      'replicate',
    );
    expect(d.localTombstone?.expiresAt).toBe(expiresAt);
  });

  test('a record without ApproximateCreationDateTime sends no expiry (the writer then sets one)', () => {
    const record = removeOf(peerItem);
    delete record.dynamodb!.ApproximateCreationDateTime;
    const d = expectKind(decide(record, settings, null), 'replicate');
    expect(d.intent).not.toHaveProperty('expiresAt');
    expect(d.localTombstone).not.toHaveProperty('expiresAt');
  });

  test('of a local item (saved here since it was ordered) is ordered as this region, in its generation, at its own version', () => {
    const old = { version: N(4), _ddbm_ord: S(ord(1, 3, PEER)), _ddbm_ver: N(3) };
    expect(intentOf(decide(removeOf(old), settings, null)).ord).toBe(ord(1, 4, HERE, true));
  });

  test.each([
    ['of that same version', ord(1, 3, PEER, true)],
    ['of a later version', ord(1, 5, PEER, true)],
    ['of a later generation', ord(2, 1, PEER, true)],
  ])("covered by another region's tombstone %s, is the echo of a replicated delete", (_name, t) => {
    expect(decide(removeOf(peerItem), settings, { ord: t, origin: PEER })).toEqual({
      kind: 'skip',
      reason: 'echo',
      key,
    });
  });

  test('covered by a later tombstone of this region, is a replay of an older delete: superseded', () => {
    expect(decide(removeOf(peerItem), settings, { ord: ord(2, 1, HERE, true), origin: HERE })).toEqual({
      kind: 'skip',
      reason: 'superseded',
      key,
    });
  });

  test('meeting its own tombstone (a replay of this delete), sends the same delete again', () => {
    const first = decide(removeOf(peerItem), settings, null);
    const replay = decide(removeOf(peerItem), settings, {
      ord: ord(1, 3, PEER, true),
      origin: HERE,
      expiresAt,
    });
    expect(replay).toEqual(first);
  });

  test.each([
    ['an earlier generation', { ord: ord(0, 9, PEER, true), origin: PEER }],
    ['an earlier version', { ord: ord(1, 2, HERE, true), origin: HERE }],
    // Both regions saved version 3; the peer's delete of its own version 3 orders first and covers only that.
    [
      'the same version from an origin that sorts first',
      { ord: ord(1, 3, 'ap-south-1', true), origin: 'ap-south-1' },
    ],
  ])('over a tombstone of %s, is sent and recorded', (_name, tombstone) => {
    const d = expectKind(decide(removeOf(peerItem), settings, tombstone), 'replicate');
    expect(d.intent.ord).toBe(ord(1, 3, PEER, true));
    expect(d.localTombstone?.ord).toBe(ord(1, 3, PEER, true));
  });

  describe('TTL expiries', () => {
    const kept = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: false } });
    const sent = multiActiveSettings({ ttl: { attribute: 'exp', replicateDeletes: true } });

    test('not replicated: skipped, and still recorded in the local tombstone with its expiry', () => {
      expect(decide(removeOf(peerItem, { ttl: true }), kept, null)).toEqual({
        kind: 'skip',
        reason: 'ttl-not-replicated',
        key,
        localTombstone: { key, ord: ord(1, 3, PEER, true), origin: HERE, expiresAt },
      });
    });

    test("not replicated and covered by a peer's tombstone: an echo, nothing recorded", () => {
      expect(
        decide(removeOf(peerItem, { ttl: true }), kept, { ord: ord(1, 3, PEER, true), origin: PEER }),
      ).toEqual({ kind: 'skip', reason: 'echo', key });
    });

    test('replicated: sent as a delete', () => {
      expect(intentOf(decide(removeOf(peerItem, { ttl: true }), sent, null)).op).toBe('delete');
    });

    test('of an item never stamped: superseded whatever the setting', () => {
      expect(expectKind(decide(removeOf({ version: N(1) }, { ttl: true }), kept), 'skip').reason).toBe(
        'superseded',
      );
    });
  });
});

describe('afterStamp: what a stamp that did not go through met', () => {
  const settings = multiActiveSettings();
  const now = 1_800_000_000;
  const stamp: StampIntent = { key, ord: ord(2, 3, HERE), version: '3', same: { a: S('x') } };
  const item = (extra: Image): Image => ({ ...key, a: S('x'), ...extra });

  test.each([false, true])(
    'the item holds this stamp already (a lost answer, or a death before the send): that state is sent (inherited: %s)',
    (inherited) => {
      const held = item({ version: N(3), _ddbm_ord: S(ord(2, 3, HERE)), _ddbm_ver: N(3) });
      expect(afterStamp(stamp, inherited, held, settings, now)).toEqual({
        kind: 'send',
        intent: {
          op: 'put',
          key,
          item: { ...key, a: S('x'), version: N(3), _ddbm_ord: S(ord(2, 3, HERE)), _ddbm_ver: N(3) },
          ord: ord(2, 3, HERE),
          origin: HERE,
          version: '3',
        },
      });
    },
  );

  test("the item holds this region's stamp of the same state with another generation (stamped as the next life): that order key is sent", () => {
    const held = item({ version: N(3), _ddbm_ord: S(ord(5, 3, HERE)), _ddbm_ver: N(3) });
    expect(afterStamp(stamp, false, held, settings, now)).toMatchObject({
      kind: 'send',
      intent: { op: 'put', ord: ord(5, 3, HERE) },
    });
  });

  test("a PutItem's state replaced by a peer's concurrent save of the same version that orders after it: done, nothing deleted (simulator, swarm seed 156)", () => {
    const held = item({ version: N(3), _ddbm_ord: S(ord(2, 3, 'zz-west-9')), _ddbm_ver: N(3) });
    expect(afterStamp(stamp, true, held, settings, now)).toEqual({ kind: 'done' });
  });

  test('a later unordered save after a new life: done, its own record orders it (it may be a later life)', () => {
    const held = item({ version: N(5), a: S('later') });
    expect(afterStamp(stamp, false, held, settings, now)).toEqual({ kind: 'done' });
  });

  test('a later unordered save after a whole-item PutItem: stamped in the inherited generation, guarded by its own data', () => {
    const held = item({ version: N(5), a: S('later') });
    expect(afterStamp(stamp, true, held, settings, now)).toEqual({
      kind: 'restamp',
      stamp: { key, ord: ord(2, 5, HERE), version: '5', same: { a: S('later') } },
      image: held,
    });
  });

  test.each([
    ['ordered by a peer', { version: N(5), _ddbm_ord: S(ord(2, 5, PEER)), _ddbm_ver: N(5) }],
    ['ordered here', { version: N(4), _ddbm_ord: S(ord(2, 4, HERE)), _ddbm_ver: N(4) }],
    ['local (saved since it was ordered)', { version: N(6), _ddbm_ord: S(ord(2, 4, HERE)), _ddbm_ver: N(4) }],
  ])('a later state %s carries its own order key: done', (_name, extra) => {
    expect(afterStamp(stamp, true, item(extra), settings, now)).toEqual({ kind: 'done' });
  });

  const otherLives: [string, Image | undefined][] = [
    ['no item', undefined],
    ['another life at the same version (other data)', { version: N(3), a: S('other') }],
    ['another life at a lower version', { version: N(1) }],
    ["a peer's state at the same version", { version: N(3), _ddbm_ord: S(ord(2, 3, PEER)), _ddbm_ver: N(3) }],
    [
      "this region's stamp of another life at the same version",
      { version: N(3), a: S('other'), _ddbm_ord: S(ord(3, 3, HERE)), _ddbm_ver: N(3) },
    ],
  ];

  test.each(otherLives)('a new life meeting %s was never sent: done', (_name, extra) => {
    expect(afterStamp(stamp, false, extra && item(extra), settings, now)).toEqual({ kind: 'done' });
  });

  const removed = otherLives.slice(0, 3);
  test.each(removed)(
    'an inherited state meeting %s was replaced after peers got its earlier states: the delete of this version is sent and recorded here',
    (_name, extra) => {
      const deleted = ord(2, 3, HERE, true);
      const expiresAt = now + settings.tombstoneTtlSeconds;
      expect(afterStamp(stamp, true, extra && item(extra), settings, now)).toEqual({
        kind: 'send',
        intent: { op: 'delete', key, ord: deleted, origin: HERE, version: '3', expiresAt },
        localTombstone: { key, ord: deleted, origin: HERE, expiresAt },
      });
    },
  );

  test.each(otherLives.slice(3))(
    'an inherited state meeting %s (ordered after it) is covered by that state everywhere: done, nothing deleted',
    (_name, extra) => {
      expect(afterStamp(stamp, true, extra && item(extra), settings, now)).toEqual({ kind: 'done' });
    },
  );
});

describe('peerStateCovered: what the look after a local delete undoes', () => {
  const settings = multiActiveSettings();
  const tombstone = ord(0, 2, HERE, true);
  test.each([
    [
      "a peer's ordered state at or below the tombstone",
      { version: N(2), _ddbm_ord: S(ord(0, 2, PEER)), _ddbm_ver: N(2) },
      ord(0, 3, HERE, true),
      true,
    ],
    [
      "a peer's ordered state above the tombstone",
      { version: N(3), _ddbm_ord: S(ord(0, 3, PEER)), _ddbm_ver: N(3) },
      tombstone,
      false,
    ],
    [
      "this region's own ordered state (the next life instead)",
      { version: N(1), _ddbm_ord: S(ord(0, 1, HERE)), _ddbm_ver: N(1) },
      tombstone,
      false,
    ],
    [
      'a local save on a peer state (the next life instead)',
      { version: N(2), _ddbm_ord: S(ord(0, 1, PEER)), _ddbm_ver: N(1) },
      tombstone,
      false,
    ],
    ['an unordered item', { version: N(1) }, tombstone, false],
  ] as const)('%s: %s', (_name, extra, t, expected) => {
    expect(peerStateCovered({ ...key, ...extra }, t, settings)).toBe(expected);
  });
});

describe('afterUndo: what an undo that did not go through met', () => {
  const settings = multiActiveSettings();
  const tombstone = ord(0, 2, PEER, true);
  const item = (extra: Image): Image => ({ ...key, a: S('x'), ...extra });

  test('no item (gone since): done', () => {
    expect(afterUndo(key, tombstone, undefined, settings)).toEqual({ kind: 'done' });
  });

  test('an unordered item (the application replaced or created it after the delete): the next life, stamped now so its own record finds it (simulator, swarm seed 5094)', () => {
    const held = item({ version: N(2) });
    expect(afterUndo(key, tombstone, held, settings)).toEqual({
      kind: 'restamp',
      stamp: { key, ord: ord(1, 2, HERE), version: '2', same: { a: S('x') } },
      image: held,
    });
  });

  test.each([
    ['the stale order key', ord(0, 2, PEER)],
    ['an order key at the tombstone', tombstone],
    ['an older order key', ord(0, 1, HERE)],
  ])(
    'an application save on the stale state (a local item with %s) is stamped as the next life at its own version',
    (_name, stale) => {
      const held = item({ version: N(3), _ddbm_ord: S(stale), _ddbm_ver: N(2) });
      expect(afterUndo(key, tombstone, held, settings)).toEqual({
        kind: 'restamp',
        stamp: { key, ord: ord(1, 3, HERE), version: '3', replaces: stale, same: { a: S('x') } },
        image: held,
      });
    },
  );

  test('a local item whose order key is above the tombstone (a later life saved here): done', () => {
    const held = item({ version: N(3), _ddbm_ord: S(ord(1, 1, PEER)), _ddbm_ver: N(1) });
    expect(afterUndo(key, tombstone, held, settings)).toEqual({ kind: 'done' });
  });

  test('a state this region ordered above the tombstone (its next-life stamp, whose send may never have run): sent', () => {
    const held = item({ version: N(3), _ddbm_ord: S(ord(1, 3, HERE)), _ddbm_ver: N(3) });
    expect(afterUndo(key, tombstone, held, settings)).toEqual({
      kind: 'send',
      intent: {
        op: 'put',
        key,
        item: { ...key, a: S('x'), version: N(3), _ddbm_ord: S(ord(1, 3, HERE)), _ddbm_ver: N(3) },
        ord: ord(1, 3, HERE),
        origin: HERE,
        version: '3',
      },
    });
  });

  test('a state this region ordered at or below the tombstone is still here, so written after the delete (a discarded range replayed late): the next life', () => {
    const held = item({ version: N(1), _ddbm_ord: S(ord(0, 1, HERE)), _ddbm_ver: N(1) });
    expect(afterUndo(key, tombstone, held, settings)).toEqual({
      kind: 'restamp',
      stamp: { key, ord: ord(1, 1, HERE), version: '1', replaces: ord(0, 1, HERE), same: { a: S('x') } },
      image: held,
    });
  });

  test.each([
    ['a peer ordered above the tombstone', { version: N(1), _ddbm_ord: S(ord(1, 1, PEER)), _ddbm_ver: N(1) }],
    [
      'a peer ordered at or below the tombstone',
      { version: N(2), _ddbm_ord: S(ord(0, 2, PEER)), _ddbm_ver: N(2) },
    ],
  ])('a state %s: done (its own record or the undo decides it)', (_name, extra) => {
    expect(afterUndo(key, tombstone, item(extra), settings)).toEqual({ kind: 'done' });
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

describe('last writer wins: every save is stamped by its own region, by a hybrid logical clock', () => {
  const settings = multiActiveSettings({ conflicts: 'last-writer-wins', versionAttribute: '_ddbm_ver' });
  const T = 1_700_000_000;
  const at = (seconds: number, sequenceNumber: string) => ({
    approximateCreationDateTime: seconds,
    sequenceNumber,
  });
  const SEQ1 = '1'.padStart(21, '0');
  const SEQ2 = '2'.padStart(21, '0');
  const lwwState = (clock: number, origin: string, by?: string, extra = {}) => ({
    _ddbm_ord: S(ord(0, clock, origin)),
    _ddbm_ver: N(clock),
    ...(by ? { _ddbm_by: S(by) } : {}),
    ...extra,
  });

  test('a save on an ordered state is stamped at the record time, with the record that stamps it', () => {
    // GIVEN a peer's state at clock 5 and a local save on it, recorded at T seconds
    const before = lwwState(5, PEER, undefined, { data: S('old') });
    const record = modifyRecord(key, before, { ...before, data: S('new') }, at(T, SEQ1));
    // WHEN decided, with no tombstone
    const d = expectKind(decide(record, settings, null), 'stamp');
    // THEN its order key is the record's time in milliseconds, in the same life, replacing the peer's
    expect(d.stamp).toMatchObject({
      ord: ord(0, T * 1000, HERE),
      version: String(T * 1000),
      replaces: ord(0, 5, PEER),
      by: sequenceOrd(SEQ1),
    });
    expect(d.inherited).toBe(true);
  });

  test('a save on a state stamped later than its record time orders above that state (the clock is raised)', () => {
    const before = lwwState(T * 1000 + 7, PEER, undefined, { data: S('old') });
    const record = modifyRecord(key, before, { ...before, data: S('new') }, at(T, SEQ1));
    const d = expectKind(decide(record, settings, null), 'stamp');
    expect(d.stamp.ord).toBe(ord(0, T * 1000 + 8, HERE));
  });

  test('a save the tombstone covers starts the next life, and keeps the order key of its own life for a removal', () => {
    const before = lwwState(5, PEER, undefined, { data: S('old') });
    const record = modifyRecord(key, before, { ...before, data: S('new') }, at(T, SEQ1));
    const tombstone = { ord: ord(0, T * 1000 + 50, PEER, true), origin: PEER };
    const d = expectKind(decide(record, settings, tombstone), 'stamp');
    expect(d.stamp.ord).toBe(ord(1, T * 1000, HERE));
    expect(d.stamp.life).toBe(ord(0, T * 1000, HERE));
  });

  test("a replicator's write (a new order key, or the same key from another record) is an echo, never sent on", () => {
    const before = lwwState(5, PEER, sequenceOrd(SEQ1), { data: S('a') });
    const peerSave = modifyRecord(key, before, lwwState(5, PEER, sequenceOrd(SEQ2), { data: S('b') }));
    expect(expectKind(decide(peerSave, settings, null), 'skip').reason).toBe('echo');
    const stamp = modifyRecord(key, { data: S('a') }, lwwState(9, HERE, sequenceOrd(SEQ1), { data: S('a') }));
    expect(expectKind(decide(stamp, settings, null), 'skip').reason).toBe('echo');
  });

  test('a delete is ordered by its own clock, above the state it removed; a delete of a state never stamped sends nothing', () => {
    const removed = lwwState(5, PEER, undefined, { data: S('a') });
    const d = decide(removeRecord(key, removed, at(T, SEQ2)), settings, null);
    expect(intentOf(d)).toMatchObject({ op: 'delete', ord: ord(0, T * 1000, HERE, true) });
    const never = decide(removeRecord(key, { data: S('a') }, at(T, SEQ2)), settings, null);
    expect(expectKind(never, 'skip').reason).toBe('superseded');
  });
});

describe('last writer wins: what a stamp that did not go through met (afterStampLww)', () => {
  const settings = multiActiveSettings({ conflicts: 'last-writer-wins', versionAttribute: '_ddbm_ver' });
  const mine = ord(0, 100, HERE);
  const by = sequenceOrd('5'.padStart(21, '0'));
  const stamp: StampIntent = { key, ord: mine, version: '100', replaces: ord(0, 10, PEER), by };
  const image = { ...key, data: S('mine') };
  const held = (o: string, extra: Image = {}) => ({
    ...key,
    _ddbm_ord: S(o),
    _ddbm_ver: N(Number(o.split('#')[1])),
    ...extra,
  });

  test('its own stamp (the answer was lost): sends its own save, not what the item holds now', () => {
    const next = afterStampLww(
      stamp,
      true,
      image,
      held(mine, { _ddbm_by: S(by), data: S('later') }),
      settings,
      0,
    );
    expect(next).toMatchObject({ kind: 'send', intent: { ord: mine, item: { data: S('mine') } } });
  });

  test("a peer's earlier save that replaced the state it was made on: the save is written back over it", () => {
    const peer = held(ord(0, 50, PEER), { _ddbm_over: S(ord(0, 10, PEER)), data: S('theirs') });
    expect(afterStampLww(stamp, true, image, peer, settings, 0)).toMatchObject({
      kind: 'reapply',
      replaces: ord(0, 50, PEER),
    });
  });

  test("a peer's earlier save that created the item (the application here deleted this save first): nothing", () => {
    const peer = held(ord(0, 50, PEER), { data: S('theirs') });
    expect(afterStampLww(stamp, true, image, peer, settings, 0)).toEqual({ kind: 'done' });
  });

  test("a peer's earlier save over backfill's clock-0 stamp of a save not read yet: the save is written back over it", () => {
    // The save was made on a state with no order key (so it names none); backfill then stamped it at
    // clock 0 before its record was read, and a parked peer save replaced that stamp.
    const unstamped: StampIntent = { key, ord: mine, version: '100', by };
    const peer = held(ord(0, 50, PEER), { _ddbm_over: S(ord(0, 0, HERE)), data: S('theirs') });
    expect(afterStampLww(unstamped, false, image, peer, settings, 0)).toMatchObject({
      kind: 'reapply',
      replaces: ord(0, 50, PEER),
    });
    const overPeer = held(ord(0, 50, PEER), { _ddbm_over: S(ord(0, 0, PEER)), data: S('theirs') });
    expect(afterStampLww(unstamped, false, image, overPeer, settings, 0)).toEqual({ kind: 'done' });
  });

  test("a peer's later save wins: nothing", () => {
    const peer = held(ord(0, 500, PEER), { _ddbm_over: S(ord(0, 10, PEER)) });
    expect(afterStampLww(stamp, true, image, peer, settings, 0)).toEqual({ kind: 'done' });
  });

  test('the state it was made on, still there: the application saved again, and that record stamps it', () => {
    expect(afterStampLww(stamp, true, image, held(ord(0, 10, PEER)), settings, 0)).toEqual({ kind: 'done' });
  });
});
