/**
 * `ddb-mirror backfill --deployed`: starts the table's export backfill state machine (lib/constructs/
 * export-backfill.ts, found by its fixed name) in the region to copy from, and follows the execution and
 * its Map run (files done, failed) until it ends.
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { TableModel } from '../lib/config/model';
import { exportBackfillStateMachineName } from '../lib/constructs/export-backfill';
import type { CommandIo, ParsedValues } from './command';
import { OpsError, Progress, progressStream } from './ops';
import { profileFor, type Connection } from './ops/options';

/** Options of the local backfill that mean nothing to the deployed one. */
const LOCAL_ONLY = [
  'to',
  'segments',
  'page-size',
  'max-read-units',
  'max-write-units',
  'checkpoint',
  'restart',
  'endpoint',
];

export interface DeployedArgs {
  readonly table: TableModel;
  readonly from: string;
  readonly json: boolean;
  /** The credentials: a profile for every region, or per region (`--profile`). */
  readonly credentials?: Pick<Connection, 'profile' | 'profiles'>;
}

/** Problems of `--deployed` beside the table and region: local-only options, a table without the backfill. */
export function deployedProblems(values: ParsedValues, table: TableModel | undefined): string[] {
  const problems = LOCAL_ONLY.filter((o) => values[o] !== undefined).map(
    (o) =>
      `--${o} is for the local backfill: the deployed one takes its budget from the config (exportBackfill)`,
  );
  if (table && !table.exportBackfill)
    problems.push(
      `--deployed needs exportBackfill on ${table.name} in the config (then cdk deploy): it has none`,
    );
  return problems;
}

/** What `sendSfn` needs: SFNClient's `send`, or a stand-in. */
export interface SfnSender {
  send(command: object): Promise<unknown>;
}

export interface DeployedSummary {
  readonly command: 'backfill';
  readonly deployed: true;
  readonly table: string;
  readonly from: string;
  readonly stateMachine: string;
  readonly execution: string;
  readonly status: string;
  readonly files: Readonly<Record<string, number>>;
  readonly error?: string;
  readonly cause?: string;
  readonly durationMs: number;
}

export function sfnClient(a: DeployedArgs): SFNClient {
  const profile = a.credentials && profileFor(a.credentials, a.from);
  return new SFNClient({ region: a.from, ...(profile ? { profile } : {}) });
}

/** Starts an execution and follows it to its end; exit code 0 when it succeeded. */
export async function runDeployed(
  a: DeployedArgs,
  sfn: SfnSender,
  io: CommandIo,
  pollMs = 10_000,
): Promise<number> {
  const started = Date.now();
  const say = (line: string) => (a.json ? undefined : io.out.write(`${line}\n`));
  const name = exportBackfillStateMachineName(a.table.name, a.from);
  const machine = await findStateMachine(sfn, name, a.from);
  const { executionArn } = (await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machine, name: `backfill-${started}` }),
  )) as { executionArn: string };
  say(`Backfill ${a.table.name} (${a.table.mode}) from ${a.from}: started ${executionArn}`);
  const progress = new Progress(progressStream(io, a.json), 'backfill', 0, 'files');
  let last: { status?: string; error?: string; cause?: string };
  let files: Record<string, number> = {};
  try {
    for (;;) {
      last = (await sfn.send(new DescribeExecutionCommand({ executionArn }))) as typeof last;
      files = (await mapRunCounts(sfn, executionArn)) ?? files;
      progress.update(
        (files.succeeded ?? 0) + (files.failed ?? 0),
        files.total ? `of ${files.total} files, ${files.failed ?? 0} failed` : 'exporting the table',
      );
      if (last.status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    progress.finish();
  }
  const summary: DeployedSummary = {
    command: 'backfill',
    deployed: true,
    table: a.table.name,
    from: a.from,
    stateMachine: machine,
    execution: executionArn,
    status: last.status ?? 'UNKNOWN',
    files,
    ...(last.error ? { error: last.error } : {}),
    ...(last.cause ? { cause: last.cause } : {}),
    durationMs: Date.now() - started,
  };
  if (a.json) io.out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else for (const line of summaryLines(summary)) say(line);
  return summary.status === 'SUCCEEDED' ? 0 : 1;
}

async function findStateMachine(sfn: SfnSender, name: string, region: string): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = (await sfn.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }))) as {
      stateMachines?: { name?: string; stateMachineArn?: string }[];
      nextToken?: string;
    };
    const found = page.stateMachines?.find((m) => m.name === name);
    if (found?.stateMachineArn) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  throw new OpsError(
    `no state machine ${name} in ${region}: deploy the stacks (npx cdk deploy --all) with exportBackfill on the table`,
  );
}

/** The execution's Map run item counts (files), once the export is done and the Map has started. */
async function mapRunCounts(
  sfn: SfnSender,
  executionArn: string,
): Promise<Record<string, number> | undefined> {
  const runs = (await sfn.send(new ListMapRunsCommand({ executionArn }))) as {
    mapRuns?: { mapRunArn?: string }[];
  };
  const arn = runs.mapRuns?.[0]?.mapRunArn;
  if (!arn) return undefined;
  const run = (await sfn.send(new DescribeMapRunCommand({ mapRunArn: arn }))) as {
    itemCounts?: Record<string, number>;
  };
  return run.itemCounts;
}

function summaryLines(s: DeployedSummary): string[] {
  const f = s.files;
  const head = s.status === 'SUCCEEDED' ? '✔ Backfill complete' : `✘ Backfill ${s.status.toLowerCase()}`;
  const lines = [
    `${head}: ${f.succeeded ?? 0} of ${f.total ?? 0} export files applied, ${f.failed ?? 0} failed, in ${(s.durationMs / 1000).toFixed(0)}s`,
    `  execution: ${s.execution}`,
  ];
  if (s.error) lines.push(`  ${s.error}: ${s.cause ?? ''}`);
  if (f.failed)
    lines.push(
      "  each failed file's items are in the Map run's failed executions and the FAILED result files in the export bucket",
    );
  return lines;
}
