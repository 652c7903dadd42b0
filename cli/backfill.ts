/**
 * `ddb-mirror backfill`: copies the items a region already holds to its peers, through the
 * replicator's guards (lambda/ops/backfill.ts), resumable from a local checkpoint file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { dirname, isAbsolute, join, relative } from 'path';
import { runBackfill, type BackfillResult } from '../lambda/ops/backfill';
import { deployedProblems, runDeployed, sfnClient, type DeployedArgs } from './backfill-deployed';
import { CheckpointMismatch, type BackfillCheckpoint, type CheckpointStore } from '../lambda/ops/checkpoint';
import { explainAwsError } from '../lambda/ops/errors';
import { tableRegions, type TableModel } from '../lib/config/model';
import {
  type Command,
  type CommandIo,
  numberOption,
  stringOption,
  UsageError,
  type ParsedValues,
} from './command';
import {
  capacityFigures,
  commonArgs,
  connectionArgs,
  CONNECTION_OPTIONS,
  fmt,
  onInterrupt,
  OpsError,
  OPS_OPTIONS,
  preflight,
  Progress,
  progressStream,
  regionClients,
  regionsOption,
  renderTable,
  settingsByRegion,
  tableOrProblem,
  throwProblems,
  unknownRegions,
  writeJson,
  type CommonArgs,
  errorPlace,
  type RegionClients,
} from './ops';

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'copy the items a region already holds to its peers (a new region or table), safely while live',
  description:
    'Copies the existing items of a table to its other regions: from the source of a one-way table,\n' +
    "or from the --from region of a multi-active one. Every item goes through the replicator's guards:\n" +
    'it never overwrites a newer item and never brings back a deleted one, so it is safe while live\n' +
    'replication runs. One-way: items a replica already holds, even stale ones, are left alone\n' +
    '(verify --repair fixes those). Resumable: a checkpoint per Scan segment is saved after every page;\n' +
    'Ctrl-C stops at a checkpoint and prints the command that resumes.\n' +
    "With --deployed it runs in AWS instead, at any size: it starts the table's export backfill state\n" +
    'machine (config exportBackfill, then cdk deploy) in the --from region and follows it to its end.\n' +
    'Exit code: 0 when every item was handled, 1 when any failed, 130 when interrupted.',
  options: {
    table: OPS_OPTIONS.table,
    from: {
      type: 'string',
      value: 'REGION',
      description: 'region to copy from (one-way: its source, the default; multi-active: required)',
    },
    to: {
      type: 'string',
      value: 'R1,R2',
      multiple: true,
      description: 'regions to copy to (default: every other region of the table)',
    },
    segments: OPS_OPTIONS.segments,
    'page-size': OPS_OPTIONS['page-size'],
    'max-read-units': OPS_OPTIONS['max-read-units'],
    'max-write-units': OPS_OPTIONS['max-write-units'],
    checkpoint: {
      type: 'string',
      value: 'PATH',
      description: 'checkpoint file (default: .ddb-mirror/backfill-<table>-<from>.json)',
    },
    restart: { type: 'boolean', description: 'ignore a saved checkpoint and start over' },
    deployed: {
      type: 'boolean',
      description:
        'run in AWS: export the table to S3 and apply it with the deployed state machine\n(config exportBackfill; --from picks the region, --profile the credentials)',
    },
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => {
    if (values.deployed !== true) return backfill(backfillArgs(values, io.cwd), io);
    const a = deployedArgs(values, io.cwd);
    return runDeployed(a, sfnClient(a), io);
  },
};

/** `--deployed`: the table and the region to copy from, checked as for the local backfill, every problem at once. */
export function deployedArgs(values: ParsedValues, cwd: string): DeployedArgs {
  const problems: string[] = [];
  const common = commonArgs(values, problems);
  const table = tableOrProblem(common, cwd, problems);
  const fromOption = stringOption(values, 'from');
  const from = table ? fromProblems(table, fromOption, undefined, problems) : '';
  problems.push(...deployedProblems(values, table));
  throwProblems(problems);
  return {
    table: table!,
    from,
    json: common.json,
    credentials: { profile: common.profile, profiles: common.profiles },
  };
}

export interface BackfillArgs extends CommonArgs {
  readonly model: TableModel;
  readonly from: string;
  readonly to: readonly string[];
  readonly maxWriteUnits?: number;
  /** Absolute path. */
  readonly checkpoint: string;
  /** --checkpoint as given (repeated in the resume command). */
  readonly checkpointOption?: string;
  readonly restart: boolean;
}

