/**
 * `ddb-mirror verify [--repair]`: compares every region of a table by range hashes
 * (lambda/ops/hash-verify.ts; `--full`: item by item, lambda/ops/verify.ts) and, with --repair, writes
 * each divergent key's winning state through the replicator's guards (lambda/ops/repair.ts), then reads
 * the repaired keys again. It measures what the comparison cost: read units and bytes across regions,
 * per GB of the table.
 */
import type { DivergenceKind } from '../lambda/contract';
import {
  formatBytes,
  meterBytes,
  newByteMeter,
  VerifyCost,
  type TransferFigures,
} from '../lambda/anti-entropy/transfer';
import { explainAwsError } from '../lambda/ops/errors';
import {
  awsClients,
  deployedVerifyArgs,
  runVerifyDeployed,
  verifyDeployedProblems,
  type VerifyDeployedArgs,
} from './verify-deployed';
import { hashVerifyTable, type HashVerifyReport } from '../lambda/ops/hash-verify';
import { repairKeys, type RepairReport } from '../lambda/ops/repair';
import { recheck, verifyTable, type FoundDivergence, type VerifyReport } from '../lambda/ops/verify';
import { tableRegions, type TableModel } from '../lib/config/model';
import { compareTableOf } from '../lib/local/verify';
import { type Command, type CommandIo, numberOption, type ParsedValues } from './command';
import {
  capacityFigures,
  commonArgs,
  connectionArgs,
  CONNECTION_OPTIONS,
  fmt,
  numberOrProblem,
  onInterrupt,
  OPS_OPTIONS,
  preflight,
  Progress,
  progressStream,
  regionClients,
  regionsOption,
  settingsByRegion,
  tableOrProblem,
  throwProblems,
  unknownRegions,
  writeJson,
  type CommonArgs,
  errorPlace,
  type RegionClients,
} from './ops';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'compare every region of a table by range hashes; --repair writes the winning state',
  description:
    'Compares every region of a table by key and content, leaving out _ddbm_* attributes and the\n' +
    "table's excluded attributes. By default by range hashes: each region's items are hashed into\n" +
    'buckets by key (eventually consistent reads), and only the buckets whose hashes differ are\n' +
    'descended into, down to the keys; --full compares every item in one place instead (strongly\n' +
    'consistent reads). Keys that differ are read again a few times over about two seconds: a write\n' +
    "still being replicated is not a divergence. --repair writes the winning state through the replicator's\n" +
    'guards (multi-active: the highest order key; one-way: the source), then reads the repaired keys again.\n' +
    'It prints the read units and the bytes that crossed regions, per GB of the table.\n' +
    "With --deployed it runs in AWS instead, at any size, on the table's state machines (config\n" +
    'antiEntropy, then cdk deploy): each region hashes its own items, and only the hashes cross regions.\n' +
    'Exit code: 0 when every region agrees (after --repair: when nothing is left), 1 otherwise, 130 when\n' +
    'interrupted.',
  options: {
    table: OPS_OPTIONS.table,
    regions: {
      type: 'string',
      value: 'R1,R2',
      multiple: true,
      description: 'regions to compare (default: every region of the table; one-way: with the source)',
    },
    sample: {
      type: 'string',
      value: 'P',
      description: 'compare a fraction P (0-1] of the keys, the same keys every run (default: 1)',
    },
    repair: {
      type: 'boolean',
      description: 'write the winning state of each divergent key, then re-read them',
    },
    full: {
      type: 'boolean',
      description: 'compare every item in one place (strongly consistent), not by range hashes',
    },
    deployed: {
      type: 'boolean',
      description:
        "run in AWS at any size: hash every region where it lives on the table's state machines\n(config antiEntropy, then cdk deploy), compare from the source (else the first region)",
    },
    scan: {
      type: 'boolean',
      description:
        'with --deployed: hash by a parallel Scan even when point-in-time recovery would allow an export',
    },
    show: { type: 'string', value: 'N', description: 'divergent keys listed (default: 10)' },
    segments: OPS_OPTIONS.segments,
    'page-size': OPS_OPTIONS['page-size'],
    'max-read-units': OPS_OPTIONS['max-read-units'],
    'max-write-units': OPS_OPTIONS['max-write-units'],
    ...CONNECTION_OPTIONS,
  },
  run: (values, io) => {
    if (values.deployed !== true) return verify(verifyArgs(values, io.cwd), io);
    const a = verifyDeployedArgsOf(values, io.cwd);
    return runVerifyDeployed(a, awsClients(a.credentials), io);
  },
};

