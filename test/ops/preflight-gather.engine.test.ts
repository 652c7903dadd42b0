import { OpsError } from '../../lambda/ops/errors';
import type { MirrorModel } from '../../lib/config/model';
import { replicatorDeployments } from '../../lib/ops/deployment';
import type { RegionFacts, VersionSample } from '../../lib/ops/preflight';
import {
  gatherPreflight,
  lambdaConsumers,
  localMirrorConsumers,
  type GatherSources,
} from '../../lib/ops/preflight-gather';
import { createTable, uniqueName } from '../support/dynamo';
import { exampleModel, multiActiveTable, oneWayTable } from '../support/model-fixtures';
import {
  applicationTable,
  LambdaStandIn,
  mapping,
  standInClient,
  type DynamoStandIns,
} from '../support/preflight';

/**
 * The plan's reading against the test run's DynamoDB Local, with stand-ins for what it does not serve
 * (continuous backups and tags) and for Lambda. Stories-like table A is one-way us-east-1 → eu-west-1
 * with divergence sampling; Sessions-like table B is multi-active in both, key pk (S) + sk (N).
 */

const SOURCE = 'us-east-1';
const REPLICA = 'eu-west-1';
const READS = ['DescribeTable', 'ListTagsOfResource', 'DescribeContinuousBackups', 'Scan'];

const A = uniqueName('PlanA');
const B = uniqueName('PlanB');
const model: MirrorModel = exampleModel({
  routing: undefined,
  tables: [
    oneWayTable({
      name: A,
      key: { partitionKey: { name: 'pk', type: 'S' } },
      replicas: [REPLICA],
      existing: [SOURCE],
      divergenceSampling: { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 },
    }),
    multiActiveTable({
      name: B,
      key: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'N' } },
      regions: [SOURCE, REPLICA],
      existing: [SOURCE],
    }),
  ],
});

let streamA: string;
let streamB: string;
beforeAll(async () => {
  // A in the source: the application's, with a KEYS_ONLY stream and three items of about 1.5 KB
  const body = { S: 'x'.repeat(1500) };
  streamA = (await applicationTable(SOURCE, A, model.tables[0].key, {
    stream: 'KEYS_ONLY',
    items: ['a', 'b', 'c'].map((k) => ({ pk: { S: k }, body })),
  }))!;
  // A's tombstone table left over in the replica by an earlier deploy; A itself absent there
  await createTable(
    REPLICA,
    `${A}-ddbm-tombstones`,
    { partitionKey: { name: 'pk', type: 'S' } },
    {
      withStream: false,
    },
  );
  // B in the source: four items that follow the version contract, one without a version, one with a string
  streamB = (await applicationTable(SOURCE, B, model.tables[1].key, {
    stream: 'NEW_AND_OLD_IMAGES',
    items: [
      ...[1, 2, 3, 4].map((n) => ({ pk: { S: `u${n}` }, sk: { N: String(n) }, version: { N: '3' } })),
      { pk: { S: 'u5' }, sk: { N: '5' } },
      { pk: { S: 'u6' }, sk: { N: '6' }, version: { S: 'three' } },
    ],
  }))!;
});

function sources(standIns: DynamoStandIns, lambda: LambdaStandIn, sent: string[] = []): GatherSources {
  return {
    dynamo: (region) => standInClient(region, standIns, sent),
    consumers: lambdaConsumers(model, (region) => lambda.forRegion(region)),
    owners: 'tags',
  };
}

const byPlace = (facts: RegionFacts[]) => Object.fromEntries(facts.map((f) => [`${f.table}@${f.region}`, f]));

