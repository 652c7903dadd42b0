import type { MirrorModel, TableModel } from '../../lib/config/model';
import {
  backfillEstimate,
  preflightReport,
  type Finding,
  type RegionFacts,
  type StreamConsumer,
  type TableFacts,
} from '../../lib/ops/preflight';
import { exampleModel, multiActiveTable, oneWayTable } from '../support/model-fixtures';

/**
 * The plan's decision, from what was read to rows, blockers and warnings. Tables: Stories one-way
 * us-east-1 → eu-west-1, ap-southeast-2 (key storyId S); Sessions multi-active in the three regions
 * (key userId S + sessionId S, version attribute `version`). Stacks are DdbMirror-<region>.
 */

const SOURCE = 'us-east-1';
const REPLICA = 'eu-west-1';
const THIRD = 'ap-southeast-2';
const STREAM = 'arn:aws:dynamodb:us-east-1:111122223333:table/Stories/stream/2026-01-01T00:00:00.000';
const SAMPLING = { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 } as const;

function modelOf(...tables: TableModel[]): MirrorModel {
  return exampleModel({ tables, routing: undefined });
}

function table(overrides: Partial<TableFacts> = {}): TableFacts {
  return {
    arn: 'arn:aws:dynamodb:us-east-1:111122223333:table/Stories',
    status: 'ACTIVE',
    key: { partitionKey: { name: 'storyId', type: 'S' } },
    billing: { mode: 'PAY_PER_REQUEST' },
    stream: { arn: STREAM, viewType: 'NEW_AND_OLD_IMAGES' },
    itemCount: 0,
    sizeBytes: 0,
    ...overrides,
  };
}

const SESSIONS_KEY = {
  partitionKey: { name: 'userId', type: 'S' },
  sortKey: { name: 'sessionId', type: 'S' },
} as const;

/** Nothing of the table in the region. */
function absent(name: string, region: string): RegionFacts {
  return { table: name, region, tombstones: { found: false } };
}

/** An application's table the config adopts: no CloudFormation owner, point-in-time recovery on. */
function present(name: string, region: string, overrides: Partial<RegionFacts> = {}): RegionFacts {
  return {
    table: name,
    region,
    found: table(name === 'Sessions' ? { key: SESSIONS_KEY } : {}),
    owner: null,
    tombstones: { found: false },
    pitr: true,
    consumers: [],
    ...overrides,
  };
}

function consumer(name: string, overrides: Partial<StreamConsumer> = {}): StreamConsumer {
  return { name, state: 'Enabled', mirror: false, ...overrides };
}

function sample(items: number, missing = 0, notNumber = 0, attribute = 'version') {
  return { attribute, items, missing, notNumber, examples: [], readUnits: items / 20 };
}

const checks = (findings: readonly Finding[]) => findings.map((f) => `${f.table} ${f.region} ${f.check}`);

