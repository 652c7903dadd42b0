import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { UsageError } from '../../cli/command';
import { OpsError } from '../../cli/ops';
import { verifyDeployedArgsOf } from '../../cli/verify';
import { runVerifyDeployed, type DeployedClients } from '../../cli/verify-deployed';
import { planFor } from '../../lambda/anti-entropy/plan';
import type { RunSummary } from '../../lambda/anti-entropy/steps';

/**
 * `ddb-mirror verify --deployed`: its options checked against the config, and the calls it makes (the
 * hash phase started in every region with one plan, followed, then the compare phase in the comparing
 * region) against stand-in Step Functions and DynamoDB clients.
 */

const [US, EU, AP] = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddbm-verify-deployed-'));
  writeFileSync(
    join(dir, 'mirror.config.yaml'),
    [
      'regions:',
      ...[US, EU, AP].map((r) => `  ${r}: { endpoint: { hostname: ${r}.example.com } }`),
      'tables:',
      `  - { name: Big, partitionKey: { name: pk, type: S }, mode: one-way, source: ${US}, replicas: [${EU}, ${AP}], antiEntropy: {} }`,
      `  - { name: NoPitr, partitionKey: { name: pk, type: S }, mode: multi-active, regions: [${EU}, ${US}], pointInTimeRecovery: false, antiEntropy: {} }`,
      `  - { name: Plain, partitionKey: { name: pk, type: S }, mode: one-way, source: ${US}, replicas: [${EU}] }`,
      '',
    ].join('\n'),
  );
  return dir;
}

function capture() {
  const out: string[] = [];
  const stream = (sink: string[]) => ({ write: (s: string) => sink.push(s) > 0, isTTY: false }) as never;
  return { io: { out: stream(out), err: stream([]), cwd: '.' }, out: () => out.join('') };
}

type Answers = Record<string, unknown[]>;

/** Per region, answers each command by its name, in order for repeated ones; records every call. */
function stand(answers: Record<string, Answers>, items: Record<string, number>) {
  const calls: string[] = [];
  const sender = (region: string, byName: Answers) => ({
    send: async (command: object) => {
      const name = command.constructor.name;
      const input = (command as { input: Record<string, unknown> }).input;
      calls.push(`${region} ${name} ${JSON.stringify(input)}`);
      if (name === 'DescribeTableCommand')
        return { Table: { ItemCount: items[region], TableSizeBytes: items[region] * 1000 } };
      const list = byName[name] ?? [];
      if (!list.length) throw new Error(`unexpected ${name} in ${region}`);
      return list.length > 1 ? list.shift() : list[0];
    },
  });
  const clients: DeployedClients = {
    sfn: (r) => sender(r, answers[r] ?? {}),
    dynamo: (r) => sender(r, {}),
  };
  return { clients, calls };
}

const machine = (table: string, region: string) => ({
  stateMachines: [
    { name: `ddbm-${table}-${region}-verify`, stateMachineArn: `arn:${region}:${table}:verify` },
  ],
});

function summary(o: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'x',
    partitions: 1,
    partitionsCompared: 1,
    compared: 2_000_001,
    items: { [US]: 2_000_000, [EU]: 1_999_999, [AP]: 2_000_001 },
    candidates: 2,
    inFlight: 0,
    notReread: 0,
    divergent: 2,
    byKind: { missing: 1, only: 1, differing: 0 },
    keys: [
      { key: '{"pk":{"S":"a"}}', kind: 'missing', regions: [EU] },
      { key: '{"pk":{"S":"b"}}', kind: 'only', regions: [AP] },
    ],
    levels: [{ buckets: 32768, differing: 2 }],
    readBytes: { [US]: 900_000, [EU]: 400_000, [AP]: 400_000 },
    ...o,
  };
}

const hashRegion = (table: string, region: string, status = 'SUCCEEDED') => ({
  ListStateMachinesCommand: [machine(table, region)],
  StartExecutionCommand: [{ executionArn: `arn:${region}:hash` }, { executionArn: `arn:${region}:compare` }],
  DescribeExecutionCommand: [{ status: 'RUNNING' }, { status }],
  ListMapRunsCommand: [{ mapRuns: [{ mapRunArn: `arn:${region}:maprun` }] }],
  DescribeMapRunCommand: [{ itemCounts: { total: 8, succeeded: 8, failed: 0 } }],
});

describe('verify --deployed: options', () => {
  const dir = configDir();

  test('names every problem at once: local-only options, a table without antiEntropy', () => {
    const args = () =>
      verifyDeployedArgsOf({ deployed: true, table: 'Plain', regions: [EU], sample: '0.5', full: true }, dir);
    expect(args).toThrow(UsageError);
    expect(args).toThrow(/--regions is for the local verify/);
    expect(args).toThrow(/--sample is for the local verify/);
    expect(args).toThrow(/--full is for the local verify/);
    expect(args).toThrow(/--deployed needs antiEntropy on Plain in the config/);
  });

  test('hashes from the export when point-in-time recovery is on, unless --scan; by Scan when it is off', () => {
    expect(verifyDeployedArgsOf({ deployed: true, table: 'Big' }, dir)).toMatchObject({
      source: 'export',
      home: US,
      regions: [US, EU, AP],
      repair: false,
    });
    expect(
      verifyDeployedArgsOf({ deployed: true, table: 'Big', scan: true, repair: true }, dir),
    ).toMatchObject({
      source: 'scan',
      repair: true,
    });
    expect(verifyDeployedArgsOf({ deployed: true, table: 'NoPitr', segments: '16' }, dir)).toMatchObject({
      source: 'scan',
      home: EU,
      segments: 16,
    });
  });
});

