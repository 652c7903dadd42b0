import { PutItemCommand, DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { client, createTable, uniqueName } from '../support/dynamo';
import { compareSequence } from '../../lambda/contract';
import { StreamReader } from '../../lib/local/stream-reader';

const key = { partitionKey: { name: 'pk', type: 'S' as const } };

describe('StreamReader against DynamoDB Local', () => {
  test('delivers INSERT, MODIFY and REMOVE in the Lambda record shape, each exactly once', async () => {
    // GIVEN a stream-enabled table in eu-west-1
    const table = uniqueName('Sr');
    const arn = (await createTable('eu-west-1', table, key, { withStream: true }))!;
    const reader = new StreamReader({ region: 'eu-west-1', streamArn: arn });
    // WHEN an item is put, overwritten and deleted, and the stream is polled twice
    const c = client('eu-west-1');
    await c.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '1' } } }));
    await c.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, n: { N: '2' } } }));
    await c.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }));
    const first = await reader.pollRecords();
    const second = await reader.pollRecords();
    // THEN the three changes arrive in order, with images under record.dynamodb and the real region
    expect(first.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(first[1].dynamodb?.OldImage).toEqual({ pk: { S: 'a' }, n: { N: '1' } });
    expect(first[1].dynamodb?.NewImage).toEqual({ pk: { S: 'a' }, n: { N: '2' } });
    expect(first[2].dynamodb?.NewImage).toBeUndefined();
    expect(first.every((r) => r.awsRegion === 'eu-west-1' && r.eventSourceARN === arn)).toBe(true);
    expect(typeof first[0].dynamodb?.ApproximateCreationDateTime).toBe('number');
    expect(second).toEqual([]);
  });

  test('keeps reading after the region gains another table (the empty-shard TRIM_HORIZON quirk)', async () => {
    // GIVEN a reader that polled an empty stream
    const table = uniqueName('Sq');
    const arn = (await createTable('ap-southeast-2', table, key, { withStream: true }))!;
    const reader = new StreamReader({ region: 'ap-southeast-2', streamArn: arn });
    expect(await reader.pollRecords()).toEqual([]);
    // WHEN another stream table is created in the region and both get writes
    const other = uniqueName('Sq');
    await createTable('ap-southeast-2', other, key, { withStream: true });
    const c = client('ap-southeast-2');
    await c.send(new PutItemCommand({ TableName: other, Item: { pk: { S: 'x' } } }));
    await c.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'b' } } }));
    // THEN the reader still delivers its own table's record, once
    const got = await reader.pollRecords();
    expect(got.map((r) => r.dynamodb?.Keys)).toEqual([{ pk: { S: 'b' } }]);
    expect(await reader.pollRecords()).toEqual([]);
  });

  test('compares sequence numbers of different lengths numerically', () => {
    expect(compareSequence('000000000000000000009', '000000000000000000010')).toBeLessThan(0);
    expect(compareSequence('100000000000000000000', '99999999999999999999')).toBeGreaterThan(0);
    expect(compareSequence('123456789012345678901', '123456789012345678901')).toBe(0);
  });
});
