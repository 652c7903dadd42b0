import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { entryOf } from '../../../lambda/anti-entropy/hash';
import { partitions, planFor, type HashPlan } from '../../../lambda/anti-entropy/plan';
import {
  compareStep,
  hashExportStep,
  hashSegmentStep,
  reduceStep,
  repairStep,
  summariseStep,
  type HashSegmentResult,
} from '../../../lambda/anti-entropy/steps';
import { MemoryStore, runPaths } from '../../../lambda/anti-entropy/store';
import { buildTree, byPartition, encodePart } from '../../../lambda/anti-entropy/tree';
import { seedDamagedMirror, type DamagedMirror } from '../../support/damaged-mirror';
import { item, TABLE } from './fixtures';

/**
 * The steps `verify --deployed` runs, on DynamoDB Local with each region's bucket in memory: every
 * region hashes its scan segments (resumed invocation after invocation) and reduces its partitions, the
 * comparing region compares partition by partition, repairs, and the summary tells what was found and
 * what is left. A data file of a table export hashes as a scan of the same items does.
 */

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const recheck = { rounds: 2, intervalMs: 100 };

async function run(m: DamagedMirror, plan: HashPlan, runId: string, o: { repair: boolean }) {
  const stores = Object.fromEntries(REGIONS.map((r) => [r, new MemoryStore()]));
  const clients = Object.fromEntries(REGIONS.map((r) => [r, new DynamoDBClient({ region: r })]));
  let invocations = 0;
  // Hash: 3 segments per region, each invocation past its deadline after one page of 150 items.
  for (const region of REGIONS)
    for (let segment = 0; segment < 3; segment++) {
      let task: HashSegmentResult | undefined;
      do {
        task = await hashSegmentStep(
          { client: clients[region], store: stores[region], table: m.table, deadline: 0 },
          { task: 'hash-segment', runId, plan, segment, totalSegments: 3, pageSize: 150, ...(task ?? {}) },
        );
        invocations += 1;
      } while (!task.done);
    }
  for (const region of REGIONS)
    for (let p = 0; p < partitions(plan); p++)
      await reduceStep(stores[region], { task: 'reduce', runId, plan, partition: p });
  const home = m.table.regions[0];
  for (let p = 0; p < partitions(plan); p++) {
    await compareStep(
      { stores, clients, table: m.table, home, recheck },
      { task: 'compare', runId, plan, partition: p },
    );
    if (o.repair)
      await repairStep(
        { store: stores[home], clients, table: m.table, replicators: m.settings, recheck },
        { task: 'repair', runId, partition: p },
      );
  }
  return {
    summary: await summariseStep(stores[home], { task: 'summarise', runId, plan }),
    invocations,
    stores,
  };
}

describe('verify --deployed steps', () => {
  test('find exactly the damaged keys across partitions, repair them, and a second run finds none', async () => {
    // GIVEN a multi-active table of 1,200 items, two damaged copies of each kind
    const m = await seedDamagedMirror({
      regions: REGIONS,
      mode: 'multi-active',
      items: 1200,
      perKind: 2,
      seed: 21,
    });
    const plan = { ...planFor(1200), partitionBits: 1 };
    // WHEN every step runs, with the repair
    const first = await run(m, plan, 'r1', { repair: true });
    // THEN each segment was resumed over several invocations, and every partition was compared
    expect(first.invocations).toBeGreaterThan(3 * 3 * 2);
    expect(first.summary.partitionsCompared).toBe(2);
    // AND the summary lists exactly the damaged keys, and the repair left none
    expect(first.summary.keys.map((k) => k.key).sort()).toEqual([...m.damaged.keys()].sort());
    expect(first.summary.compared).toBe(1200 + 2);
    expect(first.summary.repair).toMatchObject({
      partitions: 2,
      keys: 8,
      remaining: 0,
      counts: { unavailable: 0 },
    });
    // AND the comparing region read little of the others' trees: their top levels and the differing buckets
    const treeBytes = (await first.stores['eu-west-1'].list(runPaths.run('r1')))
      .filter((k) => k.includes('/trees/'))
      .reduce((n, k) => n + first.stores['eu-west-1'].bytes(k), 0);
    expect(first.summary.readBytes['eu-west-1']).toBeLessThan(treeBytes / 3);
    // WHEN run again
    const second = await run(m, plan, 'r2', { repair: false });
    // THEN nothing differs, and nothing was repaired
    expect(second.summary).toMatchObject({ divergent: 0, candidates: 0, compared: 1202 });
    expect(second.summary.repair).toBeUndefined();
  });

  test('a partition holds each key once, whatever parts a retried invocation left behind', async () => {
    // GIVEN the parts of two invocations that both hashed the same 30 items (one failed after writing)
    const plan = planFor(30);
    const store = new MemoryStore();
    const entries = Array.from({ length: 30 }, (_v, i) => entryOf(item(`p${i}`, i, `d${i}`), TABLE));
    await store.put(runPaths.part('r', 0, 's0-0'), encodePart(entries.slice(0, 20)));
    await store.put(runPaths.part('r', 0, 's0-1'), encodePart(entries.slice(10)));
    // WHEN reduced
    const reduced = await reduceStep(store, { task: 'reduce', runId: 'r', plan, partition: 0 });
    // THEN the tree is the one of the 30 items
    expect(reduced.entries).toBe(30);
    expect(Buffer.from(await store.get(runPaths.tree('r', 0))).equals(buildTree(plan, 0, entries))).toBe(
      true,
    );
  });

  test('a table export data file hashes as a scan of the same items does', async () => {
    // GIVEN items with a binary and a number attribute, as the SDK reads them and as an export writes them
    const items = Array.from({ length: 50 }, (_v, i) =>
      item(`p${i}`, i, `d${i}`, { bin: { B: new Uint8Array([i, 255 - i]) }, n: { N: `${i}.50` } }),
    );
    const lines = Array.from({ length: 50 }, (_v, i) =>
      JSON.stringify({
        Item: {
          pk: { S: `p${i}` },
          sk: { N: String(i) },
          data: { S: `d${i}` },
          bin: { B: Buffer.from([i, 255 - i]).toString('base64') },
          n: { N: `${i}.50` },
        },
      }),
    );
    const plan = planFor(50);
    const store = new MemoryStore();
    // WHEN the export file is hashed and reduced
    const result = await hashExportStep(
      { store, table: TABLE, read: async () => Readable.from([gzipSync(`${lines.join('\n')}\n`)]) },
      { task: 'hash-export', runId: 'x', plan, bucket: 'exports', key: 'AWSDynamoDB/1/data/a.json.gz' },
    );
    await reduceStep(store, { task: 'reduce', runId: 'x', plan, partition: 0 });
    // THEN every line was read, and the tree is byte for byte the one the scanned items give
    expect(result.scanned).toBe(50);
    const scanned = byPartition(
      plan,
      items.map((i) => entryOf(i, TABLE)),
    )[0];
    expect(Buffer.from(await store.get(runPaths.tree('x', 0))).equals(buildTree(plan, 0, scanned))).toBe(
      true,
    );
  });
});