describe('verify --deployed: the runs', () => {
  const dir = configDir();
  const items = { [US]: 2_000_000, [EU]: 1_999_999, [AP]: 2_000_001 };

  test('starts the hash phase in every region with one plan, then the comparison at the source, and prints what differs', async () => {
    // GIVEN deployed state machines whose hash runs succeed, and a comparison that finds two keys
    const answers = {
      [US]: {
        ...hashRegion('Big', US),
        DescribeExecutionCommand: [
          { status: 'RUNNING' },
          { status: 'SUCCEEDED' },
          { status: 'SUCCEEDED', output: JSON.stringify(summary()) },
        ],
      },
      [EU]: hashRegion('Big', EU),
      [AP]: hashRegion('Big', AP),
    };
    const { clients, calls } = stand(answers, items);
    const c = capture();
    // WHEN run with --scan and 8 segments
    const code = await runVerifyDeployed(
      verifyDeployedArgsOf({ deployed: true, table: 'Big', scan: true, segments: '8' }, dir),
      clients,
      c.io,
      0,
    );
    // THEN each region got one hash execution with the plan of the largest region, and only the source compared
    const starts = calls.filter((x) => x.includes('StartExecutionCommand'));
    expect(starts).toHaveLength(4);
    const hashInputs = starts.slice(0, 3).map((x) => JSON.parse(JSON.parse(x.slice(x.indexOf('{'))).input));
    for (const input of hashInputs)
      expect(input).toMatchObject({
        phase: 'hash',
        source: 'scan',
        plan: planFor(2_000_001),
        totalSegments: 8,
      });
    expect(hashInputs[0].segments).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(hashInputs[0].partitions).toHaveLength(2 ** planFor(2_000_001).partitionBits);
    expect(starts[3]).toMatch(
      new RegExp(`^${US} StartExecutionCommand .*"phase\\\\":\\\\"compare\\\\".*"repair\\\\":false`),
    );
    // AND it prints the keys found, the fix, and what crossed regions; exit code 1
    expect(code).toBe(1);
    expect(c.out()).toContain(
      '✘ 2 divergent keys: 1 missing in a region, 1 present only in a region, 0 differing',
    );
    expect(c.out()).toContain(`{"pk":{"S":"a"}}  missing in ${EU}`);
    expect(c.out()).toContain('npx ddb-mirror verify --table Big --deployed --repair');
    expect(c.out()).toMatch(
      /across regions: 800 kB of hashes read into us-east-1 for 2.00 GB of table \(400 kB per GB\)/,
    );
  });

  test('with --repair, summarises in JSON and exits 0 when nothing is left', async () => {
    const repaired = summary({
      repair: { partitions: 1, keys: 2, counts: { applied: 3 }, skipped: 0, remaining: 0, remainingKeys: [] },
    });
    const answers = {
      [US]: {
        ...hashRegion('Big', US),
        DescribeExecutionCommand: [
          { status: 'SUCCEEDED' },
          { status: 'SUCCEEDED', output: JSON.stringify(repaired) },
        ],
      },
      [EU]: hashRegion('Big', EU),
      [AP]: hashRegion('Big', AP),
    };
    const { clients, calls } = stand(answers, items);
    const c = capture();
    const code = await runVerifyDeployed(
      verifyDeployedArgsOf({ deployed: true, table: 'Big', repair: true, json: true }, dir),
      clients,
      c.io,
      0,
    );
    expect(code).toBe(0);
    expect(calls.filter((x) => x.includes('"phase\\":\\"compare\\"'))[0]).toContain('"repair\\":true');
    expect(JSON.parse(c.out())).toMatchObject({
      command: 'verify',
      deployed: true,
      status: 'repaired',
      source: 'export',
      run: { divergent: 2, repair: { remaining: 0 } },
      crossRegionBytes: 800_000,
    });
  });

  test('a region whose hash run fails fails the verify, and no comparison starts', async () => {
    const answers = {
      [US]: hashRegion('Big', US),
      [EU]: hashRegion('Big', EU, 'FAILED'),
      [AP]: hashRegion('Big', AP),
    };
    const { clients, calls } = stand(answers, items);
    const c = capture();
    const code = await runVerifyDeployed(
      verifyDeployedArgsOf({ deployed: true, table: 'Big' }, dir),
      clients,
      c.io,
      0,
    );
    expect(code).toBe(1);
    expect(calls.filter((x) => x.includes('"phase\\":\\"compare\\"'))).toEqual([]);
    expect(c.out()).toContain(`✘ Verify failed: hash in ${EU}: FAILED`);
  });

  test('names the state machine that is not deployed', async () => {
    const answers = {
      [US]: { ListStateMachinesCommand: [{ stateMachines: [] }] },
      [EU]: hashRegion('Big', EU),
      [AP]: hashRegion('Big', AP),
    };
    const { clients } = stand(answers, items);
    const run = runVerifyDeployed(
      verifyDeployedArgsOf({ deployed: true, table: 'Big' }, dir),
      clients,
      capture().io,
      0,
    );
    await expect(run).rejects.toThrow(OpsError);
    await expect(run).rejects.toThrow(`no state machine ddbm-Big-${US}-verify in ${US}`);
  });
});
