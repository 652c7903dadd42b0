import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseCommand } from '../../cli/command';
import { plan, planCommand } from '../../cli/plan';
import { ControlServer } from '../../lib/local/control';
import { runCli } from '../support/ops-fixture';
import { LocalQueues } from '../../lib/local/local-queue';
import { createTable, uniqueName } from '../support/dynamo';
import {
  applicationTable,
  LambdaStandIn,
  mapping,
  RecordingProxy,
  standInClient,
  type DynamoStandIns,
} from '../support/preflight';

/**
 * `ddb-mirror plan` end to end on the test run's DynamoDB Local: the AWS path with stand-ins for Lambda
 * and for the calls DynamoDB Local does not serve (continuous backups, tags), and the local-mirror path
 * (--endpoint) through a control endpoint, behind a proxy that records every call reaching the engine.
 */

const SOURCE = 'us-east-1';
const REPLICA = 'eu-west-1';
const PK = { partitionKey: { name: 'pk', type: 'S' } } as const;
const READS = new Set(['DescribeTable', 'ListTagsOfResource', 'DescribeContinuousBackups', 'Scan']);

/** A config file with the two regions and these tables (YAML flow mappings). */
function configWith(tables: readonly string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ddbm-plan-')), 'mirror.config.yaml');
  writeFileSync(
    path,
    [
      'regions:',
      `  ${SOURCE}: { endpoint: { hostname: a.example.com } }`,
      `  ${REPLICA}: { endpoint: { hostname: b.example.com } }`,
      'tables:',
      ...tables.map((t) => `  - ${t}`),
      '',
    ].join('\n'),
  );
  return path;
}

const oneWay = (name: string, extra = '') =>
  `{ name: ${name}, partitionKey: { name: pk, type: S }, mode: one-way, source: ${SOURCE}, replicas: [${REPLICA}]${extra} }`;
const multiActive = (name: string, extra = '') =>
  `{ name: ${name}, partitionKey: { name: pk, type: S }, mode: multi-active, regions: [${SOURCE}, ${REPLICA}]${extra} }`;

interface Run {
  readonly code: number;
  readonly out: string;
}

/** `ddb-mirror plan ARGV` in-process, with the stand-ins. */
async function runPlan(
  argv: readonly string[],
  standIns: DynamoStandIns = {},
  lambda = new LambdaStandIn(() => []),
): Promise<Run> {
  let out = '';
  const io = {
    out: { write: (c: string) => ((out += c), true) } as unknown as NodeJS.WriteStream,
    err: { write: () => true } as unknown as NodeJS.WriteStream,
    cwd: process.cwd(),
  };
  const clients = new Map<string, DynamoDBClient>();
  const dynamo = (region: string) => {
    if (!clients.has(region)) clients.set(region, standInClient(region, standIns));
    return clients.get(region)!;
  };
  try {
    const code = await plan(parseCommand(planCommand, argv), io, {
      dynamo,
      lambda: (region) => lambda.forRegion(region),
    });
    return { code, out };
  } finally {
    clients.forEach((c) => c.destroy());
  }
}

