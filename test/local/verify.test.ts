import { DeleteTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { TableModel } from '../../lib/config/model';
import { compareRegions, verifyMirror } from '../../lib/local/verify';
import { client, createTable, uniqueName } from '../support/dynamo';
import { multiActiveTable, oneWayTable } from '../support/model-fixtures';

const regions = ['us-east-1', 'eu-west-1'];
const table = (name: string, mode: TableModel['mode']): TableModel => {
  const common = {
    name,
    key: { partitionKey: { name: 'id', type: 'S' } },
    excludeAttributes: ['localCache'],
  } as const;
  return mode === 'one-way'
    ? oneWayTable({ ...common, source: 'us-east-1', replicas: ['eu-west-1'] })
    : multiActiveTable({ ...common, regions });
};

describe('compareRegions', () => {
  test('ignores reserved and excluded attributes and set order', () => {
    // GIVEN one key whose copies differ only in stamps, excluded attributes and set order
    const t = table('Sessions', 'multi-active');
    // WHEN the regions are compared
    const result = compareRegions(t, {
      'us-east-1': [
        { id: { S: 'a' }, tags: { SS: ['x', 'y'] }, _ddbm_ord: { S: '1' }, localCache: { S: 'us' } },
      ],
      'eu-west-1': [
        { id: { S: 'a' }, tags: { SS: ['y', 'x'] }, _ddbm_ord: { S: '2' }, localCache: { S: 'eu' } },
      ],
    });
    // THEN nothing differs
    expect(result.divergent).toEqual([]);
  });

  test('compares one-way replicas to the source', () => {
    // GIVEN a replica with a stale item and one the source does not hold
    const t = table('Stories', 'one-way');
    // WHEN the regions are compared
    const result = compareRegions(t, {
      'us-east-1': [{ id: { S: 'a' }, title: { S: 'new' } }],
      'eu-west-1': [
        { id: { S: 'a' }, title: { S: 'old' } },
        { id: { S: 'b' }, title: { S: 'gone' } },
      ],
    });
    // THEN both keys differ in the replica, measured against the source
    expect(result.divergent.map((d) => [d.key, d.differing])).toEqual([
      ['{"id":{"S":"a"}}', ['eu-west-1']],
      ['{"id":{"S":"b"}}', ['eu-west-1']],
    ]);
    expect(result.divergent[1].states['us-east-1']).toBeNull();
  });
});

describe('verifyMirror against DynamoDB Local', () => {
  const names: string[] = [];
  afterAll(async () => {
    for (const name of names)
      for (const r of regions)
        await client(r)
          .send(new DeleteTableCommand({ TableName: name }))
          .catch(() => undefined);
  });

  test('reports the divergent key and only that one', async () => {
    // GIVEN one table in two regions, equal except for one key
    const name = uniqueName('Verify');
    names.push(name);
    for (const r of regions)
      await createTable(r, name, { partitionKey: { name: 'id', type: 'S' } }, { withStream: false });
    const put = (r: string, item: Record<string, { S: string } | { N: string }>) =>
      client(r).send(new PutItemCommand({ TableName: name, Item: item }));
    for (const r of regions) {
      await put(r, {
        id: { S: 'same' },
        version: { N: '3' },
        _ddbm_ver: { N: r === 'us-east-1' ? '3' : '2' },
        localCache: { S: r },
      });
      await put(r, { id: { S: 'diff' }, version: { N: r === 'us-east-1' ? '4' : '5' } });
    }
    // WHEN
    const result = await verifyMirror([table(name, 'multi-active')], client);
    // THEN
    expect(result.divergentKeys).toBe(1);
    expect(result.tables[0].divergent[0].key).toBe('{"id":{"S":"diff"}}');
    expect(result.tables[0].items).toEqual({ 'us-east-1': 2, 'eu-west-1': 2 });
  });

  test('finds nothing when every region holds the same items', async () => {
    // GIVEN one table in two regions holding the same item
    const name = uniqueName('Verify');
    names.push(name);
    for (const r of regions) {
      await createTable(r, name, { partitionKey: { name: 'id', type: 'S' } }, { withStream: false });
      await client(r).send(
        new PutItemCommand({ TableName: name, Item: { id: { S: 'k' }, n: { N: '1.50' } } }),
      );
    }
    // WHEN verified THEN nothing diverges
    const result = await verifyMirror([table(name, 'one-way')], client);
    expect(result.divergentKeys).toBe(0);
  });
});