/** `--deployed`: the table, checked as for the local verify, and the options that mean nothing there. */
export function verifyDeployedArgsOf(values: ParsedValues, cwd: string): VerifyDeployedArgs {
  const problems: string[] = [];
  const common = commonArgs(values, problems);
  const show = numberOrProblem(values, 'show', { integer: true, min: 0 }, problems);
  const table = tableOrProblem(common, cwd, problems);
  problems.push(...verifyDeployedProblems(values, table));
  throwProblems(problems);
  return deployedVerifyArgs(table!, values, {
    json: common.json,
    show: show ?? 10,
    ...(values.segments !== undefined ? { segments: common.segments } : {}),
    credentials: { profile: common.profile, profiles: common.profiles },
  });
}

export interface VerifyArgs extends CommonArgs {
  readonly model: TableModel;
  /** In the table's order (one-way: the source first). */
  readonly regions: readonly string[];
  readonly sample: number;
  readonly repair: boolean;
  readonly full: boolean;
  readonly show: number;
  readonly maxWriteUnits?: number;
}

/** Checks the options against the config; every problem at once, each naming the option and value. */
export function verifyArgs(values: ParsedValues, cwd: string): VerifyArgs {
  const problems: string[] = [];
  const common = commonArgs(values, problems);
  const number = (name: string, rules: Parameters<typeof numberOption>[2]) =>
    numberOrProblem(values, name, rules, problems);
  const sample = sampleOption(values, problems);
  const show = number('show', { integer: true, min: 0 });
  const maxWriteUnits = number('max-write-units', { min: 1 });
  const table = tableOrProblem(common, cwd, problems);
  const asked = regionsOption(values, 'regions');
  const regions = table ? regionProblems(table, asked, problems) : [];
  throwProblems(problems);
  return {
    ...common,
    model: table!,
    regions,
    sample: sample ?? 1,
    repair: values.repair === true,
    full: values.full === true,
    show: show ?? 10,
    maxWriteUnits,
  };
}

/** --sample: a fraction above 0 and at most 1. */
function sampleOption(values: ParsedValues, problems: string[]): number | undefined {
  const raw = values.sample;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw === 'string' && raw.trim() !== '' && n > 0 && n <= 1) return n;
  problems.push(`--sample needs a fraction above 0 and at most 1 (e.g. 0.1), got ${JSON.stringify(raw)}`);
  return undefined;
}

/** The regions to compare, in the table's order, with every problem of --regions. */
function regionProblems(
  table: TableModel,
  asked: readonly string[] | undefined,
  problems: string[],
): string[] {
  const all = tableRegions(table);
  if (!asked) return [...all];
  const unknown = unknownRegions(table, 'regions', asked);
  problems.push(...unknown);
  const regions = all.filter((r) => asked.includes(r));
  if (regions.length < 2 && !unknown.length)
    problems.push(`--regions needs at least two regions of ${table.name} to compare, got ${asked.join(',')}`);
  if (table.mode === 'one-way' && !asked.includes(table.source))
    problems.push(
      `--regions must include ${table.source}: ${table.name} is one-way and its replicas are compared to its source`,
    );
  return regions;
}

async function verify(a: VerifyArgs, io: CommandIo): Promise<number> {
  const say = (line: string) => (a.json ? undefined : io.out.write(`${line}\n`));
  const rc = regionClients(a.regions, a, { readUnits: a.maxReadUnits, writeUnits: a.maxWriteUnits });
  const table = { ...compareTableOf(a.model), regions: a.regions };
  const sampled = a.sample < 1 ? `, sample ${Math.round(a.sample * 1000) / 10}% of the keys` : '';
  say(`Verify ${a.model.name} (${a.model.mode}) in ${a.regions.join(', ')}${sampled}`);
  const counts = await preflight(rc, a.model.name, a.regions, a);
  const interrupt = onInterrupt(
    (l) => io.err.write(`${l}\n`),
    a.repair ? 'stopping after the keys being repaired' : 'stopping',
  );
  const stream = progressStream(io, a.json);
  const measure = measureSteps(rc, a.regions);
  try {
    const total = Object.values(counts).reduce((n, c) => n + c, 0);
    const progress = new Progress(stream, 'verify', total);
    const options = {
      table,
      clients: rc.clients,
      segments: a.segments,
      pageSize: a.pageSize,
      sample: a.sample,
      signal: interrupt.signal,
      onProgress: (n: number) => progress.update(n),
      onPhase: measure.mark,
    };
    const report = a.full ? await verifyTable(options) : await hashVerifyTable(options);
    progress.finish();
    const cost = measure.figures(report);
    let repair: (RepairReport & { remaining: FoundDivergence[] }) | undefined;
    if (a.repair && report.divergent.length && !report.interrupted) {
      const keys = report.divergent.map((d) => d.keyItem);
      const repairing = new Progress(stream, 'repair', keys.length, 'keys');
      const done = await repairKeys({
        table,
        settings: settingsByRegion(a.model),
        clients: rc.clients,
        keys,
        signal: interrupt.signal,
        onProgress: (n) => repairing.update(n),
      });
      repairing.finish();
      repair = { ...done, remaining: await recheck(table, rc.clients, keys) };
    }
    const summary = verifySummary(a, report, repair, rc, cost);
    if (a.json) writeJson(io, summary);
    else for (const line of summaryLines(a, summary)) say(line);
    if (report.interrupted || repair?.interrupted) return 130;
    return (repair ? repair.remaining.length : report.divergent.length) ? 1 : 0;
  } finally {
    interrupt.dispose();
  }
}

