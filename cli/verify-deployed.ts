/**
 * `ddb-mirror verify --deployed [--repair]`: runs verify by range hashes in AWS, on the state machines
 * `lib/constructs/verify-deployed.ts` deploys (found by their fixed names). It starts the hash phase in
 * every region of the table at once (one run ID, one plan from the largest region's item count), follows
 * them, then starts the compare phase in the comparing region (the one-way source; else the first region)
 * and prints its summary. Exit code 0 when every region agrees (after --repair: when nothing is left).
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { partitions, planFor, type HashPlan } from '../lambda/anti-entropy/plan';
import type { RunSummary } from '../lambda/anti-entropy/steps';
import { formatBytes, GB } from '../lambda/anti-entropy/transfer';
import { tableRegions, type TableModel } from '../lib/config/model';
import { verifyStateMachineName } from '../lib/constructs/verify-deployed';
import type { CommandIo, ParsedValues } from './command';
import { fmt, OpsError, Progress, progressStream } from './ops';
import { profileFor, type Connection } from './ops/options';

/** Options of the local verify that mean nothing to the deployed one. */
const LOCAL_ONLY = [
  'regions',
  'sample',
  'full',
  'page-size',
  'max-read-units',
  'max-write-units',
  'endpoint',
];

export interface VerifyDeployedArgs {
  readonly table: TableModel;
  /** Every region of the table, the one-way source first. */
  readonly regions: readonly string[];
  /** Where the comparison runs. */
  readonly home: string;
  readonly repair: boolean;
  /** Hash from the export (point-in-time recovery on, no read capacity) or by a parallel Scan. */
  readonly source: 'export' | 'scan';
  /** Scan segments per region (default: one per 250,000 items). */
  readonly segments?: number;
  readonly show: number;
  readonly json: boolean;
  /** The credentials: a profile for every region, or per region (`--profile`). */
  readonly credentials?: Pick<Connection, 'profile' | 'profiles'>;
}

/** Problems of `--deployed` beside the table: local-only options, a table without antiEntropy. */
export function verifyDeployedProblems(values: ParsedValues, table: TableModel | undefined): string[] {
  const problems = LOCAL_ONLY.filter((o) => values[o] !== undefined).map(
    (o) =>
      `--${o} is for the local verify: the deployed one compares every region of the table by range hashes`,
  );
  if (table && !table.antiEntropy)
    problems.push(
      `--deployed needs antiEntropy on ${table.name} in the config (then cdk deploy): it has none`,
    );
  return problems;
}

export function deployedVerifyArgs(
  table: TableModel,
  values: ParsedValues,
  o: {
    json: boolean;
    credentials?: Pick<Connection, 'profile' | 'profiles'>;
    segments?: number;
    show: number;
  },
): VerifyDeployedArgs {
  const regions = tableRegions(table);
  return {
    table,
    regions,
    home: regions[0],
    repair: values.repair === true,
    source: table.pointInTimeRecovery && values.scan !== true ? 'export' : 'scan',
    ...(values.segments !== undefined && o.segments ? { segments: o.segments } : {}),
    show: o.show,
    json: o.json,
    ...(o.credentials ? { credentials: o.credentials } : {}),
  };
}

/** What `sendSfn` needs: SFNClient's `send`, or a stand-in. */
export interface Sender {
  send(command: object): Promise<unknown>;
}

/** The AWS calls the command makes, per region. */
export interface DeployedClients {
  sfn(region: string): Sender;
  dynamo(region: string): Sender;
}

export function awsClients(credentials: Pick<Connection, 'profile' | 'profiles'> = {}): DeployedClients {
  const sfn = new Map<string, SFNClient>();
  const dynamo = new Map<string, DynamoDBClient>();
  const config = (region: string) => {
    const profile = profileFor(credentials, region);
    return { region, ...(profile ? { profile } : {}) };
  };
  return {
    sfn: (r) => sfn.get(r) ?? sfn.set(r, new SFNClient(config(r))).get(r)!,
    dynamo: (r) => dynamo.get(r) ?? dynamo.set(r, new DynamoDBClient(config(r))).get(r)!,
  };
}

/** Items per Scan segment the default segment count aims at: a few invocations each. */
const SEGMENT_ITEMS = 250_000;

export interface DeployedVerifySummary {
  readonly command: 'verify';
  readonly deployed: true;
  readonly table: string;
  readonly mode: TableModel['mode'];
  readonly regions: readonly string[];
  readonly home: string;
  readonly source: VerifyDeployedArgs['source'];
  readonly runId: string;
  readonly plan: HashPlan;
  readonly status: 'ok' | 'divergent' | 'repaired' | 'unrepaired' | 'failed';
  readonly executions: Readonly<Record<string, { readonly hash: string; readonly status: string }>>;
  readonly compareExecution?: string;
  readonly error?: string;
  readonly run?: RunSummary;
  /** DynamoDB's size of the home region's table (DescribeTable, refreshed about every six hours). */
  readonly tableBytes: number;
  /** Bytes the comparison read of the other regions' trees, and per GB of the table. */
  readonly crossRegionBytes?: number;
  readonly crossRegionBytesPerGB?: number;
  readonly durationMs: number;
}

