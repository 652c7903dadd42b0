import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { main } from '../../bin/ddb-mirror';
import type { MultiActiveSettings } from '../../lambda/contract';
import { applyIntent } from '../../lambda/core/apply';
import { fromSdkImage, type Image } from '../../lambda/core/attributes';
import { itemOrder } from '../../lambda/core/item-order';
import { formatOrd } from '../../lambda/core/order';
import { replicatedPut } from '../../lambda/replicator/decide';
import { client, createMirrorTables, uniqueName } from '../support/dynamo';
import { multiActiveSettings } from '../support/records';

/**
 * `ddb-mirror verify --repair` on copies that share an order key but hold different data (an edit that
 * kept the version and `_ddbm_ord`), as an operator runs it: the repair converges every region, a second
 * verify finds nothing and exits 0, and the replicator's guards still order later writes around it.
 */

const [US, EU, AP] = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const endpoint = () => process.env.AWS_ENDPOINT_URL_DYNAMODB!;
const ord = (version: number, origin: string) =>
  formatOrd({ gen: 1, version: String(version), origin, deleted: false });

let dir: string;
const names = { two: uniqueName('Rep2x'), three: uniqueName('Rep3x'), oneWay: uniqueName('Rep1x') };

async function run(...argv: string[]) {
  const out: string[] = [];
  const sink = (s: string[]) => ({ write: (c: string) => s.push(c) > 0, isTTY: false }) as never;
  const code = await main([...argv, '--endpoint', endpoint()], { out: sink(out), err: sink([]), cwd: dir });
  return { code, out: out.join('') };
}

/** A copy as a replicator leaves it: `_ddbm_ver` equal to its version (ordered). */
const orderedCopy = (pk: string, data: string, version: number, ordKey: string) => ({
  pk: { S: pk },
  version: { N: String(version) },
  data: { S: data },
  _ddbm_ord: { S: ordKey },
  _ddbm_ver: { N: String(version) },
});

async function put(region: string, table: string, item: Record<string, AttributeValue>) {
  await client(region).send(new PutItemCommand({ TableName: table, Item: item }));
}

