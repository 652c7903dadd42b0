import { MAX_TABLE_NAME_LENGTH, validateConfig } from '../../lib/config';
import { issue, issuesAfter, issuesOf, validRawConfig } from './fixtures';

describe('config validation: unknown keys', () => {
  test('reports a misspelt top-level key with a suggestion', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.rotuing = c.routing;
      delete c.routing;
    });

    // THEN
    expect(issues).toEqual([issue('rotuing', 'unknown key "rotuing"', 'did you mean "routing"?')]);
  });

  test('reports a misspelt table key inside the table', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].excludeAtributes = ['localCache']));

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[1].excludeAtributes',
        'unknown key "excludeAtributes"',
        'did you mean "excludeAttributes"?',
      ),
    ]);
  });

  test('reports a misspelt endpoint key with the key it resembles', () => {
    // WHEN
    const issues = issuesAfter(
      (c) => (c.regions['eu-west-1'].endpoint = { hostnme: 'eu-west-1.app.example.com' }),
    );

    // THEN
    expect(issues).toContainEqual(issue('regions.eu-west-1.endpoint.hostnme', 'did you mean "hostname"?'));
  });

  test('lists the allowed keys when nothing resembles the unknown one', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].partitionKey.color = 'blue'));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].partitionKey.color', 'unknown key "color"', 'allowed keys: name, type'),
    ]);
  });

  test('reports a multi-active-only key on a one-way table', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].versionAttribute = 'version'));

    // THEN
    expect(issues).toEqual([issue('tables[0].versionAttribute', 'unknown key "versionAttribute"')]);
  });
});

describe('config validation: regions', () => {
  test.each(['us-east-1', 'ap-southeast-2', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'il-central-1'])(
    'accepts the region name %s',
    (name) => {
      // GIVEN
      const config = validRawConfig();
      config.regions[name] = { endpoint: { hostname: `${name}.app.example.com` } };

      // WHEN
      const result = validateConfig(config);

      // THEN
      expect(result.ok).toBe(true);
    },
  );

  test.each(['useast1', 'US-EAST-1', 'us-east', 'us_east_1', 'europe-west-1'])(
    'rejects the region name %s',
    (name) => {
      // WHEN
      const issues = issuesAfter((c) => (c.regions[name] = { endpoint: { hostname: 'x.app.example.com' } }));

      // THEN
      expect(issues).toEqual([issue(`regions.${name}`, `"${name}" is not an AWS region name`)]);
    },
  );

  test('requires at least one region', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.regions = {};
      c.tables = [c.tables[0]];
      c.tables[0].replicas = ['eu-west-1'];
      delete c.routing;
    });

    // THEN
    expect(issues).toContainEqual(issue('regions', 'at least one region is required'));
  });

  test('requires an endpoint for every region', () => {
    // WHEN
    const issues = issuesAfter((c) => delete c.regions['eu-west-1'].endpoint);

    // THEN
    expect(issues).toEqual([
      issue('regions.eu-west-1.endpoint', 'required', '{ hostname }', '{ aliasDnsName'),
    ]);
  });

  test('requires a port for a TCP health check', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.regions['us-east-1'].healthCheck = { protocol: 'TCP' }));

    // THEN
    expect(issues).toEqual([issue('regions.us-east-1.healthCheck.port', 'required for a TCP health check')]);
  });

  test('rejects a health check interval Route 53 does not offer', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.regions['us-east-1'].healthCheck = { intervalSeconds: 15 }));

    // THEN
    expect(issues).toEqual([issue('regions.us-east-1.healthCheck.intervalSeconds', '15 is not 10 or 30')]);
  });

  test('rejects a hostname that is not a DNS name', () => {
    // WHEN
    const issues = issuesAfter(
      (c) => (c.regions['us-east-1'].endpoint.hostname = 'https://app.example.com/'),
    );

    // THEN
    expect(issues).toEqual([
      issue('regions.us-east-1.endpoint.hostname', '"https://app.example.com/" is not a valid DNS name'),
    ]);
  });
});