/** Runs the hash phase everywhere, then the compare phase at home; exit code 0 when nothing differs (is left). */
export async function runVerifyDeployed(
  a: VerifyDeployedArgs,
  aws: DeployedClients,
  io: CommandIo,
  pollMs = 10_000,
): Promise<number> {
  const started = Date.now();
  const say = (line: string) => (a.json ? undefined : io.out.write(`${line}\n`));
  const runId = `verify-${started}`;
  const sizes = await Promise.all(
    a.regions.map(async (r) => {
      const d = (await aws.dynamo(r).send(new DescribeTableCommand({ TableName: a.table.name }))) as {
        Table?: { ItemCount?: number; TableSizeBytes?: number };
      };
      return { items: d.Table?.ItemCount ?? 0, bytes: d.Table?.TableSizeBytes ?? 0 };
    }),
  );
  const most = Math.max(...sizes.map((s) => s.items));
  const plan = planFor(most);
  const segments = a.segments ?? Math.min(1000, Math.max(1, Math.ceil(most / SEGMENT_ITEMS)));
  const range = (n: number) => Array.from({ length: n }, (_v, i) => i);
  const machines = Object.fromEntries(
    await Promise.all(
      a.regions.map(async (r) => [
        r,
        await findStateMachine(aws.sfn(r), verifyStateMachineName(a.table.name, r), r),
      ]),
    ),
  ) as Record<string, string>;
  say(
    `Verify ${a.table.name} (${a.table.mode}) in ${a.regions.join(', ')} on Step Functions: run ${runId}, ` +
      `${fmt(partitions(plan))} partitions of ${fmt(2 ** plan.topBits)} top buckets, hashed from ${a.source === 'export' ? "each region's export" : `${segments} Scan segments per region`}`,
  );
  const input = {
    runId,
    plan,
    source: a.source,
    segments: range(segments),
    totalSegments: segments,
    partitions: range(partitions(plan)),
  };
  const hashes = Object.fromEntries(
    await Promise.all(
      a.regions.map(async (r) => {
        const res = (await aws.sfn(r).send(
          new StartExecutionCommand({
            stateMachineArn: machines[r],
            name: `${runId}-hash`,
            input: JSON.stringify({ phase: 'hash', ...input }),
          }),
        )) as { executionArn: string };
        return [r, res.executionArn];
      }),
    ),
  ) as Record<string, string>;
  const stream = progressStream(io, a.json);
  const hashed = await follow(aws, hashes, 'hash', stream, pollMs);
  const executions = Object.fromEntries(
    a.regions.map((r) => [r, { hash: hashes[r], status: hashed[r].status }]),
  );
  const base = {
    command: 'verify' as const,
    deployed: true as const,
    table: a.table.name,
    mode: a.table.mode,
    regions: a.regions,
    home: a.home,
    source: a.source,
    runId,
    plan,
    executions,
    tableBytes: sizes[a.regions.indexOf(a.home)].bytes,
  };
  const failed = a.regions.filter((r) => hashed[r].status !== 'SUCCEEDED');
  let summary: DeployedVerifySummary;
  if (failed.length) {
    summary = {
      ...base,
      status: 'failed',
      error: failed
        .map(
          (r) =>
            `hash in ${r}: ${hashed[r].status}${hashed[r].error ? ` ${hashed[r].error}: ${hashed[r].cause ?? ''}` : ''}`,
        )
        .join('; '),
      durationMs: Date.now() - started,
    };
  } else {
    const { executionArn } = (await aws.sfn(a.home).send(
      new StartExecutionCommand({
        stateMachineArn: machines[a.home],
        name: `${runId}-compare`,
        input: JSON.stringify({ phase: 'compare', ...input, repair: a.repair }),
      }),
    )) as { executionArn: string };
    const compared = (
      await follow(
        aws,
        { [a.home]: executionArn },
        a.repair ? 'compare and repair' : 'compare',
        stream,
        pollMs,
      )
    )[a.home];
    const run =
      compared.status === 'SUCCEEDED' && compared.output
        ? (JSON.parse(compared.output) as RunSummary)
        : undefined;
    const crossed = run
      ? a.regions.filter((r) => r !== a.home).reduce((n, r) => n + (run.readBytes[r] ?? 0), 0)
      : undefined;
    summary = {
      ...base,
      compareExecution: executionArn,
      status: !run
        ? 'failed'
        : run.repair
          ? run.repair.remaining
            ? 'unrepaired'
            : 'repaired'
          : run.divergent
            ? 'divergent'
            : 'ok',
      ...(run
        ? { run }
        : {
            error: `compare in ${a.home}: ${compared.status} ${compared.error ?? ''}: ${compared.cause ?? ''}`,
          }),
      ...(crossed !== undefined
        ? {
            crossRegionBytes: crossed,
            crossRegionBytesPerGB: base.tableBytes ? Math.round(crossed / (base.tableBytes / GB)) : 0,
          }
        : {}),
      durationMs: Date.now() - started,
    };
  }
  if (a.json) io.out.write(`${JSON.stringify(summary, null, 2)}\n`);
  else for (const line of summaryLines(a, summary)) say(line);
  return summary.status === 'ok' || summary.status === 'repaired' ? 0 : 1;
}