describe('plan: what a deploy will meet', () => {
  test('nothing there yet and nothing adopted: every table is created, and nothing blocks', () => {
    // GIVEN the example tables, absent in every region
    const model = exampleModel({ routing: undefined });
    const facts = model.tables.flatMap((t) =>
      (t.mode === 'one-way' ? [t.source, ...t.replicas] : t.regions).map((r) => absent(t.name, r)),
    );
    // WHEN the report is made
    const report = preflightReport(model, facts);
    // THEN one row per table and region, in the config's order, each to be created
    expect(report.rows.map((r) => `${r.table} ${r.region} ${r.intent} ${r.exists} ${r.verdict}`)).toEqual([
      'Stories us-east-1 create false ready',
      'Stories eu-west-1 create false ready',
      'Stories ap-southeast-2 create false ready',
      'Sessions us-east-1 create false ready',
      'Sessions eu-west-1 create false ready',
      'Sessions ap-southeast-2 create false ready',
    ]);
    expect(report.ready).toBe(true);
    expect([...report.blockers, ...report.warnings]).toEqual([]);
  });

  test('an adopted table that is not there blocks, with the fix to create it or stop adopting it', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE, REPLICA] }));
    const report = preflightReport(model, [present('Stories', SOURCE), absent('Stories', REPLICA)]);
    expect(checks(report.blockers)).toEqual(['Stories eu-west-1 adopted-missing']);
    expect(report.blockers[0].fix).toBe(
      'create the table in eu-west-1 first, or remove eu-west-1 from existing so that the deploy creates it',
    );
    expect(report.rows.map((r) => `${r.region} ${r.intent} ${r.verdict}`)).toEqual([
      'us-east-1 adopt ready',
      'eu-west-1 adopt blocked',
    ]);
    expect(report.ready).toBe(false);
  });

  test('a table of that name the config does not adopt blocks: creating it would fail with "already exists"', () => {
    // GIVEN Stories in the source, untagged, in a replica managed by another stack, in the third region
    // with tags that could not be read
    const model = modelOf(oneWayTable());
    const report = preflightReport(model, [
      present('Stories', SOURCE),
      present('Stories', REPLICA, { owner: 'LegacyApp' }),
      present('Stories', THIRD, { owner: { unread: 'permission missing: dynamodb:ListTagsOfResource' } }),
    ]);
    // THEN each region blocks, naming what is known of the table and both ways out
    expect(checks(report.blockers)).toEqual([
      'Stories us-east-1 already-exists',
      'Stories eu-west-1 already-exists',
      'Stories ap-southeast-2 already-exists',
    ]);
    expect(report.blockers.map((b) => b.message)).toEqual([
      'a table Stories already exists in us-east-1: creating it would fail with "already exists"',
      'a table Stories already exists in eu-west-1 (managed by the CloudFormation stack LegacyApp): creating it would fail with "already exists"',
      'a table Stories already exists in ap-southeast-2 (its owner could not be told: permission missing: dynamodb:ListTagsOfResource): creating it would fail with "already exists"',
    ]);
    expect(report.blockers[0].fix).toBe(
      'add us-east-1 to existing for Stories to adopt it, or rename the table in the config',
    );
  });

  test('a table this mirror’s own stack manages is deployed already, not in the way', () => {
    const model = modelOf(oneWayTable());
    const report = preflightReport(model, [
      present('Stories', SOURCE, {
        owner: 'DdbMirror-us-east-1',
        tombstones: { found: true, owner: 'DdbMirror-us-east-1' },
      }),
    ]);
    expect(report.rows[0]).toMatchObject({ intent: 'deployed', verdict: 'ready' });
    expect(report.ready).toBe(true);
  });

  test('a leftover tombstone table blocks, whether or not the application table is adopted', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE] }));
    const report = preflightReport(model, [
      present('Stories', SOURCE, { tombstones: { found: true, owner: null } }),
      { ...absent('Stories', REPLICA), tombstones: { found: true, owner: 'DdbMirror-ap-southeast-2' } },
    ]);
    expect(checks(report.blockers)).toEqual([
      'Stories us-east-1 tombstones-exist',
      'Stories eu-west-1 tombstones-exist',
    ]);
    expect(report.blockers[1].message).toBe(
      'the tombstone table Stories-ddbm-tombstones already exists in eu-west-1 (managed by the CloudFormation stack DdbMirror-ap-southeast-2), and the stack creates its own',
    );
  });

  test('a key schema that differs from the config in a name, a type or a sort key blocks, showing both', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE, REPLICA, THIRD] }));
    const report = preflightReport(model, [
      present('Stories', SOURCE, { found: table({ key: { partitionKey: { name: 'id', type: 'S' } } }) }),
      present('Stories', REPLICA, {
        found: table({ key: { partitionKey: { name: 'storyId', type: 'N' } } }),
      }),
      present('Stories', THIRD, {
        found: table({
          key: { partitionKey: { name: 'storyId', type: 'S' }, sortKey: { name: 'at', type: 'N' } },
        }),
      }),
    ]);
    expect(report.blockers.map((b) => [b.check, b.message])).toEqual([
      ['key-schema', 'the key of Stories in us-east-1 is id (S), the config says storyId (S)'],
      ['key-schema', 'the key of Stories in eu-west-1 is storyId (N), the config says storyId (S)'],
      [
        'key-schema',
        'the key of Stories in ap-southeast-2 is storyId (S) + at (N), the config says storyId (S)',
      ],
    ]);
    expect(report.rows.map((r) => r.keyMatches)).toEqual([false, false, false]);
  });

  test('a stream of another view type blocks where the mirror reads it; no stream is fine, the deploy enables one', () => {
    // GIVEN a KEYS_ONLY stream on the source, none on one replica, KEYS_ONLY on a replica nobody reads
    const model = modelOf(oneWayTable({ existing: [SOURCE, REPLICA, THIRD] }));
    const keysOnly = table({ stream: { arn: STREAM, viewType: 'KEYS_ONLY' } });
    const report = preflightReport(model, [
      present('Stories', SOURCE, { found: keysOnly }),
      present('Stories', REPLICA, { found: table({ stream: undefined }), consumers: undefined }),
      present('Stories', THIRD, { found: keysOnly }),
    ]);
    // THEN only the source blocks
    expect(checks(report.blockers)).toEqual(['Stories us-east-1 stream-view']);
    expect(report.blockers[0].fix).toBe(
      "move the stream's consumers off it, disable the stream and enable it with NEW_AND_OLD_IMAGES (a stream's view type cannot be changed in place)",
    );
    expect(report.rows.map((r) => r.stream)).toEqual(['KEYS_ONLY', 'off', 'KEYS_ONLY']);
  });

  test('what the deploy changes on adopted tables is told: a stream enabled where the mirror reads it, a replica policy merged', () => {
    // GIVEN an adopted multi-active table with no stream in one region, and an adopted one-way table
    // whose source has no stream and whose replica exists
    const model = modelOf(
      oneWayTable({ existing: [SOURCE, REPLICA] }),
      multiActiveTable({ existing: [REPLICA] }),
    );
    const noStream = table({ stream: undefined });
    const report = preflightReport(model, [
      present('Stories', SOURCE, { found: noStream }),
      present('Stories', REPLICA, { found: noStream }),
      absent('Stories', THIRD),
      absent('Sessions', SOURCE),
      present('Sessions', REPLICA, { found: table({ key: SESSIONS_KEY, stream: undefined }) }),
      absent('Sessions', THIRD),
    ]);
    // THEN each change is named where the deploy makes it, and none of them blocks
    expect(report.changes.map((c) => `${c.table} ${c.region}: ${c.change.split(':')[0]}`)).toEqual([
      'Stories us-east-1: no stream',
      'Stories eu-west-1: a read-only replica',
      'Sessions eu-west-1: no stream',
    ]);
    expect(report.blockers.filter((b) => b.table === 'Stories' || b.region === REPLICA)).toEqual([]);
  });
});

