/**
 * `ddb-mirror plan`: a read-only preflight. For every table and region of the config it reads the
 * account (or a kept local mirror) and says what a deploy and a backfill will meet: one row per table
 * and region, then the blockers and warnings, each with its fix. The reading is
 * lib/ops/preflight-gather.ts, the decision lib/ops/preflight.ts; this file wires and prints.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { formatBytes } from '../lambda/anti-entropy/transfer';
import { AwsCaller } from '../lambda/ops/aws-call';
import type { MirrorModel } from '../lib/config/model';
import {
  DEFAULT_SAMPLE_SIZE,
  STREAM_READERS_PER_SHARD,
  preflightReport,
  type Finding,
  type PreflightReport,
  type PreflightRow,
} from '../lib/ops/preflight';
import type { GatherSources, LambdaLike } from '../lib/ops/preflight-gather';
import type { Command, CommandIo, ParsedValues } from './command';
import {
  CONNECTION_OPTIONS,
  numberOrProblem,
  opsArgs,
  profileRegionProblems,
  orProblem,
  throwProblems,
  type OpsArgs,
} from './ops/options';
import { count, fmt, renderTable, writeJson } from './ops/output';
import { duration } from './ops/progress';

export const planCommand: Command = {
  name: 'plan',
  summary: 'read-only preflight: what a deploy and a backfill will meet, per table and region',
  description:
    'Reads every table and region of the config and says what a deploy and a backfill will meet, without\n' +
    'writing anything: whether the table exists and its key matches; whether the deploy creates it, adopts it\n' +
    '(existing) or already manages it; billing; the stream and its Lambda readers (at most two per shard,\n' +
    'the mirror included); point-in-time recovery; item count and size, and what a backfill costs in write\n' +
    'units and time; for multi-active tables with conflicts: version, a sample of items checked for a\n' +
    'numeric version attribute. Every blocker and warning names its fix.\n' +
    'With --endpoint: a kept local mirror, or a DynamoDB Local that holds the tables before any mirror runs\n' +
    'on it (planned as an account before its first deploy).\n' +
    'Exit code: 0 when nothing blocks, 1 when something does.',
  options: {
    table: { type: 'string', value: 'NAME', description: 'only this table (default: every table)' },
    'max-write-units': {
      type: 'string',
      value: 'N',
      description:
        'estimate the backfill at N write units per second per target, as `backfill --max-write-units N`\n(default: the table’s exportBackfill rate; without either, no time is estimated)',
    },
    sample: {
      type: 'string',
      value: 'N',
      description: `items read per region to check the version attribute (default: ${DEFAULT_SAMPLE_SIZE})`,
    },
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => plan(values, io),
};

/** The command, with its clients replaceable (tests give stand-ins for Lambda and what DynamoDB Local lacks). */
export async function plan(
  values: ParsedValues,
  io: CommandIo,
  clients: Parameters<typeof planSources>[2] = {},
): Promise<number> {
  const a = await planArgs(values, io.cwd);
  const opened = await planSources(a, io, clients);
  try {
    return await runPlan(a, opened.sources, io, opened.caller, opened.against);
  } finally {
    opened.destroy();
  }
}

export interface PlanArgs extends OpsArgs {
  readonly model: MirrorModel;
  /** Only these tables (--table). */
  readonly tables?: readonly string[];
  readonly maxWriteUnits?: number;
  readonly sampleSize: number;
}

/** Checks the options against the config; every problem at once. */
export async function planArgs(values: ParsedValues, cwd: string): Promise<PlanArgs> {
  // The config's loader (and the CDK the ops helpers bring) load here: `plan --help` needs none of them.
  const { loadOpsConfig, tableIn } = await import('./ops/config');
  const problems: string[] = [];
  const ops = opsArgs(values, problems);
  const maxWriteUnits = numberOrProblem(values, 'max-write-units', { min: 1 }, problems);
  const sampleSize = numberOrProblem(values, 'sample', { integer: true, min: 1, max: 1000 }, problems);
  const model = orProblem(() => loadOpsConfig(ops.configPath, cwd), problems);
  if (model)
    problems.push(
      ...profileRegionProblems(
        ops,
        model.regions.map((r) => r.name),
      ),
    );
  const table =
    model && ops.table !== undefined
      ? orProblem(() => tableIn(model, ops.configPath, ops.table).name, problems)
      : undefined;
  throwProblems(problems);
  return {
    ...ops,
    model: model!,
    ...(table ? { tables: [table] } : {}),
    ...(maxWriteUnits !== undefined ? { maxWriteUnits } : {}),
    sampleSize: sampleSize ?? DEFAULT_SAMPLE_SIZE,
  };
}

