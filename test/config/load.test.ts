import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  formatIssues,
  loadConfig,
  parseConfig,
  type MultiActiveTableModel,
} from '../../lib/config';
import { issue, validRawConfig } from './fixtures';

const EXAMPLE = join(__dirname, '..', '..', 'mirror.config.yaml');

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ddbm-config-')), 'mirror.config.yaml');
  writeFileSync(file, text);
  return file;
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: the shipped example', () => {
  test('parses into three regions with CNAME endpoints and default health checks', () => {
    // WHEN
    const model = loadConfig(EXAMPLE);

    // THEN
    expect(model.stackPrefix).toBe('DdbMirror');
    expect(model.account).toBeUndefined();
    expect(model.regions.map((r) => r.name)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(model.regions[1]).toEqual({
      name: 'eu-west-1',
      endpoint: { kind: 'cname', hostname: 'eu-west-1.app.example.com' },
      healthCheck: {
        protocol: 'HTTPS',
        port: 443,
        path: '/health',
        intervalSeconds: 30,
        failureThreshold: 3,
      },
    });
  });

  test('parses Stories as one-way from us-east-1 with table defaults applied', () => {
    // WHEN
    const stories = loadConfig(EXAMPLE).tables.find((t) => t.name === 'Stories');

    // THEN
    expect(stories).toEqual({
      name: 'Stories',
      key: { partitionKey: { name: 'storyId', type: 'S' } },
      mode: 'one-way',
      source: 'us-east-1',
      replicas: ['eu-west-1', 'ap-southeast-2'],
      readOnlyReplicas: { enforced: true, writers: [] },
      excludeAttributes: [],
      billing: { mode: 'PAY_PER_REQUEST' },
      pointInTimeRecovery: true,
      deletionProtection: true,
      removalPolicy: 'RETAIN',
      tombstoneTtlDays: 30,
      replication: { parallelizationFactor: 4, batchSize: 100, itemsInFlight: 25 },
      divergenceSampling: { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 },
      exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 },
      existing: [],
    });
  });

  test('parses Sessions as multi-active with version, TTL and excluded attribute', () => {
    // WHEN
    const sessions = loadConfig(EXAMPLE).tables.find((t) => t.name === 'Sessions') as MultiActiveTableModel;

    // THEN
    expect(sessions).toMatchObject({
      mode: 'multi-active',
      key: { partitionKey: { name: 'sessionId', type: 'S' } },
      regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
      versionAttribute: 'version',
      ttl: { attribute: 'expiresAt', replicateDeletes: false },
      excludeAttributes: ['localCache'],
      divergenceSampling: { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 },
      exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 },
    });
    expect(sessions.key.sortKey).toBeUndefined();
  });

  test('parses latency routing for app.example.com in example.com', () => {
    // WHEN
    const routing = loadConfig(EXAMPLE).routing;

    // THEN
    expect(routing).toEqual({
      hostedZoneId: 'Z0123456789EXAMPLE',
      zoneName: 'example.com',
      recordName: 'app.example.com',
      ttlSeconds: 60,
      policy: { type: 'latency' },
    });
  });

  test('points editors at the generated JSON Schema on its first line', () => {
    // WHEN
    const model = loadConfig(EXAMPLE);
    const firstLine = readFileSync(EXAMPLE, 'utf8').split('\n')[0];

    // THEN
    expect(model.tables).toHaveLength(2);
    expect(firstLine).toBe('# yaml-language-server: $schema=./mirror.config.schema.json');
  });
});

