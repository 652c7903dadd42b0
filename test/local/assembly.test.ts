import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { checkAssemblyTables, checkOneAccount, readAssembly } from '../../lib/local/assembly';
import { AssemblyError, LocalPlan } from '../../lib/local/plan';
import {
  cdkJsonContext,
  EXAMPLE_REGIONS,
  exampleModel,
  multiActiveTable,
  oneWayTable,
  region,
} from '../support/model-fixtures';

function synth(options: { bundle: boolean }, model = exampleModel()): string {
  const outdir = mkdtempSync(join(tmpdir(), 'ddbm-assembly-test-'));
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  buildApp(app, model, { nag: false });
  app.synth();
  return outdir;
}

describe('readAssembly on the synthesized example app', () => {
  let plan: LocalPlan;
  beforeAll(() => {
    plan = readAssembly(synth({ bundle: true }));
  });

  test('finds every region and both tables with their tombstone tables, keys and streams', () => {
    expect([...plan.regions].sort()).toEqual([...EXAMPLE_REGIONS].sort());
    for (const region of EXAMPLE_REGIONS) {
      const names = plan.tables.filter((t) => t.region === region).map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['Stories', 'Sessions', 'Sessions-ddbm-tombstones']));
    }
    const sessions = plan.tables.find((t) => t.name === 'Sessions' && t.region === 'eu-west-1')!;
    expect(sessions.key).toEqual({
      partitionKey: { name: 'userId', type: 'S' },
      sortKey: { name: 'sessionId', type: 'S' },
    });
    expect(sessions.streamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(sessions.ttlAttribute).toBe('expiresAt');
  });

  test('holds every table of the config it was synthesized from', () => {
    expect(() => checkAssemblyTables(plan, exampleModel().tables)).not.toThrow();
  });

  test('finds each function with its bundle, resolved environment and role policies', () => {
    // One-way: a replicator in the source only; multi-active: one per region.
    const replicators = plan.functions.filter(
      (f) => f.settings && plan.mappings.some((m) => m.functionName === f.name && m.source.kind === 'stream'),
    );
    expect(replicators.map((f) => `${f.settings!.table}@${f.region}`).sort()).toEqual(
      ['Sessions@ap-southeast-2', 'Sessions@eu-west-1', 'Sessions@us-east-1', 'Stories@us-east-1'].sort(),
    );
    for (const f of plan.functions) {
      expect(f.assetDir).toContain(plan.assemblyDir);
      expect(f.handler).toBe('index.handler');
      expect(Object.values(f.environment).join(' ')).not.toMatch(/Fn::|Ref|\$\{Token/);
      expect(f.policies.length).toBeGreaterThan(0);
    }
    const stories = replicators.find((f) => f.settings!.table === 'Stories')!;
    const queueUrls = stories.settings!.peers.map((p) => p.parkingQueueUrl);
    expect(queueUrls).toHaveLength(2);
    for (const url of queueUrls) expect(plan.queues.map((q) => q.url)).toContain(url);
    const statements = stories.policies.flatMap((p) => p.Statement);
    const resources = statements.flatMap((s) => [s.Resource ?? []].flat());
    expect(resources).toContain('arn:aws:dynamodb:eu-west-1:000000000000:table/Stories');
  });

  test('links every event source mapping to its table stream or queue, function and on-failure queue', () => {
    const streams = plan.mappings.filter((m) => m.source.kind === 'stream');
    expect(streams).toHaveLength(4);
    for (const m of streams) {
      expect(plan.functions.some((f) => f.name === m.functionName && f.region === m.region)).toBe(true);
      expect(m.onFailure?.arn).toMatch(/^arn:aws:sqs:/);
      expect(m.reportBatchItemFailures).toBe(true);
      expect(m.bisectBatchOnFunctionError).toBe(true);
      expect(m.maximumRetryAttempts).toBeGreaterThan(0);
      expect(m.onFailureDestination).toBe(m.onFailure!.arn);
    }
    const parked = plan.mappings.filter((m) => m.source.kind === 'queue');
    expect(parked.length).toBeGreaterThanOrEqual(4);
    for (const m of parked) expect(m.batchSize).toBe(10);
  });

  test('finds each divergence sampler with its settings and the schedule that invokes it', () => {
    const samplers = plan.functions.filter((f) => f.samplerSettings);
    expect(samplers.map((f) => `${f.samplerSettings!.table}@${f.region}`).sort()).toEqual(
      ['Sessions@ap-southeast-2', 'Sessions@eu-west-1', 'Sessions@us-east-1', 'Stories@us-east-1'].sort(),
    );
    expect(samplers.every((f) => !f.settings)).toBe(true);
    expect(plan.schedules).toHaveLength(samplers.length);
    for (const s of plan.schedules) {
      expect(s.expression).toMatch(/^rate\(\d+ minutes?\)$/);
      expect(s.enabled).toBe(true);
      const [target] = s.functionNames.map((n) => plan.functions.find((f) => f.name === n)!);
      expect(target.samplerSettings).toBeDefined();
      expect(target.region).toBe(s.region);
    }
  });

  test("reads each read-only replica's resource policy, resolved, and none elsewhere", () => {
    const withPolicy = plan.tables.filter((t) => t.resourcePolicy).map((t) => `${t.name}@${t.region}`);
    expect(withPolicy.sort()).toEqual(['Stories@ap-southeast-2', 'Stories@eu-west-1']);
    const text = JSON.stringify(plan.tables.find((t) => t.resourcePolicy)!.resourcePolicy);
    expect(text).toContain('arn:aws:iam::000000000000:role/');
    expect(text).not.toMatch(/Fn::|Ref|AWS::/);
  });

  test('names each table of another config that the assembly does not hold', () => {
    // GIVEN a config with a table the assembly lacks, a region it lacks and a key it does not have
    const tables = [
      oneWayTable({ name: 'Orders' }),
      multiActiveTable({ regions: ['us-east-1', 'sa-east-1'] }),
      oneWayTable({ key: { partitionKey: { name: 'id', type: 'N' } } }),
    ];
    // WHEN it is checked against the assembly THEN each mismatch is named
    expect(() => checkAssemblyTables(plan, tables)).toThrow(AssemblyError);
    expect(() => checkAssemblyTables(plan, tables)).toThrow(
      'does not match the config (synthesize it again from this config): ' +
        'table Orders is missing in us-east-1; table Orders-ddbm-tombstones is missing in us-east-1; ' +
        'table Orders is missing in eu-west-1; table Orders-ddbm-tombstones is missing in eu-west-1; ' +
        'table Orders is missing in ap-southeast-2; table Orders-ddbm-tombstones is missing in ap-southeast-2; ' +
        'table Sessions is missing in sa-east-1; table Sessions-ddbm-tombstones is missing in sa-east-1; ' +
        'table Stories in us-east-1 has key storyId (S), the config says id (N); ' +
        'table Stories in eu-west-1 has key storyId (S), the config says id (N); ' +
        'table Stories in ap-southeast-2 has key storyId (S), the config says id (N)',
    );
  });
});

