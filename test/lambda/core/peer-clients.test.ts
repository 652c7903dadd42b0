import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  assumedRoleCredentials,
  dynamoClients,
  RENEW_BEFORE_MS,
  type AssumeRole,
  type TemporaryCredentials,
} from '../../../lambda/core/peer-clients';

const ROLE = 'arn:aws:iam::222222222222:role/ddbm-Stories-us-east-1-eu-west-1-wr-abc123';
const T0 = Date.parse('2026-01-01T00:00:00Z');

function credentials(key: string, expiresAt: number): TemporaryCredentials {
  return { accessKeyId: key, secretAccessKey: 's', sessionToken: 't', expiration: new Date(expiresAt) };
}

/** An STS stand-in: one hour credentials per call, keyed by call count; no network. */
function fakeSts(now: () => number = () => T0) {
  const calls: [string, string][] = [];
  const assumeRole: AssumeRole = async (roleArn, sessionName) => {
    calls.push([roleArn, sessionName]);
    return credentials(`ASIA${calls.length}`, now() + 3_600_000);
  };
  return { assumeRole, calls };
}

/** The host a client's request is addressed to, read once it is built and then stopped. */
async function requestHost(client: DynamoDBClient): Promise<string> {
  client.middlewareStack.add(
    () => async (args) => {
      throw Object.assign(new Error('stopped'), { host: (args.request as { hostname: string }).hostname });
    },
    { step: 'build' },
  );
  const stopped = await client.send(new ListTablesCommand({})).catch((e: { host: string }) => e);
  return (stopped as { host: string }).host;
}

describe('dynamoClients', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    // The default chain's first provider reads these: they stand for the function's own role.
    process.env.AWS_ACCESS_KEY_ID = 'OWNROLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'own-secret';
    process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:8123';
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  test('a peer with a role ARN is called with that role credentials, assumed once for the session name', async () => {
    // GIVEN a replicator in us-east-1 whose eu-west-1 peer is in another account
    const sts = fakeSts();
    const clients = dynamoClients([{ region: 'us-east-1' }, { region: 'eu-west-1', roleArn: ROLE }], {
      region: 'us-east-1',
      sessionName: 'ddbm-replicator-us-east-1',
      assumeRole: sts.assumeRole,
      now: () => T0,
    });

    // WHEN the peer client resolves its credentials twice
    const first = await clients['eu-west-1'].config.credentials();
    const second = await clients['eu-west-1'].config.credentials();

    // THEN they are the assumed role's, from one AssumeRole call naming the role and the session
    expect(first).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 't' });
    expect(second.accessKeyId).toBe('ASIA1');
    expect(sts.calls).toEqual([[ROLE, 'ddbm-replicator-us-east-1']]);
  });

  test('a region without a role ARN keeps the default chain (the function own role), and STS is never called', async () => {
    // GIVEN
    const sts = fakeSts();
    const clients = dynamoClients([{ region: 'us-east-1' }], {
      region: 'us-east-1',
      sessionName: 'ddbm-replicator-us-east-1',
      assumeRole: sts.assumeRole,
    });

    // WHEN
    const own = await clients['us-east-1'].config.credentials();

    // THEN
    expect(own.accessKeyId).toBe('OWNROLE');
    expect(sts.calls).toEqual([]);
  });

  test('every client is built with its region only, so AWS_ENDPOINT_URL_DYNAMODB still points it elsewhere', async () => {
    // GIVEN
    const clients = dynamoClients([{ region: 'us-east-1' }, { region: 'eu-west-1', roleArn: ROLE }], {
      region: 'us-east-1',
      sessionName: 'ddbm-replicator-us-east-1',
      assumeRole: fakeSts().assumeRole,
    });

    // WHEN each sends a request, stopped before it leaves (no network)
    const resolved = await Promise.all(
      Object.values(clients).map(async (c) => [await c.config.region(), await requestHost(c)]),
    );

    // THEN
    expect(resolved).toEqual([
      ['us-east-1', '127.0.0.1'],
      ['eu-west-1', '127.0.0.1'],
    ]);
  });
});

describe('assumedRoleCredentials', () => {
  test('reuses the credentials until they are within the renewal margin of expiring, then assumes again', async () => {
    // GIVEN one-hour credentials and a clock we move
    let clock = T0;
    const sts = fakeSts(() => clock);
    const provide = assumedRoleCredentials(ROLE, 'session', sts.assumeRole, () => clock);

    // WHEN asked at the start, just before the margin, and inside it
    const first = await provide();
    clock = T0 + 3_600_000 - RENEW_BEFORE_MS - 1;
    const beforeMargin = await provide();
    clock = T0 + 3_600_000 - RENEW_BEFORE_MS;
    const renewed = await provide();

    // THEN
    expect([first.accessKeyId, beforeMargin.accessKeyId, renewed.accessKeyId]).toEqual([
      'ASIA1',
      'ASIA1',
      'ASIA2',
    ]);
  });

  test('concurrent callers share one AssumeRole call', async () => {
    // GIVEN
    const sts = fakeSts();
    const provide = assumedRoleCredentials(ROLE, 'session', sts.assumeRole, () => T0);

    // WHEN
    const keys = (await Promise.all([provide(), provide(), provide()])).map((c) => c.accessKeyId);

    // THEN
    expect(keys).toEqual(['ASIA1', 'ASIA1', 'ASIA1']);
    expect(sts.calls).toHaveLength(1);
  });

  test('a failed AssumeRole is not kept: the next call tries again', async () => {
    // GIVEN an STS that refuses once (the peer's role not deployed yet), then answers
    let refused = false;
    const assumeRole: AssumeRole = async () => {
      if (!refused) {
        refused = true;
        throw Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' });
      }
      return credentials('ASIA-LATER', T0 + 3_600_000);
    };
    const provide = assumedRoleCredentials(ROLE, 'session', assumeRole, () => T0);

    // WHEN / THEN
    await expect(provide()).rejects.toThrow('not authorized');
    await expect(provide()).resolves.toMatchObject({ accessKeyId: 'ASIA-LATER' });
  });
});
