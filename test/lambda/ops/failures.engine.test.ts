import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { meterClient, newMeter, TokenBucket } from '../../../lambda/ops/capacity';
import { runBackfill } from '../../../lambda/ops/backfill';
import { explainAwsError } from '../../../lambda/ops/errors';
import { client, createMirrorTables, scanAll } from '../../support/dynamo';
import { FaultProxy } from '../../support/fault-proxy';
import { oneWaySettings } from '../../support/records';
import { memoryCheckpoint } from './fixtures';

/** What an operation does when AWS says no: it stops at a checkpoint and says what is missing, or backs off. */

const [SOURCE, REPLICA] = ['us-east-1', 'eu-west-1'];
const place = { region: REPLICA, endpoint: 'https://dynamodb.eu-west-1.amazonaws.com', table: 'Stories' };

describe('explaining AWS errors', () => {
  test('names the permission, the table, the endpoint or the credentials that are missing', () => {
    // GIVEN the errors AWS and the SDK raise WHEN explained THEN each says what to fix, and where
    const denied = Object.assign(
      new Error(
        'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:PutItem on resource: ' +
          'arn:aws:dynamodb:eu-west-1:123456789012:table/Stories because no identity-based policy allows the dynamodb:PutItem action',
      ),
      { name: 'AccessDeniedException' },
    );
    expect(explainAwsError(denied, place)).toBe(
      'permission missing in eu-west-1: dynamodb:PutItem on arn:aws:dynamodb:eu-west-1:123456789012:table/Stories',
    );
    const notFound = Object.assign(new Error('Requested resource not found'), {
      name: 'ResourceNotFoundException',
    });
    expect(explainAwsError(notFound, place)).toBe(
      'table Stories not found in eu-west-1 at https://dynamodb.eu-west-1.amazonaws.com',
    );
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(explainAwsError(refused, place)).toMatch(
      /^no DynamoDB endpoint answers at https:\/\/dynamodb\.eu-west-1/,
    );
    const token = Object.assign(new Error('The security token included in the request is invalid.'), {
      name: 'UnrecognizedClientException',
    });
    expect(explainAwsError(token, place)).toMatch(/^no valid AWS credentials for eu-west-1: /);
  });
});

async function sourceWithItems(count: number) {
  const { table, tombstoneTable } = await createMirrorTables({
    regions: [SOURCE, REPLICA],
    key: { partitionKey: { name: 'pk', type: 'S' } },
    streamRegions: [],
  });
  for (let i = 0; i < count; i++)
    await client(SOURCE).send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: `k${i}` }, n: { N: String(i) } } }),
    );
  return oneWaySettings({ table, tombstoneTable, region: SOURCE, peers: [] });
}

describe('a backfill meeting AWS errors', () => {
  test('stops at its checkpoint on a denied permission, naming it, and loses nothing', async () => {
    // GIVEN a replica whose client may not PutItem
    const settings = await sourceWithItems(30);
    const denied = new DynamoDBClient({ region: REPLICA });
    denied.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName === 'PutItemCommand')
          throw Object.assign(
            new Error(
              `User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:${REPLICA}:123456789012:table/${settings.table}`,
            ),
            { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } },
          );
        return next(args);
      },
      { step: 'initialize', name: 'deny' },
    );
    const store = memoryCheckpoint();
    const options = { settings, targets: [REPLICA], segments: 2, pageSize: 10, checkpoint: store };
    // WHEN backfilled, then backfilled again once the permission is granted
    const first = await runBackfill({ ...options, clients: { [SOURCE]: client(SOURCE), [REPLICA]: denied } });
    const saved = store.current;
    const second = await runBackfill({
      ...options,
      clients: { [SOURCE]: client(SOURCE), [REPLICA]: client(REPLICA) },
    });
    // THEN the first run stopped at once, naming the action and resource, its checkpoint short of the end
    expect(first.complete).toBe(false);
    expect(first.interrupted).toBe(false);
    expect(explainAwsError(first.error!.message, { ...place, region: first.error!.region })).toBe(
      `permission missing in ${REPLICA}: dynamodb:PutItem on arn:aws:dynamodb:${REPLICA}:123456789012:table/${settings.table}`,
    );
    expect(first.counts.written).toBe(0);
    expect(saved?.segments.every((s) => !s.done && s.scanned === 0)).toBe(true);
    // AND the second run copied every item
    expect(second.complete).toBe(true);
    expect((await scanAll(REPLICA, settings.table)).length).toBe(30);
  });

  test('backs off while throttled, counts the throttled requests, and finishes', async () => {
    // GIVEN a replica that throttles every request for the first half second, and paced reads
    const settings = await sourceWithItems(20);
    const proxy = await new FaultProxy().start();
    try {
      const meters = { [SOURCE]: newMeter(), [REPLICA]: newMeter() };
      const clients = Object.fromEntries(
        [SOURCE, REPLICA].map((r) => {
          const c = proxy.client(r, { maxAttempts: 3 });
          meterClient(c, meters[r], { read: new TokenBucket(1000) });
          return [r, c];
        }),
      );
      proxy.setMode(REPLICA, 'throttle');
      setTimeout(() => proxy.heal(), 500);
      // WHEN backfilled
      const result = await runBackfill({
        settings,
        targets: [REPLICA],
        clients,
        segments: 2,
        checkpoint: memoryCheckpoint(),
        retryDelayMs: 100,
      });
      // THEN every item arrived, the throttled requests were counted, and units were metered
      expect(result.complete).toBe(true);
      expect(result.counts.failed).toBe(0);
      expect(result.perTarget[REPLICA].written).toBe(20);
      expect(meters[REPLICA].throttles).toBeGreaterThan(0);
      expect(meters[REPLICA].writeUnits).toBe(20);
      expect(meters[SOURCE].readUnits).toBeGreaterThan(0);
    } finally {
      proxy.heal();
      await proxy.stop();
    }
  });
});