describe('config validation: account and stack prefix', () => {
  test('asks for quotes around an account id YAML read as a number', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.account = 123456789012));

    // THEN
    expect(issues).toEqual([issue('account', '123456789012 must be quoted')]);
  });

  test('rejects an account id that is not 12 digits', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.account = '12345678901'));

    // THEN
    expect(issues).toEqual([issue('account', '"12345678901" is not an AWS account id (12 digits)')]);
  });

  test('accepts an account per region beside the top-level default', () => {
    // GIVEN one region in another account, the others in the top-level one
    const config = validRawConfig();
    config.account = '111111111111';
    config.regions['eu-west-1'].account = '222222222222';

    // WHEN
    const result = validateConfig(config);

    // THEN
    expect(result.ok).toBe(true);
  });

  test('names each region account that is not a quoted 12-digit id, at once', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.account = '111111111111';
      c.regions['us-east-1'].account = 222222222222;
      c.regions['eu-west-1'].account = '2222';
    });

    // THEN
    expect(issues).toEqual([
      issue('regions.us-east-1.account', '222222222222 must be quoted'),
      issue('regions.eu-west-1.account', '"2222" is not an AWS account id (12 digits)'),
    ]);
  });

  test('asks every region without an account for one once a region names its own', () => {
    // WHEN two of three regions name no account and there is no top-level default
    const issues = issuesAfter((c) => (c.regions['eu-west-1'].account = '222222222222'));

    // THEN each of them is named, with the region that does
    expect(issues).toEqual([
      issue('regions.us-east-1.account', 'required', 'eu-west-1 names 222222222222', 'top-level account'),
      issue('regions.ap-southeast-2.account', 'required', 'eu-west-1 names 222222222222'),
    ]);
  });

  test('rejects a stack prefix CloudFormation would refuse', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.stackPrefix = 'ddb_mirror'));

    // THEN
    expect(issues).toEqual([issue('stackPrefix', '"ddb_mirror" is not a stack name prefix')]);
  });
});

describe('config validation: tables', () => {
  test('requires at least one table', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables = []));

    // THEN
    expect(issues).toEqual([issue('tables', 'at least one table is required')]);
  });

  test('reports a table region that is not declared under regions', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.tables[0].replicas = ['eu-west-3'];
      c.tables[1].regions = ['us-east-1', 'sa-east-1'];
    });

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[0].replicas[0]',
        'region "eu-west-3" is not declared under regions',
        'us-east-1, eu-west-1',
      ),
      issue('tables[1].regions[1]', 'region "sa-east-1" is not declared'),
    ]);
  });

  test('reports an undeclared one-way source', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].source = 'us-west-2'));

    // THEN
    expect(issues).toEqual([issue('tables[0].source', 'region "us-west-2" is not declared')]);
  });

  test('reports a region listed twice in a table', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].regions = ['us-east-1', 'eu-west-1', 'us-east-1']));

    // THEN
    expect(issues).toEqual([issue('tables[1].regions[2]', 'region "us-east-1" is listed twice')]);
  });

  test('reports a one-way source also listed as a replica', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].replicas = ['eu-west-1', 'us-east-1']));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].replicas[1]', 'source region "us-east-1" is also listed as a replica'),
    ]);
  });

  test('reports a one-way table without replicas', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].replicas = []));

    // THEN
    expect(issues).toEqual([issue('tables[0].replicas', 'needs at least one replica region', '[]')]);
  });

  test('reports a multi-active table in a single region', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].regions = ['eu-west-1']));

    // THEN
    expect(issues).toEqual([issue('tables[1].regions', 'needs at least two regions', '["eu-west-1"]')]);
  });

  test('reports duplicate table names', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].name = 'Stories'));

    // THEN
    expect(issues).toEqual([issue('tables[1].name', 'duplicate table name "Stories"', 'tables[0].name')]);
  });

  test.each([
    ['too short', 'ab'],
    ['a space', 'My Table'],
    ['a slash', 'a/b'],
    ['too long for the tombstone suffix', 'x'.repeat(MAX_TABLE_NAME_LENGTH + 1)],
  ])('rejects a table name with %s', (_why, name) => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].name = name));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].name', `"${name.slice(0, 20)}`, 'is not a valid table name', '-ddbm-tombstones'),
    ]);
  });

  test('accepts a table name of exactly 239 characters, leaving room for the tombstone suffix', () => {
    // GIVEN
    const config = validRawConfig();
    config.tables[0].name = 'x'.repeat(239);

    // WHEN
    const result = validateConfig(config);

    // THEN
    expect(MAX_TABLE_NAME_LENGTH).toBe(239);
    expect(result.ok).toBe(true);
  });

  test('reports an unknown table mode with the accepted ones', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].mode = 'one_way'));

    // THEN
    expect(issues).toEqual([issue('tables[0].mode', '"one_way" is not one of "one-way", "multi-active"')]);
  });

  test('reports PROVISIONED billing without capacities', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].billing = { mode: 'PROVISIONED' }));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].billing.readCapacity', 'required', 'number'),
      issue('tables[0].billing.writeCapacity', 'required', 'number'),
    ]);
  });

  test('reports an export backfill on a table without point-in-time recovery', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.tables[0].pointInTimeRecovery = false;
      c.tables[0].exportBackfill = {};
    });

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[0].exportBackfill',
        'needs pointInTimeRecovery: a table is exported from its continuous backups; set pointInTimeRecovery: true or remove exportBackfill',
      ),
    ]);
  });

  test('reports an export backfill concurrency of zero with the value', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].exportBackfill = { maxConcurrency: 0 }));

    // THEN
    expect(issues).toEqual([issue('tables[0].exportBackfill.maxConcurrency', 'must be >= 1, got 0')]);
  });

  test('reports a capacity below one with the value', () => {
    // WHEN
    const issues = issuesAfter(
      (c) => (c.tables[0].billing = { mode: 'PROVISIONED', readCapacity: 0, writeCapacity: 2.5 }),
    );

    // THEN
    expect(issues).toEqual([
      issue('tables[0].billing.readCapacity', 'must be >= 1, got 0'),
      issue('tables[0].billing.writeCapacity', 'expected an integer, got number 2.5'),
    ]);
  });

  test('rejects a SNAPSHOT removal policy, which CloudFormation does not offer for DynamoDB', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].removalPolicy = 'SNAPSHOT'));

    // THEN
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe('tables[0].removalPolicy');
    expect(issues[0].message).toContain('SNAPSHOT');
  });
});

