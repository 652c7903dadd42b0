import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { applyIntent } from '../../../lambda/core/apply';
import {
  readLocalTombstone,
  stampLocal,
  undoCovered,
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
const nowSeconds = () => Math.floor(Date.now() / 1000);

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
const del = (o: string, version: number, expiresAt?: number): WriteIntent => ({
  op: 'delete',
  key,
  ord: o,
  origin: ORIGIN,
  version: String(version),
  ...(expiresAt !== undefined ? { expiresAt } : {}),
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
const tombstone = (o: string, expires: number, origin = ORIGIN): Image => ({
  ...key,
  _ddbm_ord: S(o),
  _ddbm_origin: S(origin),
  _ddbm_expires: N(expires),
});

/**
 * A client of the target whose first `command` commits at the engine and then fails: with a 500
 * (DynamoDB can fail a write it applied; the answer is lost and the write retried).
 */
function losingFirstAnswer(command: string): DynamoDBClient {
  const c = new DynamoDBClient({ region: TARGET });
  let armed = true;
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (armed && context.commandName === command) {
        armed = false;
        throw Object.assign(new Error('the answer was lost after the write committed'), {
          name: 'InternalServerError',
        });
      }
      return output;
    },
    { step: 'initialize', name: 'loseFirstAnswer' },
  );
  return c;
}

describe('applyIntent, multi-active (DynamoDB Local)', () => {
  let settings: MultiActiveSettings;
  beforeEach(async () => {
    settings = await setup('multi-active');
  });
  const apply = (intent: WriteIntent, c: DynamoDBClient = client(TARGET)) =>
    applyIntent(c, settings, TARGET, intent, noWait);

  test('writes the full image of a save, with its order key, where there is no item', async () => {
    expect(await apply(put(ord(0, 1, ORIGIN), 1, { a: S('x') }))).toEqual({ status: 'applied' });
    expect(await targetItem(settings)).toEqual({
      pk: { S: 'k1' },
      version: { N: '1' },
      a: { S: 'x' },
      _ddbm_ord: { S: ord(0, 1, ORIGIN) },
      _ddbm_ver: { N: '1' },
    });
  });

  test('a save replaces an older ordered item', async () => {
    await apply(put(ord(0, 1, ORIGIN), 1));
    expect((await apply(put(ord(0, 2, ORIGIN), 2))).status).toBe('applied');
    expect((await targetItem(settings))?.version).toEqual({ N: '2' });
  });

  test('a save over a newer ordered item from the same origin is stale and changes nothing', async () => {
    await apply(put(ord(0, 3, ORIGIN), 3));
    expect(await apply(put(ord(0, 2, ORIGIN), 2))).toEqual({
      status: 'stale',
      holder: { source: 'item', ord: ord(0, 3, ORIGIN), version: '3', origin: ORIGIN },
    });
    expect((await targetItem(settings))?.version).toEqual({ N: '3' });
  });

  test('a save delivered again meets its own effect: stale, and the item is what the first delivery wrote', async () => {
    await apply(put(ord(0, 2, ORIGIN), 2, { a: S('x') }));
    const first = await targetItem(settings);
    expect(await apply(put(ord(0, 2, ORIGIN), 2, { a: S('x') }))).toEqual({
      status: 'stale',
      holder: { source: 'item', ord: ord(0, 2, ORIGIN), version: '2', origin: ORIGIN },
    });
    expect(await targetItem(settings)).toEqual(first);
  });

  test('a save whose answer is lost after it committed is retried, meets its own effect and reports it stale', async () => {
    const lossy = losingFirstAnswer('PutItemCommand');
    expect(await apply(put(ord(0, 1, ORIGIN), 1, { a: S('x') }), lossy)).toMatchObject({
      status: 'stale',
      holder: { ord: ord(0, 1, ORIGIN) },
    });
    expect(await targetItem(settings)).toMatchObject({ a: { S: 'x' }, _ddbm_ord: { S: ord(0, 1, ORIGIN) } });
    lossy.destroy();
  });

  test("a save meeting no item is applied without reading the tombstone: the check of a covered insert is the target's own replicator's", async () => {
    // GIVEN the key's delete recorded at the target
    await apply(del(ord(0, 2, ORIGIN, true), 2));
    // WHEN a stale save of the deleted life arrives
    const outcome = await apply(put(ord(0, 2, ORIGIN), 2));
    // THEN it is written: its INSERT in the target's stream is what undoes it (process.engine.test)
    expect(outcome).toEqual({ status: 'applied' });
    expect((await targetItem(settings))?._ddbm_ord).toEqual({ S: ord(0, 2, ORIGIN) });
  });

  test('applies a delete: the item is gone and a tombstone with order key, origin and the default expiry is written', async () => {
    await apply(put(ord(0, 2, ORIGIN), 2));
    expect(await apply(del(ord(0, 2, ORIGIN, true), 2))).toEqual({ status: 'applied' });
    expect(await targetItem(settings)).toBeUndefined();
    const t = await targetItem(settings, settings.tombstoneTable);
    expect(t).toMatchObject({
      _ddbm_ord: { S: ord(0, 2, ORIGIN, true) },
      _ddbm_origin: { S: ORIGIN },
      _ddbm_expires: { N: expect.any(String) },
    });
    expect(Number(t!._ddbm_expires.N)).toBeGreaterThan(nowSeconds() + 29 * 86400);
  });

  test('a delete records the expiry its origin set, so every region forgets it at the same time', async () => {
    const expiresAt = nowSeconds() + 12_345;
    await apply(del(ord(0, 2, ORIGIN, true), 2, expiresAt));
    expect((await targetItem(settings, settings.tombstoneTable))?._ddbm_expires).toEqual({
      N: String(expiresAt),
    });
  });

  test('a delete where there is no item records its tombstone', async () => {
    expect(await apply(del(ord(0, 4, ORIGIN, true), 4))).toEqual({ status: 'applied' });
    expect((await targetItem(settings, settings.tombstoneTable))?._ddbm_ord).toEqual({
      S: ord(0, 4, ORIGIN, true),
    });
  });

  test.each([
    ['a later', ord(0, 5, 'zz-west-9', true), 'zz-west-9'],
    ['its own (an earlier delivery of it)', ord(0, 3, ORIGIN, true), ORIGIN],
  ])('a delete meeting %s live tombstone is stale, and the tombstone stays', async (_name, held, by) => {
    const expires = nowSeconds() + 3600;
    await seed(settings, tombstone(held, expires, by), settings.tombstoneTable);
    expect(await apply(del(ord(0, 3, ORIGIN, true), 3))).toMatchObject({
      status: 'stale',
      holder: { source: 'tombstone', ord: held, deletedBy: by },
    });
    expect(await targetItem(settings, settings.tombstoneTable)).toEqual(
      toSdkImage(tombstone(held, expires, by)),
    );
  });

  test('an expired tombstone counts as none: a delete that orders before it is applied and replaces it', async () => {
    // GIVEN a tombstone that orders after the delete but expired a minute ago (TTL has not removed it yet)
    await seed(settings, tombstone(ord(0, 9, 'zz-west-9', true), nowSeconds() - 60), settings.tombstoneTable);
    await apply(put(ord(0, 3, ORIGIN), 3));
    // WHEN the delete arrives THEN it is applied, item and tombstone
    expect(await apply(del(ord(0, 3, ORIGIN, true), 3))).toEqual({ status: 'applied' });
    expect(await targetItem(settings)).toBeUndefined();
    expect((await targetItem(settings, settings.tombstoneTable))?._ddbm_ord).toEqual({
      S: ord(0, 3, ORIGIN, true),
    });
  });

  test('a delete over a tombstone updates it in place (UpdateItem): attributes it does not write survive', async () => {
    await seed(
      settings,
      { ...tombstone(ord(0, 1, ORIGIN, true), nowSeconds() + 60), note: S('kept') },
      settings.tombstoneTable,
    );
    await apply(del(ord(0, 2, ORIGIN, true), 2));
    expect(await targetItem(settings, settings.tombstoneTable)).toMatchObject({
      _ddbm_ord: { S: ord(0, 2, ORIGIN, true) },
      note: { S: 'kept' },
    });
  });

  test('applies the next life (gen + 1) over a tombstone', async () => {
    await apply(del(ord(0, 7, ORIGIN, true), 7));
    expect((await apply(put(ord(1, 1, ORIGIN), 1))).status).toBe('applied');
  });

  test('judges a target item saved locally since its last replicated write in-line, by generation, version and its region', async () => {
    // GIVEN the target region's application saved v5 over a replicated v4 (generation 0)
    await seed(settings, { ...key, version: N(5), _ddbm_ord: S(ord(0, 4, 'aa-peer-1')), _ddbm_ver: N(4) });
    // WHEN saves arrive: same version from an origin sorting before the target, a later version, a later life
    const tie = await apply(put(ord(0, 5, ORIGIN), 5));
    // THEN the local v5 (origin us-east-1 > eu-west-1) wins the tie, and the later ones replace it
    expect(tie).toEqual({
      status: 'conflict-lost',
      winner: { source: 'item', ord: ord(0, 5, TARGET), version: '5', origin: TARGET },
    });
    expect((await apply(put(ord(0, 6, ORIGIN), 6))).status).toBe('applied');
    await seed(settings, { ...key, version: N(9), _ddbm_ord: S(ord(0, 6, ORIGIN)), _ddbm_ver: N(6) });
    expect((await apply(put(ord(1, 1, ORIGIN), 1))).status).toBe('applied');
  });

  describe('an item its region has not ordered yet (no _ddbm_ord)', () => {
    const unordered = { ...key, version: N(5), a: S('local') };

    test('a save that may order after it waits: nothing is written at the target, and nothing sleeps', async () => {
      await seed(settings, unordered);
      let slept = 0;
      const outcome = await applyIntent(client(TARGET), settings, TARGET, put(ord(0, 6, ORIGIN), 6), {
        ...noWait,
        sleep: async () => void (slept += 1),
      });
      expect(outcome).toEqual({ status: 'deferred' });
      expect(slept).toBe(0);
      expect(await targetItem(settings)).toEqual(toSdkImage(unordered));
    });

    test('a delete that may order after it waits: the item stays and no tombstone is recorded', async () => {
      await seed(settings, unordered);
      expect(await apply(del(ord(0, 6, ORIGIN, true), 6))).toEqual({ status: 'deferred' });
      expect(await targetItem(settings)).toEqual(toSdkImage(unordered));
      expect(await targetItem(settings, settings.tombstoneTable)).toBeUndefined();
    });

    test('even a save below its least possible order key waits: the unordered state may be deleted before it is ever stamped (simulator, swarm seed 118)', async () => {
      // us-east-1 sorts after eu-west-1: (0, 5, eu-west-1) is below any order key the item can get, but
      // if its region deletes it unstamped no other region learns of it, so nothing may be lost to it
      await seed(settings, unordered);
      expect(await apply(put(ord(0, 5, ORIGIN), 5))).toEqual({ status: 'deferred' });
      expect(await targetItem(settings)).toEqual(toSdkImage(unordered));
    });

    test('once its region stamped it, the same save is judged like any other and applied', async () => {
      await seed(settings, unordered);
      expect((await apply(put(ord(0, 6, ORIGIN), 6))).status).toBe('deferred');
      await seed(settings, { ...unordered, _ddbm_ord: S(ord(0, 5, TARGET)), _ddbm_ver: N(5) });
      expect(await apply(put(ord(0, 6, ORIGIN), 6))).toEqual({ status: 'applied' });
    });
  });

  test('a save loses the conflict to a concurrent save of the same version from a later-sorting origin, the winner read from ALL_OLD', async () => {
    await apply({ ...put(ord(0, 3, 'zz-west-9'), 3), origin: 'zz-west-9' });
    expect(await apply(put(ord(0, 3, ORIGIN), 3))).toEqual({
      status: 'conflict-lost',
      winner: { source: 'item', ord: ord(0, 3, 'zz-west-9'), version: '3', origin: 'zz-west-9' },
    });
  });

  test('a delete loses the conflict to a save of the same generation built concurrently, and records no tombstone', async () => {
    await apply({ ...put(ord(0, 4, 'zz-west-9'), 4), origin: 'zz-west-9' });
    expect(await apply(del(ord(0, 3, ORIGIN, true), 3))).toMatchObject({
      status: 'conflict-lost',
      winner: { source: 'item', version: '4' },
    });
    expect(await targetItem(settings, settings.tombstoneTable)).toBeUndefined();
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
  const here = () => client(TARGET);

  describe('stampLocal', () => {
    test("succeeds once; a retry meets the item holding its own stamp and returns it (the first answer's loss is recognisable)", async () => {
      await seed(settings, { ...key, version: N(2), a: S('x') });
      const stamp = { key, ord: ord(0, 2, TARGET), version: '2', same: { a: S('x') } };
      expect(await stampLocal(here(), settings, stamp, noWait)).toEqual({ done: true });
      const stamped = { ...key, version: N(2), a: S('x'), _ddbm_ord: S(ord(0, 2, TARGET)), _ddbm_ver: N(2) };
      expect(await targetItem(settings)).toEqual(toSdkImage(stamped));
      expect(await stampLocal(here(), settings, stamp, noWait)).toEqual({ done: false, held: stamped });
      expect(await targetItem(settings)).toEqual(toSdkImage(stamped));
    });

    test('leaves an item that moved on to a later version alone and returns it', async () => {
      await seed(settings, { ...key, version: N(3) });
      expect(
        await stampLocal(here(), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait),
      ).toEqual({ done: false, held: { ...key, version: N(3) } });
      expect((await targetItem(settings))?._ddbm_ord).toBeUndefined();
    });

    test('returns no item when the item is gone', async () => {
      expect(
        await stampLocal(here(), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait),
      ).toEqual({ done: false });
    });

    // A record of an ended life must not stamp the key's next life (deleted and saved again, back at
    // the same version) with its own order key.
    test('leaves a later life of the key at the same version alone when its data differs', async () => {
      await seed(settings, { ...key, version: N(1), data: S('a3') });
      const stamp = { key, ord: ord(0, 1, TARGET), version: '1', same: { data: S('a0') } };
      expect((await stampLocal(here(), settings, stamp, noWait)).done).toBe(false);
      expect((await targetItem(settings))?._ddbm_ord).toBeUndefined();
      expect(await stampLocal(here(), settings, { ...stamp, same: { data: S('a3') } }, noWait)).toEqual({
        done: true,
      });
      expect((await targetItem(settings))?._ddbm_ord).toEqual({ S: ord(0, 1, TARGET) });
    });

    test('never replaces an order key it was not told to (a replayed record after a winning peer write)', async () => {
      await seed(settings, { ...key, version: N(2), _ddbm_ord: S(ord(0, 2, 'zz-west-9')), _ddbm_ver: N(2) });
      expect(
        (await stampLocal(here(), settings, { key, ord: ord(0, 2, TARGET), version: '2' }, noWait)).done,
      ).toBe(false);
      expect((await targetItem(settings))?._ddbm_ord).toEqual({ S: ord(0, 2, 'zz-west-9') });
    });

    test('with `replaces`, replaces exactly that order key (the next-life stamp of a save on an undone state)', async () => {
      await seed(settings, { ...key, version: N(2), _ddbm_ord: S(ord(0, 1, ORIGIN)), _ddbm_ver: N(1) });
      const next = { key, ord: ord(1, 2, TARGET), version: '2' };
      expect(
        (await stampLocal(here(), settings, { ...next, replaces: ord(0, 1, 'zz-west-9') }, noWait)).done,
      ).toBe(false);
      expect(await stampLocal(here(), settings, { ...next, replaces: ord(0, 1, ORIGIN) }, noWait)).toEqual({
        done: true,
      });
      expect(await targetItem(settings)).toMatchObject({
        _ddbm_ord: { S: ord(1, 2, TARGET) },
        _ddbm_ver: { N: '2' },
      });
    });
  });

  describe('local tombstones', () => {
    test('writeLocalTombstone records order key, origin and expiry, and refuses to go backwards', async () => {
      const expiresAt = nowSeconds() + 3600;
      const t = { key, ord: ord(1, 2, TARGET, true), origin: TARGET, expiresAt };
      expect(await writeLocalTombstone(here(), settings, t, noWait)).toBe(true);
      expect(
        await writeLocalTombstone(here(), settings, { ...t, ord: ord(0, 9, TARGET, true) }, noWait),
      ).toBe(false);
      expect(await readLocalTombstone(here(), settings, key, noWait)).toEqual({
        ord: t.ord,
        origin: TARGET,
        expiresAt,
      });
    });

    test('writeLocalTombstone replaces an expired tombstone even when it orders after the new one', async () => {
      await seed(settings, tombstone(ord(3, 1, ORIGIN, true), nowSeconds() - 5), settings.tombstoneTable);
      const t = { key, ord: ord(0, 1, TARGET, true), origin: TARGET, expiresAt: nowSeconds() + 60 };
      expect(await writeLocalTombstone(here(), settings, t, noWait)).toBe(true);
      expect((await readLocalTombstone(here(), settings, key, noWait))?.ord).toBe(t.ord);
    });

    test('readLocalTombstone returns null when there is none', async () => {
      expect(await readLocalTombstone(here(), settings, key, noWait)).toBeNull();
    });

    test('readLocalTombstone returns null for a tombstone past its expiry that TTL has not removed yet', async () => {
      await seed(settings, tombstone(ord(0, 1, ORIGIN, true), nowSeconds() - 1), settings.tombstoneTable);
      expect(await readLocalTombstone(here(), settings, key, noWait)).toBeNull();
      expect(await targetItem(settings, settings.tombstoneTable)).toBeDefined();
    });
  });

  describe('undoCovered', () => {
    const deleted = ord(0, 2, ORIGIN, true);

    test('removes an ordered item the tombstone covers', async () => {
      await seed(settings, { ...key, version: N(2), _ddbm_ord: S(ord(0, 2, ORIGIN)), _ddbm_ver: N(2) });
      expect(await undoCovered(here(), settings, key, deleted, noWait)).toEqual({ done: true });
      expect(await targetItem(settings)).toBeUndefined();
    });

    test('removes whatever covered state is there, not only the insert it checks (a second stale save replaced the first)', async () => {
      await seed(settings, { ...key, version: N(1), _ddbm_ord: S(ord(0, 1, 'aa-peer-1')), _ddbm_ver: N(1) });
      expect(await undoCovered(here(), settings, key, deleted, noWait)).toEqual({ done: true });
      expect(await targetItem(settings)).toBeUndefined();
    });

    test.each([
      [
        'a local item (the application saved the stale state since)',
        { ...key, version: N(3), _ddbm_ord: S(ord(0, 2, ORIGIN)), _ddbm_ver: N(2) },
      ],
      ['an unordered item (a life the application created here)', { ...key, version: N(1) }],
      [
        'an ordered item above the tombstone',
        { ...key, version: N(1), _ddbm_ord: S(ord(1, 1, ORIGIN)), _ddbm_ver: N(1) },
      ],
    ])('never removes %s: returns it', async (_name, item) => {
      await seed(settings, item);
      expect(await undoCovered(here(), settings, key, deleted, noWait)).toEqual({ done: false, held: item });
      expect(await targetItem(settings)).toEqual(toSdkImage(item));
    });

    test('returns no item when the item is gone', async () => {
      expect(await undoCovered(here(), settings, key, deleted, noWait)).toEqual({ done: false });
    });
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
  describe('a put that meets its own effect runs the insert check again', () => {
    const deleted = () => ({ ...key, _ddbm_ord: S(seqOrd(2)), _ddbm_origin: S(ORIGIN) });

    test("a put applied, then delivered again after the key's later tombstone was recorded, removes itself", async () => {
      // GIVEN a put that was applied, and then the tombstone of the key's later delete
      expect((await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait)).status).toBe(
        'applied',
      );
      await seed(settings, deleted(), settings.tombstoneTable);
      // WHEN the same put is delivered again (its first answer was lost): it meets its own order key
      const outcome = await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait);
      // THEN the check runs again: the tombstone covers it, and it is undone
      expect(outcome.status).toBe('stale');
      expect(await targetItem(settings)).toBeUndefined();
    });

    test('a put whose answer is lost after it created the item behind a tombstone is undone on its retry', async () => {
      // GIVEN the key's tombstone, and a client whose first PutItem commits and then fails with a 500
      await seed(settings, deleted(), settings.tombstoneTable);
      const lossy = losingFirstAnswer('PutItemCommand');
      // WHEN the stale put is applied through it (the SDK retry meets its own effect)
      const outcome = await applyIntent(lossy, settings, TARGET, oneWayPut(seqOrd(1)), noWait);
      lossy.destroy();
      // THEN the item it created is removed
      expect(outcome.status).toBe('stale');
      expect(await targetItem(settings)).toBeUndefined();
    });
  });

  test('an expired tombstone counts as none: it neither undoes an insert nor refuses an earlier delete', async () => {
    // GIVEN a tombstone of a later change that expired a minute ago (TTL has not removed it yet)
    const expired = {
      ...key,
      _ddbm_ord: S(seqOrd(9)),
      _ddbm_origin: S(ORIGIN),
      _ddbm_expires: N(nowSeconds() - 60),
    };
    await seed(settings, expired, settings.tombstoneTable);
    // WHEN an earlier put arrives THEN it stays
    expect((await applyIntent(client(TARGET), settings, TARGET, oneWayPut(seqOrd(1)), noWait)).status).toBe(
      'applied',
    );
    expect(await targetItem(settings)).toBeDefined();
    // AND WHEN an earlier delete arrives THEN it is applied and replaces the tombstone
    const remove: WriteIntent = { op: 'delete', key, ord: seqOrd(2), origin: ORIGIN };
    expect((await applyIntent(client(TARGET), settings, TARGET, remove, noWait)).status).toBe('applied');
    expect(await targetItem(settings)).toBeUndefined();
    expect((await targetItem(settings, settings.tombstoneTable))?._ddbm_ord).toEqual({ S: seqOrd(2) });
  });
});
