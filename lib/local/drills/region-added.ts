import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../config/load';
import type { TableModel } from '../../config/model';
import { readAssembly } from '../assembly';
import { synthesize } from '../synth';
import { seconds } from './figures';
import type { DrillSession, Scenario, ScenarioFindings } from './session';

/**
 * A region added to the config of a running mirror, as an operator grows a deployment: the config
 * gains a region in every table (a replica of each one-way table, a writer of each multi-active one),
 * the CDK app is synthesized again, and the new plan is applied to the running mirror as `cdk deploy`
 * would (its tables, queues, functions and event sources created, the replicators that gained a peer
 * replaced; existing tables and stream positions stay). Then each table is copied into the new region
 * with `ddb-mirror backfill`, the command an operator would run, while the workload goes on. The
 * drill's audit then counts the new region like every other one: nothing lost, nothing diverged.
 */

/** Regions the drill adds, in order of preference: the first one the config does not use. */
const CANDIDATES = ['ca-central-1', 'eu-central-1', 'ap-northeast-1', 'sa-east-1', 'us-west-2', 'eu-north-1'];

interface Backfill {
  readonly table: string;
  readonly from: string;
  readonly exitCode: number;
  readonly written?: number;
  readonly scanned?: number;
  readonly ms: number;
  readonly output: string;
}

interface Added {
  readonly region: string;
  configPath?: string;
  synthMs?: number;
  appliedMs?: number;
  change?: string;
  backfills: Backfill[];
  error?: string;
}

export function regionAddedScenario(): Scenario {
  let added: Added | undefined;
  return {
    name: 'region-added',
    plan: (s) =>
      `at +${s.settings.leadSeconds}s, ${newRegion(s)} added to every table of the config: synthesized again, applied to the running mirror (new tables, queues, functions and event sources; replicators with a new peer replaced), then each table copied into it with ddb-mirror backfill while the workload goes on`,
    windowSeconds: (settings) => settings.forSeconds,
    prepare: (s) => {
      added = { region: newRegion(s), backfills: [] };
    },
    inject: (s) => addRegion(s, added!),
    status: () =>
      added?.backfills.length
        ? `backfilled ${added.backfills.length} tables into ${added.region}`
        : `adding ${added?.region}`,
    conclude: () => findings(added!),
  };
}

function newRegion(s: DrillSession): string {
  const used = new Set(s.plan.regions);
  const region = CANDIDATES.find((r) => !used.has(r));
  if (!region)
    throw new Error(
      `region-added: the config already uses every region it could add (${CANDIDATES.join(', ')})`,
    );
  return region;
}

async function addRegion(s: DrillSession, a: Added): Promise<void> {
  if (!s.context.configPath || !s.context.backfill) {
    a.error = s.context.configPath
      ? 'the run has no backfill command to copy the tables with'
      : 'the run has no config file to add a region to (it was started from an assembly)';
    s.log(a.error);
    return;
  }
  try {
    const dir = mkdtempSync(join(tmpdir(), 'ddbm-region-added-'));
    a.configPath = join(dir, 'mirror.config.yaml');
    writeFileSync(a.configPath, withRegion(readFileSync(s.context.configPath, 'utf8'), a.region));
    s.log(`config: ${a.region} added to every table (${a.configPath}); synthesizing again`);
    let t = Date.now();
    const plan = readAssembly(await synthesize({ configPath: a.configPath, cwd: s.context.cwd }));
    const tables: readonly TableModel[] = loadConfig(a.configPath).tables;
    a.synthMs = Date.now() - t;
    t = Date.now();
    const r = await s.handles.extend(plan, tables);
    a.appliedMs = Date.now() - t;
    s.tables = tables;
    a.change = `${r.tables} tables, ${r.mappings} event sources, ${r.started.length} functions started, ${r.replaced.length} replaced`;
    s.log(
      `applied to the running mirror in ${seconds(a.appliedMs)} (synthesis ${seconds(a.synthMs)}): ${a.change}`,
    );
    await caughtUp(s, Date.now());
    for (const table of tables) a.backfills.push(await backfill(s, a, table));
  } catch (e) {
    a.error = (e as Error).message;
    s.log(`failed: ${a.error}`);
  }
}

