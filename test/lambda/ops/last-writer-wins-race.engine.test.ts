import type { DynamoDBRecord } from 'aws-lambda';
import { formatOrd } from '../../../lambda/core/order';
import { runBackfill } from '../../../lambda/ops/backfill';
import { MirrorHarness, type ReplicatorFactory } from '../../support/mirror-harness';
import { realReplicator } from '../replicator/real-replicator';
import { clientsFor, clock0, item, memoryCheckpoint, put } from './fixtures';

/**
 * The race backfill's clock-0 stamp leaves open on a last-writer-wins table (docs/replication.md,
 * "Operations: backfill and repair"), end to end on DynamoDB Local with the real replicator, backfill
 * and parked-record consumer: a save whose stream record is not read yet looks never stamped, so
 * backfill stamps it at clock 0; a parked earlier peer save then replaces that stamp, and the save's
 * own record must write it back over the peer's.
 *
 * The clock is the record's time, which DynamoDB Local floors to the minute (docs/platform.md,
 * "dynamodb-local"), so the peer's save (made first) has a clock at or below the local save's and, on
 * the engine, nearly always the same: the region names then order them, and the local region is the
 * one whose name sorts last, so the race holds in every run. The case of a strictly earlier clock,
 * where the local region's name sorts first, hands the peer's replicator its records one second
 * earlier: what AWS, whose record times have one-second precision, gives a save made a second before.
 */

const [EAST, WEST] = ['us-east-1', 'eu-west-1'];
const KEY = 'raced';
const OTHERS = 5;

/**
 * The real replicator and parked-record consumer. Until `live.value` is true the replicators read
 * their records and drop them (the mirror is not there yet). `earlier` region's records reach its
 * replicator one second before their time.
 */
function raceReplicator(live: { value: boolean }, earlier?: string): ReplicatorFactory {
  return (ctx) => {
    const real = realReplicator(ctx);
    const shifted = (region: string, records: DynamoDBRecord[]) =>
      region !== earlier
        ? records
        : records.map((rec) => ({
            ...rec,
            dynamodb: {
              ...rec.dynamodb,
              ApproximateCreationDateTime: rec.dynamodb!.ApproximateCreationDateTime! - 1,
            },
          }));
    return {
      ...real,
      replicate: (region, event) =>
        live.value
          ? real.replicate(region, { Records: shifted(region, event.Records) })
          : Promise.resolve({ batchItemFailures: [] }),
    };
  };
}

/** The clock the replicator stamps a save of a never-stamped state at: its record's time, in ms. */
const clockOf = (record: DynamoDBRecord) =>
  String(Math.floor(record.dynamodb!.ApproximateCreationDateTime!) * 1000);

/** The first record of `region`'s stream that carries the application's save of `data` to KEY. */
const saveRecord = (h: MirrorHarness, region: string, data: string) =>
  h
    .history(region)
    .find(
      (rec) =>
        rec.dynamodb?.Keys?.pk?.S === KEY &&
        rec.dynamodb.NewImage?.data?.S === data &&
        rec.dynamodb.NewImage._ddbm_ord === undefined,
    );

interface RaceCase {
  readonly item: string;
  readonly predates: boolean;
  /** The saves' clocks: as the engine gives them (the same but for a minute's turn), or the peer's earlier. */
  readonly clocks: 'same or earlier' | 'earlier';
  /** The region whose save is not read yet when backfill runs; the peer is the other one. */
  readonly local: string;
}

const cases: RaceCase[] = [
  { item: 'an item that predates the mirror', predates: true, clocks: 'same or earlier', local: EAST },
  { item: 'an item the save creates', predates: false, clocks: 'same or earlier', local: EAST },
  { item: 'an item that predates the mirror', predates: true, clocks: 'earlier', local: WEST },
];

