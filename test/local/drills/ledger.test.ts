import { RegionUnreachableError } from '../../../lib/local/drills/faults';
import { type FinalStates, WriteLedger } from '../../../lib/local/drills/ledger';
import { canonical } from '../../../lib/local/verify';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { OpKind, PlannedOp } from '../../../lib/local/workload';
import { multiActiveTable, oneWayTable } from '../../support/model-fixtures';

/** The ledger a drill measures loss against: which final states of a key count as lost. */
describe('WriteLedger', () => {
  const stories = oneWayTable({ replicas: ['eu-west-1'] });
  const sessions = multiActiveTable({
    key: { partitionKey: { name: 'sessionId', type: 'S' } },
    regions: ['us-east-1', 'eu-west-1'],
  });
  const key = { storyId: { S: 'k1' } };
  const sessionKey = { sessionId: { S: 's1' } };

  function op(
    table: string,
    region: string,
    kind: OpKind,
    writeId: string,
    k: Record<string, AttributeValue> = key,
  ): PlannedOp {
    return { at: 0, index: 0, table, region, kind, key: k, attributes: {}, writeId };
  }

  /** Every region's final state of one key: its `WRITE_ID`, or undefined when the item is absent. */
  function finals(table: string, k: object, byRegion: Record<string, string | undefined>): FinalStates {
    const regions = new Map(
      Object.entries(byRegion).map(([region, id]) => [
        region,
        new Map(id === undefined ? [] : [[canonical(k), id]]),
      ]),
    );
    return new Map([[table, regions]]);
  }

  test('the last acknowledged write of a one-way key is its only right final state', () => {
    // GIVEN two saves of one key, one after the other, in the source
    const ledger = new WriteLedger();
    ledger.record(op('Stories', 'us-east-1', 'create', 'w1'), {
      acknowledged: true,
      startedAt: 0,
      endedAt: 5,
    });
    ledger.record(op('Stories', 'us-east-1', 'edit', 'w2'), {
      acknowledged: true,
      startedAt: 10,
      endedAt: 15,
    });
    // WHEN the replica ends with the first save, the source with the second
    const verdict = ledger.verdict(
      [stories],
      finals('Stories', key, { 'us-east-1': 'w2', 'eu-west-1': 'w1' }),
    );
    // THEN the key is lost in the replica only
    expect(verdict.lostKeys).toBe(1);
    expect(verdict.lost).toEqual([
      {
        table: 'Stories',
        key: canonical(key),
        region: 'eu-west-1',
        found: 'w1',
        candidates: ['w2'],
        writes: [expect.objectContaining({ writeId: 'w1' }), expect.objectContaining({ writeId: 'w2' })],
      },
    ]);
  });

  test('a deleted item that is back is lost; one that stays deleted is not', () => {
    // GIVEN a save, then a delete, in the source
    const ledger = new WriteLedger();
    ledger.record(op('Stories', 'us-east-1', 'create', 'w1'), {
      acknowledged: true,
      startedAt: 0,
      endedAt: 5,
    });
    ledger.record(op('Stories', 'us-east-1', 'delete', 'w2'), {
      acknowledged: true,
      startedAt: 10,
      endedAt: 15,
    });
    // WHEN the replica still holds the save, the source nothing
    const verdict = ledger.verdict(
      [stories],
      finals('Stories', key, { 'us-east-1': undefined, 'eu-west-1': 'w1' }),
    );
    // THEN only the replica's copy is lost
    expect(verdict.lost.map((l) => [l.region, l.found])).toEqual([['eu-west-1', 'w1']]);
  });

  test("concurrent writes in two regions: either region's last write is a right final state", () => {
    // GIVEN saves of one key at the same time in both regions of a multi-active table
    const ledger = new WriteLedger();
    ledger.record(op('Sessions', 'us-east-1', 'save', 'a', sessionKey), {
      acknowledged: true,
      startedAt: 0,
      endedAt: 5,
    });
    ledger.record(op('Sessions', 'eu-west-1', 'save', 'b', sessionKey), {
      acknowledged: true,
      startedAt: 1,
      endedAt: 4,
    });
    // WHEN both regions end with the eu-west-1 save
    const verdict = ledger.verdict(
      [sessions],
      finals('Sessions', sessionKey, { 'us-east-1': 'b', 'eu-west-1': 'b' }),
    );
    // THEN nothing is lost: the conflict rules may pick either
    expect(verdict.lostKeys).toBe(0);
    expect(ledger.candidates('Sessions', canonical(sessionKey))).toEqual(new Set(['a', 'b']));
  });

  test('a write refused before it was sent is no write; one of unknown outcome may have landed', () => {
    // GIVEN a save refused by a drill's dead region, and a save that failed after it was sent
    const ledger = new WriteLedger();
    ledger.record(op('Stories', 'us-east-1', 'create', 'w1'), {
      acknowledged: true,
      startedAt: 0,
      endedAt: 5,
    });
    ledger.record(op('Stories', 'us-east-1', 'edit', 'refused'), {
      acknowledged: false,
      startedAt: 10,
      endedAt: 10,
      error: new RegionUnreachableError('us-east-1'),
    });
    ledger.record(op('Stories', 'us-east-1', 'edit', 'timed-out'), {
      acknowledged: false,
      startedAt: 20,
      endedAt: 25,
      error: new Error('socket hang up'),
    });
    // WHEN the ledger is read
    // THEN the refused one is counted apart and is no candidate; the unknown one is
    expect([ledger.acknowledged, ledger.refused, ledger.unknown]).toEqual([1, 1, 1]);
    expect(ledger.candidates('Stories', canonical(key))).toEqual(new Set(['w1', 'timed-out']));
  });

  test('items the workload never wrote are listed apart, the drill’s own keys aside', () => {
    // GIVEN one workload save, and a region that holds it and two other items
    const ledger = new WriteLedger();
    ledger.record(op('Stories', 'us-east-1', 'create', 'w1'), {
      acknowledged: true,
      startedAt: 0,
      endedAt: 5,
    });
    const held = new Map([
      [canonical(key), 'w1'],
      ['{"storyId":{"S":"stray"}}', ''],
      ['{"storyId":{"S":"poison"}}', 'p'],
    ]);
    const states: FinalStates = new Map([
      [
        'Stories',
        new Map([
          ['us-east-1', held],
          ['eu-west-1', new Map([[canonical(key), 'w1']])],
        ]),
      ],
    ]);
    // WHEN it is judged with the poison as the drill's own key
    const verdict = ledger.verdict([stories], states, new Set(['Stories {"storyId":{"S":"poison"}}']));
    // THEN only the stray item is unexpected, and nothing is lost
    expect(verdict.unexpected).toEqual([
      { table: 'Stories', key: '{"storyId":{"S":"stray"}}', region: 'us-east-1' },
    ]);
    expect(verdict.lostKeys).toBe(0);
  });
});
