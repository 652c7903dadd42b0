import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { join } from 'path';
import { UsageError } from '../../cli/command';
import { AwsProxy } from '../../lib/local/aws-proxy';
import { freePort } from '../../lib/local/engine';
import { LocalQueue, LocalQueues } from '../../lib/local/local-queue';
import { AwsCaller } from '../../lambda/ops/aws-call';
import { OpsError } from '../../lambda/ops/errors';
import { leaseMessages, queueRef } from '../../lambda/ops/queues';
import { FaultProxy } from '../support/fault-proxy';
import { runCli, SOURCE, startOpsFixture, type OpsFixture } from '../support/ops-fixture';

/**
 * Mistakes and failures the operations commands meet: each ends in one clear message naming what was
 * wrong (the option and value, the known tables or regions, the denied action and resource, the
 * endpoint that does not answer), and throttling is backed off and reported, not fatal.
 */

const REPO_CONFIG = join(__dirname, '..', '..', 'mirror.config.yaml');
let fx: OpsFixture;
beforeAll(async () => {
  fx = await startOpsFixture();
});
afterAll(() => fx?.close());

describe('operations commands, bad input', () => {
  test('an unknown table or a region outside the config is refused, listing the known ones', async () => {
    // GIVEN the example config (Stories one-way from us-east-1; Sessions multi-active in three regions)
    const cases: [string[], string][] = [
      [
        ['replay', '--table', 'Nope'],
        `--table "Nope" is not in ${REPO_CONFIG}; its tables: Stories, Sessions`,
      ],
      [['drain'], `--table is required: ${REPO_CONFIG} has the tables Stories, Sessions`],
      [
        ['replay', '--table', 'Sessions', '--region', 'sa-east-1'],
        '--region "sa-east-1" is not a region of Sessions; its regions: us-east-1, eu-west-1, ap-southeast-2',
      ],
      [
        ['replay', '--table', 'Stories', '--region', 'eu-west-1'],
        '--region eu-west-1 runs no replicator for Stories: one-way table Stories replicates only from its source us-east-1',
      ],
      [
        ['drain', '--table', 'Sessions'],
        '--region is required: Sessions replicates from us-east-1, eu-west-1, ap-southeast-2',
      ],
      [
        ['drain', '--table', 'Stories', '--target', 'us-east-1'],
        '--target "us-east-1" is not a target of Stories from us-east-1; its targets: eu-west-1, ap-southeast-2',
      ],
      [
        ['status', '--table', 'Nope'],
        `--table "Nope" is not in ${REPO_CONFIG}; its tables: Stories, Sessions`,
      ],
      [['replay', '--table', 'Stories', '--max', '0'], '--max needs an integer from 1 to 100000, got "0"'],
      [['status', '--minutes', 'soon'], '--minutes needs an integer from 1 to 1440, got "soon"'],
      [
        ['status', '--endpoint', 'localhost:4566'],
        '--endpoint needs a URL like http://127.0.0.1:4566, got "localhost:4566"',
      ],
    ];
    // WHEN each command line runs
    const errors = await Promise.all(cases.map(([argv]) => runCli([...argv, '--config', REPO_CONFIG])));
    // THEN each is a usage error with exactly that message, before anything was called
    expect(errors.map((e) => [e.error?.constructor, e.error?.message])).toEqual(
      cases.map(([, message]) => [UsageError, message]),
    );
  });

  test('an endpoint that does not answer, or is no control endpoint, is named', async () => {
    // GIVEN a port nobody listens on, and DynamoDB Local itself (which serves no /status)
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const engine = process.env.AWS_ENDPOINT_URL_DYNAMODB!;
    // WHEN status is pointed at each
    const silent = await runCli(['status', '--config', REPO_CONFIG, '--endpoint', nobody]);
    const wrong = await runCli(['status', '--config', REPO_CONFIG, '--endpoint', engine]);
    // THEN the message names the endpoint and what to pass instead
    expect(silent.error).toBeInstanceOf(OpsError);
    expect(silent.error?.message).toBe(
      `--endpoint ${nobody} does not answer (ECONNREFUSED); start one with npm start -- --keep`,
    );
    expect(wrong.error?.message).toBe(
      `--endpoint ${engine} is not a ddb-mirror control endpoint (GET /status answered 400); pass the URL npm start -- --keep prints for --endpoint`,
    );
  });
});

describe('operations commands, AWS failures', () => {
  test('a denied call names the IAM action and the resource', async () => {
    // GIVEN an SQS endpoint whose policy allows sending to the queue but not receiving from it
    const arn = `arn:aws:sqs:${SOURCE}:123456789012:ops-denied`;
    const queues = new LocalQueues();
    queues.add(new LocalQueue({ arn }));
    const proxy = await AwsProxy.start({
      functionName: 'operator',
      region: SOURCE,
      account: '123456789012',
      dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
      queues,
      policies: [
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: arn }] },
      ],
    });
    const sqs = new SQSClient({ region: SOURCE, endpoint: proxy.endpoint, maxAttempts: 1 });
    try {
      // WHEN the command's queue reader leases from it
      const lease = leaseMessages(sqs, new AwsCaller(), queueRef(proxy.queueUrl(arn), SOURCE), {
        max: 10,
        leaseSeconds: 30,
      });
      // THEN it fails with the action and the queue's ARN
      await expect(lease).rejects.toThrow(OpsError);
      await expect(lease).rejects.toThrow(`permission missing: sqs:ReceiveMessage on ${arn}`);
    } finally {
      sqs.destroy();
      await proxy.stop();
    }
  });

  test('throttling is backed off, counted per action and reported, and the call then succeeds', async () => {
    // GIVEN an engine that throttles every call signed for the source region until told otherwise
    const faults = await new FaultProxy({ throttleError: 'ThrottlingException' }).start();
    faults.setMode(SOURCE, 'throttle');
    const ddb = new DynamoDBClient({ region: SOURCE, endpoint: faults.url, maxAttempts: 1 });
    const reported: string[] = [];
    const caller = new AwsCaller({
      sleep: async () => undefined,
      onThrottle: (t, attempt) => {
        reported.push(`${t.action} ${attempt}`);
        if (attempt === 2) faults.setMode(SOURCE, 'ok');
      },
    });
    try {
      // WHEN a call goes through the caller
      const res = await caller.call({ action: 'dynamodb:DescribeTable', resource: fx.tables.table }, () =>
        ddb.send(new DescribeTableCommand({ TableName: fx.tables.table })),
      );
      // THEN it succeeded after two back-offs, both reported and counted
      expect(res.Table?.TableName).toBe(fx.tables.table);
      expect(reported).toEqual(['dynamodb:DescribeTable 1', 'dynamodb:DescribeTable 2']);
      expect(caller.throttled).toEqual({ 'dynamodb:DescribeTable': 2 });
      // AND a caller that may not back off at all gives up with a message naming the action
      faults.setMode(SOURCE, 'throttle');
      const impatient = new AwsCaller({ throttleRetries: 0 });
      await expect(
        impatient.call({ action: 'dynamodb:DescribeTable', resource: fx.tables.table }, () =>
          ddb.send(new DescribeTableCommand({ TableName: fx.tables.table })),
        ),
      ).rejects.toThrow(`still throttled after backing off: dynamodb:DescribeTable on ${fx.tables.table}`);
    } finally {
      ddb.destroy();
      await faults.stop();
    }
  });
});
