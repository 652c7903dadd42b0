import { runBackfill, type BackfillResult } from '../../../lambda/ops/backfill';
import { scanPage } from '../../../lambda/ops/scan';
import { verifyTable } from '../../../lambda/ops/verify';
import { client, scanAll } from '../../support/dynamo';
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

/** Pages a full scan of each segment reads at this page size. */
async function pagesPerSegment(table: string, segments: number, pageSize: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: segments }, async (_v, segment) => {
      let pages = 0;
      let startKey;
      do {
        const page = await scanPage(client(A), {
          table,
          segment,
          totalSegments: segments,
          pageSize,
          startKey,
        });
        pages += 1;
        startKey = page.lastKey;
      } while (startKey);
      return pages;
    }),
  );
}

describe('a backfill that is stopped', () => {
  test('resumes from its checkpoint without scanning again the segments it finished', async () => {
    // GIVEN a one-way source of 300 items and a backfill stopped as soon as its first segment is done
    const joined = { value: false };
    const h = await MirrorHarness.create({
      regions: [A, B],
      mode: 'one-way',
      replicator: lateReplicator(joined),
    });
    await seed(h, A, 'k', 300);
    await h.drain();
    joined.value = true;
    const store = memoryCheckpoint();
    const stop = new AbortController();
    const save = store.save;
    store.save = (c) => {
      save(c);
      if (c.segments.some((s) => s.done)) stop.abort();
    };
    const options = {
      settings: h.ctx.settingsFor(A),
      targets: [B],
      clients: clientsFor(h.regions),
      segments: 4,
      pageSize: 20,
      itemsInFlight: 2,
      checkpoint: store,
    };
    const first = await runBackfill({ ...options, signal: stop.signal });
    const after = store.current!;
    // WHEN it runs again with the same checkpoint
    const second = await runBackfill(options);
    // THEN the first run stopped at a checkpoint with a segment done and others not
    expect(first.interrupted).toBe(true);
    const done = after.segments.map((s) => s.done);
    expect(done).toContain(true);
    expect(done).toContain(false);
    // AND the second run read no page of a finished segment, and no item twice
    expect(second.resumed).toBe(true);
    expect(second.complete).toBe(true);
    expect(second.pagesBySegment.filter((_p, i) => done[i])).toEqual(done.filter((d) => d).map(() => 0));
    expect(first.counts.scanned + second.counts.scanned).toBe(300);
    const full = await pagesPerSegment(h.ctx.table, 4, 20);
    const pages = first.pagesBySegment.map((p, i) => p + second.pagesBySegment[i]);
    // A segment stopped inside a page reads that page's rest again: at most one page more.
    pages.forEach((p, i) => expect(p - full[i]).toBeLessThanOrEqual(done[i] ? 0 : 1));
    // AND the target holds every item, and the finished backfill left no checkpoint behind
    expect(first.perTarget[B].written + second.perTarget[B].written).toBe(300);
    expect((await scanAll(B, h.ctx.table)).length).toBe(300);
    expect(store.current).toBeUndefined();
  });
});