describe('plan: stream readers (at most two per shard)', () => {
  const adoptedSource = (t: Partial<Parameters<typeof oneWayTable>[0]> = {}) =>
    modelOf(oneWayTable({ existing: [SOURCE, REPLICA], ...t }));

  test('one other reader beside the replicator fits; with divergence sampling it makes three and blocks', () => {
    // GIVEN an adopted source whose stream feeds one search indexer
    const facts = [present('Stories', SOURCE, { consumers: [consumer('search-indexer')] })];
    // WHEN planned without and with divergence sampling
    const plain = preflightReport(adoptedSource(), facts);
    const sampled = preflightReport(adoptedSource({ divergenceSampling: SAMPLING }), facts);
    // THEN 1 + 1 fits, 1 + 2 does not, and the blocker names the reader and both ways out
    expect(plain.rows[0].readers).toEqual({ others: ['search-indexer'], mirror: 1, total: 2 });
    expect(plain.blockers).toEqual([]);
    expect(sampled.rows[0].readers).toEqual({ others: ['search-indexer'], mirror: 2, total: 3 });
    expect(sampled.blockers).toEqual([
      {
        table: 'Stories',
        region: SOURCE,
        check: 'stream-readers',
        message:
          'the stream of Stories in us-east-1 has 1 other reader (search-indexer); the mirror adds 2 (its replicator and the divergence sampler), and DynamoDB Streams serves at most 2 per shard',
        fix: 'move search-indexer off the stream (one reader can fan out to several consumers), or turn divergenceSampling off',
      },
    ]);
  });

  test('two other readers and the replicator block, naming how many must move', () => {
    const facts = [present('Stories', SOURCE, { consumers: [consumer('a'), consumer('b')] })];
    const report = preflightReport(adoptedSource(), facts);
    expect(report.blockers.map((b) => b.fix)).toEqual([
      'move 1 of a, b off the stream (one reader can fan out to several consumers)',
    ]);
  });

  test('disabled mappings and the mirror’s own replicator are not counted as other readers', () => {
    const facts = [
      present('Stories', SOURCE, {
        consumers: [
          consumer('old-indexer', { state: 'Disabled' }),
          consumer('DdbMirror-us-east-1-StoriesReplicatorFEBEEF15-abcdefghijkl', { mirror: true }),
          consumer('search-indexer'),
        ],
      }),
    ];
    const report = preflightReport(adoptedSource(), facts);
    expect(report.rows[0].readers).toEqual({ others: ['search-indexer'], mirror: 1, total: 2 });
    expect(report.blockers).toEqual([]);
  });

  test('a one-way replica’s stream is not read by the mirror, so its own readers never block', () => {
    const facts = [present('Stories', REPLICA, { consumers: [consumer('a'), consumer('b')] })];
    const report = preflightReport(adoptedSource({ divergenceSampling: SAMPLING }), facts);
    expect(report.rows[0].readers).toEqual({ others: ['a', 'b'], mirror: 0, total: 2 });
    expect(report.blockers).toEqual([]);
  });

  test('mappings that could not be listed are a warning where the mirror reads, saying how many may stay', () => {
    const facts = [
      present('Stories', SOURCE, {
        consumers: { unread: 'permission missing: lambda:ListEventSourceMappings' },
      }),
    ];
    const report = preflightReport(adoptedSource(), facts);
    expect(report.warnings.map((w) => [w.check, w.fix])).toEqual([
      ['unread', 'check by hand that at most 1 other reader uses the stream'],
    ]);
    expect(report.rows[0]).toMatchObject({ readers: { others: [], mirror: 1 }, verdict: 'warning' });
    expect(report.ready).toBe(true);
  });
});

