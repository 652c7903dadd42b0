import { runBackfill, type BackfillResult } from '../../../lambda/ops/backfill';
import { verifyTable } from '../../../lambda/ops/verify';
import { scanAll } from '../../support/dynamo';
import { MirrorHarness } from '../../support/mirror-harness';
import { clientsFor, compareTable, lateReplicator, memoryCheckpoint, runLiveOps, seed } from './fixtures';

/**
 * Backfill on a live mirror: a table that already held items in one region is mirrored, and the
 * backfill copies them to the new regions while the application keeps saving and deleting and the
 * real replicators run.
 */

const [A, B, C] = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

/** `region:key` for each of `keys` some region still holds. */
async function held(h: MirrorHarness, keys: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const r of h.regions)
    for (const item of await scanAll(r, h.ctx.table))
      if (keys.includes(item.pk.S!)) found.push(`${r}:${item.pk.S}`);
  return found;
}

async function liveBackfill(
  mode: 'one-way' | 'multi-active',
  items: number,
): Promise<{ h: MirrorHarness; result: BackfillResult; deleted: string[]; operations: number }> {
  const joined = { value: false };
  const h = await MirrorHarness.create({ regions: [A, B, C], mode, replicator: lateReplicator(joined) });
  const keys = await seed(h, A, 'k', items);
  await h.drain();
  joined.value = true;
  const backfill = runBackfill({
    settings: h.ctx.settingsFor(A),
    targets: [B, C],
    clients: clientsFor(h.regions),
    segments: 4,
    pageSize: 100,
    checkpoint: memoryCheckpoint(),
  });
  const live = await runLiveOps(h, {
    writers: mode === 'one-way' ? [A] : h.regions,
    keys: keys.slice(items / 10),
    toDelete: keys.slice(0, items / 10),
    until: backfill,
    seed: 3,
  });
  const result = await backfill;
  await h.drain();
  return { h, result, ...live };
}

describe('backfill on a live mirror', () => {
  test('a one-way table converges while its source saves and deletes, and deleted keys stay deleted', async () => {
    // GIVEN a one-way table whose source held 400 items before it was mirrored
    // WHEN the backfill copies them while the source keeps saving and deleting
    const { h, result, deleted } = await liveBackfill('one-way', 400);
    // THEN every item was handled and nothing failed
    expect(result.complete).toBe(true);
    expect(result.counts.failed).toBe(0);
    expect(result.counts.scanned).toBeGreaterThanOrEqual(360);
    expect(result.perTarget[C].written).toBeGreaterThan(200);
    // AND the replicas hold what the source holds, without any key deleted meanwhile
    const report = await verifyTable({ table: compareTable(h), clients: clientsFor(h.regions), segments: 2 });
    expect(report.divergent.map((d) => d.key)).toEqual([]);
    expect(deleted.length).toBeGreaterThan(0);
    expect(await held(h, deleted)).toEqual([]);
  });

  test('a multi-active table of a few thousand items converges while every region saves and deletes', async () => {
    // GIVEN a multi-active table that held 2,000 items in us-east-1 before it was mirrored
    // WHEN the backfill copies them while every region keeps saving and deleting
    const { h, result, deleted, operations } = await liveBackfill('multi-active', 2000);
    // THEN every item was handled and nothing failed
    expect(result.complete).toBe(true);
    expect(result.counts.failed).toBe(0);
    expect(result.counts.scanned).toBeGreaterThanOrEqual(1800);
    expect(operations).toBeGreaterThan(deleted.length);
    // AND every region holds the same items, without any key deleted meanwhile
    const report = await verifyTable({ table: compareTable(h), clients: clientsFor(h.regions), segments: 2 });
    expect(report.divergent.map((d) => `${d.key} ${d.kind} ${d.differing}`)).toEqual([]);
    expect(report.compared).toBeGreaterThan(1800);
    expect(deleted.length).toBeGreaterThan(0);
    expect(await held(h, deleted)).toEqual([]);
  });
});
