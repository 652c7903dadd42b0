import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { applyIntent } from '../../../lambda/core/apply';
import {
  deleteLocally,
  readLocalTombstone,
  resolveDeferred,
  stampLocal,
  writeLifeMarker,
  writeLocalTombstone,
} from '../../../lambda/core/origin';
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

  test('writes the full image of a save, with its stamp, where there is no item', async () => {
    const outcome = await applyIntent(
      client(TARGET),
      settings,
      TARGET,
      put(ord(0, 1, ORIGIN), 1, { a: S('x') }),
      noWait,
    );
    expect(outcome).toEqual({ status: 'applied' });
    expect(await targetItem(settings)).toEqual({
      pk: { S: 'k1' },
      version: { N: '1' },
      a: { S: 'x' },
      _ddbm_ord: { S: ord(0, 1, ORIGIN) },
      _ddbm_ver: { N: '1' },
    });
  });

  test('a save replaces an older stamped item', async () => {
    // GIVEN an item stamped at version 1
    await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 1, ORIGIN), 1), noWait);
    // WHEN version 2 is applied THEN it replaces the item
    expect(
      (await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 2, ORIGIN), 2), noWait)).status,
    ).toBe('applied');
    expect((await targetItem(settings))?.version).toEqual({ N: '2' });
  });

  test.each([
    ['a newer', 3],
    ['an equal (duplicate delivery)', 2],
  ])('a save over %s stamped item from the same origin is stale and changes nothing', async (_name, held) => {
    // GIVEN the held item
    await applyIntent(client(TARGET), settings, TARGET, put(ord(0, held, ORIGIN), held), noWait);
    // WHEN version 2 is applied
    const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 2, ORIGIN), 2), noWait);
    // THEN it is stale and the held item stays
    expect(outcome).toMatchObject({
      status: 'stale',
      holder: { source: 'item', ord: ord(0, held, ORIGIN), version: String(held), origin: ORIGIN },
    });
    expect((await targetItem(settings))?.version).toEqual({ N: String(held) });
  });

  test('applies a delete: the item is gone and a tombstone with order key, origin and expiry is written', async () => {
    // GIVEN an item at version 2
    await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 2, ORIGIN), 2), noWait);
    // WHEN its delete is applied
    expect(
      (await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 2, ORIGIN, true), 2), noWait)).status,
    ).toBe('applied');
    // THEN the item is gone, and a tombstone with order key, origin and expiry is written
    expect(await targetItem(settings)).toBeUndefined();
    const t = await targetItem(settings, settings.tombstoneTable);
    expect(t).toMatchObject({
      _ddbm_ord: { S: ord(0, 2, ORIGIN, true) },
      _ddbm_origin: { S: ORIGIN },
      _ddbm_expires: { N: expect.any(String) },
    });
    expect(Number(t!._ddbm_expires.N)).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
  });

  test('blocks a stale save of a deleted life: no resurrection', async () => {
    // GIVEN a tombstone
    await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 2, ORIGIN, true), 2), noWait);
    // WHEN a stale save of the deleted life arrives
    const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 2, ORIGIN), 2), noWait);
    // THEN it is blocked
    expect(outcome).toMatchObject({
      status: 'stale',
      holder: { source: 'tombstone', ord: ord(0, 2, ORIGIN, true), deletedBy: ORIGIN },
    });
    expect(await targetItem(settings)).toBeUndefined();
  });

  test('a second stale save that replaces the first before its undo is undone too (no survivor of the delete)', async () => {
    // GIVEN a tombstone of version 1 (a delete that orders after every version-1 save)
    await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 1, 'zz-last-1', true), 1), noWait);
    const second: WriteIntent = {
      ...put(ord(0, 1, 'mm-peer-1'), 1, { a: S('second') }),
      origin: 'mm-peer-1',
    };
    let raced: unknown;
    // AND a peer's stale save that lands right after the first stale save created the item: it finds an
    // item, so it never reads the tombstone itself
    const racing = {
      send: async (command: Parameters<DynamoDBClient['send']>[0]) => {
        if (raced === undefined && command instanceof GetItemCommand)
          raced = await applyIntent(client(TARGET), settings, TARGET, second, noWait);
        return client(TARGET).send(command as never);
      },
    } as unknown as DynamoDBClient;
    // WHEN the first stale save is applied and checks the tombstone after its insert
    const outcome = await applyIntent(racing, settings, TARGET, put(ord(0, 1, 'aa-peer-1'), 1), noWait);
    // THEN it is stale, and neither save outlives the delete
    expect(raced).toEqual({ status: 'applied' });
    expect(outcome.status).toBe('conflict-lost'); // to the tombstone, a delete from another region
    expect(await targetItem(settings)).toBeUndefined();
  });

  test('applies the next life (gen + 1) over a tombstone', async () => {
    // GIVEN a tombstone
    await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 7, ORIGIN, true), 7), noWait);
    // WHEN the next life arrives THEN it is applied
    expect(
      (await applyIntent(client(TARGET), settings, TARGET, put(ord(1, 1, ORIGIN), 1), noWait)).status,
    ).toBe('applied');
  });

  test('judges a target item saved locally since its last replicated write in-line, by generation, version and its region', async () => {
    // GIVEN the target region's application saved v5 over a replicated v4 (generation 0)
    await seed(settings, { ...key, version: N(5), _ddbm_ord: S(ord(0, 4, 'aa-peer-1')), _ddbm_ver: N(4) });
    // WHEN saves arrive: same version from an origin sorting before the target, a later version, a later life
    const tie = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 5, ORIGIN), 5), noWait);
    // THEN the local v5 (origin us-east-1 > eu-west-1) wins the tie, and the later ones replace it
    expect(tie).toEqual({
      status: 'conflict-lost',
      winner: { source: 'item', ord: ord(0, 5, TARGET), version: '5', origin: TARGET },
    });
    expect(
      (await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 6, ORIGIN), 6), noWait)).status,
    ).toBe('applied');
    await seed(settings, { ...key, version: N(9), _ddbm_ord: S(ord(0, 6, ORIGIN)), _ddbm_ver: N(6) });
    expect(
      (await applyIntent(client(TARGET), settings, TARGET, put(ord(1, 1, ORIGIN), 1), noWait)).status,
    ).toBe('applied');
  });

  test('defers a later save on a target item its region has not ordered yet, and nothing waits', async () => {
    // GIVEN a local life the target's replicator has not ordered (no _ddbm_ord)
    await seed(settings, { ...key, version: N(5), a: S('local') });
    let slept = 0;
    // WHEN a save that could order after it arrives
    const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 6, ORIGIN), 6), {
      ...noWait,
      sleep: async () => void (slept += 1),
    });
    // THEN it is left on the item for the target's replicator, the data untouched, with no wait
    expect(outcome).toEqual({ status: 'deferred' });
    expect(slept).toBe(0);
    const item = await targetItem(settings);
    expect(item).toMatchObject({
      a: { S: 'local' },
      version: { N: '5' },
      _ddbm_defo: { S: ord(0, 6, ORIGIN) },
    });
    expect(JSON.parse(item!._ddbm_defer.S!)).toEqual(put(ord(0, 6, ORIGIN), 6));
  });

  test('a save that orders at or below the least possible order key of an unordered target item loses at once', async () => {
    // GIVEN an unordered target item at version 5
    // us-east-1 sorts after eu-west-1: generation 0, version 5 from eu-west-1 is below (0, 5, us-east-1)
    await seed(settings, { ...key, version: N(5) });
    // WHEN a save at version 5 from eu-west-1 arrives
    const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 5, ORIGIN), 5), noWait);
    // THEN it loses at once, and nothing is deferred
    expect(outcome).toMatchObject({ status: 'conflict-lost', winner: { ord: ord(0, 5, TARGET) } });
    expect((await targetItem(settings))?._ddbm_defer).toBeUndefined();
  });

  test('against a deferred write, an earlier one is stale and a later one replaces it', async () => {
    // GIVEN a write deferred on an unordered item
    await seed(settings, { ...key, version: N(1) });
    await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 3, ORIGIN), 3), noWait);
    // WHEN an earlier one arrives THEN it is stale
    expect(
      await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 2, ORIGIN), 2), noWait),
    ).toMatchObject({
      status: 'stale',
      holder: { source: 'deferred', ord: ord(0, 3, ORIGIN) },
    });
    // AND WHEN a later one arrives THEN it replaces the deferred write
    expect(
      await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 3, ORIGIN, true), 3), noWait),
    ).toEqual({
      status: 'deferred',
    });
    expect((await targetItem(settings))?._ddbm_defo).toEqual({ S: ord(0, 3, ORIGIN, true) });
    // A delete deferred on a live item records no tombstone: the item's region decides.
    expect(await targetItem(settings, settings.tombstoneTable)).toBeUndefined();
  });

  test('a save loses the conflict to a concurrent save of the same version from a later-sorting origin, the winner read from ALL_OLD', async () => {
    // GIVEN a save of version 3 from a later-sorting origin
    await applyIntent(
      client(TARGET),
      settings,
      TARGET,
      { ...put(ord(0, 3, 'zz-west-9'), 3), origin: 'zz-west-9' },
      noWait,
    );
    // WHEN a concurrent save of version 3 arrives
    const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 3, ORIGIN), 3), noWait);
    // THEN it lost the conflict, the winner read from ALL_OLD
    expect(outcome).toEqual({
      status: 'conflict-lost',
      winner: { source: 'item', ord: ord(0, 3, 'zz-west-9'), version: '3', origin: 'zz-west-9' },
    });
  });

  test('a delete loses the conflict to a save of the same generation built concurrently', async () => {
    // GIVEN a save of version 4, built concurrently with the delete
    await applyIntent(
      client(TARGET),
      settings,
      TARGET,
      { ...put(ord(0, 4, 'zz-west-9'), 4), origin: 'zz-west-9' },
      noWait,
    );
    // WHEN the delete of version 3 arrives
    const outcome = await applyIntent(
      client(TARGET),
      settings,
      TARGET,
      del(ord(0, 3, ORIGIN, true), 3),
      noWait,
    );
    // THEN it lost a conflict, and no tombstone is written
    expect(outcome).toMatchObject({ status: 'conflict-lost', winner: { source: 'item', version: '4' } });
    expect(await targetItem(settings, settings.tombstoneTable)).toBeUndefined();
  });

  test('keeps the life marker of a tombstone a peer delete lands on (UpdateItem, not Put)', async () => {
    // GIVEN a tombstone that carries a life marker
    const local = { ...settings, region: TARGET };
    await writeLifeMarker(
      client(TARGET),
      local,
      { key, bornSequence: sequenceOrd('100000000000000000001'), generation: 0 },
      noWait,
    );
    // WHEN a peer delete is applied over it
    await applyIntent(client(TARGET), settings, TARGET, del(ord(0, 1, TARGET, true), 1), noWait);
    // THEN the marker survives
    expect(await readLocalTombstone(client(TARGET), local, key, noWait)).toEqual({
      ord: ord(0, 1, TARGET, true),
      origin: ORIGIN,
      bornSequence: sequenceOrd('100000000000000000001'),
      bornGeneration: 0,
    });
  });

  test('reports a missing table as unavailable at once, not retried', async () => {
    const outcome = await applyIntent(
      client(TARGET),
      { ...settings, table: 'NoSuchTable', tombstoneTable: 'NoSuchTable-ddbm-tombstones' },
      TARGET,
      put(ord(0, 1, ORIGIN), 1),
      noWait,
    );
    expect(outcome).toMatchObject({ status: 'unavailable', retryable: false });
  });

  test('retries an unreachable endpoint with back-off up to maxAttempts, then reports it unavailable (retryable)', async () => {
    // GIVEN an unreachable endpoint
    const dead = new DynamoDBClient({ region: TARGET, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const sleeps: number[] = [];
    // WHEN a save is applied to it
    const outcome = await applyIntent(
      dead,
      { ...settings, baseDelayMs: 100 },
      TARGET,
      put(ord(0, 1, ORIGIN), 1),
      {
        ...noWait,
        random: () => 0.99,
        sleep: async (ms) => void sleeps.push(ms),
      },
    );
    // THEN retried with back-off, then unavailable (retryable)
    expect(outcome).toMatchObject({ status: 'unavailable', retryable: true });
    expect(sleeps).toEqual([99, 198]); // full jitter: random × 100·2^(n−1)
    dead.destroy();
  });

  test('starts no retry after the deadline when too little time is left', async () => {
    // GIVEN an unreachable endpoint
    const dead = new DynamoDBClient({ region: TARGET, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const sleeps: number[] = [];
    // WHEN a save is applied with the deadline already past
    const outcome = await applyIntent(
      dead,
      { ...settings, maxAttempts: 10 },
      TARGET,
      put(ord(0, 5, ORIGIN), 5),
      {
        ...noWait,
        deadline: Date.now() - 1,
        sleep: async (ms) => void sleeps.push(ms),
      },
    );
    // THEN no retry starts
    expect(outcome).toMatchObject({ status: 'unavailable', retryable: true });
    expect(sleeps).toEqual([]);
    dead.destroy();
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

  test('deleteLocally never touches a local life not ordered yet (no _ddbm_ord): tombstone only', async () => {
    await seed(settings, { ...key, version: N(1) });
    await deleteLocally(
      client(TARGET),
      settings,
      { key, ord: ord(0, 3, TARGET, true), origin: TARGET, sequence: sequenceOrd('100000000000000000001') },
      noWait,
    );
    expect(await targetItem(settings)).toBeDefined();
  });

  test('deleteLocally never touches a newer local life (a later generation, or one not ordered yet): tombstone only', async () => {
    await seed(settings, { ...key, version: N(1), _ddbm_ord: S(ord(1, 1, TARGET)), _ddbm_ver: N(1) });
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
          if (landed++ === 0) await applyIntent(client(TARGET), settings, TARGET, peerSave, noWait);
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

  describe('resolveDeferred: the region decides a write deferred on its own item', () => {
    const x = put(ord(0, 6, ORIGIN), 6, { a: S('peer') }) as Extract<WriteIntent, { op: 'put' }>;
    const deferredItem = (version: number) => ({
      ...key,
      version: N(version),
      a: S('local'),
      _ddbm_defer: S(JSON.stringify(x)),
      _ddbm_defo: S(x.ord),
    });
    const judged = (wins: boolean, deferred: WriteIntent = x) => ({
      key,
      deferred,
      holds: ord(0, 5, TARGET),
      wins,
      version: '5',
      same: { a: S('local') },
      deferredOnItem: true,
      sequence: sequenceOrd('100000000000000000009'),
    });

    test('a later deferred save replaces the state it was judged against', async () => {
      await seed(settings, deferredItem(5));
      expect(await resolveDeferred(client(TARGET), settings, judged(true), noWait)).toEqual({
        status: 'applied',
      });
      expect(await targetItem(settings)).toEqual(toSdkImage(x.item));
    });

    test('an earlier deferred write is dropped and the state stays', async () => {
      await seed(settings, deferredItem(5));
      expect(await resolveDeferred(client(TARGET), settings, judged(false), noWait)).toEqual({
        status: 'dropped',
      });
      expect(await targetItem(settings)).toEqual(toSdkImage({ ...key, version: N(5), a: S('local') }));
    });

    test('a later deferred delete removes the state and records its tombstone with this region position, atomically', async () => {
      const d = del(ord(0, 6, ORIGIN, true), 6);
      await seed(settings, { ...deferredItem(5), _ddbm_defer: S(JSON.stringify(d)), _ddbm_defo: S(d.ord) });
      expect(await resolveDeferred(client(TARGET), settings, judged(true, d), noWait)).toEqual({
        status: 'applied',
      });
      expect(await targetItem(settings)).toBeUndefined();
      expect(await readLocalTombstone(client(TARGET), settings, key, noWait)).toEqual({
        ord: d.ord,
        origin: ORIGIN,
        sequence: sequenceOrd('100000000000000000009'),
      });
    });

    test('when the application moved on since, the deferred write is judged again like any peer write', async () => {
      // GIVEN the item was saved again (v7) after the record that carried the deferral
      await seed(settings, deferredItem(7));
      const outcome = await resolveDeferred(client(TARGET), settings, judged(true), noWait);
      // THEN nothing is written from the stale judgement: v7 (origin us-east-1) is above the deferred v6
      expect(outcome).toMatchObject({ status: 'reapplied', outcome: { status: 'stale' } });
      expect((await targetItem(settings))?.version).toEqual({ N: '7' });
    });
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

  test('the next change from the source overwrites a stray local write on the replica (no _ddbm_ord)', async () => {
    // GIVEN a stray local write on the replica
    await seed(settings, { ...key, a: S('stray') });
    // WHEN the next change from the source arrives THEN it is applied
    expect((await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait)).status).toBe(
      'applied',
    );
  });

  test('an earlier change arriving late, after a later one was applied, is stale', async () => {
    // GIVEN a later change applied
    await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(5)), noWait);
    // WHEN an earlier one arrives late THEN it is stale
    expect((await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(4)), noWait)).status).toBe(
      'stale',
    );
  });

  test('a delete replayed after its attempt died between the tombstone and the item delete still removes the item', async () => {
    // GIVEN a replica item, and the tombstone of the delete that follows it, written by an attempt of
    // that delete whose invocation then died (a crash or a timeout) before it deleted the item
    const remove: WriteIntent = { op: 'delete', key, ord: seqOrd(2), origin: ORIGIN };
    await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait);
    await seed(
      settings,
      { ...key, _ddbm_ord: S(seqOrd(2)), _ddbm_origin: S(ORIGIN) },
      settings.tombstoneTable,
    );
    // WHEN the same delete is delivered again
    const outcome = await applyIntent(client(TARGET), settings, TARGET, remove, noWait);
    // THEN it is applied and the item is gone; a later delete's tombstone would still make it stale
    expect(outcome.status).toBe('applied');
    expect(await targetItem(settings)).toBeUndefined();
    await seed(settings, { ...key, _ddbm_ord: S(seqOrd(3)) }, settings.tombstoneTable);
    expect((await applyIntent(client(TARGET), settings, TARGET, remove, noWait)).status).toBe('stale');
  });

  test('a re-delivered earlier put cannot bring a deleted item back', async () => {
    // GIVEN a put, then a delete
    await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait);
    await applyIntent(
      client(TARGET),
      settings,
      TARGET,
      { op: 'delete', key, ord: seqOrd(2), origin: ORIGIN },
      noWait,
    );
    // WHEN the put is re-delivered THEN it is stale, and the item stays gone
    expect((await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait)).status).toBe(
      'stale',
    );
    expect(await targetItem(settings)).toBeUndefined();
  });
});
