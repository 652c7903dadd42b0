import { DeleteItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { keyText, type ReplicatorSettings } from '../../../lambda/contract';
import { parseOrd } from '../../../lambda/core/order';
import { readLocalTombstone } from '../../../lambda/core/origin';
import { runBackfill, type BackfillResult } from '../../../lambda/ops/backfill';
import { hashVerifyTable } from '../../../lambda/ops/hash-verify';
import { planRepair, raisedOrd, repairKeys, type Holding } from '../../../lambda/ops/repair';
import { getItem, toImage } from '../../../lambda/ops/scan';
import { verifyTable, type VerifyReport } from '../../../lambda/ops/verify';
import { writeAll } from '../../support/damaged-mirror';
import { client } from '../../support/dynamo';
import { MirrorHarness, type ReplicatorFactory } from '../../support/mirror-harness';
import { realReplicator } from '../replicator/real-replicator';
import { clientsFor, clock0, compareTable, item, memoryCheckpoint, put } from './fixtures';

/**
 * The operations tools on a last-writer-wins table (docs/replication.md, "Last writer wins"), on
 * DynamoDB Local: the application never keeps a version, the replicator's clock in `_ddbm_ver` orders
 * every save, and an item no replicator stamped (it predates the mirror, or its records were lost)
 * orders at clock 0 (lambda/ops/held.ts).
 */

const [A, B] = ['eu-west-1', 'us-east-1'];
const ITEMS = 120;
const quick = { rounds: 2, intervalMs: 100 };

/**
 * What the replicators do with their streams: `off` reads and drops every record (the items predate
 * the mirror, or the records were trimmed before they were read); `local` stamps saves and records
 * deletes in their own region and sends nothing; `on` replicates.
 */
type Replication = { value: 'off' | 'local' | 'on' };

function switchedReplicator(replication: Replication): ReplicatorFactory {
  return (ctx) => {
    const real = realReplicator({
      ...ctx,
      settingsFor: (region) => {
        const s = ctx.settingsFor(region);
        return replication.value === 'on' ? s : { ...s, peers: [] };
      },
    });
    return {
      ...real,
      replicate: (region, event) =>
        replication.value === 'off'
          ? Promise.resolve({ batchItemFailures: [] })
          : real.replicate(region, event),
    };
  };
}

const keyOf = (i: number) => `item-${String(i).padStart(3, '0')}`;
const seedData = (k: string) => `seed ${k}`;

/**
 * A last-writer-wins table that held ITEMS items in A before it was mirrored: no version attribute,
 * no `_ddbm_` attribute, nothing in B.
 */
async function preExistingTable(): Promise<{ h: MirrorHarness; replication: Replication }> {
  const replication: Replication = { value: 'off' };
  const h = await MirrorHarness.create({
    regions: [A, B],
    mode: 'multi-active',
    conflicts: 'last-writer-wins',
    replicator: switchedReplicator(replication),
  });
  const items = Array.from({ length: ITEMS }, (_v, i) => ({
    pk: { S: keyOf(i) },
    data: { S: seedData(keyOf(i)) },
    n: { N: String(i) },
  }));
  await writeAll(A, h.ctx.table, items, 4);
  await h.drain();
  replication.value = 'on';
  return { h, replication };
}

function backfill(h: MirrorHarness): Promise<BackfillResult> {
  return runBackfill({
    settings: h.ctx.settingsFor(A),
    targets: [B],
    clients: clientsFor(h.regions),
    segments: 2,
    pageSize: 50,
    checkpoint: memoryCheckpoint(),
    retryDelayMs: 50,
  });
}

const setData = (h: MirrorHarness, region: string, key: string, data: string) =>
  client(region).send(
    new UpdateItemCommand({
      TableName: h.ctx.table,
      Key: { pk: { S: key } },
      UpdateExpression: 'SET #d = :d',
      ExpressionAttributeNames: { '#d': 'data' },
      ExpressionAttributeValues: { ':d': { S: data } },
    }),
  );

const keyTextOf = (key: string) => keyText({ pk: { S: key } }, ['pk']);
const found = (r: VerifyReport) => r.divergent.map((d) => `${d.key} ${d.kind} ${d.differing.join(',')}`);

async function bothVerifies(h: MirrorHarness): Promise<{ hash: VerifyReport; full: VerifyReport }> {
  const options = { table: compareTable(h), clients: clientsFor(h.regions), segments: 2, recheck: quick };
  return { hash: await hashVerifyTable(options), full: await verifyTable(options) };
}

function settingsByRegion(h: MirrorHarness): Record<string, ReplicatorSettings> {
  return Object.fromEntries(h.regions.map((r) => [r, h.ctx.settingsFor(r)]));
}

/** What each region holds for `key`, read as repair reads it (tombstone, then item). */
async function holdings(h: MirrorHarness, key: string): Promise<Holding[]> {
  return Promise.all(
    h.regions.map(async (region) => {
      const settings = h.ctx.settingsFor(region);
      const k = { pk: { S: key } };
      const tombstone = await readLocalTombstone(client(region), settings, k, {
        deadline: Date.now() + 10_000,
      });
      const it = await getItem(client(region), h.ctx.table, k);
      return { region, tombstone, ...(it ? { item: toImage(it) } : {}) };
    }),
  );
}

describe('backfill of a last-writer-wins table whose items never carried a version', () => {
  test('every item reaches the empty peer ordered at clock 0, a second backfill changes nothing, and a later save orders after it', async () => {
    // GIVEN a table that held 120 items in eu-west-1 before it was mirrored, none with a version
    const { h } = await preExistingTable();
    expect((await item(h, A, keyOf(7)))?._ddbm_ord).toBeUndefined();

    // WHEN backfilled into the empty us-east-1
    const first = await backfill(h);

    // THEN every item was sent and written, none failed
    expect(first.complete).toBe(true);
    expect(first.counts.scanned).toBe(ITEMS);
    expect(first.perTarget[B]).toEqual({
      written: ITEMS,
      skippedNewer: 0,
      skippedDeleted: 0,
      deferred: 0,
      failed: 0,
    });
    // AND both regions hold every item with the same data and one order key: generation 0, clock 0,
    // stamped in eu-west-1 (the never-stamped state orders below every save a replicator stamps)
    const raw = await h.rawState();
    for (const region of h.regions) {
      const items = raw[region].items.map((s) => JSON.parse(s) as Record<string, AttributeValue>);
      expect(items).toHaveLength(ITEMS);
      for (const it of items) {
        expect(it._ddbm_ord?.S).toBe(clock0(A));
        expect(it._ddbm_ver?.N).toBe('0');
        expect(it.version).toBeUndefined();
        expect(it.data.S).toBe(seedData(it.pk.S!));
      }
    }
    expect(raw[B].tombstones).toEqual([]);

    // WHEN backfilled a second time
    const second = await backfill(h);

    // THEN every item was already there at its order key: nothing written, nothing changed
    expect(second.perTarget[B]).toEqual({
      written: 0,
      skippedNewer: ITEMS,
      skippedDeleted: 0,
      deferred: 0,
      failed: 0,
    });
    expect(await h.rawState()).toEqual(raw);

    // WHEN the replicators read what the backfills wrote
    await h.drain();

    // THEN those are echoes: nothing is sent or changed
    expect(await h.rawState()).toEqual(raw);

    // WHEN the application saves a backfilled item in us-east-1 (no version) and replication runs
    await h.save(B, keyOf(7), 'saved after the backfill');
    await h.drain();

    // THEN the save is stamped above clock 0 and reaches eu-west-1
    const saved = await item(h, A, keyOf(7));
    expect(saved?.data?.S).toBe('saved after the backfill');
    const ord = parseOrd(saved?._ddbm_ord?.S)!;
    expect(ord).toMatchObject({ gen: 0, origin: B, deleted: false });
    expect(Number(ord.version)).toBeGreaterThan(0);
    expect(await h.divergence()).toEqual([]);
  });
});

describe('verify and repair of a last-writer-wins table', () => {
  test('both verifies find nothing after the backfill and exactly the keys damaged by hand; repair converges them and replication goes on', async () => {
    // GIVEN the backfilled table, which both verifies find whole
    const { h, replication } = await preExistingTable();
    expect((await backfill(h)).counts.failed).toBe(0);
    const before = await bothVerifies(h);
    expect(found(before.hash)).toEqual([]);
    expect(found(before.full)).toEqual([]);
    expect(before.full.compared).toBe(ITEMS);

    // AND writes whose records were lost (the replicators drop them)
    replication.value = 'off';
    // copies that keep the shared order key with other data (an edit by hand, in each region)
    await setData(h, B, keyOf(1), 'x edited in B');
    await setData(h, A, keyOf(2), 'edited in A');
    // a copy missing in eu-west-1 (no tombstone) and an item only in us-east-1 (never stamped)
    await client(A).send(new DeleteItemCommand({ TableName: h.ctx.table, Key: { pk: { S: keyOf(3) } } }));
    await put(h, B, { pk: { S: 'extra' }, data: { S: 'only in B' } });
    // whole-item puts in eu-west-1 that dropped the order key (never stamped again)
    await put(h, A, { pk: { S: keyOf(5) }, data: { S: 'put in A' } });
    await put(h, A, { pk: { S: keyOf(6) }, data: { S: 'put in A' } });
    await h.drain();
    // AND writes stamped or recorded in us-east-1 that were never sent
    replication.value = 'local';
    await h.save(B, keyOf(4), 'saved in B');
    await h.save(B, keyOf(6), 'saved in B');
    await h.remove(B, keyOf(8));
    await h.drain();
    const stampedInB = (await item(h, B, keyOf(6)))!._ddbm_ord!.S!;
    expect(parseOrd(stampedInB)).toMatchObject({ gen: 0, origin: B });
    expect((await item(h, A, keyOf(6)))?._ddbm_ord).toBeUndefined();

    // WHEN verified both ways
    const damaged = await bothVerifies(h);

    // THEN both find exactly the damaged keys
    const expected = [
      `${keyTextOf('extra')} only ${B}`,
      `${keyTextOf(keyOf(1))} differing ${B}`,
      `${keyTextOf(keyOf(2))} differing ${B}`,
      `${keyTextOf(keyOf(3))} only ${B}`,
      `${keyTextOf(keyOf(4))} differing ${B}`,
      `${keyTextOf(keyOf(5))} differing ${B}`,
      `${keyTextOf(keyOf(6))} differing ${B}`,
      `${keyTextOf(keyOf(8))} only ${A}`,
    ];
    expect(found(damaged.hash)).toEqual(expected);
    expect(found(damaged.full)).toEqual(expected);

    // WHEN repaired
    const repair = await repairKeys({
      table: compareTable(h),
      settings: settingsByRegion(h),
      clients: clientsFor(h.regions),
      keys: damaged.hash.divergent.map((d) => d.keyItem),
      waitDelayMs: 50,
    });

    // THEN every write applied, and a second verify of each kind finds nothing
    expect(repair.skipped).toEqual([]);
    expect(repair.counts).toMatchObject({ deferred: 0, unavailable: 0, 'conflict-lost': 0, stale: 0 });
    const after = await bothVerifies(h);
    expect(found(after.hash)).toEqual([]);
    expect(found(after.full)).toEqual([]);
    // AND each key holds its winner in both regions
    const data = async (key: string) => [(await item(h, A, key))?.data?.S, (await item(h, B, key))?.data?.S];
    // copies at one order key: the greater content, above that key
    expect(await data(keyOf(1))).toEqual(['x edited in B', 'x edited in B']);
    expect(await data(keyOf(2))).toEqual([seedData(keyOf(2)), seedData(keyOf(2))]);
    expect((await item(h, A, keyOf(1)))?._ddbm_ord?.S).toBe(raisedOrd(clock0(A)));
    // a never-stamped put at clock 0 ties with the backfilled state it replaced: the content decides
    expect(await data(keyOf(5))).toEqual([seedData(keyOf(5)), seedData(keyOf(5))]);
    // a never-stamped put loses to a save stamped later; a stamped delete wins over a clock-0 item
    expect(await data(keyOf(6))).toEqual(['saved in B', 'saved in B']);
    expect((await item(h, A, keyOf(6)))?._ddbm_ord?.S).toBe(stampedInB);
    expect(await data(keyOf(8))).toEqual([undefined, undefined]);
    expect(await data(keyOf(3))).toEqual([seedData(keyOf(3)), seedData(keyOf(3))]);
    expect(await data('extra')).toEqual(['only in B', 'only in B']);
    // AND no write went to us-east-1 where it held the latest state
    const writesTo = (key: string) =>
      repair.writes.filter((w) => w.key === keyTextOf(key)).map((w) => `${w.op} ${w.region} from ${w.from}`);
    expect(writesTo(keyOf(6))).toEqual([`put ${A} from ${B}`]);
    expect(writesTo(keyOf(8))).toEqual([`delete ${A} from ${B}`]);

    // WHEN replication resumes and the application saves repaired keys in both regions
    replication.value = 'on';
    await h.drain();
    await h.save(A, 'extra', 'saved in A after the repair');
    await h.save(B, keyOf(5), 'saved in B after the repair');
    await h.save(A, keyOf(1), 'saved in A after the repair');
    await h.drain();

    // THEN every save reaches the other region, and nothing differs
    expect(await data('extra')).toEqual(['saved in A after the repair', 'saved in A after the repair']);
    expect(await data(keyOf(5))).toEqual(['saved in B after the repair', 'saved in B after the repair']);
    expect(await data(keyOf(1))).toEqual(['saved in A after the repair', 'saved in A after the repair']);
    expect(await h.divergence()).toEqual([]);
  });

  test('a copy never stamped loses to a stamped save in any order of the regions, and never-stamped copies are settled by region', async () => {
    // GIVEN a backfilled table, then, with the records lost, whole-item puts in eu-west-1 that dropped
    // the order key, a save of one of those keys stamped in us-east-1, and an item each region holds
    // unstamped
    const { h, replication } = await preExistingTable();
    expect((await backfill(h)).counts.failed).toBe(0);
    replication.value = 'off';
    await put(h, A, { pk: { S: keyOf(1) }, data: { S: 'put in A' } });
    await put(h, A, { pk: { S: 'both' }, data: { S: 'unstamped in A' } });
    await put(h, B, { pk: { S: 'both' }, data: { S: 'unstamped in B' } });
    await h.drain();
    replication.value = 'local';
    await h.save(B, keyOf(1), 'saved in B');
    await h.drain();

    // WHEN repair plans each key with the regions in either order
    const table = compareTable(h);
    const settings = settingsByRegion(h);
    const plans = async (key: string) => {
      const held = await holdings(h, key);
      const forward = planRepair(table, settings, { pk: { S: key } }, held);
      const reversed = planRepair(
        { ...table, regions: [...table.regions].reverse() },
        settings,
        { pk: { S: key } },
        [...held].reverse(),
      );
      const summary = (p: typeof forward) =>
        'writes' in p
          ? p.writes
              .map(
                (w) =>
                  `${w.region} ${w.intent.op} ${w.intent.ord} ${w.intent.op === 'put' ? w.intent.item.data.S : ''} from ${w.from}`,
              )
              .sort()
          : [p.skip];
      return [summary(forward), summary(reversed)];
    };
    const stamped = (await item(h, B, keyOf(1)))!._ddbm_ord!.S!;

    // THEN the stamped save wins whatever the order: only eu-west-1 is written, with us-east-1's state
    const [forward, reversed] = await plans(keyOf(1));
    expect(forward).toEqual([`${A} put ${stamped} saved in B from ${B}`]);
    expect(reversed).toEqual(forward);
    // AND two never-stamped copies order at clock 0 by region: us-east-1's, in either order
    const [bothForward, bothReversed] = await plans('both');
    expect(bothForward).toEqual([`${A} put ${clock0(B)} unstamped in B from ${B}`]);
    expect(bothReversed).toEqual(bothForward);

    // WHEN repaired
    const repair = await repairKeys({
      table,
      settings,
      clients: clientsFor(h.regions),
      keys: [{ pk: { S: keyOf(1) } }, { pk: { S: 'both' } }],
      waitDelayMs: 50,
    });

    // THEN both keys converge to those winners, the never-stamped losers stamped first so that the
    // winner can be written over them
    expect(
      repair.writes.map((w) => `${w.key} ${w.op} ${w.region} from ${w.from} ${w.outcome}`).sort(),
    ).toEqual(
      [
        `${keyTextOf(keyOf(1))} put ${A} from ${B} applied`,
        `${keyTextOf('both')} put ${A} from ${B} applied`,
      ].sort(),
    );
    expect((await item(h, A, keyOf(1)))?.data?.S).toBe('saved in B');
    expect((await item(h, A, 'both'))?.data?.S).toBe('unstamped in B');
    expect((await item(h, B, 'both'))?._ddbm_ord?.S).toBe(clock0(B));
    expect(found((await bothVerifies(h)).full)).toEqual([]);
  });
});