describe('plan: point-in-time recovery of adopted tables', () => {
  test('off where the export backfill exports from blocks; elsewhere, or without one, it warns', () => {
    // GIVEN Stories adopted everywhere with recovery off, once with an export backfill and once without
    const facts = [SOURCE, REPLICA].map((r) => present('Stories', r, { pitr: false }));
    const exporting = modelOf(
      oneWayTable({
        existing: [SOURCE, REPLICA],
        exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 },
      }),
    );
    const plain = modelOf(oneWayTable({ existing: [SOURCE, REPLICA] }));
    // WHEN planned
    const withExport = preflightReport(exporting, facts);
    const without = preflightReport(plain, facts);
    // THEN the export's region blocks, a replica warns; without the export both warn
    expect(checks(withExport.blockers)).toEqual(['Stories us-east-1 point-in-time-recovery']);
    expect(checks(withExport.warnings)).toEqual(['Stories eu-west-1 point-in-time-recovery']);
    expect(withExport.blockers[0].fix).toBe(
      'turn point-in-time recovery on for Stories in us-east-1 (UpdateContinuousBackups)',
    );
    expect(without.blockers).toEqual([]);
    expect(checks(without.warnings)).toEqual([
      'Stories us-east-1 point-in-time-recovery',
      'Stories eu-west-1 point-in-time-recovery',
    ]);
  });

  test('the stack’s own tables get it from the config, so their state is shown but never judged', () => {
    const model = modelOf(oneWayTable({ exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 } }));
    const report = preflightReport(model, [
      present('Stories', SOURCE, { owner: 'DdbMirror-us-east-1', pitr: false }),
    ]);
    expect(report.rows[0].pointInTimeRecovery).toBe(false);
    expect([...report.blockers, ...report.warnings]).toEqual([]);
  });

  test('recovery that could not be read on an adopted table is a warning, not a verdict', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE] }));
    const report = preflightReport(model, [
      present('Stories', SOURCE, {
        pitr: { unread: 'the endpoint does not serve DescribeContinuousBackups' },
      }),
    ]);
    expect(report.warnings.map((w) => w.message)).toEqual([
      'could not read point-in-time recovery of Stories in us-east-1: the endpoint does not serve DescribeContinuousBackups',
    ]);
    expect(report.rows[0].pointInTimeRecovery).toBeUndefined();
    expect(report.ready).toBe(true);
  });
});