describe('readAssembly errors', () => {
  test('names the missing manifest', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ddbm-empty-'));
    expect(() => readAssembly(empty)).toThrow(/manifest\.json is missing/);
  });

  test('names the function whose bundle is missing', () => {
    // GIVEN an assembly synthesized without bundling
    const dir = synth({ bundle: false });
    // WHEN it is read THEN the error names the function and what is missing
    expect(() => readAssembly(dir)).toThrow(AssemblyError);
    expect(() => readAssembly(dir)).toThrow(
      /function StoriesReplicator\w+: (handler index\.handler has no index\.js|asset \w+ is not in the assembly)/,
    );
  });
});

describe('the local mirror runs one account', () => {
  // us-east-1 and ap-southeast-2 in the mirror's account, eu-west-1 in another.
  const crossAccount = exampleModel({
    account: '111111111111',
    regions: EXAMPLE_REGIONS.map((r) => region(r, r === 'eu-west-1' ? { account: '222222222222' } : {})),
    // (an export backfill does not reach another account: the stacks refuse it)
    tables: exampleModel().tables.map((t) => ({ ...t, exportBackfill: undefined })),
  });

  test('a config across accounts is refused before synth, each account named with its regions', () => {
    // WHEN / THEN
    expect(() => checkOneAccount(crossAccount, 'cross.yaml')).toThrow(AssemblyError);
    expect(() => checkOneAccount(crossAccount, 'cross.yaml')).toThrow(
      'cross.yaml puts its regions in 2 accounts (111111111111: us-east-1, ap-southeast-2; 222222222222: eu-west-1); the local mirror runs one account',
    );
  });

  test('a config in one account, named or not, is accepted', () => {
    // THEN
    expect(() => checkOneAccount(exampleModel(), 'a.yaml')).not.toThrow();
    expect(() => checkOneAccount(exampleModel({ account: '111111111111' }), 'b.yaml')).not.toThrow();
  });

  test('an assembly synthesized from such a config (--assembly) is refused too', () => {
    // GIVEN
    const dir = synth({ bundle: false }, crossAccount);

    // WHEN / THEN
    expect(() => readAssembly(dir)).toThrow(/deploy to 2 accounts \(111111111111, 222222222222\)/);
  });
});
