import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { AwsProxy, ProxyFault } from '../../lib/local/aws-proxy';
import { startLocalFunction } from '../../lib/local/function-host';
import type { PolicyDocument } from '../../lib/local/iam-check';
import { LocalQueue, LocalQueues } from '../../lib/local/local-queue';
import { client, createTable, uniqueName } from '../support/dynamo';

const REGION = 'eu-west-2';
const ACCOUNT = '123456789012';
const key = { partitionKey: { name: 'pk', type: 'S' as const } };
const tableArn = (t: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${t}`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:parked`;

function policies(table: string): PolicyDocument[] {
  return [
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:GetItem'], Resource: tableArn(table) },
        {
          Effect: 'Allow',
          Action: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'],
          Resource: QUEUE_ARN,
        },
      ],
    },
  ];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function proxyFor(table: string) {
  const queues = new LocalQueues();
  const queue = queues.add(new LocalQueue({ arn: QUEUE_ARN }));
  const denied: string[] = [];
  const proxy = await AwsProxy.start({
    functionName: 'replicator-eu-west-2',
    region: REGION,
    account: ACCOUNT,
    dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
    policies: policies(table),
    queues,
    onDenied: (e) => denied.push(`${e.action} ${e.resource}`),
  });
  cleanups.push(() => proxy.stop());
  const ddb = new DynamoDBClient({ region: REGION, endpoint: proxy.endpoint, maxAttempts: 1 });
  const sqs = new SQSClient({ region: REGION, endpoint: proxy.endpoint, maxAttempts: 1 });
  return { proxy, queue, denied, ddb, sqs };
}

