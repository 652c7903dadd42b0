import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { repairKeys } from '../../../lambda/ops/repair';
import { verifyTable } from '../../../lambda/ops/verify';
import { client } from '../../support/dynamo';
import { MirrorHarness } from '../../support/mirror-harness';
import { clientsFor, compareTable, lateReplicator, seed } from './fixtures';

/**
 * Verify finds each kind of divergence, and --repair's engine fixes it through the replicator's
 * guards: a second verify finds nothing, and live replication still wins afterwards.
 */

const [A, B, C] = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const quick = { rounds: 2, intervalMs: 100 };

async function verifyAndRepair(h: MirrorHarness) {
  const table = compareTable(h);
  const clients = clientsFor(h.regions);
  const found = await verifyTable({ table, clients, segments: 2, recheck: quick });
  const settings = Object.fromEntries(h.regions.map((r) => [r, h.ctx.settingsFor(r)]));
  const repair = await repairKeys({ table, settings, clients, keys: found.divergent.map((d) => d.keyItem) });
  return { found, repair, again: () => verifyTable({ table, clients, segments: 2, recheck: quick }) };
}

const data = async (region: string, table: string, key: string) =>
  (
    await client(region).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
    )
  ).Item?.data?.S;

describe('verify and repair', () => {
  test('a one-way replica: a missing, a stray and an edited item are found, repaired to the source, and replication still wins', async () => {
    // GIVEN a one-way table whose replicas hold what the source holds
    const h = await MirrorHarness.create({
      regions: [A, B, C],
      mode: 'one-way',
      replicator: lateReplicator({ value: true }),
    });
    for (const k of ['k0', 'k1', 'k2', 'k3']) await h.save(A, k, `v-${k}`);
    await h.drain();
    // AND three stray writes on the replicas: an item deleted, an item added, an item edited
    const t = h.ctx.table;
    await client(B).send(new DeleteItemCommand({ TableName: t, Key: { pk: { S: 'k1' } } }));
    await client(C).send(
      new PutItemCommand({ TableName: t, Item: { pk: { S: 'stray' }, data: { S: 'x' } } }),
    );
    await client(C).send(
      new UpdateItemCommand({
        TableName: t,
        Key: { pk: { S: 'k2' } },
        UpdateExpression: 'SET #d = :d',
        ExpressionAttributeNames: { '#d': 'data' },
        ExpressionAttributeValues: { ':d': { S: 'edited' } },
      }),
    );
    // WHEN verified with a re-read limit of one
    // THEN the keys past it keep the scan's verdict (in key order), with no re-read states
    const limited = await verifyTable({
      table: compareTable(h),
      clients: clientsFor(h.regions),
      segments: 2,
      recheck: quick,
      recheckLimit: 1,
    });
    expect(limited.notReread).toBe(2);
    expect(limited.divergent.map((d) => `${d.key} ${d.kind} ${Object.keys(d.states).length}`)).toEqual([
      `{"pk":{"S":"k1"}} missing 3`,
      `{"pk":{"S":"k2"}} differing 0`,
      `{"pk":{"S":"stray"}} only 0`,
    ]);
    // WHEN verified and repaired
    const { found, repair, again } = await verifyAndRepair(h);
    // THEN each kind is found once, every repair write applied, and nothing differs any more
    expect(found.byKind).toEqual({ missing: 1, only: 1, differing: 1 });
    expect(found.divergent.map((d) => `${d.key} ${d.kind} ${d.differing}`)).toEqual([
      `{"pk":{"S":"k1"}} missing ${B}`,
      `{"pk":{"S":"k2"}} differing ${C}`,
      `{"pk":{"S":"stray"}} only ${C}`,
    ]);
    expect(repair.counts).toMatchObject({ applied: 3, unavailable: 0 });
    expect(found.notReread).toBe(0);
    expect((await again()).divergent).toEqual([]);
    // AND a later save at the source still replaces the repaired item
    await h.save(A, 'k2', 'after-repair');
    await h.drain();
    expect(await data(C, t, 'k2')).toBe('after-repair');
    expect((await again()).divergent).toEqual([]);
  });

  test('a multi-active table: the latest state wins everywhere, a delete included', async () => {
    // GIVEN a multi-active table whose regions agree, then saves and a delete that are not replicated
    const joined = { value: true };
    const h = await MirrorHarness.create({
      regions: [A, B, C],
      mode: 'multi-active',
      replicator: lateReplicator(joined),
    });
    await seed(h, A, 'k', 5);
    await h.drain();
    joined.value = false;
    await h.remove(C, 'k1'); // missing in C: C's delete is the latest state
    await h.save(B, 'k2', 'newer in B'); // differing in B: B's save is the latest state
    await h.save(A, 'only', 'only in A'); // present only in A
    await h.drain();
    // WHEN verified and repaired, then replication resumes
    const { found, repair, again } = await verifyAndRepair(h);
    joined.value = true;
    await h.drain();
    // THEN each kind is found once and repaired to the latest state: the delete wins over the older item
    expect(found.divergent.map((d) => `${d.key} ${d.kind} ${d.differing}`)).toEqual([
      `{"pk":{"S":"k1"}} missing ${C}`,
      `{"pk":{"S":"k2"}} differing ${B}`,
      `{"pk":{"S":"only"}} only ${A}`,
    ]);
    expect(repair.writes.map((w) => `${w.key} ${w.op}→${w.region} from ${w.from}`).sort()).toEqual(
      [
        `{"pk":{"S":"k1"}} delete→${A} from ${C}`,
        `{"pk":{"S":"k1"}} delete→${B} from ${C}`,
        `{"pk":{"S":"k2"}} put→${A} from ${B}`,
        `{"pk":{"S":"k2"}} put→${C} from ${B}`,
        `{"pk":{"S":"only"}} put→${B} from ${A}`,
        `{"pk":{"S":"only"}} put→${C} from ${A}`,
      ].sort(),
    );
    // us-east-1's replicator stamped its seeded items as it read them (a save is ordered on its item
    // before it is sent), so none of them waits for its region and every repair write applies
    expect(repair.counts).toMatchObject({ applied: 6, deferred: 0, unavailable: 0 });
    expect((await again()).divergent).toEqual([]);
    expect(await data(A, h.ctx.table, 'k2')).toBe('newer in B');
    expect(await data(A, h.ctx.table, 'k1')).toBeUndefined();
  });

  test('a write still being replicated is read again and not counted as a divergence', async () => {
    // GIVEN a one-way table with a save at the source that its replicator has not sent yet
    const h = await MirrorHarness.create({
      regions: [A, B],
      mode: 'one-way',
      replicator: lateReplicator({ value: true }),
    });
    await h.save(A, 'k0', 'first');
    await h.drain();
    await h.save(A, 'k0', 'second');
    // WHEN verified, the replicator catching up once both regions are scanned
    let pumped: Promise<unknown> = Promise.resolve();
    const report = await verifyTable({
      table: compareTable(h),
      clients: clientsFor(h.regions),
      segments: 1,
      recheck: { rounds: 3, intervalMs: 300 },
      onProgress: (scanned) => {
        if (scanned === 2) pumped = h.drain();
      },
    });
    await pumped;
    // THEN the key differed after the scan, agreed on a re-read, and is not divergent
    expect(report.inFlight).toBe(1);
    expect(report.divergent).toEqual([]);
  });
});