describe('plan: the version contract of multi-active tables', () => {
  test('sampled items without a numeric version block, with the contract or last-writer-wins as the fix', () => {
    const model = modelOf(multiActiveTable({ existing: [SOURCE, REPLICA, THIRD] }));
    const report = preflightReport(model, [
      present('Sessions', SOURCE, { sample: sample(100) }),
      present('Sessions', REPLICA, {
        sample: { ...sample(100, 2, 1), examples: ['userId=u1,sessionId=s1', 'userId=u2,sessionId=s9'] },
      }),
      present('Sessions', THIRD, { sample: sample(0) }),
    ]);
    expect(report.blockers).toEqual([
      {
        table: 'Sessions',
        region: REPLICA,
        check: 'version-contract',
        message:
          '3 of 100 sampled items of Sessions in eu-west-1 have no numeric version (e.g. userId=u1,sessionId=s1, userId=u2,sessionId=s9): writers that do not follow the contract',
        fix: 'make every writer ADD version 1, or set conflicts: last-writer-wins',
      },
    ]);
    // AND the samples' read units are summed for the report
    expect(report.sampleReadUnits).toBe(10);
  });

  test('the fix names the table’s own version attribute', () => {
    const model = modelOf(multiActiveTable({ existing: [SOURCE], versionAttribute: 'rev' }));
    const report = preflightReport(model, [
      present('Sessions', SOURCE, { sample: sample(10, 10, 0, 'rev') }),
    ]);
    expect(report.blockers.map((b) => b.fix)).toEqual([
      'make every writer ADD rev 1, or set conflicts: last-writer-wins',
    ]);
  });

  test('a last-writer-wins table has no writer contract to check', () => {
    const model = modelOf(multiActiveTable({ existing: [SOURCE], conflicts: 'last-writer-wins' }));
    const report = preflightReport(model, [present('Sessions', SOURCE, { sample: sample(10, 10) })]);
    expect(report.blockers).toEqual([]);
    expect(report.rows[0].sample).toBeUndefined();
  });

  test('a sample that could not be read is a warning', () => {
    const model = modelOf(multiActiveTable({ existing: [SOURCE] }));
    const report = preflightReport(model, [
      present('Sessions', SOURCE, { sample: { unread: 'permission missing: dynamodb:Scan' } }),
    ]);
    expect(report.warnings.map((w) => w.fix)).toEqual([
      'check by hand that every item has a numeric version',
    ]);
  });
});