describe('AwsProxy', () => {
  test('passes an allowed DynamoDB call through to DynamoDB Local', async () => {
    // GIVEN a table and a proxy whose role may put into it
    const table = uniqueName('Px');
    await createTable(REGION, table, key, { withStream: false });
    const { ddb, denied } = await proxyFor(table);
    // WHEN the function's client puts an item through the proxy
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'a' }, v: { N: '1' } } }));
    // THEN the engine has it (read directly, same access key and region)
    const got = await client(REGION).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'a' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual({ pk: { S: 'a' }, v: { N: '1' } });
    expect(denied).toEqual([]);
  });

  test('rejects a missing action or a wrong ARN with AccessDenied naming both, flags it and writes nothing', async () => {
    const table = uniqueName('Px');
    const other = uniqueName('Px');
    await createTable(REGION, table, key, { withStream: false });
    await createTable(REGION, other, key, { withStream: false });
    const { ddb, denied, proxy } = await proxyFor(table);
    // WHEN the function deletes (action not granted) and puts into another table (ARN not granted)
    const arnError = await ddb
      .send(new PutItemCommand({ TableName: other, Item: { pk: { S: 'x' } } }))
      .catch((e: Error) => e);
    const actionError = await ddb
      .send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: 'a' } } }))
      .catch((e: Error) => e);
    // THEN both fail as AccessDeniedException naming action and resource
    expect(arnError).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`dynamodb:PutItem on resource: ${tableArn(other)}`),
    });
    expect(actionError).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(`dynamodb:DeleteItem on resource: ${tableArn(table)}`),
    });
    expect(denied).toEqual([`dynamodb:PutItem ${tableArn(other)}`, `dynamodb:DeleteItem ${tableArn(table)}`]);
    expect(proxy.denials).toHaveLength(2);
    const got = await client(REGION).send(
      new GetItemCommand({ TableName: other, Key: { pk: { S: 'x' } }, ConsistentRead: true }),
    );
    expect(got.Item).toBeUndefined();
  });

  test("checks a DynamoDB call against the region it was signed for, not the function's own region", async () => {
    // GIVEN a table in a peer region and a role that may put only into the peer's table
    const table = uniqueName('Px');
    const peer = 'ap-northeast-3';
    await createTable(peer, table, key, { withStream: false });
    const peerArn = `arn:aws:dynamodb:${peer}:${ACCOUNT}:table/${table}`;
    const denied: string[] = [];
    const proxy = await AwsProxy.start({
      functionName: 'replicator-eu-west-2',
      region: REGION,
      account: ACCOUNT,
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: peerArn }],
        },
      ],
      onDenied: (e) => denied.push(`${e.action} ${e.resource}`),
    });
    cleanups.push(() => proxy.stop());
    // WHEN the function writes through a client of the peer's region, then one of its own region
    const peerClient = new DynamoDBClient({ region: peer, endpoint: proxy.endpoint, maxAttempts: 1 });
    await peerClient.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'p' } } }));
    const ownClient = new DynamoDBClient({ region: REGION, endpoint: proxy.endpoint, maxAttempts: 1 });
    const ownError = await ownClient
      .send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'p' } } }))
      .catch((e: Error) => e);
    // THEN the peer write passes (and lands in the peer's database); the same table name in the own region is denied
    const got = await client(peer).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'p' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual({ pk: { S: 'p' } });
    expect(ownError).toMatchObject({ name: 'AccessDeniedException' });
    expect(denied).toEqual([`dynamodb:PutItem arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`]);
  });

  test('fails the DynamoDB calls its fault hook picks, by the region they were signed for, without reaching the engine', async () => {
    // GIVEN a table in two regions and a proxy whose fault hook fails every call signed for the peer,
    // in the mode the test sets
    const table = uniqueName('Px');
    const peer = 'ap-northeast-3';
    await createTable(REGION, table, key, { withStream: false });
    await createTable(peer, table, key, { withStream: false });
    let mode: ProxyFault = 'down';
    const seen: string[] = [];
    const proxy = await AwsProxy.start({
      functionName: 'replicator-eu-west-2',
      region: REGION,
      account: ACCOUNT,
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      faults: {
        faultFor: (call) => {
          seen.push(`${call.region} ${call.operation}`);
          return call.region === peer ? mode : undefined;
        },
      },
    });
    cleanups.push(() => proxy.stop());
    const put = (region: string, pk: string) =>
      new DynamoDBClient({ region, endpoint: proxy.endpoint, maxAttempts: 1 })
        .send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } }))
        .then(
          () => 'ok',
          (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
            `${e.name} ${e.$metadata?.httpStatusCode ?? 'no answer'}`,
        );
    // WHEN the function writes to the peer in each mode, and to its own region
    const outcomes: Record<string, string> = {};
    for (const m of ['down', 'reset', 'throttle', 'server-error'] as const) {
      mode = m;
      outcomes[m] = await put(peer, m);
    }
    outcomes.own = await put(REGION, 'own');
    // THEN each mode failed as an unreachable, throttling or failing endpoint would, the own region passed,
    // and no failed write reached the peer's database
    expect(outcomes).toEqual({
      down: 'ServiceUnavailableException 503',
      reset: expect.stringMatching(/no answer|ECONNRESET|socket hang up/),
      throttle: 'ProvisionedThroughputExceededException 400',
      'server-error': 'InternalServerError 500',
      own: 'ok',
    });
    expect(seen).toEqual([...Array(4).fill(`${peer} PutItem`), `${REGION} PutItem`]);
    const { Count } = await client(peer).send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
    expect(Count).toBe(0);
  });

  test('a lost-answer fault lets the engine apply the call, then fails it at the function: a 500 or a cut connection', async () => {
    // GIVEN a table in the peer region and a proxy that loses the answer of every call signed for the
    // peer, in the mode the test sets, and records which answers it dropped
    const table = uniqueName('Px');
    const peer = 'ap-northeast-3';
    await createTable(peer, table, key, { withStream: false });
    let mode: ProxyFault = 'lost-answer';
    const lost: string[] = [];
    const proxy = await AwsProxy.start({
      functionName: 'replicator-eu-west-2',
      region: REGION,
      account: ACCOUNT,
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      faults: {
        faultFor: (call) => (call.region === peer ? mode : undefined),
        answerLost: (call, fault) => lost.push(`${fault} ${call.region} ${call.operation}`),
      },
    });
    cleanups.push(() => proxy.stop());
    const peerClient = new DynamoDBClient({ region: peer, endpoint: proxy.endpoint, maxAttempts: 1 });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
          `${e.name} ${e.$metadata?.httpStatusCode ?? 'no answer'}`,
      );
    const create = (pk: string) =>
      outcome(
        peerClient.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: pk } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    // WHEN the function creates an item in each mode, and then creates the first one again (the retry
    // a caller makes after a failure)
    const outcomes = {
      'lost-answer': await create('a'),
      'lost-answer-reset': await ((mode = 'lost-answer-reset'), create('b')),
      again: await ((mode = 'lost-answer'), create('a')),
    };
    // THEN both writes failed at the function although the engine applied them; the second attempt met
    // its own effect, and that error answer (nothing applied) passed through and was not counted as lost
    expect(outcomes).toEqual({
      'lost-answer': 'InternalServerError 500',
      'lost-answer-reset': expect.stringMatching(/no answer|ECONNRESET|socket hang up/),
      again: 'ConditionalCheckFailedException 400',
    });
    const { Items } = await client(peer).send(new ScanCommand({ TableName: table }));
    expect(Items?.map((i) => i.pk.S).sort()).toEqual(['a', 'b']);
    expect(lost).toEqual([`lost-answer ${peer} PutItem`, `lost-answer-reset ${peer} PutItem`]);
  });

  test('answers SQS from the LocalQueue: SendMessage lands, ReceiveMessage and DeleteMessage round-trip', async () => {
    const { sqs, queue, proxy } = await proxyFor(uniqueName('Px'));
    const QueueUrl = proxy.queueUrl(QUEUE_ARN);
    // WHEN the SDK sends (it checks the MD5 of the body the proxy returns)
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"parked":1}' }));
    // THEN the message is in the queue, and can be received and deleted through the API
    expect(queue.peek()).toEqual(['{"parked":1}']);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(received.Messages?.map((m) => [m.MessageId, m.Body])).toEqual([[sent.MessageId, '{"parked":1}']]);
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: received.Messages![0].ReceiptHandle }),
    );
    expect(queue.size).toBe(0);
  });

  test('denies SQS calls to a queue the role does not name', async () => {
    const { sqs, proxy, denied } = await proxyFor(uniqueName('Px'));
    const otherArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:elsewhere`;
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: proxy.queueUrl(otherArn), MessageBody: 'x' })),
    ).rejects.toMatchObject({
      message: expect.stringContaining(`sqs:SendMessage on resource: ${otherArn}`),
    });
    expect(denied).toEqual([`sqs:SendMessage ${otherArn}`]);
  });

  test('answers QueueDoesNotExist for a queue the run does not have', async () => {
    const proxy = await AwsProxy.start({
      functionName: 'f',
      region: REGION,
      account: ACCOUNT,
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
    });
    cleanups.push(() => proxy.stop());
    const sqs = new SQSClient({ region: REGION, endpoint: proxy.endpoint, maxAttempts: 1 });
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: proxy.queueUrl(QUEUE_ARN), MessageBody: 'x' })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});

describe('startLocalFunction', () => {
  test('a bundled function reaches DynamoDB and its parking queue through its proxy, and a denied write fails it', async () => {
    // GIVEN a handler bundled with its own SDK copy (as CDK bundles it), a table, and deployed settings
    // that carry the queue's AWS URL
    const dir = mkdtempSync(join(tmpdir(), 'ddbm-bundle-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    buildSync({
      stdin: {
        contents: `
          import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
          import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
          const ddb = new DynamoDBClient({ maxAttempts: 1 });
          const sqs = new SQSClient({ maxAttempts: 1 });
          const settings = JSON.parse(process.env.DDBM_SETTINGS);
          export const handler = async (event) => {
            await ddb.send(new PutItemCommand({ TableName: event.table, Item: { pk: { S: event.key } } }));
            await sqs.send(new SendMessageCommand({ QueueUrl: settings.parkingQueueUrl, MessageBody: event.key }));
            return { ok: true };
          };`,
        resolveDir: resolve(__dirname, '../..'),
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      outfile: join(dir, 'index.js'),
      logLevel: 'silent',
    });
    const table = uniqueName('Pf');
    const forbidden = uniqueName('Pf');
    await createTable(REGION, table, key, { withStream: false });
    await createTable(REGION, forbidden, key, { withStream: false });
    const queues = new LocalQueues();
    const queue = queues.add(new LocalQueue({ arn: QUEUE_ARN }));
    const logs: string[] = [];
    const fn = await startLocalFunction({
      functionName: 'replicator-eu-west-2',
      codeDirectory: dir,
      handler: 'index.handler',
      region: REGION,
      account: ACCOUNT,
      timeoutSeconds: 20,
      environment: {
        DDBM_SETTINGS: JSON.stringify({
          parkingQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/parked`,
        }),
      },
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      policies: policies(table),
      queues,
      onLog: (line) => logs.push(line),
    });
    cleanups.push(() => fn.stop());
    // WHEN invoked for the allowed table, then for one its role does not name
    expect(await fn.invoke({ table, key: 'k1' })).toEqual({ ok: true });
    const error = await fn.invoke({ table: forbidden, key: 'k2' }).catch((e: Error) => e);
    // THEN the first wrote and parked, the second failed as the deployed function would, and the run is flagged
    const got = await client(REGION).send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'k1' } }, ConsistentRead: true }),
    );
    expect(got.Item).toEqual({ pk: { S: 'k1' } });
    expect(queue.peek()).toEqual(['k1']);
    expect(error).toMatchObject({
      errorType: 'AccessDeniedException',
      errorMessage: expect.stringContaining(tableArn(forbidden)),
    });
    expect(fn.proxy.denials.map((d) => d.action)).toEqual(['dynamodb:PutItem']);
  });
});