async function read(region: string, table: string, pk: string): Promise<Image | undefined> {
  const res = await client(region).send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  return res.Item ? fromSdkImage(res.Item as unknown as Parameters<typeof fromSdkImage>[0]) : undefined;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ddbm-repair-'));
  const key = 'partitionKey: { name: pk, type: S }';
  writeFileSync(
    join(dir, 'mirror.config.yaml'),
    [
      'regions:',
      `  ${US}: { endpoint: { hostname: us.example.com } }`,
      `  ${EU}: { endpoint: { hostname: eu.example.com } }`,
      `  ${AP}: { endpoint: { hostname: ap.example.com } }`,
      'tables:',
      `  - { name: ${names.two}, ${key}, mode: multi-active, regions: [${US}, ${EU}] }`,
      `  - { name: ${names.three}, ${key}, mode: multi-active, regions: [${US}, ${EU}, ${AP}] }`,
      `  - { name: ${names.oneWay}, ${key}, mode: one-way, source: ${US}, replicas: [${EU}, ${AP}] }`,
      '',
    ].join('\n'),
  );
  for (const [table, regions] of [
    [names.two, [US, EU]],
    [names.three, [US, EU, AP]],
    [names.oneWay, [US, EU, AP]],
  ] as const)
    await createMirrorTables({
      regions,
      table,
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
});

/** verify → divergent (exit 1); verify --repair → repaired (exit 0); verify → nothing (exit 0). */
async function verifyRepairVerify(table: string, divergent: number) {
  const before = await run('verify', '--table', table, '--json');
  const repair = await run('verify', '--table', table, '--repair', '--json');
  const after = await run('verify', '--table', table, '--json');
  expect([before.code, JSON.parse(before.out).divergent]).toEqual([1, divergent]);
  expect(repair.code).toBe(0);
  expect(JSON.parse(repair.out)).toMatchObject({
    status: 'repaired',
    repair: { remaining: 0, skipped: [], counts: { stale: 0, 'conflict-lost': 0, unavailable: 0 } },
  });
  expect([after.code, JSON.parse(after.out).divergent]).toEqual([0, 0]);
  return JSON.parse(repair.out).repair;
}

describe('verify --repair with copies that share an order key', () => {
  test('two regions: both keys converge, and the replicator still orders later writes around the repair', async () => {
    // GIVEN 'k': both regions hold eu-west-1's version 3 at one order key, one of them edited by hand
    const t = names.two;
    const shared = ord(3, EU);
    await put(US, t, orderedCopy('k', 'edited in us', 3, shared));
    await put(EU, t, orderedCopy('k', 'as eu saved it', 3, shared));
    // AND 'local': us-east-1 saved version 4 and sent it (its own item stays unstamped, its order key
    // implied), and eu-west-1's copy of that save was edited by hand
    await put(US, t, { ...orderedCopy('local', 'as us saved it', 4, ord(3, EU)), _ddbm_ver: { N: '3' } });
    await put(EU, t, orderedCopy('local', 'edited in eu', 4, ord(4, US)));

    // WHEN verified, repaired and verified again
    const repair = await verifyRepairVerify(t, 2);

    // THEN each key went to both regions, as the greater content, under one raised order key
    expect(repair.counts.applied).toBe(4);
    for (const [pk, data, raised] of [
      ['k', 'edited in us', ord(3, `${EU}+`)],
      ['local', 'edited in eu', ord(4, `${US}+`)],
    ])
      for (const region of [US, EU])
        expect(await read(region, t, pk)).toMatchObject({ data: { S: data }, _ddbm_ord: { S: raised } });

    // WHEN the pre-repair write of 'k' comes again (a duplicate from a queue) to us-east-1
    const settings = (region: string): MultiActiveSettings =>
      multiActiveSettings({ table: t, tombstoneTable: `${t}-ddbm-tombstones`, region });
    const clock = { deadline: Date.now() + 30_000 };
    const stale = replicatedPut((await read(EU, t, 'k'))!, { pk: { S: 'k' } }, settings(EU), shared, '3');
    // THEN it is not applied: the repair orders after it (at the same version from another origin, which
    // the replicator counts as a lost conflict)
    expect((await applyIntent(client(US), settings(EU), US, stale, clock)).status).toBe('conflict-lost');
    expect(await read(US, t, 'k')).toMatchObject({ data: { S: 'edited in us' } });

    // WHEN the application saves 'k' again in us-east-1 and that save is sent to eu-west-1
    await client(US).send(
      new UpdateItemCommand({
        TableName: t,
        Key: { pk: { S: 'k' } },
        UpdateExpression: 'SET #d = :d ADD #v :one',
        ExpressionAttributeNames: { '#d': 'data', '#v': 'version' },
        ExpressionAttributeValues: { ':d': { S: 'after the repair' }, ':one': { N: '1' } },
      }),
    );
    const saved = (await read(US, t, 'k'))!;
    const order = itemOrder(saved, 'version', US)!;
    expect(order).toMatchObject({ kind: 'local', ord: ord(4, US) });
    const next = replicatedPut(saved, { pk: { S: 'k' } }, settings(US), ord(4, US), '4');
    // THEN it orders after the repaired state and replaces it
    expect((await applyIntent(client(EU), settings(US), EU, next, clock)).status).toBe('applied');
    expect(await read(EU, t, 'k')).toMatchObject({ data: { S: 'after the repair' }, version: { N: '4' } });
  });

  test('three regions: two copies against one, and three different copies, converge to one each', async () => {
    // GIVEN 'pair': two regions hold 'apple', one 'pear', at one order key; 'all': three different copies
    const t = names.three;
    const shared = ord(5, AP);
    await put(US, t, orderedCopy('pair', 'apple', 5, shared));
    await put(EU, t, orderedCopy('pair', 'pear', 5, shared));
    await put(AP, t, orderedCopy('pair', 'apple', 5, shared));
    for (const [region, data] of [
      [US, 'one'],
      [EU, 'two'],
      [AP, 'three'],
    ])
      await put(region, t, orderedCopy('all', data, 5, shared));

    // WHEN verified, repaired and verified again
    const repair = await verifyRepairVerify(t, 2);

    // THEN every region of both keys was written, with the greatest content of each
    expect(repair.counts.applied).toBe(6);
    for (const region of [US, EU, AP]) {
      expect(await read(region, t, 'pair')).toMatchObject({
        data: { S: 'pear' },
        _ddbm_ord: { S: ord(5, `${AP}+`) },
      });
      expect(await read(region, t, 'all')).toMatchObject({
        data: { S: 'two' },
        _ddbm_ord: { S: ord(5, `${AP}+`) },
      });
    }
  });

  test('one-way: replicas that share the source’s order key but were edited apart follow the source', async () => {
    // GIVEN the source's item and two replicas that hold its write's order key with different edits
    const t = names.oneWay;
    const seq = '0'.repeat(19) + '100000000000000000001';
    await put(US, t, { pk: { S: 'k' }, data: { S: 'source' } });
    await put(EU, t, { pk: { S: 'k' }, data: { S: 'eu edit' }, _ddbm_ord: { S: seq } });
    await put(AP, t, { pk: { S: 'k' }, data: { S: 'ap edit' }, _ddbm_ord: { S: seq } });

    // WHEN verified, repaired and verified again
    const repair = await verifyRepairVerify(t, 1);

    // THEN both replicas hold the source's data, just above the shared order key
    expect(repair.counts.applied).toBe(2);
    for (const region of [EU, AP])
      expect(await read(region, t, 'k')).toMatchObject({
        data: { S: 'source' },
        _ddbm_ord: { S: `${seq}+` },
      });
  });
});
