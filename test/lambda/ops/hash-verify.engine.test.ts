import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { hashVerifyTable } from '../../../lambda/ops/hash-verify';
import { meterClient, newMeter, type CapacityMeter } from '../../../lambda/ops/capacity';
import { repairKeys } from '../../../lambda/ops/repair';
import { verifyTable, type VerifyReport } from '../../../lambda/ops/verify';
import { seedDamagedMirror, type DamagedMirror, type DamageKind } from '../../support/damaged-mirror';

/**
 * Hash verify on DynamoDB Local: a mirrored table with damaged copies of every kind (missing, extra,
 * differing, differing with the same order key) in a few regions; the comparison by range hashes finds
 * exactly those keys, as the item-by-item comparison does, for fewer read units; `repairKeys` fixes them
 * and a second hash verify finds nothing.
 */

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const quick = { rounds: 2, intervalMs: 100 };
const KIND: Record<DamageKind, VerifyReport['divergent'][number]['kind']> = {
  missing: 'missing',
  extra: 'only',
  differing: 'differing',
  'same-order-key': 'differing',
};

/** Fresh metered clients: the read units each verify consumes. */
function metered(): { clients: Record<string, DynamoDBClient>; meters: Record<string, CapacityMeter> } {
  const clients: Record<string, DynamoDBClient> = {};
  const meters: Record<string, CapacityMeter> = {};
  for (const r of REGIONS) {
    clients[r] = new DynamoDBClient({ region: r });
    meters[r] = newMeter();
    meterClient(clients[r], meters[r]);
  }
  return { clients, meters };
}
const readUnits = (meters: Record<string, CapacityMeter>) =>
  Object.values(meters).reduce((n, m) => n + m.readUnits, 0);

const expected = (m: DamagedMirror) => [...m.damaged].map(([key, kind]) => `${key} ${KIND[kind]}`).sort();
const found = (r: VerifyReport) => r.divergent.map((d) => `${d.key} ${d.kind}`).sort();

async function verifyRepairVerify(m: DamagedMirror) {
  const hash = metered();
  const report = await hashVerifyTable({
    table: m.table,
    clients: hash.clients,
    segments: 3,
    recheck: quick,
  });
  const full = metered();
  const itemByItem = await verifyTable({
    table: m.table,
    clients: full.clients,
    segments: 3,
    recheck: quick,
  });
  const repair = await repairKeys({
    table: m.table,
    settings: m.settings,
    clients: hash.clients,
    keys: report.divergent.map((d) => d.keyItem),
  });
  const again = await hashVerifyTable({
    table: m.table,
    clients: metered().clients,
    segments: 3,
    recheck: quick,
  });
  return {
    report,
    itemByItem,
    repair,
    again,
    units: { hash: readUnits(hash.meters), full: readUnits(full.meters) },
  };
}

describe('hash verify', () => {
  test('one-way: finds exactly the damaged replica copies, for fewer read units than item by item, and repair leaves none', async () => {
    // GIVEN 2,000 items in three regions, three damaged replica copies of each kind
    const m = await seedDamagedMirror({
      regions: REGIONS,
      mode: 'one-way',
      items: 2000,
      perKind: 3,
      seed: 3,
    });
    // WHEN verified by hashes, item by item, repaired and verified again
    const { report, itemByItem, repair, again, units } = await verifyRepairVerify(m);
    // THEN both comparisons find exactly the damaged keys, each of its kind
    expect(found(report)).toEqual(expected(m));
    expect(found(itemByItem)).toEqual(expected(m));
    expect(report.compared).toBe(itemByItem.compared);
    expect(report.inFlight).toBe(0);
    // AND the hashes are read where the data is at half the units (eventually consistent), the keys re-read alike
    expect(units.hash).toBeLessThan(units.full * 0.75);
    // AND only a small part of another region's tree was read
    const other = report.hash.reads['eu-west-1'];
    expect(other.bytes).toBeLessThan(report.hash.treeBytes['eu-west-1'] / 4);
    // AND the repair applied a write per key, after which nothing differs
    expect(repair.counts).toMatchObject({ applied: 12, unavailable: 0 });
    expect(again.divergent).toEqual([]);
    expect(again.hash.levels[0].differing).toBe(0);
  });

  test('multi-active: finds every kind in any region, and repair brings each key to its latest state', async () => {
    // GIVEN 1,000 items in three regions, two damaged copies of each kind anywhere
    const m = await seedDamagedMirror({
      regions: REGIONS,
      mode: 'multi-active',
      items: 1000,
      perKind: 2,
      seed: 5,
    });
    // WHEN verified by hashes, repaired and verified again
    const { report, itemByItem, repair, again } = await verifyRepairVerify(m);
    // THEN exactly the damaged keys are found, as item by item
    expect(found(report)).toEqual(expected(m));
    expect(found(itemByItem)).toEqual(expected(m));
    expect(repair.counts.unavailable).toBe(0);
    expect(again.divergent.map((d) => d.key)).toEqual([]);
  });

  test('a key that differs when hashed but agrees when read again is in flight, not divergent', async () => {
    // GIVEN a one-way table with one replica copy missing
    const m = await seedDamagedMirror({
      regions: REGIONS.slice(0, 2),
      mode: 'one-way',
      items: 200,
      perKind: 0,
    });
    const { clients } = metered();
    const item = { pk: { S: 'late' }, version: { N: '1' }, data: { S: 'x' } };
    await clients[REGIONS[0]].send(new PutItemCommand({ TableName: m.table.name, Item: item }));
    // WHEN its replication lands after the regions were hashed, before the re-read
    const report = await hashVerifyTable({
      table: m.table,
      clients,
      segments: 2,
      recheck: quick,
      onPhase: async (phase) => {
        if (phase === 'recheck')
          await clients[REGIONS[1]].send(new PutItemCommand({ TableName: m.table.name, Item: item }));
      },
    });
    // THEN it was a candidate, agreed on a re-read, and is not counted
    expect(report.hash.candidates).toBe(1);
    expect(report.inFlight).toBe(1);
    expect(report.divergent).toEqual([]);
  });
});