const KIND_WORDS: Record<DivergenceKind, string> = {
  missing: 'missing in',
  only: 'present only in',
  differing: 'differs in',
};

export type VerifySummary = ReturnType<typeof verifySummary>;

/** The comparison's own cost: each region's client metered for bytes as well as read units. */
function measureSteps(rc: RegionClients, regions: readonly string[]): VerifyCost {
  const bytes = Object.fromEntries(regions.map((r) => [r, newByteMeter()]));
  for (const r of regions) meterBytes(rc.clients[r], bytes[r]);
  return new VerifyCost(regions, rc.meters, bytes);
}

function verifySummary(
  a: VerifyArgs,
  r: VerifyReport | HashVerifyReport,
  repair: (RepairReport & { remaining: FoundDivergence[] }) | undefined,
  rc: RegionClients,
  cost: TransferFigures,
) {
  const place = (region: string) => errorPlace(rc, region, a.model.name);
  const status = r.interrupted
    ? 'interrupted'
    : !r.divergent.length
      ? 'ok'
      : !repair
        ? 'divergent'
        : repair.remaining.length
          ? 'unrepaired'
          : 'repaired';
  const hash =
    'hash' in r
      ? {
          plan: r.hash.plan,
          levels: r.hash.levels,
          leaves: r.hash.leaves,
          candidates: r.hash.candidates,
          reads: r.hash.reads,
        }
      : undefined;
  return {
    command: 'verify',
    table: a.model.name,
    mode: a.model.mode,
    regions: a.regions,
    sample: a.sample,
    method: r.method,
    status,
    scanned: r.scanned,
    items: r.items,
    compared: r.compared,
    inFlight: r.inFlight,
    notReread: r.notReread,
    divergent: r.divergent.length,
    byKind: r.byKind,
    keys: r.divergent.slice(0, 1000).map((d) => ({ key: d.key, kind: d.kind, regions: d.differing })),
    ...(repair
      ? {
          repair: {
            keys: repair.keys,
            keysDone: repair.keysDone,
            counts: repair.counts,
            writes: repair.writes.map((w) => ({
              ...w,
              ...(w.error ? { error: explainAwsError(w.error, place(w.region)) } : {}),
            })),
            skipped: repair.skipped,
            remaining: repair.remaining.length,
            remainingKeys: repair.remaining
              .slice(0, 1000)
              .map((d) => ({ key: d.key, kind: d.kind, regions: d.differing })),
            interrupted: repair.interrupted,
          },
        }
      : {}),
    capacity: capacityFigures(rc.meters),
    measure: cost,
    ...(hash ? { hash } : {}),
    durationMs: r.durationMs,
  };
}