describe('parseConfig: defaults', () => {
  test('applies every default to a minimal config', () => {
    // GIVEN
    const raw = validRawConfig();
    delete raw.routing;

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.stackPrefix).toBe('DdbMirror');
    expect(model.routing).toBeUndefined();
    expect(model.tables[0].existing).toEqual([]);
    expect(model.tables[1]).toMatchObject({
      conflicts: 'version',
      versionAttribute: 'version',
      existing: [],
      ttl: { attribute: 'expiresAt', replicateDeletes: false },
      excludeAttributes: [],
      billing: { mode: 'PAY_PER_REQUEST' },
      pointInTimeRecovery: true,
      deletionProtection: true,
      removalPolicy: 'RETAIN',
      tombstoneTtlDays: 30,
      replication: { parallelizationFactor: 4, batchSize: 100, itemsInFlight: 25 },
    });
  });

  test('takes per-table replication tuning, defaulting what is left out, and names every value out of range', () => {
    // GIVEN a table with part of the tuning, and one with values out of range
    const raw = validRawConfig();
    Object.assign(raw.tables[0], { replication: { parallelizationFactor: 10 } });
    Object.assign(raw.tables[1], {
      replication: { parallelizationFactor: 11, batchSize: 0, itemsInFlight: 1.5 },
    });
    // WHEN parsed THEN every bad value is named with its path
    expect(() => parseConfig(raw)).toThrow(
      [
        'config is invalid (3 problems):',
        '  - tables[1].replication.parallelizationFactor: must be <= 10, got 11',
        '  - tables[1].replication.batchSize: must be >= 1, got 0',
        '  - tables[1].replication.itemsInFlight: expected an integer, got number 1.5',
      ].join('\n'),
    );
    delete (raw.tables[1] as { replication?: unknown }).replication;
    expect(parseConfig(raw).tables[0].replication).toEqual({
      parallelizationFactor: 10,
      batchSize: 100,
      itemsInFlight: 25,
    });
  });

  test('defaults the routing TTL to 60 seconds and the policy to latency', () => {
    // GIVEN
    const raw = validRawConfig();
    delete raw.routing.policy;

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.routing).toMatchObject({ ttlSeconds: 60, policy: { type: 'latency' } });
  });

  test('defaults the health check port to 80 for HTTP', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.regions['us-east-1'].healthCheck = { protocol: 'HTTP' };

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.regions[0].healthCheck).toEqual({
      protocol: 'HTTP',
      port: 80,
      path: '/health',
      intervalSeconds: 30,
      failureThreshold: 3,
    });
  });

  test('keeps a TCP health check on its explicit port', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.regions['us-east-1'].healthCheck = { protocol: 'TCP', port: 8443, intervalSeconds: 10 };

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.regions[0].healthCheck).toMatchObject({ protocol: 'TCP', port: 8443, intervalSeconds: 10 });
  });

  test('keeps explicit values over defaults', () => {
    // GIVEN
    const raw = validRawConfig();
    Object.assign(raw, { stackPrefix: 'Shop', account: '012345678901' });
    Object.assign(raw.tables[1], {
      sortKey: { name: 'createdAt', type: 'N' },
      versionAttribute: 'rev',
      billing: { mode: 'PROVISIONED', readCapacity: 5, writeCapacity: 2 },
      pointInTimeRecovery: false,
      deletionProtection: false,
      removalPolicy: 'DESTROY',
      tombstoneTtlDays: 45,
    });

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model).toMatchObject({ stackPrefix: 'Shop', account: '012345678901' });
    expect(model.tables[1]).toMatchObject({
      key: { partitionKey: { name: 'sessionId', type: 'S' }, sortKey: { name: 'createdAt', type: 'N' } },
      versionAttribute: 'rev',
      billing: { mode: 'PROVISIONED', readCapacity: 5, writeCapacity: 2 },
      pointInTimeRecovery: false,
      deletionProtection: false,
      removalPolicy: 'DESTROY',
      tombstoneTtlDays: 45,
    });
  });

  test('keeps a region account and leaves it out where the region names none', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.account = '111111111111';
    raw.regions['eu-west-1'].account = '222222222222';

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.regions.map((r) => [r.name, r.account])).toEqual([
      ['us-east-1', undefined],
      ['eu-west-1', '222222222222'],
      ['ap-southeast-2', undefined],
    ]);
  });

  test('maps alias endpoints and strips trailing dots from DNS names', () => {
    // GIVEN
    const raw = validRawConfig();
    for (const name of Object.keys(raw.regions))
      raw.regions[name].endpoint = {
        aliasDnsName: `my-alb.${name}.elb.amazonaws.com.`,
        aliasHostedZoneId: 'Z35SXDOTRQ7X7K',
      };
    Object.assign(raw.routing, { zoneName: 'example.com.', recordName: 'example.com.' });

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.regions[0].endpoint).toEqual({
      kind: 'alias',
      dnsName: 'my-alb.us-east-1.elb.amazonaws.com',
      hostedZoneId: 'Z35SXDOTRQ7X7K',
    });
    expect(model.routing).toMatchObject({ zoneName: 'example.com', recordName: 'example.com' });
  });

  test('maps geolocation continents and countries per region', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.routing.policy = {
      type: 'geolocation',
      locations: {
        'us-east-1': ['NA', 'SA'],
        'eu-west-1': ['EU', { continent: 'AF' }],
        'ap-southeast-2': ['AS', 'OC', { country: 'NZ' }, { country: 'US', subdivision: 'HI' }],
      },
      defaultRegion: 'us-east-1',
    };

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.routing?.policy).toEqual({
      type: 'geolocation',
      defaultRegion: 'us-east-1',
      locations: {
        'us-east-1': [{ continent: 'NA' }, { continent: 'SA' }],
        'eu-west-1': [{ continent: 'EU' }, { continent: 'AF' }],
        'ap-southeast-2': [
          { continent: 'AS' },
          { continent: 'OC' },
          { country: 'NZ' },
          { country: 'US', subdivision: 'HI' },
        ],
      },
    });
  });
});