describe('ddb-mirror plan', () => {
  test('a config the account is ready for exits 0 and says so', async () => {
    // GIVEN an adopted one-way source with its items, one other stream reader and recovery on, and an
    // adopted multi-active table whose items carry their version (no stream yet: the deploy enables it)
    const stories = uniqueName('PlanReady');
    const sessions = uniqueName('PlanReadyMa');
    const streamArn = await applicationTable(SOURCE, stories, PK, {
      stream: 'NEW_AND_OLD_IMAGES',
      items: ['a', 'b', 'c', 'd'].map((k) => ({ pk: { S: k }, body: { S: 'x'.repeat(1500) } })),
    });
    await applicationTable(SOURCE, sessions, PK, {
      items: [1, 2, 3].map((n) => ({ pk: { S: `u${n}` }, version: { N: String(n) } })),
    });
    const config = configWith([
      oneWay(stories, `, existing: [${SOURCE}], exportBackfill: {}`),
      multiActive(sessions, `, existing: [${SOURCE}]`),
    ]);
    const lambda = new LambdaStandIn((region, arn) =>
      arn === streamArn ? [mapping(region, 'audit-log', arn)] : [],
    );
    // WHEN planned
    const run = await runPlan(['--config', config], { pitr: () => true, stack: () => null }, lambda);
    // THEN it exits 0: one row per table and region, the backfill estimate and the sample, and "Ready"
    expect(run.code).toBe(0);
    const lines = run.out.split('\n');
    expect(lines[0]).toBe(`Plan for ${config} against AWS`);
    const row = (table: string, region: string) =>
      lines.find((l) => l.startsWith(`${table} `) && l.includes(region));
    expect(row(stories, SOURCE)).toMatch(
      / adopt\s+ok\s+on-demand\s+NEW_AND_OLD_IMAGES\s+1\+1\s+on\s+4\s+\S+ kB$/,
    );
    expect(row(stories, REPLICA)).toMatch(/ create \(no table\)(\s+–){7}$/);
    expect(row(sessions, SOURCE)).toMatch(/ adopt\s+ok\s+on-demand\s+off\s+0\+1\s+on\s+3\s+\S+ B$/);
    expect(run.out).toContain(
      `  ${stories} us-east-1: backfill from here: 8 write units to 1 target (4 items of `,
    );
    expect(run.out).toContain('at 1,000/s (exportBackfill)');
    expect(run.out).toMatch(
      new RegExp(
        `  ${sessions} us-east-1: backfill from here: .*; sample: 3 items, every one with a numeric version, [\\d.]+ read units`,
      ),
    );
    expect(run.out).not.toContain('Blockers');
    expect(lines.at(-2)).toBe('Ready: nothing blocks a deploy or a backfill.');
  });

  // Each case: a table (its config entry), what is made in the account first, and the check that blocks.
  const blockers: {
    readonly check: string;
    readonly entry: (name: string) => string;
    readonly setup: (name: string) => Promise<unknown>;
    readonly standIns?: DynamoStandIns;
    readonly consumers?: readonly string[];
  }[] = [
    {
      check: 'adopted-missing',
      entry: (n) => oneWay(n, `, existing: [${REPLICA}]`),
      setup: async () => undefined,
    },
    {
      check: 'already-exists',
      entry: (n) => oneWay(n),
      setup: (n) => applicationTable(SOURCE, n, PK),
      standIns: { stack: () => null },
    },
    {
      check: 'tombstones-exist',
      entry: (n) => oneWay(n),
      setup: (n) => createTable(REPLICA, `${n}-ddbm-tombstones`, PK, { withStream: false }),
      standIns: { stack: () => null },
    },
    {
      check: 'key-schema',
      entry: (n) => oneWay(n, `, existing: [${SOURCE}]`),
      setup: (n) => applicationTable(SOURCE, n, { partitionKey: { name: 'id', type: 'N' } }),
    },
    {
      check: 'stream-view',
      entry: (n) => oneWay(n, `, existing: [${SOURCE}]`),
      setup: (n) => applicationTable(SOURCE, n, PK, { stream: 'KEYS_ONLY' }),
    },
    {
      check: 'stream-readers',
      entry: (n) => oneWay(n, `, existing: [${SOURCE}], divergenceSampling: {}`),
      setup: (n) => applicationTable(SOURCE, n, PK, { stream: 'NEW_AND_OLD_IMAGES' }),
      consumers: ['search-indexer'],
    },
    {
      check: 'point-in-time-recovery',
      entry: (n) => oneWay(n, `, existing: [${SOURCE}], exportBackfill: {}`),
      setup: (n) => applicationTable(SOURCE, n, PK),
      standIns: { pitr: () => false },
    },
    {
      check: 'version-contract',
      entry: (n) => multiActive(n, `, existing: [${SOURCE}]`),
      setup: (n) => applicationTable(SOURCE, n, PK, { items: [{ pk: { S: 'legacy' } }] }),
    },
  ];

  test.each(blockers.map((b) => [b.check, b] as const))(
    'the %s blocker exits 1, naming the table, region, check and its fix',
    async (check, b) => {
      // GIVEN a table of the config in that state
      const name = uniqueName('PlanBlock');
      await b.setup(name);
      const config = configWith([b.entry(name)]);
      const lambda = new LambdaStandIn((region, arn) =>
        (b.consumers ?? []).map((c) => mapping(region, c, arn)),
      );
      // WHEN planned
      const run = await runPlan(['--config', config], { pitr: () => true, ...b.standIns }, lambda);
      // THEN it exits 1 with exactly that blocker and its fix
      expect(run.code).toBe(1);
      const listed = run.out.split('\n');
      const at = listed.findIndex((l) => l === 'Blockers (1):');
      expect(at).toBeGreaterThan(0);
      expect(listed[at + 1]).toMatch(new RegExp(`^  ${name} (us-east-1|eu-west-1) \\[${check}\\]: `));
      expect(listed[at + 2]).toMatch(/^ {4}fix: \S/);
      expect(listed.at(-2)).toBe('Not ready: 1 blocker.');
    },
  );

  test('--json prints the report as one JSON document, with the same exit code', async () => {
    // GIVEN one table adopted in a region where it is missing, and nothing else
    const name = uniqueName('PlanJson');
    const config = configWith([oneWay(name, `, existing: [${REPLICA}]`)]);
    // WHEN planned with --json
    const run = await runPlan(['--config', config, '--json']);
    // THEN stdout is the report: rows, blockers with their fixes, warnings, the samples' read units
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toEqual({
      config,
      against: 'aws',
      ready: false,
      rows: [
        { table: name, region: SOURCE, intent: 'create', exists: false, verdict: 'ready' },
        { table: name, region: REPLICA, intent: 'adopt', exists: false, verdict: 'blocked' },
      ],
      blockers: [
        {
          table: name,
          region: REPLICA,
          check: 'adopted-missing',
          message: `${name} is adopted in ${REPLICA} (existing), but no table of that name is there`,
          fix: `create the table in ${REPLICA} first, or remove ${REPLICA} from existing so that the deploy creates it`,
        },
      ],
      warnings: [],
      changes: [],
      sampleReadUnits: 0,
    });
  });

  test('against a kept local mirror it only reads: no write reaches the engine', async () => {
    // GIVEN tables as the local mirror makes them (the mirror's stacks' own), a control endpoint in front
    // of a proxy that records every call reaching DynamoDB Local, and the mirror's replicators
    const stories = uniqueName('PlanLocal');
    const sessions = uniqueName('PlanLocalMa');
    for (const region of [SOURCE, REPLICA]) {
      await applicationTable(region, stories, PK, { stream: 'NEW_AND_OLD_IMAGES' });
      await createTable(region, `${stories}-ddbm-tombstones`, PK, { withStream: false });
      await applicationTable(region, sessions, PK, {
        stream: 'NEW_AND_OLD_IMAGES',
        items: [{ pk: { S: 'u1' }, version: { N: '1' } }],
      });
      await createTable(region, `${sessions}-ddbm-tombstones`, PK, { withStream: false });
    }
    const config = configWith([oneWay(stories), multiActive(sessions)]);
    const proxy = await RecordingProxy.start();
    const control = await ControlServer.start({
      dynamoEndpoint: proxy.endpoint,
      queues: new LocalQueues(),
      accessKeyId: 'local',
      status: () => ({
        at: new Date().toISOString(),
        pairs: [],
        replicators: [
          { table: stories, region: SOURCE, backlog: { records: 0 } },
          { table: sessions, region: SOURCE, backlog: { records: 0 } },
          { table: sessions, region: REPLICA, backlog: { records: 0 } },
        ],
        errors: [],
      }),
    });
    try {
      // WHEN `ddb-mirror plan` runs against it
      const { code, out } = await runCli(['plan', '--config', config, '--endpoint', control.endpoint]);
      // THEN every table is the mirror's own, its replicators the only readers, and nothing blocks
      expect(code).toBe(0);
      expect(out.split('\n')[0]).toBe(`Plan for ${config} against the local mirror at ${control.endpoint}`);
      expect(out).toMatch(
        new RegExp(
          `^${stories}\\s+us-east-1\\s+deployed\\s+ok\\s+on-demand\\s+NEW_AND_OLD_IMAGES\\s+0\\+1`,
          'm',
        ),
      );
      expect(out).toMatch(
        new RegExp(
          `^${sessions}\\s+eu-west-1\\s+deployed\\s+ok\\s+on-demand\\s+NEW_AND_OLD_IMAGES\\s+0\\+1`,
          'm',
        ),
      );
      // AND the engine saw reads only: the descriptions, the samples, and the two calls it does not serve
      expect(proxy.operations.filter((o) => !READS.has(o))).toEqual([]);
      expect(proxy.operations.filter((o) => o === 'Scan')).toHaveLength(2);
      expect(proxy.operations.filter((o) => o === 'DescribeTable')).toHaveLength(8);
    } finally {
      await control.stop();
      await proxy.stop();
    }
  });

  test('against a DynamoDB Local no mirror runs on, it plans the first deploy and only reads', async () => {
    // GIVEN on the engine itself (no control endpoint): an existing multi-active table with no stream
    // whose items keep no version, adopted under last-writer-wins, and a one-way replica already there
    // that the config does not adopt; a proxy records every call reaching the engine
    const sessions = uniqueName('PlanBare');
    const stories = uniqueName('PlanBareInWay');
    await applicationTable(SOURCE, sessions, PK, { items: [{ pk: { S: 'u1' }, note: { S: 'no version' } }] });
    await applicationTable(REPLICA, stories, PK);
    const config = configWith([
      multiActive(sessions, `, existing: [${SOURCE}], conflicts: last-writer-wins`),
      oneWay(stories),
    ]);
    const proxy = await RecordingProxy.start();
    try {
      // WHEN `ddb-mirror plan --endpoint` names the engine
      const { code, out } = await runCli(['plan', '--config', config, '--endpoint', proxy.endpoint]);
      // THEN it says what it read, adopts the table (the deploy enables its stream), creates the others,
      // and blocks on the replica in the way
      expect(code).toBe(1);
      expect(out.split('\n')[0]).toBe(
        `Plan for ${config} against DynamoDB at ${proxy.endpoint} (no local mirror runs there)`,
      );
      expect(out).toMatch(new RegExp(`^${sessions}\\s+us-east-1\\s+adopt\\s+ok\\s+on-demand\\s+off\\s`, 'm'));
      expect(out).toMatch(new RegExp(`^${sessions}\\s+eu-west-1\\s+create \\(no table\\)`, 'm'));
      expect(out).toContain(
        `  ${sessions} us-east-1: no stream: the deploy enables one with NEW_AND_OLD_IMAGES`,
      );
      expect(out).toMatch(new RegExp(`^  ${stories} eu-west-1 \\[already-exists\\]: `, 'm'));
      expect(out).not.toContain('[version-contract]');
      // AND the engine saw reads only (and the one GET that told it from a control endpoint)
      expect(proxy.operations.filter((o) => o !== '?' && !READS.has(o))).toEqual([]);
      expect(proxy.operations.filter((o) => o === '?')).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });
});