describe('config validation: keys and attributes', () => {
  test('rejects a key type other than S, N or B', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].partitionKey.type = 'STRING'));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].partitionKey.type', '"STRING" is not a key type', 'S', 'N', 'B'),
    ]);
  });

  test('rejects a sort key named like the partition key', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].sortKey = { name: 'storyId', type: 'N' }));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].sortKey.name', 'sort key "storyId" has the same name as the partition key'),
    ]);
  });

  test('rejects a version attribute that is a key attribute', () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.tables[1].sortKey = { name: 'rev', type: 'N' };
      c.tables[1].versionAttribute = 'rev';
    });

    // THEN
    expect(issues).toEqual([
      issue('tables[1].versionAttribute', 'version attribute "rev" is also the sort key'),
    ]);
  });

  test('rejects a key named like the default version attribute, naming the default', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].partitionKey.name = 'version'));

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[1].versionAttribute',
        '"version" (the default) is also the partition key',
        'set versionAttribute',
      ),
    ]);
  });

  test.each([
    ['versionAttribute', (t: Record<string, unknown>) => (t.versionAttribute = '_ddbm_v')],
    ['ttl.attribute', (t: Record<string, unknown>) => (t.ttl = { attribute: '_ddbm_exp' })],
    ['partitionKey.name', (t: Record<string, unknown>) => (t.partitionKey = { name: '_ddbm_id', type: 'S' })],
  ])('rejects the reserved prefix _ddbm_ in %s', (path, mutate) => {
    // WHEN
    const issues = issuesAfter((c) => mutate(c.tables[1]));

    // THEN
    expect(issues).toEqual([issue(`tables[1].${path}`, '"_ddbm_', 'starts with "_ddbm_"', 'reserved')]);
  });

  test('rejects a TTL attribute that is a key attribute', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].ttl = { attribute: 'sessionId' }));

    // THEN
    expect(issues).toEqual([
      issue('tables[1].ttl.attribute', 'TTL attribute "sessionId" is also the partition key'),
    ]);
  });

  test('rejects a TTL attribute that is the version attribute', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].ttl = { attribute: 'version' }));

    // THEN
    expect(issues).toEqual([
      issue('tables[1].ttl.attribute', 'TTL attribute "version" is also the version attribute'),
    ]);
  });

  test('rejects excluding a key attribute, the version attribute, a reserved one or the same one twice', () => {
    // WHEN
    const issues = issuesAfter(
      (c) =>
        (c.tables[1].excludeAttributes = ['sessionId', 'version', '_ddbm_ord', 'localCache', 'localCache']),
    );

    // THEN
    expect(issues).toEqual([
      issue('tables[1].excludeAttributes[0]', 'excluded attribute "sessionId" is also the partition key'),
      issue('tables[1].excludeAttributes[1]', 'excluded attribute "version" is the version attribute'),
      issue('tables[1].excludeAttributes[2]', '"_ddbm_ord" starts with "_ddbm_"'),
      issue('tables[1].excludeAttributes[4]', 'excluded attribute "localCache" is listed twice'),
    ]);
  });
});