/**
 * The clients: in AWS, DynamoDB and Lambda per region from the standard chain (or --profile); with
 * --endpoint, a kept local mirror, whose own replicators are its streams' only readers (its `GET /status`),
 * or a DynamoDB Local that holds the tables before any mirror runs on it: planned as an account before
 * its first deploy, where no Lambda reads a stream.
 */
export async function planSources(
  a: PlanArgs,
  io: Pick<CommandIo, 'err'>,
  clients: {
    readonly dynamo?: (region: string) => DynamoDBClient;
    readonly lambda?: (region: string) => LambdaLike;
  } = {},
): Promise<{ sources: GatherSources; caller: AwsCaller; destroy(): void; against: string }> {
  const [{ DynamoDBClient }, { LambdaClient }, { clientConfig, fetchStatus }, gather] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-lambda'),
    import('./ops/clients'),
    import('../lib/ops/preflight-gather'),
  ]);
  const caller = new AwsCaller({
    onThrottle: (t, attempt, delay) =>
      io.err.write(`throttled: ${t.action} on ${t.resource}; backing off ${delay} ms (attempt ${attempt})\n`),
  });
  const made: { destroy(): void }[] = [];
  const perRegion = <T extends { destroy(): void }>(make: (region: string) => T) => {
    const clients = new Map<string, T>();
    return (region: string): T => {
      let c = clients.get(region);
      if (!c) {
        c = make(region);
        made.push(c);
        clients.set(region, c);
      }
      return c;
    };
  };
  const dynamo = clients.dynamo ?? perRegion((region) => new DynamoDBClient(clientConfig(a, region)));
  const destroy = () => made.forEach((c) => c.destroy());
  if (a.endpoint) {
    const status = await mirrorStatus(a.endpoint, fetchStatus);
    if (status === undefined)
      return {
        sources: { dynamo, consumers: async () => [], owners: 'tags' },
        caller,
        destroy,
        against: `DynamoDB at ${a.endpoint} (no local mirror runs there)`,
      };
    return {
      sources: {
        dynamo,
        consumers: gather.localMirrorConsumers(status as Parameters<typeof gather.localMirrorConsumers>[0]),
        owners: 'local-mirror',
      },
      caller,
      destroy,
      against: `the local mirror at ${a.endpoint}`,
    };
  }
  const lambdaOf = clients.lambda ?? perRegion((region) => new LambdaClient(clientConfig(a, region)));
  return {
    sources: { dynamo, consumers: gather.lambdaConsumers(a.model, lambdaOf, caller), owners: 'tags' },
    caller,
    destroy,
    against: 'AWS',
  };
}

/**
 * A kept local mirror's `GET /status`; undefined when DynamoDB itself answers (it refuses the GET with
 * 400). Anything else fails as fetchStatus tells it.
 */
