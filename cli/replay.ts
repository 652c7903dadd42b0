/**
 * `ddb-mirror replay`: re-applies the batches a replicator's stream mapping gave up on (its on-failure
 * queue) from the stream, through the replicator's own guards. The work is lambda/ops/replay.ts.
 */
import { tableRegions } from '../lib/config/model';
import type { RangeReport, ReplayReport } from '../lambda/ops/replay';
import type { QueueRef } from '../lambda/ops/queues';
import { type Command, type CommandIo, type ParsedValues, stringOption } from './command';
import { CONNECTION_OPTIONS, numberOrProblem, OPS_OPTIONS, throwProblems } from './ops/options';
import { count, writeJson } from './ops/output';

export const replayCommand: Command = {
  name: 'replay',
  summary: "re-apply the batches in a replicator's on-failure queue from the stream, through the guards",
  description:
    "Reads the replicator's on-failure queue (each message names a shard and a sequence range, not the\n" +
    'records), reads those records from the stream again while it keeps them (24 hours) and re-applies\n' +
    "them with the replicator's own batch logic: a target that holds the change or a later one keeps it.\n" +
    'A target still unreachable gets the record parked on its parking queue, as the function would.\n' +
    'Deletes the messages whose whole range was applied; the rest stay, each reported with its reason.\n' +
    'Exit code: 0 when every message was handled (or --dry-run), 1 when some stay.',
  options: {
    table: OPS_OPTIONS.table,
    region: OPS_OPTIONS.region,
    'dry-run': { type: 'boolean', description: 'read and report the ranges; apply, park and delete nothing' },
    max: { type: 'string', value: 'N', description: 'at most N messages in this run (default: 1000)' },
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => replay(values, io),
};

async function replay(values: ParsedValues, io: CommandIo): Promise<number> {
  // The SDK clients load here, not above: `ddb-mirror replay --help` needs none (bin/ddb-mirror.ts).
  const [{ openOps, replicatorChoice }, { replayOnFailure }] = await Promise.all([
    import('./ops'),
    import('../lambda/ops/replay'),
  ]);
  const problems: string[] = [];
  const max = numberOrProblem(values, 'max', { integer: true, min: 1, max: 100_000 }, problems);
  const ops = openOps(values, io, problems);
  const names = { table: ops.args.table, region: stringOption(values, 'region') };
  const choice = replicatorChoice(ops.model, ops.args.configPath, names, problems);
  throwProblems(problems);
  const { table, region } = choice!;
  await ops.connect();
  try {
    const d = ops.deployment(table.name, region);
    const urls = await ops.queueUrls(d);
    const onFailureQueue = await ops.queue(d, d.onFailureQueue, 'on-failure queue', urls);
    const parkingQueues: Record<string, QueueRef> = {};
    for (const p of d.parking)
      parkingQueues[p.target] = await ops.queue(d, p.queue, `parking queue for ${p.target}`, urls);
    const report = await replayOnFailure({
      settings: ops.settings(table, region, parkingQueues),
      clients: Object.fromEntries(tableRegions(table).map((r) => [r, ops.dynamo(r)])),
      streams: ops.streams(region),
      sqs: ops.sqs(region),
      caller: ops.caller,
      onFailureQueue,
      parkingQueues,
      dryRun: values['dry-run'] === true,
      ...(max ? { maxMessages: max } : {}),
    });
    if (ops.args.json) writeJson(io, report);
    else for (const line of replayLines(report)) io.out.write(`${line}\n`);
    return report.dryRun || report.totals.left === 0 ? 0 : 1;
  } finally {
    ops.destroy();
  }
}

export function replayLines(r: ReplayReport): string[] {
  const head = `${r.dryRun ? 'Dry run: ' : ''}replay ${r.table} from ${r.region}: ${count(r.ranges.length, 'message')} in ${r.queue}`;
  const t = r.totals;
  const lines = [head, ...r.ranges.map((x) => `  ${rangeLine(x)}`)];
  if (!r.ranges.length) return [...lines, '  nothing to replay'];
  lines.push(
    r.dryRun
      ? `${count(t.records, 'record')} to re-apply; nothing applied or deleted (dry run)`
      : `${count(t.records, 'record')}; at the targets ${outcomeText(t)}; ${count(t.deleted, 'message')} deleted, ${t.left} left`,
  );
  for (const [action, n] of Object.entries(r.throttled))
    lines.push(`throttled ${n} times on ${action} (backed off)`);
  return lines;
}

function rangeLine(x: RangeReport): string {
  const where = x.range
    ? `${x.range.shardId} ${x.range.startSequenceNumber}…${x.range.endSequenceNumber}`
    : `message ${x.messageId}`;
  const why = x.reason ? `: ${x.reason}` : '';
  switch (x.status) {
    case 'replayed':
      return `${where}: ${count(x.records, 'record')}; at the targets ${outcomeText(x.outcomes)} → ${x.deleted ? 'deleted' : `kept${why}`}`;
    case 'would-replay':
      return `${where}: ${count(x.records, 'record')} would be re-applied${why}`;
    default:
      return `${where}: ${x.status}${why} → kept`;
  }
}

function outcomeText(o: RangeReport['outcomes']): string {
  const parts = [
    `${o.applied} applied`,
    `${o.alreadyNewer} already newer`,
    ...(o.conflictsLost ? [`${o.conflictsLost} conflicts lost`] : []),
    ...(o.deferred ? [`${o.deferred} deferred`] : []),
    ...(o.parked ? [`${o.parked} parked`] : []),
    ...(o.failed ? [`${o.failed} failed`] : []),
  ];
  return parts.join(', ');
}
