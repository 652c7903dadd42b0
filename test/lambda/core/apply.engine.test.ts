import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  applyIntent,
  deleteLocally,
  readLocalTombstone,
  stampLocal,
  writeLifeMarker,
  writeLocalTombstone,
} from '../../../lambda/core/apply';
import { formatOrd, sequenceOrd } from '../../../lambda/core/order';
import { toSdkImage, type Image } from '../../../lambda/core/attributes';
import type { WriteIntent } from '../../../lambda/core/intents';
import type { MultiActiveSettings, OneWaySettings, ReplicatorSettings } from '../../../lambda/contract';
import { client, createMirrorTables } from '../../support/dynamo';
import { multiActiveSettings, N, oneWaySettings, S } from '../../support/records';

/** Apply against the real DynamoDB Local: the conditions are the semantics, so they are not mocked. */

const ORIGIN = 'eu-west-1';
const TARGET = 'us-east-1';
const key = { pk: S('k1') };
const ord = (gen: number, version: number, origin: string, deleted = false) =>
  formatOrd({ gen, version: String(version), origin, deleted });
const noWait = { deadline: Date.now() + 600_000, sleep: async () => undefined, random: () => 0.5 };

async function setup(mode: 'one-way'): Promise<OneWaySettings>;
async function setup(mode: 'multi-active'): Promise<MultiActiveSettings>;
async function setup(mode: 'one-way' | 'multi-active'): Promise<ReplicatorSettings> {
  const { table, tombstoneTable } = await createMirrorTables({
    regions: [TARGET],
    key: { partitionKey: { name: 'pk', type: 'S' } },
    streamRegions: [],
  });
  const base = { table, tombstoneTable, region: ORIGIN, maxAttempts: 3 };
  return mode === 'one-way' ? oneWaySettings(base) : multiActiveSettings(base);
}

const put = (o: string, version: number, extra: Image = {}): WriteIntent => ({
  op: 'put',
  key,
  item: { ...key, version: N(version), _ddbm_ord: S(o), _ddbm_ver: N(version), ...extra },
  ord: o,
  origin: ORIGIN,
  version: String(version),
});
const del = (o: string, version: number): WriteIntent => ({
  op: 'delete',
  key,
  ord: o,
  origin: ORIGIN,
  version: String(version),
});

async function targetItem(settings: ReplicatorSettings, table = settings.table) {
  return (
    await client(TARGET).send(
      new GetItemCommand({ TableName: table, Key: toSdkImage(key), ConsistentRead: true }),
    )
  ).Item;
}
async function seed(settings: ReplicatorSettings, item: Image, table = settings.table) {
  await client(TARGET).send(new PutItemCommand({ TableName: table, Item: toSdkImage(item) }));
}