async function mirrorStatus(
  endpoint: string,
  fetchStatus: (endpoint: string) => Promise<unknown>,
): Promise<unknown> {
  const res = await fetch(`${endpoint}/status`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  if (res?.ok) return res.json();
  if (res?.status === 400) return undefined;
  return fetchStatus(endpoint);
}

/** Reads, decides, prints; 1 when anything blocks. */
export async function runPlan(
  a: PlanArgs,
  sources: GatherSources,
  io: Pick<CommandIo, 'out'>,
  caller = new AwsCaller(),
  against = a.endpoint ? `the local mirror at ${a.endpoint}` : 'AWS',
): Promise<number> {
  const { gatherPreflight } = await import('../lib/ops/preflight-gather');
  const facts = await gatherPreflight(a.model, sources, {
    ...(a.tables ? { tables: a.tables } : {}),
    sampleSize: a.sampleSize,
    caller,
  });
  const report = preflightReport(a.model, facts, { maxWriteUnits: a.maxWriteUnits });
  if (a.json) writeJson(io, { config: a.configPath, against: a.endpoint ? 'local' : 'aws', ...report });
  else
    for (const line of planLines(report, `Plan for ${a.configPath} against ${against}`))
      io.out.write(`${line}\n`);
  return report.ready ? 0 : 1;
}

/** The readiness table, the blockers and warnings with their fixes, and what the figures mean. */
export function planLines(r: PreflightReport, title: string): string[] {
  const head = ['table', 'region', 'intent', 'key', 'billing', 'stream', 'readers', 'PITR', 'items', 'size'];
  const rows = r.rows.map((row) => [
    row.table,
    row.region,
    row.exists ? row.intent : `${row.intent} (no table)`,
    row.keyMatches === undefined ? '–' : row.keyMatches ? 'ok' : 'MISMATCH',
    billingText(row),
    row.stream ?? '–',
    readersText(row),
    row.pointInTimeRecovery === undefined ? '–' : row.pointInTimeRecovery ? 'on' : 'off',
    row.itemCount === undefined ? '–' : fmt(row.itemCount),
    row.sizeBytes === undefined ? '–' : formatBytes(row.sizeBytes),
  ]);
  const lines = [title, ...renderTable(head, rows, 7)];
  const more = r.rows.flatMap((row) => {
    const parts = [
      ...(row.backfill ? [`backfill from here: ${backfillText(row.backfill)}`] : []),
      ...(row.sample ? [`sample: ${sampleText(row.sample)}`] : []),
    ];
    return parts.length ? [`  ${row.table} ${row.region}: ${parts.join('; ')}`] : [];
  });
  if (more.length) lines.push('', ...more);
  if (r.changes.length)
    lines.push(
      '',
      `What the deploy changes on adopted tables (${r.changes.length}):`,
      ...r.changes.map((c) => `  ${c.table} ${c.region}: ${c.change}`),
    );
  lines.push(...findingLines('Blockers', r.blockers), ...findingLines('Warnings', r.warnings));
  lines.push(
    '',
    'Items and sizes are DescribeTable’s, which DynamoDB updates about every six hours.',
    `Readers: other readers of the stream + the mirror’s, at most ${STREAM_READERS_PER_SHARD} per shard; only Lambda event source mappings are seen.`,
  );
  if (r.rows.some((x) => x.backfill))
    lines.push(
      'Backfill: one write unit per started KB of the average item, per target; the targets are written at once, each at the rate.',
    );
  if (r.rows.some((x) => x.sample))
    lines.push(
      `Samples read ${fmt(r.rows.reduce((n, x) => n + (x.sample?.items ?? 0), 0))} items for ${round(r.sampleReadUnits)} read units (eventually consistent).`,
    );
  lines.push(
    r.ready
      ? `Ready: nothing blocks a deploy or a backfill${r.warnings.length ? ` (${count(r.warnings.length, 'warning')})` : ''}.`
      : `Not ready: ${count(r.blockers.length, 'blocker')}.`,
  );
  return lines;
}

function findingLines(label: string, findings: readonly Finding[]): string[] {
  if (!findings.length) return [];
  return [
    '',
    `${label} (${findings.length}):`,
    ...findings.flatMap((f) => [`  ${f.table} ${f.region} [${f.check}]: ${f.message}`, `    fix: ${f.fix}`]),
  ];
}

function billingText(row: PreflightRow): string {
  if (!row.billing) return '–';
  return row.billing.mode === 'PAY_PER_REQUEST'
    ? 'on-demand'
    : `provisioned ${row.billing.readCapacity}r/${row.billing.writeCapacity}w`;
}

function readersText(row: PreflightRow): string {
  const r = row.readers;
  if (!r) return '–';
  if (r.total === undefined) return `?+${r.mirror}`;
  return `${r.others.length}+${r.mirror}${r.total > STREAM_READERS_PER_SHARD ? ' (too many)' : ''}`;
}

function backfillText(b: NonNullable<PreflightRow['backfill']>): string {
  const targets = count(b.targets.length, 'target');
  const units = `${fmt(b.writeUnits)} write units to ${targets} (${fmt(b.itemCount)} items of ${fmt(b.averageItemBytes)} bytes on average, ${b.unitsPerItem} per item)`;
  if (!b.rate) return `${units}, unpaced (give backfill --max-write-units to pace it)`;
  const seconds = b.seconds ?? 0;
  const time = seconds > 0 && seconds < 1 ? 'under 1s' : duration(seconds);
  return `${units}, ${time} at ${fmt(b.rate.writeUnitsPerSecond)}/s (${b.rate.from})`;
}

function sampleText(s: NonNullable<PreflightRow['sample']>): string {
  const bad = s.missing + s.notNumber;
  return `${fmt(s.items)} items, ${bad ? `${bad} without a numeric ${s.attribute}` : `every one with a numeric ${s.attribute}`}, ${round(s.readUnits)} read units`;
}

const round = (n: number) => Math.round(n * 10) / 10;