function summaryLines(a: VerifyArgs, s: VerifySummary): string[] {
  const items = a.regions.map((r) => `${r} ${fmt(s.items[r])}`).join(', ');
  const lines = [
    `  items: ${items}; ${fmt(s.compared)} keys compared in ${(s.durationMs / 1000).toFixed(1)}s` +
      (s.inFlight ? `; ${fmt(s.inFlight)} differed while in flight and agreed on a re-read` : ''),
  ];
  if (s.hash) lines.push(hashLine(s.hash));
  if (s.notReread)
    lines.push(
      `  ${fmt(s.notReread)} divergent keys past the first 10,000 were not read again: counted from the scan`,
    );
  if (s.status === 'interrupted') return [...lines, '■ Interrupted: nothing was compared or changed'];
  const kinds = `${fmt(s.byKind.missing)} missing in a region, ${fmt(s.byKind.only)} present only in a region, ${fmt(s.byKind.differing)} differing`;
  lines.push(
    s.divergent
      ? `✘ ${fmt(s.divergent)} divergent keys: ${kinds}`
      : '✔ 0 divergent keys: every region holds the same items',
  );
  for (const k of s.keys.slice(0, a.show))
    lines.push(`  ${k.key}  ${KIND_WORDS[k.kind]} ${k.regions.join(', ')}`);
  if (s.divergent > a.show)
    lines.push(`  … and ${fmt(s.divergent - a.show)} more (--show N, or --json for all)`);
  if (s.divergent && !s.repair) lines.push(...fixHints(a, s));
  if (s.repair) lines.push(...repairLines(a, s.repair));
  lines.push(
    `  capacity: ${fmt(s.capacity.readUnits)} read units, ${fmt(s.capacity.writeUnits)} write units, ${fmt(s.capacity.throttles)} throttled requests (retried)`,
    costLine(s.measure, s.method),
  );
  return lines;
}

/** How far the hash comparison went: the buckets that differed at each level, and what it read of them. */
function hashLine(h: NonNullable<VerifySummary['hash']>): string {
  const top = 2 ** h.plan.topBits;
  const differing = h.levels.map((l) => fmt(l.differing)).join(' → ');
  return (
    `  by range hashes: ${fmt(top)} top buckets, ${h.plan.depth} levels below; buckets that differed per level ${differing}, ` +
    `${fmt(h.leaves)} compared item by item, ${fmt(h.candidates)} keys read again`
  );
}

/** The comparison's cost per GB of the table (the repair's is in the capacity line). */
function costLine(m: TransferFigures, method: string): string {
  const what = method === 'hash' ? 'hashes and re-reads' : 'items and re-reads';
  return (
    `  cost (${method}): ${fmt(Math.round(m.readUnits))} read units, ${formatBytes(m.crossRegionBytes)} across regions (${what}, to ${m.home}) ` +
    `for ${formatBytes(m.tableBytes)} of table: per GB ${fmt(m.perGB.readUnits)} read units and ${formatBytes(m.perGB.crossRegionBytes)}, ` +
    `${m.crossRegionPercent.toFixed(m.crossRegionPercent < 1 ? 2 : 1)} % of the table`
  );
}

/** How to fix what was found: backfill for keys a region lacks, repair for every kind. */
function fixHints(a: VerifyArgs, s: VerifySummary): string[] {
  const connection = connectionArgs(a)
    .map((x) => ` ${x}`)
    .join('');
  const subset = a.regions.length < tableRegions(a.model).length ? ` --regions ${a.regions.join(',')}` : '';
  const lines = [];
  if (s.byKind.missing) {
    const lacking = a.regions.filter((r) =>
      s.keys.some((k) => k.kind === 'missing' && k.regions.includes(r)),
    );
    const from =
      a.model.mode === 'one-way'
        ? ''
        : ` --from ${a.regions.find((r) => !lacking.includes(r)) ?? a.regions[0]}`;
    lines.push(
      `Copy what a region lacks: npx ddb-mirror backfill --table ${a.model.name}${from} --to ${lacking.join(',')}${connection}`,
    );
  }
  lines.push(
    `Repair every kind: npx ddb-mirror verify --table ${a.model.name} --repair${subset}${connection}`,
  );
  return lines;
}

function repairLines(a: VerifyArgs, r: NonNullable<VerifySummary['repair']>): string[] {
  const lines = [];
  for (const w of r.writes.slice(0, a.show))
    lines.push(
      `  ${w.key}: ${w.op} → ${w.region} (the state of ${w.from}): ${w.outcome}${w.error ? ` (${w.error})` : ''}`,
    );
  if (r.writes.length > a.show) lines.push(`  … and ${fmt(r.writes.length - a.show)} more writes`);
  for (const s of r.skipped.slice(0, a.show)) lines.push(`  ${s.key}: not repaired: ${s.reason}`);
  const c = r.counts;
  lines.push(
    `${r.remaining ? '✘' : '✔'} Repair: ${fmt(c.applied)} writes applied, ${fmt(c.deferred)} deferred to the region that decides, ` +
      `${fmt(c.stale + c['conflict-lost'])} found something newer, ${fmt(c.unavailable)} failed; ` +
      `${fmt(r.remaining)} keys still differ on a re-read`,
  );
  if (r.interrupted)
    lines.push(
      `■ Interrupted after ${fmt(r.keysDone)} of ${fmt(r.keys)} keys: run verify --repair again to finish`,
    );
  return lines;
}