/** Checks the options against the config; every problem at once, each naming the option and value. */
export function backfillArgs(values: ParsedValues, cwd: string): BackfillArgs {
  const problems: string[] = [];
  const common = commonArgs(values, problems);
  let maxWriteUnits: number | undefined;
  try {
    maxWriteUnits = numberOption(values, 'max-write-units', { min: 1 });
  } catch (e) {
    problems.push((e as Error).message);
  }
  const table = tableOrProblem(common, cwd, problems);
  const fromOption = stringOption(values, 'from');
  const to = regionsOption(values, 'to');
  const from = table ? fromProblems(table, fromOption, to, problems) : '';
  throwProblems(problems);
  const checkpointOption = stringOption(values, 'checkpoint');
  const checkpoint = checkpointOption ?? join('.ddb-mirror', `backfill-${table!.name}-${from}.json`);
  return {
    ...common,
    model: table!,
    from,
    to: to ?? tableRegions(table!).filter((r) => r !== from),
    maxWriteUnits,
    checkpoint: isAbsolute(checkpoint) ? checkpoint : join(cwd, checkpoint),
    ...(checkpointOption ? { checkpointOption } : {}),
    restart: values.restart === true,
  };
}

/** The region to copy from (one-way: the source), with every problem of --from and --to. */
function fromProblems(
  table: TableModel,
  fromOption: string | undefined,
  to: readonly string[] | undefined,
  problems: string[],
): string {
  const regions = tableRegions(table);
  problems.push(...unknownRegions(table, 'from', fromOption ? [fromOption] : []));
  problems.push(...unknownRegions(table, 'to', to ?? []));
  if (table.mode === 'one-way' && fromOption && fromOption !== table.source && regions.includes(fromOption))
    problems.push(
      `--from ${JSON.stringify(fromOption)} is a replica: ${table.name} is one-way, its items are copied from its source ${table.source}`,
    );
  if (table.mode === 'multi-active' && !fromOption)
    problems.push(
      `--from is required for the multi-active table ${table.name}: one of ${regions.join(', ')}`,
    );
  const from = fromOption ?? (table.mode === 'one-way' ? table.source : '');
  if (from && to?.includes(from))
    problems.push(`--to includes ${from}, the region the items are copied from`);
  if (to && !to.length) problems.push('--to needs at least one region');
  return from;
}