describe('ConfigError', () => {
  test('lists every issue on its own line under a header naming the source and the count', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.tables[0].replicas = ['eu-west-1', 'us-east-1'];
    raw.tables[1].partitionKey.type = 'X';

    // WHEN
    const error = thrown(() => parseConfig(raw, 'mirror.config.yaml'));

    // THEN
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toBe(
      [
        'mirror.config.yaml is invalid (2 problems):',
        '  - tables[0].replicas[1]: source region "us-east-1" is also listed as a replica',
        '  - tables[1].partitionKey.type: "X" is not a key type; use S (string), N (number) or B (binary)',
      ].join('\n'),
    );
    expect(error.issues).toHaveLength(2);
  });

  test('says "1 problem" for a single issue and omits the path for whole-file issues', () => {
    // WHEN
    const text = formatIssues('x.yaml', [{ path: '', message: 'the config is empty' }]);

    // THEN
    expect(text).toBe('x.yaml is invalid (1 problem):\n  - the config is empty');
  });

  test('names the source "config" when parseConfig is given none', () => {
    // THEN
    expect(() => parseConfig({})).toThrow(/^config is invalid \(2 problems\):/);
  });

  test('reports an empty file as empty rather than as a type error', () => {
    // WHEN
    const error = thrown(() => loadConfig(writeTemp('# nothing here\n')));

    // THEN
    expect(error.issues).toEqual([{ path: '', message: expect.stringContaining('the config is empty') }]);
  });
});

describe('loadConfig: file and YAML errors', () => {
  test('reports a YAML syntax error as a ConfigError naming the line', () => {
    // GIVEN
    const file = writeTemp('regions:\n  us-east-1:\n    endpoint: { hostname: a.example.com\ntables: []\n');

    // WHEN
    const error = thrown(() => loadConfig(file));

    // THEN
    expect(error.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid`));
    expect(error.issues[0]).toEqual(issue('line 4, column 1', 'YAML syntax error'));
  });

  test('reports a key written twice as a YAML error with its line and text', () => {
    // GIVEN
    const file = writeTemp('regions:\n  us-east-1: {}\n  us-east-1: {}\ntables: []\n');

    // WHEN
    const error = thrown(() => loadConfig(file));

    // THEN
    expect(error.issues).toEqual([issue('line 3, column 3', 'Map keys must be unique', '"us-east-1: {}"')]);
  });

  test('reports a missing file as a ConfigError, not a stack trace', () => {
    // THEN
    expect(() => loadConfig('/nonexistent/mirror.config.yaml')).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        message: expect.stringContaining('cannot read the file'),
      }),
    );
  });

  test('validates the parsed YAML with the same rules as parseConfig', () => {
    // GIVEN
    const file = writeTemp('regions:\n  us-east-1: { endpoint: { hostname: a.example.com } }\ntabels: []\n');

    // WHEN
    const error = thrown(() => loadConfig(file));

    // THEN
    expect(error.issues).toEqual(
      expect.arrayContaining([
        issue('tabels', 'unknown key "tabels"', 'did you mean "tables"?'),
        issue('tables', 'required'),
      ]),
    );
  });
});

describe('parseConfig: notifications', () => {
  const withNotifications = (notifications: unknown) => ({ ...validRawConfig(), notifications });

  test('takes one address or a list, and an existing topic per region', () => {
    expect(parseConfig(withNotifications({ email: 'ops@example.com' })).notifications).toEqual({
      kind: 'email',
      addresses: ['ops@example.com'],
    });
    expect(
      parseConfig(withNotifications({ email: ['a@example.com', 'b@example.com'] })).notifications,
    ).toEqual({
      kind: 'email',
      addresses: ['a@example.com', 'b@example.com'],
    });
    const arn = 'arn:aws:sns:${region}:123456789012:ops-alerts';
    expect(parseConfig(withNotifications({ snsTopicArn: arn })).notifications).toEqual({
      kind: 'topic',
      arnTemplate: arn,
    });
  });

  test("refuses a bad address, and a topic of one region for a mirror of several (alarms notify their own region's topic)", () => {
    expect(() => parseConfig(withNotifications({ email: ['ops@example.com', 'not-an-address'] }))).toThrow(
      /notifications\.email\[1\]: "not-an-address" is not a valid email/,
    );
    expect(() =>
      parseConfig(withNotifications({ snsTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops-alerts' })),
    ).toThrow(/notifications\.snsTopicArn: .* is a topic in us-east-1, but alarms in .* write \$\{region\}/);
  });
});