describe('plan: backfill estimate', () => {
  test('one write unit per started KB of the average item, per target, and the time at the rate per target', () => {
    // GIVEN 1,000 items of 2,500 bytes on average (3 units each) and two targets
    const t = oneWayTable({ exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 } });
    const found = { itemCount: 1000, sizeBytes: 2_500_000 };
    // WHEN estimated at the export's rate, at a CLI rate, and without either
    const exported = backfillEstimate(t, SOURCE, found);
    const cli = backfillEstimate(t, SOURCE, found, { maxWriteUnits: 100 });
    const unpaced = backfillEstimate(oneWayTable(), SOURCE, found);
    // THEN 3,000 units per target, 6,000 in all; 3 s at 1,000/s and 30 s at 100/s (targets at once)
    expect(exported).toEqual({
      targets: [REPLICA, THIRD],
      itemCount: 1000,
      averageItemBytes: 2500,
      unitsPerItem: 3,
      writeUnits: 6000,
      rate: { writeUnitsPerSecond: 1000, from: 'exportBackfill' },
      seconds: 3,
    });
    expect(cli).toMatchObject({ rate: { writeUnitsPerSecond: 100, from: '--max-write-units' }, seconds: 30 });
    expect(unpaced.rate).toBeUndefined();
    expect(unpaced.seconds).toBeUndefined();
    expect(unpaced.writeUnits).toBe(6000);
  });

  test('an item of exactly 1 KB costs one unit, one byte more costs two; an empty table none', () => {
    const t = oneWayTable();
    expect(backfillEstimate(t, SOURCE, { itemCount: 10, sizeBytes: 10240 }).unitsPerItem).toBe(1);
    expect(backfillEstimate(t, SOURCE, { itemCount: 10, sizeBytes: 10250 }).unitsPerItem).toBe(2);
    expect(backfillEstimate(t, SOURCE, { itemCount: 0, sizeBytes: 0 }).writeUnits).toBe(0);
  });

  test('a one-way table is backfilled from its source only; a multi-active one from any region', () => {
    const model = modelOf(
      oneWayTable({ existing: [SOURCE, REPLICA] }),
      multiActiveTable({ existing: [SOURCE, REPLICA] }),
    );
    const report = preflightReport(model, [
      present('Stories', SOURCE),
      present('Stories', REPLICA),
      present('Sessions', SOURCE, { sample: sample(0) }),
      present('Sessions', REPLICA, { sample: sample(0) }),
    ]);
    expect(report.rows.map((r) => `${r.table} ${r.region} ${r.backfill?.targets.join(',') ?? '-'}`)).toEqual([
      'Stories us-east-1 eu-west-1,ap-southeast-2',
      'Stories eu-west-1 -',
      'Sessions us-east-1 eu-west-1,ap-southeast-2',
      'Sessions eu-west-1 us-east-1,ap-southeast-2',
    ]);
  });

  test('a rate above a target’s provisioned write capacity warns once for that target', () => {
    // GIVEN the export backfill at 1,000/s, a replica provisioned at 50 and the config's billing elsewhere
    const model = modelOf(
      oneWayTable({
        existing: [SOURCE, REPLICA],
        exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 },
        billing: { mode: 'PROVISIONED', readCapacity: 5000, writeCapacity: 5000 },
      }),
    );
    const report = preflightReport(model, [
      present('Stories', SOURCE),
      present('Stories', REPLICA, {
        found: table({ billing: { mode: 'PROVISIONED', readCapacity: 50, writeCapacity: 50 } }),
      }),
      absent('Stories', THIRD),
    ]);
    // THEN the replica (its table's own capacity) warns; the third region, created at 5,000, does not
    expect(checks(report.warnings)).toEqual(['Stories eu-west-1 backfill-capacity']);
    expect(report.warnings[0].message).toBe(
      'a backfill into Stories in eu-west-1 at 1000 write units per second (exportBackfill) exceeds the 50 provisioned there: it throttles, and live replication with it',
    );
    expect(report.rows.find((r) => r.region === REPLICA)?.verdict).toBe('warning');
  });
});

describe('plan: other findings', () => {
  test('a table that is changing warns; one in a status it does not leave by itself blocks', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE, REPLICA] }));
    const report = preflightReport(model, [
      present('Stories', SOURCE, { found: table({ status: 'UPDATING' }) }),
      present('Stories', REPLICA, { found: table({ status: 'ARCHIVED' }) }),
    ]);
    expect(report.warnings.map((w) => w.message)).toEqual(['Stories in us-east-1 is UPDATING, not ACTIVE']);
    expect(report.blockers.map((b) => b.message)).toEqual([
      'Stories in eu-west-1 is ARCHIVED, which it does not leave by itself',
    ]);
  });

  test('only the tables read are reported (plan --table)', () => {
    const model = exampleModel({ routing: undefined });
    const report = preflightReport(model, [absent('Sessions', SOURCE)]);
    expect(report.rows.map((r) => `${r.table} ${r.region}`)).toEqual(['Sessions us-east-1']);
  });

  test('billing, item count and size are shown as DescribeTable gives them', () => {
    const model = modelOf(oneWayTable({ existing: [SOURCE] }));
    const found = table({
      billing: { mode: 'PROVISIONED', readCapacity: 10, writeCapacity: 5 },
      itemCount: 42,
      sizeBytes: 4200,
    });
    const report = preflightReport(model, [present('Stories', SOURCE, { found })]);
    expect(report.rows[0]).toMatchObject({
      billing: { mode: 'PROVISIONED', readCapacity: 10, writeCapacity: 5 },
      itemCount: 42,
      sizeBytes: 4200,
      backfill: { unitsPerItem: 1, writeUnits: 84 },
    });
  });
});