async function findStateMachine(sfn: Sender, name: string, region: string): Promise<string> {
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
    `no state machine ${name} in ${region}: deploy the stacks (npx cdk deploy --all) with antiEntropy on the table`,
  );
}

interface Ended {
  readonly status: string;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: string;
}

/** Polls executions (one per region) until none runs, with the children of their current Map run as progress. */
async function follow(
  aws: DeployedClients,
  executions: Readonly<Record<string, string>>,
  label: string,
  stream: ReturnType<typeof progressStream>,
  pollMs: number,
): Promise<Record<string, Ended>> {
  const progress = new Progress(stream, label, 0, 'map items');
  const ended: Record<string, Ended> = {};
  try {
    for (;;) {
      let done = 0;
      let total = 0;
      for (const [region, executionArn] of Object.entries(executions)) {
        if (ended[region]) continue;
        const sfn = aws.sfn(region);
        const d = (await sfn.send(new DescribeExecutionCommand({ executionArn }))) as Ended;
        if (d.status !== 'RUNNING') ended[region] = d;
        const runs = (await sfn.send(new ListMapRunsCommand({ executionArn }))) as {
          mapRuns?: { mapRunArn?: string }[];
        };
        const arn = runs.mapRuns?.[0]?.mapRunArn;
        if (arn) {
          const run = (await sfn.send(new DescribeMapRunCommand({ mapRunArn: arn }))) as {
            itemCounts?: Record<string, number>;
          };
          done += (run.itemCounts?.succeeded ?? 0) + (run.itemCounts?.failed ?? 0);
          total += run.itemCounts?.total ?? 0;
        }
      }
      const running = Object.keys(executions).filter((r) => !ended[r]);
      progress.update(
        done,
        `of ${total} in the current Map runs; running in ${running.join(', ') || 'none'}`,
      );
      if (!running.length) return ended;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    progress.finish();
  }
}

const KIND_WORDS = { missing: 'missing in', only: 'present only in', differing: 'differs in' } as const;

function summaryLines(a: VerifyDeployedArgs, s: DeployedVerifySummary): string[] {
  const lines: string[] = [];
  if (!s.run)
    return [
      `✘ Verify failed: ${s.error ?? s.status}`,
      ...Object.entries(s.executions).map(([r, e]) => `  ${r}: ${e.hash} ${e.status}`),
    ];
  const r = s.run;
  lines.push(
    `  items: ${a.regions.map((x) => `${x} ${fmt(r.items[x] ?? 0)}`).join(', ')}; ${fmt(r.compared)} keys compared in ${(s.durationMs / 1000).toFixed(0)}s` +
      (r.inFlight ? `; ${fmt(r.inFlight)} differed while in flight and agreed on a re-read` : ''),
    `  by range hashes: buckets that differed per level ${r.levels.map((l) => fmt(l.differing)).join(' → ')}, ${fmt(r.candidates)} keys read again`,
  );
  const kinds = `${fmt(r.byKind.missing)} missing in a region, ${fmt(r.byKind.only)} present only in a region, ${fmt(r.byKind.differing)} differing`;
  lines.push(
    r.divergent
      ? `✘ ${fmt(r.divergent)} divergent keys: ${kinds}`
      : '✔ 0 divergent keys: every region holds the same items',
  );
  for (const k of r.keys.slice(0, a.show))
    lines.push(`  ${k.key}  ${KIND_WORDS[k.kind]} ${k.regions.join(', ')}`);
  if (r.divergent > a.show)
    lines.push(
      `  … and ${fmt(r.divergent - a.show)} more (in the run's result files, or --json for the first 100)`,
    );
  if (r.repair) {
    const c = r.repair.counts;
    lines.push(
      `${r.repair.remaining ? '✘' : '✔'} Repair: ${fmt(c.applied ?? 0)} writes applied, ${fmt((c.stale ?? 0) + (c['conflict-lost'] ?? 0))} found something newer, ${fmt(c.unavailable ?? 0)} failed, ${fmt(r.repair.skipped)} keys skipped; ${fmt(r.repair.remaining)} keys still differ on a re-read`,
    );
  } else if (r.divergent)
    lines.push(`Repair every kind: npx ddb-mirror verify --table ${a.table.name} --deployed --repair`);
  if (s.crossRegionBytes !== undefined)
    lines.push(
      `  across regions: ${formatBytes(s.crossRegionBytes)} of hashes read into ${a.home} for ${formatBytes(s.tableBytes)} of table (${formatBytes(s.crossRegionBytesPerGB ?? 0)} per GB), plus the re-reads of ${fmt(r.candidates)} keys`,
    );
  return lines;
}