/**
 * Until every stream record read before `since` has been handled. Records the replaced replicators
 * handled were sent to the old peers only; they must have landed (and any write deferred on an item of
 * the backfill's source region must have been decided there) before the backfill reads the source, or
 * the new region would miss them: copied before they landed, and never sent to it. Seen once: a key
 * whose later saves were deferred on the source's item when the scan read it.
 */
async function caughtUp(s: DrillSession, since: number): Promise<void> {
  const started = Date.now();
  const deadline = started + s.settings.recoveryTimeoutMs;
  while (s.streamsBehind(since) > 0 && Date.now() < deadline && !s.aborted) await s.wait(250);
  s.log(
    `every stream caught up with the records read before the change, in ${seconds(Date.now() - started)}: backfilling now`,
  );
}

/** The config text with `region` added to the regions (its endpoint modelled on the first one's) and every table. */
export function withRegion(text: string, region: string): string {
  const config = parse(text) as {
    regions: Record<string, { endpoint?: { hostname?: string } } & Record<string, unknown>>;
    tables: ({ mode: string; replicas?: string[]; regions?: string[] } & Record<string, unknown>)[];
  };
  const [firstName, first] = Object.entries(config.regions)[0];
  const hostname = first.endpoint?.hostname;
  config.regions[region] = {
    ...structuredClone(first),
    ...(hostname
      ? {
          endpoint: {
            ...first.endpoint,
            hostname: hostname.includes(firstName)
              ? hostname.replace(firstName, region)
              : `${region}.${hostname}`,
          },
        }
      : {}),
  };
  for (const table of config.tables) {
    if (table.mode === 'one-way') table.replicas = [...(table.replicas ?? []), region];
    else table.regions = [...(table.regions ?? []), region];
  }
  return stringify(config);
}

/** `ddb-mirror backfill --table T --to NEW` against the running mirror's engine, as an operator would run it. */
async function backfill(s: DrillSession, a: Added, table: TableModel): Promise<Backfill> {
  const from = table.mode === 'one-way' ? table.source : table.regions[0];
  const argv = [
    '--config',
    a.configPath!,
    '--table',
    table.name,
    '--from',
    from,
    '--to',
    a.region,
    '--endpoint',
    s.handles.endpoint,
    '--checkpoint',
    join(a.configPath!, '..', `backfill-${table.name}.json`),
    '--json',
  ];
  s.log(
    `ddb-mirror backfill ${argv.filter((x, i) => argv[i - 1] !== '--config' && x !== '--config').join(' ')}`,
  );
  const out: string[] = [];
  const err: string[] = [];
  const sink = (to: string[]) =>
    ({ write: (c: string | Uint8Array) => (to.push(String(c)), true) }) as NodeJS.WritableStream;
  const started = Date.now();
  const exitCode = await s.context.backfill!(argv, { out: sink(out), err: sink(err), cwd: s.context.cwd });
  const output = out.join('') + err.join('');
  const summary = parseJson(out.join(''));
  const counts = {
    written: summary?.written as number | undefined,
    scanned: summary?.scanned as number | undefined,
  };
  const result = { table: table.name, from, exitCode, ...counts, ms: Date.now() - started, output };
  s.log(
    `backfill of ${table.name} from ${from}: exit ${exitCode}, ${counts.scanned ?? '?'} items read, ${counts.written ?? '?'} written in ${seconds(result.ms)}`,
  );
  return result;
}

/** The command's `--json` summary (its whole standard output). */
function parseJson(output: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(output) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function findings(a: Added): ScenarioFindings {
  const problems: string[] = [];
  if (a.error) problems.push(`adding ${a.region} failed: ${a.error}`);
  for (const b of a.backfills)
    if (b.exitCode !== 0)
      problems.push(`backfill of ${b.table} exited ${b.exitCode}: ${b.output.trim().slice(-300)}`);
  const written = a.backfills.reduce((n, b) => n + (b.written ?? 0), 0);
  return {
    fields: {
      region: a.region,
      applied_in: a.appliedMs === undefined ? '–' : seconds(a.appliedMs),
      backfilled: String(written),
      backfill_s: seconds(a.backfills.reduce((n, b) => n + b.ms, 0)),
    },
    problems,
    details: {
      regionAdded: {
        region: a.region,
        change: a.change,
        synthMs: a.synthMs,
        backfills: a.backfills.map(({ output: _output, ...b }) => b),
      },
    },
  };
}