describe('plan: reading the account', () => {
  test('each table and region as DescribeTable, its tags, backups, stream mappings and a sample show it', async () => {
    // GIVEN recovery on for A and off for B, A untagged and A's tombstone table tagged by another stack,
    // and on A's stream a search indexer and this mirror's own replicator (as CloudFormation names it)
    const replicator = replicatorDeployments(model).find((d) => d.table === A)!;
    const ownName = `${replicator.stackName}-${replicator.replicatorFunction}-abcdefghijkl`;
    const lambda = new LambdaStandIn((region, arn) =>
      arn === streamA ? [mapping(region, 'search-indexer', arn), mapping(region, ownName, arn)] : [],
    );
    const standIns: DynamoStandIns = {
      pitr: (t) => t === A,
      stack: (t) => (t === `${A}-ddbm-tombstones` ? 'OldMirror-eu-west-1' : null),
    };
    const sent: string[] = [];
    // WHEN the plan reads them
    const facts = byPlace(await gatherPreflight(model, sources(standIns, lambda, sent), { sampleSize: 100 }));
    // THEN A in the source: its key, on-demand billing, its KEYS_ONLY stream and its readers
    expect(facts[`${A}@${SOURCE}`]).toEqual({
      table: A,
      region: SOURCE,
      found: {
        arn: expect.stringContaining(`table/${A}`),
        status: 'ACTIVE',
        key: { partitionKey: { name: 'pk', type: 'S' } },
        billing: { mode: 'PAY_PER_REQUEST' },
        stream: { arn: streamA, viewType: 'KEYS_ONLY' },
        itemCount: 3,
        sizeBytes: expect.any(Number),
      },
      owner: null,
      tombstones: { found: false },
      pitr: true,
      consumers: [
        { name: 'search-indexer', uuid: 'uuid-search-indexer', state: 'Enabled', mirror: false },
        { name: ownName, uuid: `uuid-${ownName}`, state: 'Enabled', mirror: true },
      ],
    });
    expect(facts[`${A}@${SOURCE}`].found!.sizeBytes).toBeGreaterThan(3 * 1500);
    // AND the mappings were listed page by page, for each stream (the tables are read at once)
    const order = (c: (typeof lambda.calls)[number]) => `${c.eventSourceArn} ${c.marker ?? ''}`;
    expect([...lambda.calls].sort((x, y) => order(x).localeCompare(order(y)))).toEqual([
      { region: SOURCE, eventSourceArn: streamA, marker: undefined },
      { region: SOURCE, eventSourceArn: streamA, marker: '1' },
      { region: SOURCE, eventSourceArn: streamB, marker: undefined },
    ]);
    // AND A in the replica: no table, its leftover tombstone table with its stack
    expect(facts[`${A}@${REPLICA}`]).toEqual({
      table: A,
      region: REPLICA,
      tombstones: { found: true, owner: 'OldMirror-eu-west-1' },
    });
    // AND B in the source: its sort key, recovery off, and the sample finding the two items off contract
    const b = facts[`${B}@${SOURCE}`];
    expect(b.found!.key).toEqual({
      partitionKey: { name: 'pk', type: 'S' },
      sortKey: { name: 'sk', type: 'N' },
    });
    expect(b.pitr).toBe(false);
    expect(b.consumers).toEqual([]);
    expect(b.sample).toEqual({
      attribute: 'version',
      items: 6,
      missing: 1,
      notNumber: 1,
      examples: ['pk=u5,sk=5', 'pk=u6,sk=6'],
      readUnits: expect.any(Number),
    });
    expect((b.sample as VersionSample).readUnits).toBeGreaterThan(0);
    // AND only reads were sent
    expect([...new Set(sent)].sort()).toEqual([...READS].sort());
  });

  test('against DynamoDB Local alone, tags and backups are unread, with the reason', async () => {
    // GIVEN no stand-ins for the calls DynamoDB Local does not serve
    const lambda = new LambdaStandIn(() => []);
    // WHEN A is read
    const facts = byPlace(await gatherPreflight(model, sources({}, lambda), { tables: [A] }));
    // THEN its owner and point-in-time recovery say why they are unknown
    expect(facts[`${A}@${SOURCE}`].owner).toEqual({
      unread:
        'the endpoint does not serve ListTagsOfResource (Tagging is not currently supported in DynamoDB Local.)',
    });
    expect(facts[`${A}@${SOURCE}`].pitr).toEqual({
      unread: 'the endpoint does not serve DescribeContinuousBackups (An unknown operation was requested.)',
    });
    expect(Object.keys(facts)).toEqual([`${A}@${SOURCE}`, `${A}@${REPLICA}`]);
  });

  test('a kept local mirror’s tables are its own stacks’, and its replicators its streams’ readers', async () => {
    const local: GatherSources = {
      dynamo: (region) => standInClient(region),
      consumers: localMirrorConsumers({ replicators: [{ table: A, region: SOURCE }] }),
      owners: 'local-mirror',
    };
    const facts = byPlace(await gatherPreflight(model, local, { tables: [A] }));
    expect(facts[`${A}@${SOURCE}`]).toMatchObject({
      owner: 'DdbMirror-us-east-1',
      consumers: [{ name: `${A} replicator (local mirror)`, state: 'Enabled', mirror: true }],
    });
    expect(facts[`${A}@${REPLICA}`].tombstones).toEqual({ found: true, owner: 'DdbMirror-eu-west-1' });
  });

  test('a DescribeTable that is denied stops the plan, naming the action and the table', async () => {
    const lambda = new LambdaStandIn(() => []);
    const read = gatherPreflight(model, sources({ denyDescribe: [B] }, lambda), { tables: [B] });
    await expect(read).rejects.toThrow(OpsError);
    await expect(read).rejects.toThrow(
      `permission missing: dynamodb:DescribeTable on arn:aws:dynamodb:${SOURCE}:111122223333:table/${B}`,
    );
  });

  test('a denied mapping list is kept as unread, and the rest of the plan goes on', async () => {
    const denied = {
      send: async () => {
        throw Object.assign(
          new Error(
            'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: lambda:ListEventSourceMappings on resource: *',
          ),
          { name: 'AccessDeniedException' },
        );
      },
    };
    const facts = byPlace(
      await gatherPreflight(
        model,
        {
          dynamo: (r) => standInClient(r, { pitr: () => true }),
          consumers: lambdaConsumers(model, () => denied),
          owners: 'tags',
        },
        { tables: [A] },
      ),
    );
    expect(facts[`${A}@${SOURCE}`].consumers).toEqual({
      unread: 'permission missing: lambda:ListEventSourceMappings on *',
    });
    expect(facts[`${A}@${SOURCE}`].pitr).toBe(true);
  });
});