describe('last writer wins: a save whose record is not read yet when backfill stamps it at clock 0', () => {
  test.each(cases)(
    '$item, peer clock $clocks: the parked peer save that replaced the clock-0 stamp is written back over, and both regions end with the later save',
    async ({ predates, clocks, local }) => {
      const A = local;
      const B = local === EAST ? WEST : EAST;
      // GIVEN a last-writer-wins table in two regions; in A, items that predate the mirror (their
      // records were dropped: no replicator ever stamped them), the raced key among them or not
      const live = { value: false };
      const h = await MirrorHarness.create({
        regions: [A, B],
        mode: 'multi-active',
        conflicts: 'last-writer-wins',
        replicator: raceReplicator(live, clocks === 'earlier' ? B : undefined),
      });
      for (let i = 0; i < OTHERS; i++) await put(h, A, { pk: { S: `other-${i}` }, data: { S: `seed ${i}` } });
      if (predates) await put(h, A, { pk: { S: KEY }, data: { S: 'seed' } });
      await h.pump(A);
      live.value = true;

      // AND a save in B, then a later save in A whose record is not read yet (R)
      await h.save(B, KEY, 'earlier save in B');
      await h.save(A, KEY, 'later save in A');
      expect((await item(h, A, KEY))?._ddbm_ord).toBeUndefined();

      // AND B's replicator stamps its save and sends it: A's item has no order key, so the write waits
      // on A's parking queue
      await h.pump(B);
      const peerOrd = (await item(h, B, KEY))?._ddbm_ord?.S;
      const peerClock =
        Number(clockOf(saveRecord(h, B, 'earlier save in B')!)) - (clocks === 'earlier' ? 1000 : 0);
      expect(peerOrd).toBe(formatOrd({ gen: 0, version: String(peerClock), origin: B, deleted: false }));
      expect(h.parkedFor(A)).toHaveLength(1);
      expect((await item(h, A, KEY))?.data?.S).toBe('later save in A');

      // WHEN backfill runs from A before R is read
      const backfill = await runBackfill({
        settings: h.ctx.settingsFor(A),
        targets: [B],
        clients: clientsFor(h.regions),
        segments: 1,
        pageSize: 50,
        checkpoint: memoryCheckpoint(),
        retryDelayMs: 50,
      });

      // THEN it stamps the unread save at clock 0 in A, and B keeps its stamped save
      expect(backfill.complete).toBe(true);
      expect(backfill.perTarget[B]).toMatchObject({ skippedNewer: 1, deferred: 0, failed: 0 });
      const stamped = await item(h, A, KEY);
      expect(stamped?._ddbm_ord?.S).toBe(clock0(A));
      expect(stamped?.data?.S).toBe('later save in A');
      expect((await item(h, B, KEY))?._ddbm_ord?.S).toBe(peerOrd);

      // WHEN the parked write is tried again
      expect(await h.drainParked(A)).toBe(1);

      // THEN B's save replaced the clock-0 stamp and names it as the state it replaced
      const replaced = await item(h, A, KEY);
      expect(replaced?.data?.S).toBe('earlier save in B');
      expect(replaced?._ddbm_ord?.S).toBe(peerOrd);
      expect(replaced?._ddbm_over?.S).toBe(clock0(A));

      // WHEN A's replicator reads R (and the records after it), then every replicator and queue runs
      // until nothing moves
      await h.pump(A);
      await h.drain({ concurrency: 'sequential' });

      // THEN R was the later save: B's order key is above clock 0 and below R's stamp (with a clock
      // strictly below R's where the case asks for it)
      const r = saveRecord(h, A, 'later save in A')!;
      expect(r.eventName).toBe(predates ? 'MODIFY' : 'INSERT');
      const rOrd = formatOrd({ gen: 0, version: clockOf(r), origin: A, deleted: false });
      expect(peerOrd! > clock0(A)).toBe(true);
      expect(peerOrd! < rOrd).toBe(true);
      const rClock = Number(clockOf(r));
      expect(clocks === 'earlier' ? peerClock < rClock : peerClock <= rClock).toBe(true);
      // AND both regions hold R's save at R's order key
      for (const region of h.regions) {
        const held = await item(h, region, KEY);
        expect({ region, data: held?.data?.S, ord: held?._ddbm_ord?.S }).toEqual({
          region,
          data: 'later save in A',
          ord: rOrd,
        });
      }
      expect(h.invocationErrors).toEqual([]);
      expect(h.parkedFor(A)).toEqual([]);
      expect(h.parkedFor(B)).toEqual([]);
      expect(await h.divergence()).toEqual([]);
    },
  );
});
