/**
 * `ddb-mirror status`: one line per table and source → target pair: the replicator's iterator age, the
 * replication lag, parked records, queue depths and errors. In AWS from CloudWatch and SQS
 * (lambda/ops/status.ts); against a kept local mirror from its live figures (`GET /status`).
 */
import type { LiveStatus } from '../lib/local/live-status';
import type { StatusRow } from '../lambda/ops/status';
import type { Command, CommandIo, ParsedValues } from './command';
import type { OpsContext } from './ops';
import { CONNECTION_OPTIONS, numberOrProblem, orProblem, throwProblems } from './ops/options';
import { formatMs, renderTable, writeJson } from './ops/output';

export const statusCommand: Command = {
  name: 'status',
  summary: 'per table and region pair: iterator age, lag, parked and DLQ depths, on-failure depth, errors',
  description:
    'One line per table and source → target pair: the source replicator’s iterator age, replication lag\n' +
    '(p99), records applied and parked and errors over the last minutes, and the depths now of the\n' +
    "pair's parking queue and DLQ and of the replicator's on-failure queue. In AWS from CloudWatch\n" +
    '(IteratorAge and the functions’ metrics) and SQS; with --endpoint, the local mirror’s live figures.',
  options: {
    table: { type: 'string', value: 'NAME', description: 'only this table (default: every table)' },
    minutes: { type: 'string', value: 'N', description: 'metrics window in minutes (default: 15; AWS only)' },
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => status(values, io),
};

export interface StatusReport {
  readonly source: 'aws' | 'local';
  readonly minutes?: number;
  readonly pairs: readonly StatusRow[];
  /** Local: the mirror's latest errors. */
  readonly recentErrors?: LiveStatus['errors'];
  readonly throttled?: Readonly<Record<string, number>>;
}

async function status(values: ParsedValues, io: CommandIo): Promise<number> {
  // The SDK clients load here, not above: `ddb-mirror status --help` needs none (bin/ddb-mirror.ts).
  const { openOps, tableIn } = await import('./ops');
  const problems: string[] = [];
  const minutes = numberOrProblem(values, 'minutes', { integer: true, min: 1, max: 1440 }, problems) ?? 15;
  const ops = openOps(values, io, problems);
  const { table, configPath } = ops.args;
  const only =
    table !== undefined ? orProblem(() => tableIn(ops.model, configPath, table).name, problems) : undefined;
  throwProblems(problems);
  await ops.connect();
  try {
    const report = ops.endpoint ? await localStatus(ops.endpoint, only) : await awsStatus(ops, only, minutes);
    if (ops.args.json) writeJson(io, report);
    else for (const line of statusLines(report)) io.out.write(`${line}\n`);
    return 0;
  } finally {
    ops.destroy();
  }
}

async function localStatus(endpoint: string, only: string | undefined): Promise<StatusReport> {
  const { fetchStatus } = await import('./ops');
  const live = (await fetchStatus(endpoint)) as LiveStatus;
  const pairs = live.pairs
    .filter((p) => !only || p.table === only)
    .map((p): StatusRow => {
      const r = live.replicators.find((x) => x.table === p.table && x.region === p.source);
      const depth = (q?: { visible: number; inFlight: number }) => (q ? q.visible + q.inFlight : undefined);
      return {
        table: p.table,
        source: p.source,
        target: p.target,
        ...(r ? { iteratorAgeMs: r.backlog.oldestMs ?? 0 } : {}),
        ...(p.observedLag.p99 !== undefined ? { lagP99Ms: p.observedLag.p99 } : {}),
        applied: p.applied,
        parkedRecords: p.parked,
        errors: p.errors,
        ...opt('parkingDepth', depth(p.parking)),
        ...opt('dlqDepth', depth(p.dlq)),
        ...opt('onFailureDepth', depth(r?.onFailure)),
      };
    });
  return { source: 'local', pairs, recentErrors: live.errors };
}

async function awsStatus(ops: OpsContext, only: string | undefined, minutes: number): Promise<StatusReport> {
  const [{ matchGeneratedName }, { replicatorStatus }] = await Promise.all([
    import('../lib/ops/deployment'),
    import('../lambda/ops/status'),
  ]);
  const pairs: StatusRow[] = [];
  for (const d of ops.replicators().filter((x) => !only || x.table === only)) {
    const urls = await ops.queueUrls(d);
    const onFailure = await ops.queue(d, d.onFailureQueue, 'on-failure queue', urls);
    const targets = [];
    for (const p of d.parking)
      targets.push({
        target: p.target,
        parking: await ops.queue(d, p.queue, `parking queue for ${p.target}`, urls),
        dlq: await ops.queue(d, p.dlq, `parking DLQ for ${p.target}`, urls),
      });
    const spec = {
      table: d.table,
      region: d.region,
      functionName: (name: string) => matchGeneratedName(name, d.stackName, d.replicatorFunction),
      onFailure,
      pairs: targets,
    };
    const clients = { cloudwatch: ops.cloudwatch(d.region), sqs: ops.sqs(d.region) };
    pairs.push(...(await replicatorStatus(clients, ops.caller, spec, { minutes })));
  }
  return { source: 'aws', minutes, pairs, throttled: { ...ops.caller.throttled } };
}

export function statusLines(r: StatusReport): string[] {
  const n = (v?: number) => (v === undefined ? '–' : String(v));
  const head = [
    'table',
    'source → target',
    'iterator age',
    'lag p99',
    'applied',
    'parked',
    'parking',
    'dlq',
    'on-failure',
    'errors',
  ];
  const rows = r.pairs.map((p) => [
    p.table,
    `${p.source} → ${p.target}`,
    formatMs(p.iteratorAgeMs),
    formatMs(p.lagP99Ms),
    n(p.applied),
    n(p.parkedRecords),
    n(p.parkingDepth),
    n(p.dlqDepth),
    n(p.onFailureDepth),
    n(p.errors),
  ]);
  const window =
    r.source === 'aws'
      ? `AWS, last ${r.minutes} minutes (applied, parked, errors, lag); queue depths now`
      : 'local mirror, since it started (applied, parked, errors, lag); queue depths now';
  const lines = [window, ...renderTable(head, rows)];
  if (!r.pairs.length) lines.push('(no pairs)');
  const errors = r.recentErrors ?? [];
  if (errors.length) lines.push(`Recent errors (${errors.length}, newest last):`);
  for (const e of errors.slice(-5)) lines.push(`  ${e.at} ${e.source}: ${e.message}`);
  for (const [action, count] of Object.entries(r.throttled ?? {}))
    lines.push(`throttled ${count} times on ${action} (backed off)`);
  return lines;
}

function opt<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}
