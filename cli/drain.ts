/**
 * `ddb-mirror drain`: shows what waits in a replicator's parking queues and their DLQs, and re-drives it
 * through the guards, or moves DLQ messages back to their parking queue. The work is lambda/ops/drain.ts.
 */
import type { DrainReport, DrainTarget, QueueDrain } from '../lambda/ops/drain';
import { type Command, type CommandIo, type ParsedValues, stringOption } from './command';
import { CONNECTION_OPTIONS, numberOrProblem, OPS_OPTIONS, throwProblems } from './ops/options';
import { writeJson } from './ops/output';

export const drainCommand: Command = {
  name: 'drain',
  summary: 'show parked records and parking-DLQ messages; re-drive them through the guards',
  description:
    'Shows each parking queue and parking DLQ of the replicator (counts, oldest age, a sample with key,\n' +
    'op, origin and the reason it was parked), then re-applies every message at its target with the\n' +
    "parked-record consumer's own logic: a target that holds the change or a later one keeps it. With\n" +
    '--to-queue, DLQ messages are moved back to their parking queue instead (the consumer retries them).\n' +
    'A message is deleted only once applied (or stale, lost, deferred) or sent back; the rest stay.\n' +
    'A write parked longer ago than the tombstone lifetime allows (less 2 days) is refused: deleted,\n' +
    'never applied, its key listed for verify --repair. A moved message keeps the time it was first\n' +
    'parked, so moving it back never makes a write younger.\n' +
    'Exit code: 0 when nothing was left behind with an error (or --dry-run), 1 otherwise.',
  options: {
    table: OPS_OPTIONS.table,
    region: OPS_OPTIONS.region,
    target: {
      type: 'string',
      value: 'REGION',
      description: 'only the queues for this target region (default: all)',
    },
    'to-queue': {
      type: 'boolean',
      description: 'move DLQ messages back to their parking queue instead of applying them',
    },
    'dry-run': { type: 'boolean', description: 'show counts and a sample; apply, move and delete nothing' },
    sample: { type: 'string', value: 'N', description: 'messages shown per queue (default: 5)' },
    max: { type: 'string', value: 'N', description: 'at most N messages handled per queue (default: 1000)' },
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => drain(values, io),
};

async function drain(values: ParsedValues, io: CommandIo): Promise<number> {
  // The SDK clients load here, not above: `ddb-mirror drain --help` needs none (bin/ddb-mirror.ts).
  const [{ openOps, replicatorChoice }, { drainParked }] = await Promise.all([
    import('./ops'),
    import('../lambda/ops/drain'),
  ]);
  const problems: string[] = [];
  const sample = numberOrProblem(values, 'sample', { integer: true, min: 0, max: 100 }, problems);
  const max = numberOrProblem(values, 'max', { integer: true, min: 1, max: 100_000 }, problems);
  const ops = openOps(values, io, problems);
  const names = {
    table: ops.args.table,
    region: stringOption(values, 'region'),
    target: stringOption(values, 'target'),
  };
  const choice = replicatorChoice(ops.model, ops.args.configPath, names, problems);
  throwProblems(problems);
  const { table, region, targets } = choice!;
  await ops.connect();
  try {
    const d = ops.deployment(table.name, region);
    const urls = await ops.queueUrls(d);
    const queues: DrainTarget[] = [];
    for (const p of d.parking.filter((x) => targets.includes(x.target)))
      queues.push({
        target: p.target,
        parking: await ops.queue(d, p.queue, `parking queue for ${p.target}`, urls),
        dlq: await ops.queue(d, p.dlq, `parking DLQ for ${p.target}`, urls),
      });
    const parking = Object.fromEntries(queues.map((q) => [q.target, q.parking]));
    const report = await drainParked({
      settings: ops.settings(table, region, parking),
      clients: Object.fromEntries(targets.map((r) => [r, ops.dynamo(r)])),
      sqs: ops.sqs(region),
      caller: ops.caller,
      targets: queues,
      toQueue: values['to-queue'] === true,
      dryRun: values['dry-run'] === true,
      ...(sample !== undefined ? { sample } : {}),
      ...(max ? { maxMessages: max } : {}),
    });
    if (ops.args.json) writeJson(io, report);
    else for (const line of drainLines(report)) io.out.write(`${line}\n`);
    const left = report.targets.some((t) => t.parking.failed.length || t.dlq.failed.length);
    return report.dryRun || !left ? 0 : 1;
  } finally {
    ops.destroy();
  }
}

export function drainLines(r: DrainReport): string[] {
  const how = r.dryRun
    ? 'dry run: nothing changed'
    : r.mode === 'to-queue'
      ? 'DLQ → parking queue'
      : 're-driven through the guards';
  const lines = [`Drain ${r.table} from ${r.region} (${how})`];
  for (const t of r.targets) {
    lines.push(`→ ${t.target}`);
    lines.push(...queueLines('parking', t.parking, r), ...queueLines('DLQ', t.dlq, r));
  }
  for (const [action, n] of Object.entries(r.throttled))
    lines.push(`throttled ${n} times on ${action} (backed off)`);
  return lines;
}

function queueLines(kind: string, q: QueueDrain, r: DrainReport): string[] {
  const age = q.oldestAgeSeconds !== undefined ? `, oldest ${q.oldestAgeSeconds}s` : '';
  const lines = [`  ${kind} ${q.queue}: ${q.visible} visible, ${q.inFlight} in flight; read ${q.read}${age}`];
  for (const s of q.sample) {
    const what = s.invalid
      ? `not a parked record: ${s.invalid}`
      : `${s.op} ${JSON.stringify(s.key)} from ${s.origin}: ${s.reason}`;
    const parked = s.parkedAt ? `, parked ${s.parkedAt}` : '';
    lines.push(`    ${what}${s.ageSeconds !== undefined ? ` (${s.ageSeconds}s old${parked})` : ''}`);
  }
  // --to-queue only shows the parking queue.
  if (r.dryRun || !q.read || (r.mode === 'to-queue' && kind === 'parking')) return lines;
  const done = q.moved
    ? `${q.moved} moved back`
    : `${q.applied} applied, ${q.alreadyNewer} already newer, ${q.conflictsLost} conflicts lost, ${q.deferred} deferred, ${q.refused} refused as too old`;
  lines.push(`    ${done}; ${q.deleted} deleted, ${q.failed.length} left`);
  for (const f of q.failed.slice(0, 5)) lines.push(`    left ${f.messageId}: ${f.reason}`);
  for (const f of q.refusedKeys.slice(0, 5))
    lines.push(
      `    refused ${JSON.stringify(f.key)} (parked ${f.ageSeconds}s ago): check it with verify --table ${r.table} --repair`,
    );
  return lines;
}