/** The checkpoint in a local JSON file, replaced atomically (write a temporary file, then rename). */
export function fileCheckpoint(path: string): CheckpointStore {
  return {
    load: () => {
      if (!existsSync(path)) return undefined;
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as BackfillCheckpoint;
      } catch (e) {
        throw new OpsError(
          `the checkpoint ${path} cannot be read (${(e as Error).message}): remove it, or pass --restart`,
        );
      }
    },
    save: (checkpoint) => {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(checkpoint, null, 2)}\n`);
      renameSync(tmp, path);
    },
    clear: () => rmSync(path, { force: true }),
  };
}

async function backfill(a: BackfillArgs, io: CommandIo): Promise<number> {
  const say = (line: string) => (a.json ? undefined : io.out.write(`${line}\n`));
  const rc = regionClients([a.from, ...a.to], a, { readUnits: a.maxReadUnits, writeUnits: a.maxWriteUnits });
  const where = relative(io.cwd, a.checkpoint) || a.checkpoint;
  say(
    `Backfill ${a.model.name} (${a.model.mode}) from ${a.from} to ${a.to.join(', ')}: ` +
      `${a.segments} segments, checkpoint ${where}`,
  );
  const counts = await preflight(rc, a.model.name, [a.from, ...a.to], a);
  const interrupt = onInterrupt((l) => io.err.write(`${l}\n`), 'stopping at the next checkpoint');
  const progress = new Progress(progressStream(io, a.json), 'backfill', counts[a.from]);
  let result: BackfillResult;
  try {
    result = await runBackfill({
      settings: settingsByRegion(a.model)[a.from],
      targets: a.to,
      clients: rc.clients,
      segments: a.segments,
      pageSize: a.pageSize,
      checkpoint: fileCheckpoint(a.checkpoint),
      restart: a.restart,
      signal: interrupt.signal,
      onProgress: (p) =>
        progress.update(p.itemsBefore + p.counts.scanned, `${fmt(p.counts.written)} writes applied`),
    });
  } catch (e) {
    if (e instanceof CheckpointMismatch)
      throw new UsageError(
        `the checkpoint ${where} is for another backfill (${e.message}): use the same options, or --restart`,
      );
    throw e;
  } finally {
    interrupt.dispose();
    progress.finish();
  }
  const summary = backfillSummary(a, result, rc, where);
  if (a.json) writeJson(io, summary);
  else for (const line of summaryLines(summary)) say(line);
  return result.interrupted ? 130 : result.complete && result.counts.failed === 0 ? 0 : 1;
}

export type BackfillSummary = ReturnType<typeof backfillSummary>;

function backfillSummary(a: BackfillArgs, r: BackfillResult, rc: RegionClients, where: string) {
  const status = r.complete ? 'complete' : r.interrupted ? 'interrupted' : 'stopped';
  const seconds = r.durationMs / 1000;
  const place = (region: string) => errorPlace(rc, region, a.model.name);
  return {
    command: 'backfill',
    table: a.model.name,
    mode: a.model.mode,
    from: a.from,
    to: a.to,
    status,
    scanned: r.counts.scanned,
    written: r.counts.written,
    skippedNewer: r.counts.skippedNewer,
    skippedDeleted: r.counts.skippedDeleted,
    deferred: r.counts.deferred,
    failed: r.counts.failed,
    perTarget: r.perTarget,
    pages: r.counts.pages,
    segments: a.segments,
    segmentsSkipped: r.segmentsSkipped,
    resumed: r.resumed,
    capacity: capacityFigures(rc.meters),
    durationMs: r.durationMs,
    itemsPerSecond: seconds > 0 ? Math.round(r.counts.scanned / seconds) : 0,
    checkpoint: r.complete ? null : where,
    ...(r.complete ? {} : { resumeCommand: resumeCommand(a) }),
    ...(r.error ? { error: explainAwsError(r.error.message, place(r.error.region)) } : {}),
    failures: r.failures.map((f) => ({
      ...f,
      ...(f.target ? { reason: explainAwsError(f.reason, place(f.target)) } : {}),
    })),
  };
}

function resumeCommand(a: BackfillArgs): string {
  const args = [
    'npx ddb-mirror backfill',
    `--table ${a.model.name}`,
    `--from ${a.from}`,
    `--to ${a.to.join(',')}`,
    ...(a.segments !== 4 ? [`--segments ${a.segments}`] : []),
    ...(a.pageSize !== 500 ? [`--page-size ${a.pageSize}`] : []),
    ...(a.maxReadUnits ? [`--max-read-units ${a.maxReadUnits}`] : []),
    ...(a.maxWriteUnits ? [`--max-write-units ${a.maxWriteUnits}`] : []),
    ...(a.checkpointOption ? [`--checkpoint ${a.checkpointOption}`] : []),
    ...connectionArgs(a),
  ];
  return args.join(' ');
}

function summaryLines(s: BackfillSummary): string[] {
  const head =
    s.status === 'complete'
      ? `${s.failed ? '✘' : '✔'} Backfill complete`
      : s.status === 'interrupted'
        ? '■ Backfill interrupted at a checkpoint'
        : '✘ Backfill stopped at a checkpoint';
  const lines = [
    `${head}: ${fmt(s.scanned)} items in ${(s.durationMs / 1000).toFixed(1)}s (${fmt(s.itemsPerSecond)} items/s), ` +
      `${fmt(s.pages)} pages${s.resumed ? `, resumed (${s.segmentsSkipped} of ${s.segments} segments were done)` : ''}`,
    ...perTargetTable(s.perTarget),
    `  capacity: ${fmt(s.capacity.readUnits)} read units, ${fmt(s.capacity.writeUnits)} write units, ` +
      `${fmt(s.capacity.throttles)} throttled requests (retried)`,
  ];
  if (s.error) lines.push(`  ${s.error}`);
  for (const f of s.failures.slice(0, 5))
    lines.push(`  failed: ${f.key}${f.target ? ` → ${f.target}` : ''}: ${f.reason}`);
  if (s.resumeCommand)
    lines.push(`Nothing before the checkpoint is lost. Resume with:`, `  ${s.resumeCommand}`);
  return lines;
}

/** Outcomes per target: one row each, counted per item. */
function perTargetTable(perTarget: BackfillResult['perTarget']): string[] {
  const head = ['  target', 'written', 'newer', 'deleted', 'deferred', 'failed'];
  const rows = Object.entries(perTarget).map(([t, c]) => [
    `  ${t}`,
    ...[c.written, c.skippedNewer, c.skippedDeleted, c.deferred, c.failed].map(fmt),
  ]);
  return renderTable(head, rows, 1);
}
