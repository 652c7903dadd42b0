import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runDeployed, type SfnSender } from '../../cli/backfill-deployed';
import { deployedArgs } from '../../cli/backfill';
import { UsageError } from '../../cli/command';
import { OpsError } from '../../cli/ops';

/**
 * `ddb-mirror backfill --deployed`: its options checked against the config, and the Step Functions calls
 * it makes (start the table's state machine, follow the execution and its Map run) against a stand-in.
 */

const [US, EU] = ['us-east-1', 'eu-west-1'];

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddbm-deployed-'));
  writeFileSync(
    join(dir, 'mirror.config.yaml'),
    [
      'regions:',
      `  ${US}: { endpoint: { hostname: us.example.com } }`,
      `  ${EU}: { endpoint: { hostname: eu.example.com } }`,
      'tables:',
      `  - { name: Big, partitionKey: { name: pk, type: S }, mode: one-way, source: ${US}, replicas: [${EU}], exportBackfill: {} }`,
      `  - { name: Multi, partitionKey: { name: pk, type: S }, mode: multi-active, regions: [${US}, ${EU}], exportBackfill: {} }`,
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

/** Answers each command by its name, in order for repeated ones; records every call. */
function stubSfn(answers: Record<string, unknown[]>): SfnSender & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    send: async (command: object) => {
      const name = command.constructor.name;
      calls.push(`${name} ${JSON.stringify((command as { input: unknown }).input)}`);
      const list = answers[name] ?? [];
      if (!list.length) throw new Error(`unexpected ${name}`);
      return list.length > 1 ? list.shift() : list[0];
    },
  };
}

describe('backfill --deployed: options', () => {
  const dir = configDir();

  test('names every problem: local-only options, a table without exportBackfill', () => {
    // WHEN --deployed is combined with local options on a table that has no export backfill
    const args = () =>
      deployedArgs(
        { deployed: true, table: 'Plain', to: [EU], segments: '8', config: 'mirror.config.yaml' },
        dir,
      );
    // THEN one usage error names each problem
    expect(args).toThrow(UsageError);
    expect(args).toThrow(/--to is for the local backfill/);
    expect(args).toThrow(/--segments is for the local backfill/);
    expect(args).toThrow(/--deployed needs exportBackfill on Plain in the config/);
  });

  test('needs --from for a multi-active table, and refuses a one-way replica', () => {
    expect(() => deployedArgs({ deployed: true, table: 'Multi' }, dir)).toThrow(
      /--from is required for the multi-active table Multi/,
    );
    expect(() => deployedArgs({ deployed: true, table: 'Big', from: EU }, dir)).toThrow(
      /--from "eu-west-1" is a replica/,
    );
  });

  test('defaults to the source of a one-way table', () => {
    expect(deployedArgs({ deployed: true, table: 'Big', json: true }, dir)).toMatchObject({
      from: US,
      json: true,
      table: { name: 'Big' },
    });
  });
});

describe('backfill --deployed: the Step Functions calls', () => {
  const dir = configDir();
  const machine = `arn:aws:states:${US}:123456789012:stateMachine:ddbm-Big-${US}-backfill`;

  test('starts the table state machine, follows the export then the Map run, and summarises in JSON', async () => {
    // GIVEN a deployed state machine whose execution exports, then applies 3 files, then succeeds
    const sfn = stubSfn({
      ListStateMachinesCommand: [
        { stateMachines: [{ name: 'other', stateMachineArn: 'arn:other' }], nextToken: 'p2' },
        { stateMachines: [{ name: `ddbm-Big-${US}-backfill`, stateMachineArn: machine }] },
      ],
      StartExecutionCommand: [{ executionArn: 'arn:exec' }],
      DescribeExecutionCommand: [{ status: 'RUNNING' }, { status: 'RUNNING' }, { status: 'SUCCEEDED' }],
      ListMapRunsCommand: [{ mapRuns: [] }, { mapRuns: [{ mapRunArn: 'arn:maprun' }] }],
      DescribeMapRunCommand: [{ itemCounts: { total: 3, succeeded: 3, failed: 0, running: 0, pending: 0 } }],
    });
    const c = capture();
    // WHEN it runs with --json
    const code = await runDeployed(
      deployedArgs({ deployed: true, table: 'Big', json: true }, dir),
      sfn,
      c.io,
      0,
    );
    // THEN it found the machine on the second page, started it once, and reports the files
    expect(code).toBe(0);
    expect(sfn.calls.filter((x) => x.startsWith('StartExecutionCommand'))).toEqual([
      expect.stringContaining(`"stateMachineArn":"${machine}"`),
    ]);
    expect(JSON.parse(c.out())).toMatchObject({
      command: 'backfill',
      deployed: true,
      table: 'Big',
      from: US,
      execution: 'arn:exec',
      status: 'SUCCEEDED',
      files: { total: 3, succeeded: 3, failed: 0 },
    });
  });

  test('exits 1 with the cause when the execution fails', async () => {
    const sfn = stubSfn({
      ListStateMachinesCommand: [
        { stateMachines: [{ name: `ddbm-Big-${US}-backfill`, stateMachineArn: machine }] },
      ],
      StartExecutionCommand: [{ executionArn: 'arn:exec' }],
      DescribeExecutionCommand: [
        { status: 'FAILED', error: 'FilesFailed', cause: 'Some export files had items that failed' },
      ],
      ListMapRunsCommand: [{ mapRuns: [{ mapRunArn: 'arn:maprun' }] }],
      DescribeMapRunCommand: [{ itemCounts: { total: 4, succeeded: 3, failed: 1 } }],
    });
    const c = capture();
    const code = await runDeployed(deployedArgs({ deployed: true, table: 'Big' }, dir), sfn, c.io, 0);
    expect(code).toBe(1);
    expect(c.out()).toContain('✘ Backfill failed: 3 of 4 export files applied, 1 failed');
    expect(c.out()).toContain('FilesFailed: Some export files had items that failed');
  });

  test('says how to deploy when the state machine is not there', async () => {
    const sfn = stubSfn({ ListStateMachinesCommand: [{ stateMachines: [] }] });
    await expect(
      runDeployed(deployedArgs({ deployed: true, table: 'Big' }, dir), sfn, capture().io, 0),
    ).rejects.toThrow(OpsError);
    await expect(
      runDeployed(deployedArgs({ deployed: true, table: 'Big' }, dir), sfn, capture().io, 0),
    ).rejects.toThrow(/no state machine ddbm-Big-us-east-1-backfill in us-east-1: deploy the stacks/);
  });
});
