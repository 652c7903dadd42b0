import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import YAML from 'yaml';
import type { TableModel } from '../../lib/config/model';
import { adoptionConfig, adoptionHooks, type AdoptionReport } from '../../lib/local/adoption';
import { readAssembly } from '../../lib/local/assembly';
import { runLocalMirror, type RunResult } from '../../lib/local/mirror';
import { synthesize } from '../../lib/local/synth';
import { entityKey } from '../../lib/local/workload';
import { client, uniqueName } from '../support/dynamo';

/**
 * `ddb-mirror start --adopt`, end to end on the test run's DynamoDB Local: tables that exist with items
 * before the mirror (one without a stream), adopted through the real adopt function bundle, replicated,
 * backfilled and verified. What the CLI runs, with the run's files in a temporary directory.
 */
describe('adopting existing tables on the local mirror', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ddbm-adopt-'));
  // Fresh names: DynamoDB Local keeps the stream records of deleted tables (docs/platform.md#dynamodb-local).
  const stories = uniqueName('AdoptStories');
  const sessions = uniqueName('AdoptSessions');
  const lines: string[] = [];
  const report: AdoptionReport = { seeded: [], backfills: [] };
  let tables: readonly TableModel[];
  let result: RunResult;

  beforeAll(async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    if (!endpoint) throw new Error('jest global setup did not start DynamoDB Local');
    // GIVEN a config that names no existing tables: the demo adopts each in its first region
    const configPath = join(dir, 'mirror.config.yaml');
    writeFileSync(
      configPath,
      YAML.stringify({
        regions: {
          'us-east-1': { endpoint: { hostname: 'us-east-1.app.example.com' } },
          'eu-west-1': { endpoint: { hostname: 'eu-west-1.app.example.com' } },
        },
        tables: [
          {
            name: stories,
            partitionKey: { name: 'storyId', type: 'S' },
            mode: 'one-way',
            source: 'us-east-1',
            replicas: ['eu-west-1'],
          },
          {
            name: sessions,
            partitionKey: { name: 'sessionId', type: 'S' },
            mode: 'multi-active',
            regions: ['eu-west-1', 'us-east-1'],
          },
        ],
      }),
    );
    const config = adoptionConfig(configPath, join(dir, 'adopt.config.yaml'));
    tables = config.model.tables;
    const plan = readAssembly(
      await synthesize({
        configPath: config.path,
        outdir: join(dir, 'cdk.out'),
        cwd: join(__dirname, '..', '..'),
      }),
    );
    // WHEN the mirror runs with the demo's hooks (seed before the tables, backfill before the workload)
    result = await runLocalMirror({
      plan,
      tables,
      endpoint,
      hooks: adoptionHooks(plan, tables, report, { items: 30 }),
      workload: { seed: 7, rate: 20, durationSeconds: 3 },
      outDir: join(dir, 'run'),
      out: { write: (c: string) => lines.push(c), isTTY: false },
      drainTimeoutMs: 30000,
    });
  }, 120000);

  test('adopts each table in its first region, keeping the rest of the config', () => {
    const written = YAML.parse(readFileSync(join(dir, 'adopt.config.yaml'), 'utf8'));
    expect(written.tables.map((t: { existing: string[] }) => t.existing)).toEqual([
      ['us-east-1'],
      ['eu-west-1'],
    ]);
    expect(tables.map((t) => t.existing)).toEqual([['us-east-1'], ['eu-west-1']]);
  });

  test('found the tables with their items, one without a stream, and enabled NEW_AND_OLD_IMAGES on it', async () => {
    expect(report.seeded).toEqual([
      { table: stories, region: 'us-east-1', items: 30, stream: false },
      { table: sessions, region: 'eu-west-1', items: 30, stream: true },
    ]);
    const text = lines.join('');
    expect(text).toContain(
      `✓ adopted the existing table ${stories} in us-east-1: enabled its NEW_AND_OLD_IMAGES stream`,
    );
    expect(text).toContain(
      `✓ adopted the existing table ${sessions} in eu-west-1: its NEW_AND_OLD_IMAGES stream was there already`,
    );
    // and said, for each, that its earlier items reach the other region only by a backfill
    for (const [name, region] of [
      [stories, 'us-east-1'],
      [sessions, 'eu-west-1'],
    ])
      expect(text).toContain(
        `it holds items from before the mirror: the other regions get them from \`ddb-mirror backfill --table ${name} --from ${region}\``,
      );
    const described = await client('us-east-1').send(new DescribeTableCommand({ TableName: stories }));
    expect(described.Table?.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
  });

  test('backfilled every item that was there before the mirror to the other region', async () => {
    expect(
      report.backfills.map((b) => [
        b.table,
        b.from,
        b.targets,
        b.complete,
        b.counts.scanned,
        b.counts.failed,
      ]),
    ).toEqual([
      [stories, 'us-east-1', ['eu-west-1'], true, 30, 0],
      [sessions, 'eu-west-1', ['us-east-1'], true, 30, 0],
    ]);
    // An item written before the mirror is in the replica, as written.
    const key = entityKey(tables[0], 9001);
    const copy = await client('eu-west-1').send(
      new GetItemCommand({ TableName: stories, Key: key, ConsistentRead: true }),
    );
    expect(copy.Item?.note).toEqual({ S: 'written in us-east-1 before the mirror' });
  });

  test('ends with both regions holding the same items, no IAM denial, the workload replicated', () => {
    expect(result.denials.map((d) => d.message)).toEqual([]);
    expect(result.report.verification?.tables.flatMap((t) => t.divergent)).toEqual([]);
    expect(result.report.divergentKeys).toBe(0);
    expect(result.report.workload?.writes).toBeGreaterThan(0);
    expect(result.report.pairs.filter((p) => p.applied + p.deferred === 0)).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
