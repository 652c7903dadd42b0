import { supersededInBatch } from '../../../lambda/replicator/decide';
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

/**
 * Saves a later change of the same item in the same batch supersedes are not sent (docs/replication.md,
 * invariant 1): only the item's highest state matters to a peer.
 */
describe('supersededInBatch', () => {
  const key = { pk: S('k') };
  const ma = multiActiveSettings();
  const v = (n: number, data: string) => ({ version: N(n), data: S(data) });
  const stamped = (n: number, data: string, ord: string) => ({
    ...v(n, data),
    _ddbm_ord: S(ord),
    _ddbm_ver: N(n),
  });
  const ORD = '0000000000#00000000000000000001#eu-west-1#0';

  test('an application save followed by another application save of the item is superseded; the last is not', () => {
    // GIVEN an insert and two updates of one item in one batch
    const records = [
      insertRecord(key, v(1, 'a')),
      modifyRecord(key, v(1, 'a'), v(2, 'b')),
      modifyRecord(key, v(2, 'b'), v(3, 'c')),
    ];
    // THEN only the last one is sent
    expect(supersededInBatch(records, ma)).toEqual([true, true, false]);
  });

  test('a save followed by its delete is superseded; the delete is not', () => {
    const records = [insertRecord(key, v(1, 'a')), removeRecord(key, v(1, 'a'))];
    expect(supersededInBatch(records, ma)).toEqual([true, false]);
  });

  test("a replicator's stamp of the save (only _ddbm_* changed) does not supersede it: the stamp sends nothing", () => {
    // GIVEN the INSERT of a new life and the stamp its first delivery wrote (re-delivered together)
    const records = [insertRecord(key, v(1, 'a')), modifyRecord(key, v(1, 'a'), stamped(1, 'a', ORD))];
    // THEN the INSERT is still handled: its retry finds the stamp and sends the state
    expect(supersededInBatch(records, ma)).toEqual([false, false]);
  });

  test("a peer's replicated insert is never skipped: its region must check it against the tombstone", () => {
    const peerOrd = '0000000000#00000000000000000001#us-east-1#0';
    const records = [
      insertRecord(key, { ...v(1, 'p'), _ddbm_ord: S(peerOrd), _ddbm_ver: N(1) }),
      modifyRecord(
        key,
        { ...v(1, 'p'), _ddbm_ord: S(peerOrd), _ddbm_ver: N(1) },
        {
          ...v(2, 'q'),
          _ddbm_ord: S(peerOrd),
          _ddbm_ver: N(1),
        },
      ),
    ];
    expect(supersededInBatch(records, ma)).toEqual([false, false]);
  });

  test('a whole-item PutItem that dropped the order key is handled even when its delete follows (found by the simulator, swarm seed 55)', () => {
    // GIVEN a stamped item replaced by a PutItem (no _ddbm_*), then deleted, in one batch
    const records = [modifyRecord(key, stamped(1, 'a', ORD), v(2, 'b')), removeRecord(key, v(2, 'b'))];
    // THEN the PutItem's record is handled: with its item gone, only it knows the delete's generation
    expect(supersededInBatch(records, ma)).toEqual([false, false]);
  });

  test('a malformed save is never skipped, so it is reported', () => {
    // GIVEN a save without a version attribute, then a valid save
    const records = [insertRecord(key, { data: S('x') }), modifyRecord(key, { data: S('x') }, v(1, 'y'))];
    expect(supersededInBatch(records, ma)[0]).toBe(false);
  });

  test('a malformed later record supersedes nothing', () => {
    const records = [
      insertRecord(key, v(1, 'a')),
      streamRecord('MODIFY', key, { newImage: { ...v(2, 'b'), ...key } }),
    ];
    expect(supersededInBatch(records, ma)).toEqual([false, false]);
  });

  test('one-way: every save but the last of the item is superseded', () => {
    const records = [
      insertRecord(key, { data: S('a') }),
      modifyRecord(key, { data: S('a') }, { data: S('b') }),
      removeRecord(key, { data: S('b') }),
      insertRecord(key, { data: S('c') }),
    ];
    expect(supersededInBatch(records, oneWaySettings())).toEqual([true, true, false, false]);
  });
});