describe('config validation: routing', () => {
  test('rejects a record outside the hosted zone', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.routing.recordName = 'app.example.org'));

    // THEN
    expect(issues).toEqual([
      issue('routing.recordName', '"app.example.org" is not inside the zone "example.com"'),
    ]);
  });

  test('rejects a record whose name only ends like the zone', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.routing.recordName = 'appexample.com'));

    // THEN
    expect(issues).toEqual([issue('routing.recordName', '"appexample.com" is not inside the zone')]);
  });

  test('rejects CNAME endpoints for the zone apex', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.routing.recordName = 'example.com'));

    // THEN
    expect(issues).toEqual([
      issue('routing.recordName', '"example.com" is the zone apex', 'alias endpoints'),
    ]);
  });

  test('rejects endpoints mixing CNAME and alias targets', () => {
    // WHEN
    const issues = issuesAfter(
      (c) =>
        (c.regions['eu-west-1'].endpoint = {
          aliasDnsName: 'alb.eu-west-1.elb.amazonaws.com',
          aliasHostedZoneId: 'Z32O12XQLNTSW2',
        }),
    );

    // THEN
    expect(issues).toEqual([
      issue('regions', 'mix CNAME targets (us-east-1, ap-southeast-2) and alias targets (eu-west-1)'),
    ]);
  });

  test('rejects a regional hostname that is the routed record itself', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.regions['eu-west-1'].endpoint.hostname = 'app.example.com'));

    // THEN
    expect(issues).toEqual([
      issue('regions.eu-west-1.endpoint.hostname', '"app.example.com" is the routed record itself'),
    ]);
  });

  test('rejects a hosted zone id that is not one', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.routing.hostedZoneId = 'example.com'));

    // THEN
    expect(issues).toEqual([issue('routing.hostedZoneId', '"example.com" is not a Route 53 hosted zone id')]);
  });

  test('rejects an unknown policy with the accepted forms', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.routing.policy = 'weighted'));

    // THEN
    expect(issues).toEqual([
      issue('routing.policy', 'expected "latency" or { type: latency | geolocation', '"weighted"'),
    ]);
  });

  describe('geolocation', () => {
    const geo = (policy: Record<string, unknown>) =>
      issuesAfter((c) => (c.routing.policy = { type: 'geolocation', ...policy }));
    const locations = { 'us-east-1': ['NA'], 'eu-west-1': ['EU'], 'ap-southeast-2': ['OC'] };

    test('requires a defaultRegion', () => {
      // WHEN
      const issues = geo({ locations });

      // THEN
      expect(issues).toEqual([issue('routing.policy.defaultRegion', 'required')]);
    });

    test('rejects a defaultRegion that is not declared', () => {
      // WHEN
      const issues = geo({ locations, defaultRegion: 'us-west-2' });

      // THEN
      expect(issues).toEqual([issue('routing.policy.defaultRegion', 'region "us-west-2" is not declared')]);
    });

    test('rejects locations for a region that is not declared', () => {
      // WHEN
      const issues = geo({ locations: { ...locations, 'sa-east-1': ['SA'] }, defaultRegion: 'us-east-1' });

      // THEN
      expect(issues).toEqual([
        issue('routing.policy.locations.sa-east-1', 'region "sa-east-1" is not declared'),
      ]);
    });

    test('rejects a location claimed by two regions', () => {
      // WHEN
      const issues = geo({
        locations: {
          ...locations,
          'ap-southeast-2': ['OC', { country: 'US' }],
          'us-east-1': [{ country: 'US' }],
        },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue(
          'routing.policy.locations.ap-southeast-2[1]',
          'location country US is already claimed by region "us-east-1"',
        ),
      ]);
    });

    test('rejects a bad continent code with the valid ones', () => {
      // WHEN
      const issues = geo({
        locations: { ...locations, 'eu-west-1': ['EU', 'EUROPE'] },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue(
          'routing.policy.locations.eu-west-1[1]',
          '"EUROPE" is not a location',
          'AF, AN, AS, EU, NA, OC, SA',
        ),
      ]);
    });

    test('rejects a bad continent code in object form', () => {
      // WHEN
      const issues = geo({
        locations: { ...locations, 'eu-west-1': [{ continent: 'XX' }] },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue('routing.policy.locations.eu-west-1[0].continent', '"XX" is not one of', '"EU"'),
      ]);
    });

    test('rejects a lower-case country code', () => {
      // WHEN
      const issues = geo({
        locations: { ...locations, 'eu-west-1': [{ country: 'de' }] },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue('routing.policy.locations.eu-west-1[0].country', '"de" is not an ISO 3166-1'),
      ]);
    });

    test('rejects a subdivision of a country Route 53 has no subdivisions for, and a lower-case one', () => {
      // WHEN
      const issues = geo({
        locations: {
          ...locations,
          'eu-west-1': [
            { country: 'CA', subdivision: 'ON' },
            { country: 'US', subdivision: 'ca' },
          ],
        },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue('routing.policy.locations.eu-west-1[1].subdivision', '"ca" is not a subdivision code'),
        issue(
          'routing.policy.locations.eu-west-1[0].subdivision',
          'Route 53 knows subdivisions of US and UA only, got CA-ON',
        ),
      ]);
    });

    test('rejects a region that serves no location and is not the default', () => {
      // WHEN
      const issues = geo({
        locations: { 'us-east-1': ['NA'], 'eu-west-1': ['EU'] },
        defaultRegion: 'us-east-1',
      });

      // THEN
      expect(issues).toEqual([
        issue('routing.policy.locations', 'region "ap-southeast-2" serves no location'),
      ]);
    });
  });
});

