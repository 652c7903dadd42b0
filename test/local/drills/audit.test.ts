import { BACKFILL_ORD } from '../../../lambda/contract';
import { auditRecords } from '../../../lib/local/drills/audit';
import { WRITE_ID } from '../../../lib/local/workload';
import { insertRecord, modifyRecord, N, removeRecord, S } from '../../support/records';
import { multiActiveTable } from '../../support/model-fixtures';

/** The stream audit of a drill: which re-entries of an earlier write into an item it reports. */
describe('auditRecords', () => {
  const table = multiActiveTable({
    key: { partitionKey: { name: 'sessionId', type: 'S' } },
    regions: ['us-east-1', 'eu-west-1'],
  });
  const key = { sessionId: S('s1') };
  const item = (writeId: string, version: number) => ({
    ...key,
    [WRITE_ID]: S(writeId),
    version: N(version),
  });
  const save = (from: [string, number] | undefined, to: [string, number]) =>
    from ? modifyRecord(key, item(...from), item(...to)) : insertRecord(key, item(...to));
  const remove = (from: [string, number]) => removeRecord(key, item(...from));

  test('a write that enters again over a newer one is reported, with the key history', () => {
    // GIVEN w1, then w2, then w1 again over w2 (a duplicate that overwrote something newer)
    const audit = auditRecords(table, 'eu-west-1', [
      save(undefined, ['w1', 1]),
      save(['w1', 1], ['w2', 2]),
      save(['w2', 2], ['w1', 1]),
    ]);
    // THEN one re-application of w1 over w2
    expect(audit.reapplied).toEqual([
      expect.objectContaining({ writeId: 'w1', over: 'w2', region: 'eu-west-1', table: table.name }),
    ]);
    expect(audit.reapplied[0].history.map((h) => h.writeId)).toEqual(['w1', 'w2', 'w1']);
    expect(audit.records).toBe(3);
  });

  test('stale writes that come back after a delete are counted as resurfaced, not as re-applied', () => {
    // GIVEN w1, w2, a delete, then w1 and w2 back (the gap before the tombstone), deleted again or not
    const gap = [
      save(undefined, ['w1', 1]),
      save(['w1', 1], ['w2', 2]),
      remove(['w2', 2]),
      save(undefined, ['w1', 1]),
      save(['w1', 1], ['w2', 2]),
    ];
    for (const records of [gap, [...gap, remove(['w2', 2])]]) {
      const audit = auditRecords(table, 'eu-west-1', records);
      // THEN both re-entries are counted, and none is reported (the final-state check judges what stays)
      expect(audit.reinserted).toBe(2);
      expect(audit.reapplied).toEqual([]);
    }
  });

  test("a one-way backfill's copy replaced by an older live record, then by the live copy, is no re-entry", () => {
    // GIVEN w2 copied by the backfill (lowest order key), w1 still in flight from the stream, then w2 live
    const backfilled = { ...item('w2', 2), _ddbm_ord: S(BACKFILL_ORD) };
    const audit = auditRecords(table, 'ca-central-1', [
      insertRecord(key, backfilled),
      modifyRecord(key, backfilled, item('w1', 1)),
      save(['w1', 1], ['w2', 2]),
    ]);
    // THEN nothing is reported: the backfilled copy does not count as w2 having entered
    expect(audit.reapplied).toEqual([]);
  });

  test('new writes after a delete are no re-entry at all', () => {
    const audit = auditRecords(table, 'eu-west-1', [
      save(undefined, ['w1', 1]),
      remove(['w1', 1]),
      save(undefined, ['w3', 1]),
      save(['w3', 1], ['w4', 2]),
    ]);
    expect(audit).toEqual(expect.objectContaining({ records: 4, reapplied: [], reinserted: 0 }));
    // AND the key's history is kept, to explain a divergence with
    expect([...audit.histories.values()][0].map((h) => h.writeId)).toEqual(['w1', null, 'w3', 'w4']);
  });

  test('last writer wins: a save written back above the peer save that replaced it is counted, not reported; a step back in order still is', () => {
    // GIVEN a last-writer-wins table: w1 (unstamped, order a), w2 from a peer (order b), then w1
    // written back by its region with a later order (c)
    const lww = multiActiveTable({
      key: { partitionKey: { name: 'sessionId', type: 'S' } },
      regions: ['us-east-1', 'eu-west-1'],
      conflicts: 'last-writer-wins',
    });
    const at = (writeId: string, ord: string) => ({ ...key, [WRITE_ID]: S(writeId), _ddbm_ord: S(ord) });
    const writtenBack = auditRecords(lww, 'eu-west-1', [
      insertRecord(key, at('w1', 'a')),
      modifyRecord(key, at('w1', 'a'), at('w2', 'b')),
      modifyRecord(key, at('w2', 'b'), at('w1', 'c')),
    ]);
    // THEN counted as written back
    expect(writtenBack.writtenBack).toBe(1);
    expect(writtenBack.reapplied).toEqual([]);
    // AND w1 entering again at a lower order than the state it replaced is reported, as for versions
    const stepBack = auditRecords(lww, 'eu-west-1', [
      insertRecord(key, at('w1', 'c')),
      modifyRecord(key, at('w1', 'c'), at('w2', 'd')),
      modifyRecord(key, at('w2', 'd'), at('w1', 'c')),
    ]);
    expect(stepBack.writtenBack).toBe(0);
    expect(stepBack.reapplied).toHaveLength(1);
  });
});