describe('applyIntent, multi-active (DynamoDB Local)', () => {
  let settings: MultiActiveSettings;
  beforeEach(async () => {
    settings = await setup('multi-active');
  });

  test('GIVEN no item WHEN a save is applied THEN the full image with its stamp is written', async () => {
    const outcome = await applyIntent(
      client(TARGET),
      settings,
      put(ord(0, 1, ORIGIN), 1, { a: S('x') }),
      noWait,
    );
    expect(outcome).toEqual({ status: 'applied', attempts: 1 });
    expect(await targetItem(settings)).toEqual({
      pk: { S: 'k1' },
      version: { N: '1' },
      a: { S: 'x' },
      _ddbm_ord: { S: ord(0, 1, ORIGIN) },
      _ddbm_ver: { N: '1' },
    });
  });

  test('GIVEN an older stamped item THEN the save replaces it', async () => {
    await applyIntent(client(TARGET), settings, put(ord(0, 1, ORIGIN), 1), noWait);
    expect((await applyIntent(client(TARGET), settings, put(ord(0, 2, ORIGIN), 2), noWait)).status).toBe(
      'applied',
    );
    expect((await targetItem(settings))?.version).toEqual({ N: '2' });
  });

  test.each([
    ['a newer', 3],
    ['an equal (duplicate delivery)', 2],
  ])(
    'GIVEN %s stamped item from the same origin THEN the save is stale and changes nothing',
    async (_name, held) => {
      await applyIntent(client(TARGET), settings, put(ord(0, held, ORIGIN), held), noWait);
      const outcome = await applyIntent(client(TARGET), settings, put(ord(0, 2, ORIGIN), 2), noWait);
      expect(outcome).toMatchObject({
        status: 'stale',
        holder: { source: 'item', ord: ord(0, held, ORIGIN), version: String(held), origin: ORIGIN },
      });
      expect((await targetItem(settings))?.version).toEqual({ N: String(held) });
    },
  );

  test('GIVEN a delete WHEN applied THEN the item is gone and a tombstone with order key, origin and expiry is written', async () => {
    await applyIntent(client(TARGET), settings, put(ord(0, 2, ORIGIN), 2), noWait);
    expect(
      (await applyIntent(client(TARGET), settings, del(ord(0, 2, ORIGIN, true), 2), noWait)).status,
    ).toBe('applied');
    expect(await targetItem(settings)).toBeUndefined();
    const t = await targetItem(settings, settings.tombstoneTable);
    expect(t).toMatchObject({
      _ddbm_ord: { S: ord(0, 2, ORIGIN, true) },
      _ddbm_origin: { S: ORIGIN },
      _ddbm_expires: { N: expect.any(String) },
    });
    expect(Number(t!._ddbm_expires.N)).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
  });

  test('GIVEN a tombstone WHEN a stale save of the deleted life arrives THEN it is blocked (no resurrection)', async () => {
    await applyIntent(client(TARGET), settings, del(ord(0, 2, ORIGIN, true), 2), noWait);
    const outcome = await applyIntent(client(TARGET), settings, put(ord(0, 2, ORIGIN), 2), noWait);
    expect(outcome).toMatchObject({
      status: 'stale',
      holder: { source: 'tombstone', ord: ord(0, 2, ORIGIN, true), deletedBy: ORIGIN },
    });
    expect(await targetItem(settings)).toBeUndefined();
  });

  test('GIVEN a tombstone WHEN the next life (gen + 1) arrives THEN it is applied', async () => {
    await applyIntent(client(TARGET), settings, del(ord(0, 7, ORIGIN, true), 7), noWait);
    expect((await applyIntent(client(TARGET), settings, put(ord(1, 1, ORIGIN), 1), noWait)).status).toBe(
      'applied',
    );
  });

  test('GIVEN an unstamped target item (a local save not yet ordered) THEN it waits up to pendingWaitMs, not maxAttempts, then reports pending', async () => {
    await seed(settings, { ...key, version: N(5), _ddbm_ord: S(ord(0, 4, TARGET)), _ddbm_ver: N(4) });
    let clock = 1_000_000;
    const sleeps: number[] = [];
    const outcome = await applyIntent(
      client(TARGET),
      { ...settings, maxAttempts: 3, baseDelayMs: 100, pendingWaitMs: 3000 },
      put(ord(0, 5, ORIGIN), 5),
      {
        deadline: clock + 600_000,
        now: () => clock,
        random: () => 0.5,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
      },
    );
    // Backs off 0.5 × 100·2^(n−1), each wait capped at 1 s, until the next wait would pass 3 s in all.
    expect(sleeps).toEqual([50, 100, 200, 400, 800, 1000]);
    expect(outcome).toMatchObject({
      status: 'pending',
      attempts: 7,
      holder: { source: 'item', version: '5' },
    });
    expect((await targetItem(settings))?._ddbm_ver).toEqual({ N: '4' });
  });

  test('GIVEN an unstamped target WHEN its replicator stamps it between retries THEN the save goes on', async () => {
    await seed(settings, { ...key, version: N(5) });
    const sleep = async () => {
      await stampLocal(
        client(TARGET),
        { ...settings, region: TARGET },
        { key, ord: ord(0, 5, 'aa-first-1'), version: '5' },
        noWait,
      );
    };
    expect(
      (await applyIntent(client(TARGET), settings, put(ord(0, 5, ORIGIN), 5), { ...noWait, sleep })).status,
    ).toBe('applied');
  });

  test('GIVEN a concurrent save of the same version from a later-sorting origin THEN conflict lost, winner read from ALL_OLD', async () => {
    await applyIntent(
      client(TARGET),
      settings,
      { ...put(ord(0, 3, 'zz-west-9'), 3), origin: 'zz-west-9' },
      noWait,
    );
    const outcome = await applyIntent(client(TARGET), settings, put(ord(0, 3, ORIGIN), 3), noWait);
    expect(outcome).toEqual({
      status: 'conflict-lost',
      attempts: 1,
      winner: { source: 'item', ord: ord(0, 3, 'zz-west-9'), version: '3', origin: 'zz-west-9' },
    });
  });

  test('GIVEN a save of the same generation built concurrently with a delete THEN the delete lost a conflict', async () => {
    await applyIntent(
      client(TARGET),
      settings,
      { ...put(ord(0, 4, 'zz-west-9'), 4), origin: 'zz-west-9' },
      noWait,
    );
    const outcome = await applyIntent(client(TARGET), settings, del(ord(0, 3, ORIGIN, true), 3), noWait);
    expect(outcome).toMatchObject({ status: 'conflict-lost', winner: { source: 'item', version: '4' } });
    expect(await targetItem(settings, settings.tombstoneTable)).toBeUndefined();
  });

  test('GIVEN a peer delete over a tombstone that carries a life marker THEN the marker survives (UpdateItem, not Put)', async () => {
    const local = { ...settings, region: TARGET };
    await writeLifeMarker(
      client(TARGET),
      local,
      { key, bornSequence: sequenceOrd('100000000000000000001'), generation: 0 },
      noWait,
    );
    await applyIntent(client(TARGET), settings, del(ord(0, 1, TARGET, true), 1), noWait);
    expect(await readLocalTombstone(client(TARGET), local, key, noWait)).toEqual({
      ord: ord(0, 1, TARGET, true),
      origin: ORIGIN,
      bornSequence: sequenceOrd('100000000000000000001'),
      bornGeneration: 0,
    });
  });

  test('GIVEN a missing table THEN unavailable at once, not retried', async () => {
    const outcome = await applyIntent(
      client(TARGET),
      { ...settings, table: 'NoSuchTable', tombstoneTable: 'NoSuchTable-ddbm-tombstones' },
      put(ord(0, 1, ORIGIN), 1),
      noWait,
    );
    expect(outcome).toMatchObject({ status: 'unavailable', retryable: false, attempts: 1 });
  });

  test('GIVEN an unreachable endpoint THEN retried with back-off up to maxAttempts, then unavailable (retryable)', async () => {
    const dead = new DynamoDBClient({ region: TARGET, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const sleeps: number[] = [];
    const outcome = await applyIntent(dead, { ...settings, baseDelayMs: 100 }, put(ord(0, 1, ORIGIN), 1), {
      ...noWait,
      random: () => 0.99,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(outcome).toMatchObject({ status: 'unavailable', retryable: true, attempts: 3 });
    expect(sleeps).toEqual([99, 198]); // full jitter: random × 100·2^(n−1)
    dead.destroy();
  });

  test('GIVEN too little time left THEN no retry starts after the deadline', async () => {
    await seed(settings, { ...key, version: N(5) });
    const outcome = await applyIntent(
      client(TARGET),
      { ...settings, maxAttempts: 10 },
      put(ord(0, 5, ORIGIN), 5),
      { ...noWait, deadline: Date.now() - 1 },
    );
    expect(outcome).toMatchObject({ status: 'pending', attempts: 1 });
  });
});

describe('origin-side writes (DynamoDB Local)', () => {
  let settings: MultiActiveSettings;
  beforeEach(async () => {
    settings = { ...(await setup('multi-active')), region: TARGET };
  });

  test('stampLocal stamps an unstamped item at the same version', async () => {
    await seed(settings, { ...key, version: N(2) });
    expect(
      await stampLocal(client(TARGET), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait),
    ).toBe(true);
    expect(await targetItem(settings)).toMatchObject({
      _ddbm_ord: { S: ord(0, 2, TARGET) },
      _ddbm_ver: { N: '2' },
    });
  });

  test('stampLocal leaves an item that moved on to a later version alone (condition failure is fine)', async () => {
    await seed(settings, { ...key, version: N(3) });
    expect(
      await stampLocal(client(TARGET), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait),
    ).toBe(false);
    expect((await targetItem(settings))?._ddbm_ord).toBeUndefined();
  });

  // Bug 2: a record of an ended life stamped the key's next life (deleted and saved again, back at the
  // same version) with its own generation-0 order key, which an older peer save then beat.
  test('stampLocal leaves a later life of the key at the same version alone when its data differs', async () => {
    await seed(settings, { ...key, version: N(1), data: S('a3') });
    const stamp = { key, ord: ord(0, 1, TARGET), version: '1', same: { data: S('a0') } };
    expect(await stampLocal(client(TARGET), settings, stamp, noWait)).toBe(false);
    expect((await targetItem(settings))?._ddbm_ord).toBeUndefined();
    expect(await stampLocal(client(TARGET), settings, { ...stamp, same: { data: S('a3') } }, noWait)).toBe(
      true,
    );
    expect((await targetItem(settings))?._ddbm_ord).toEqual({ S: ord(0, 1, TARGET) });
  });

  test('stampLocal never moves a stamp backwards (a replayed record after a winning peer write)', async () => {
    await seed(settings, { ...key, version: N(2), _ddbm_ord: S(ord(0, 2, 'zz-west-9')), _ddbm_ver: N(2) });
    expect(
      await stampLocal(client(TARGET), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait),
    ).toBe(false);
    expect((await targetItem(settings))?._ddbm_ord).toEqual({ S: ord(0, 2, 'zz-west-9') });
  });

  test('writeLocalTombstone records ord, origin and sequence, and refuses to go backwards', async () => {
    const t = {
      key,
      ord: ord(1, 2, TARGET, true),
      origin: TARGET,
      sequence: sequenceOrd('100000000000000000777'),
    };
    expect(await writeLocalTombstone(client(TARGET), settings, t, noWait)).toBe(true);
    expect(
      await writeLocalTombstone(client(TARGET), settings, { ...t, ord: ord(0, 9, TARGET, true) }, noWait),
    ).toBe(false);
    expect(await readLocalTombstone(client(TARGET), settings, key, noWait)).toEqual({
      ord: t.ord,
      origin: TARGET,
      sequence: t.sequence,
    });
  });

  test("deleteLocally removes a peer's older item that landed between the app's delete and the tombstone", async () => {
    await seed(settings, { ...key, version: N(1), _ddbm_ord: S(ord(0, 1, 'aa-peer-1')), _ddbm_ver: N(1) });
    await deleteLocally(
      client(TARGET),
      settings,
      { key, ord: ord(0, 1, TARGET, true), origin: TARGET, sequence: sequenceOrd('100000000000000000001') },
      noWait,
    );
    expect(await targetItem(settings)).toBeUndefined();
    expect((await readLocalTombstone(client(TARGET), settings, key, noWait))?.ord).toBe(
      ord(0, 1, TARGET, true),
    );
  });

  test('deleteLocally never touches a local item of this origin (a newer local life): tombstone only', async () => {
    await seed(settings, { ...key, version: N(1), _ddbm_ord: S(ord(0, 1, TARGET)), _ddbm_ver: N(1) });
    await deleteLocally(
      client(TARGET),
      settings,
      { key, ord: ord(0, 1, TARGET, true), origin: TARGET, sequence: sequenceOrd('100000000000000000001') },
      noWait,
    );
    expect(await targetItem(settings)).toBeDefined();
    expect((await readLocalTombstone(client(TARGET), settings, key, noWait))?.ord).toBe(
      ord(0, 1, TARGET, true),
    );
  });

  // Bug 4 (3-region property, seed -1641647302): the local delete found nothing to remove, then a
  // peer's older save landed before the separate tombstone write, and outlived the delete here only.
  test("deleteLocally leaves no peer's older save behind whenever that save lands during the delete", async () => {
    const peerSave: WriteIntent = {
      ...put(ord(0, 1, 'aa-peer-1'), 1),
      origin: 'aa-peer-1',
    };
    let landed = 0;
    const racing = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        try {
          return await client(TARGET).send(command as never);
        } finally {
          // The peer's replicator writes between any two of this region's requests.
          if (landed++ === 0) await applyIntent(client(TARGET), settings, peerSave, noWait);
        }
      },
    } as unknown as DynamoDBClient;
    await deleteLocally(
      racing,
      settings,
      { key, ord: ord(0, 1, TARGET, true), origin: TARGET, sequence: sequenceOrd('100000000000000000001') },
      noWait,
    );
    expect(landed).toBeGreaterThan(0);
    expect(await targetItem(settings)).toBeUndefined();
    expect((await readLocalTombstone(client(TARGET), settings, key, noWait))?.ord).toBe(
      ord(0, 1, TARGET, true),
    );
  });

  test('readLocalTombstone returns null when there is none', async () => {
    expect(await readLocalTombstone(client(TARGET), settings, key, noWait)).toBeNull();
  });

  test('writeLifeMarker refuses when the tombstone changed since it was read', async () => {
    await writeLocalTombstone(
      client(TARGET),
      settings,
      { key, ord: ord(0, 1, TARGET, true), origin: TARGET, sequence: sequenceOrd('100000000000000000001') },
      noWait,
    );
    const m = { key, bornSequence: sequenceOrd('100000000000000000002'), generation: 1 };
    expect(await writeLifeMarker(client(TARGET), settings, m, noWait)).toBe(false);
    expect(
      await writeLifeMarker(client(TARGET), settings, { ...m, expectedOrd: ord(0, 1, TARGET, true) }, noWait),
    ).toBe(true);
  });
});

describe('applyIntent, one-way (DynamoDB Local)', () => {
  let settings: OneWaySettings;
  const seqOrd = (n: number) => sequenceOrd(String(100000000000000000000n + BigInt(n)));
  const oneWayPut = (o: string): WriteIntent => ({
    op: 'put',
    key,
    item: { ...key, a: S(o), _ddbm_ord: S(o) },
    ord: o,
    origin: ORIGIN,
  });
  beforeEach(async () => {
    settings = await setup('one-way');
  });

  test('GIVEN a stray local write on the replica (no _ddbm_ord) THEN the next change from the source overwrites it', async () => {
    await seed(settings, { ...key, a: S('stray') });
    expect((await applyIntent(client(TARGET), settings, oneWayPut(seqOrd(1)), noWait)).status).toBe(
      'applied',
    );
  });

  test('GIVEN a later change applied THEN an earlier one arriving late is stale', async () => {
    await applyIntent(client(TARGET), settings, oneWayPut(seqOrd(5)), noWait);
    expect((await applyIntent(client(TARGET), settings, oneWayPut(seqOrd(4)), noWait)).status).toBe('stale');
  });

  test('GIVEN a delete THEN a re-delivered earlier put cannot bring the item back', async () => {
    await applyIntent(client(TARGET), settings, oneWayPut(seqOrd(1)), noWait);
    await applyIntent(
      client(TARGET),
      settings,
      { op: 'delete', key, ord: seqOrd(2), origin: ORIGIN },
      noWait,
    );
    expect((await applyIntent(client(TARGET), settings, oneWayPut(seqOrd(1)), noWait)).status).toBe('stale');
    expect(await targetItem(settings)).toBeUndefined();
  });
});