describe('config validation: several mistakes at once', () => {
  test('reports every mistake in one result, in file order', () => {
    // GIVEN a config with eight unrelated mistakes
    const config = validRawConfig();
    config.account = '42';
    config.regions.useast1 = { endpoint: { hostname: 'x.app.example.com' } };
    config.tables[0].replicas = ['eu-west-1', 'us-east-1'];
    config.tables[0].partitionKey.type = 'X';
    config.tables[1].excludeAtributes = ['localCache'];
    config.tables[1].regions = ['us-east-1', 'eu-west-9'];
    config.tables[1].ttl = { attribute: 'sessionId' };
    config.routing.recordName = 'app.example.org';

    // WHEN
    const issues = issuesOf(config);

    // THEN
    expect(issues).toEqual([
      issue('account', '"42" is not an AWS account id'),
      issue('regions.useast1', '"useast1" is not an AWS region name'),
      issue('tables[0].partitionKey.type', '"X" is not a key type'),
      issue('tables[0].replicas[1]', 'source region "us-east-1" is also listed as a replica'),
      issue('tables[1].excludeAtributes', 'unknown key "excludeAtributes"'),
      issue('tables[1].regions[1]', 'region "eu-west-9" is not declared'),
      issue('tables[1].ttl.attribute', 'TTL attribute "sessionId" is also the partition key'),
      issue('routing.recordName', '"app.example.org" is not inside the zone'),
    ]);
  });

  test('still checks cross-field rules when a value has the wrong type', () => {
    // GIVEN a table with a structural error next to a table with a cross-field error
    const config = validRawConfig();
    config.tables[0].partitionKey = 'storyId';
    config.tables[1].regions = ['us-east-1', 'us-east-1'];

    // WHEN
    const issues = issuesOf(config);

    // THEN
    expect(issues).toEqual([
      issue('tables[0].partitionKey', 'expected a mapping, got string "storyId"'),
      issue('tables[1].regions[1]', 'region "us-east-1" is listed twice'),
    ]);
  });

  test('reports a wrong type with the value that was given', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables = 'Stories'));

    // THEN
    expect(issues).toEqual([issue('tables', 'expected a list, got string "Stories"')]);
  });

  test('reports an empty value left in YAML as null', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.regions['eu-west-1'].endpoint = null));

    // THEN
    expect(issues).toEqual([issue('regions.eu-west-1.endpoint', 'got null', '{ hostname }')]);
  });
});
