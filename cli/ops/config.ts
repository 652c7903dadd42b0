/**
 * The table and regions an operations command acts on, from the config: defaults when the config
 * leaves one choice, and otherwise a problem naming the option and the value and listing what the
 * config knows. Also the replicator settings the commands write with, as the deployed function has them.
 */
import { isAbsolute, join } from 'path';
import type { ReplicatorSettings } from '../../lambda/contract';
import { loadConfig } from '../../lib/config/load';
import { replicatorRegions, tableRegions, type MirrorModel, type TableModel } from '../../lib/config/model';
import { REPLICATOR_SETTINGS_DEFAULTS } from '../../lib/constructs/defaults';
import { replicatorSettings } from '../../lib/constructs/replicator';
import { UsageError } from '../command';
import { orProblem, profileRegionProblems, type OpsArgs } from './options';

/** The config at `configPath`, read relative to the command's directory. */
export function loadOpsConfig(configPath: string, cwd: string): MirrorModel {
  return loadConfig(isAbsolute(configPath) || cwd === process.cwd() ? configPath : join(cwd, configPath));
}

/** The table `name` (--table), or the config's only table; a usage error names the tables it has. */
export function tableIn(model: MirrorModel, configPath: string, name: string | undefined): TableModel {
  const names = model.tables.map((t) => t.name).join(', ');
  if (name === undefined) {
    if (model.tables.length === 1) return model.tables[0];
    throw new UsageError(`--table is required: ${configPath} has the tables ${names}`);
  }
  const table = model.tables.find((t) => t.name === name);
  if (!table)
    throw new UsageError(`--table ${JSON.stringify(name)} is not in ${configPath}; its tables: ${names}`);
  return table;
}

/** The config and the table named by --table (or its only table). */
export function findTable(
  configPath: string,
  name: string | undefined,
  cwd: string,
): { model: MirrorModel; table: TableModel } {
  const model = loadOpsConfig(configPath, cwd);
  return { model, table: tableIn(model, configPath, name) };
}

/** `findTable`, with its usage error added to `problems` instead of thrown. */
export function tableOrProblem(a: OpsArgs, cwd: string, problems: string[]): TableModel | undefined {
  const found = orProblem(() => findTable(a.configPath, a.table, cwd), problems);
  if (found)
    problems.push(
      ...profileRegionProblems(
        a,
        found.model.regions.map((r) => r.name),
      ),
    );
  return found?.table;
}

/** Problems with regions that are not the table's, each naming the option and the region. */
export function unknownRegions(table: TableModel, option: string, regions: readonly string[]): string[] {
  const known = tableRegions(table);
  return regions
    .filter((r) => !known.includes(r))
    .map(
      (r) =>
        `--${option} ${JSON.stringify(r)} is not a region of ${table.name}; its regions: ${known.join(', ')}`,
    );
}

/** The replicator region `region` (--region) names for `table`, or the table's only one. */
export function replicatorRegionOf(table: TableModel, region: string | undefined): string {
  const replicators = replicatorRegions(table);
  const kind =
    table.mode === 'one-way'
      ? `one-way table ${table.name} replicates only from its source`
      : `${table.name} replicates from`;
  if (region === undefined) {
    if (replicators.length === 1) return replicators[0];
    throw new UsageError(`--region is required: ${kind} ${replicators.join(', ')}`);
  }
  const unknown = unknownRegions(table, 'region', [region]);
  if (unknown.length) throw new UsageError(unknown[0]);
  if (!replicators.includes(region))
    throw new UsageError(
      `--region ${region} runs no replicator for ${table.name}: ${kind} ${replicators.join(', ')}`,
    );
  return region;
}

/** A target region of `table` other than `region` (--target), or all of them. */
export function targetsOf(table: TableModel, region: string, target: string | undefined): string[] {
  const peers = tableRegions(table).filter((r) => r !== region);
  if (target === undefined) return peers;
  if (!peers.includes(target))
    throw new UsageError(
      `--target ${JSON.stringify(target)} is not a target of ${table.name} from ${region}; its targets: ${peers.join(', ')}`,
    );
  return [target];
}

export interface ReplicatorChoice {
  readonly table: TableModel;
  /** The replicator's region. */
  readonly region: string;
  /** Its target regions (all, or the one --target names). */
  readonly targets: string[];
}

/** The replicator `replay` and `drain` act on, from --table, --region and --target; a problem when not. */
export function replicatorChoice(
  model: MirrorModel,
  configPath: string,
  names: { readonly table?: string; readonly region?: string; readonly target?: string },
  problems: string[],
): ReplicatorChoice | undefined {
  return orProblem(() => {
    const table = tableIn(model, configPath, names.table);
    const region = replicatorRegionOf(table, names.region);
    return { table, region, targets: targetsOf(table, region, names.target) };
  }, problems);
}

/**
 * The settings the replicator function of `table` in `region` runs with, as the construct builds them.
 * `parkingQueueUrl` gives each peer's parking queue (only replay and drain park; backfill and repair never do).
 */
export function replicatorSettingsOf(
  table: TableModel,
  region: string,
  parkingQueueUrl: (peer: string) => string = () => 'unused-by-this-operation',
): ReplicatorSettings {
  const peers = tableRegions(table)
    .filter((r) => r !== region)
    .map((r) => ({ region: r, parkingQueueUrl: parkingQueueUrl(r) }));
  return replicatorSettings(table, region, peers, {
    maxConcurrency: table.replication.itemsInFlight,
    ...REPLICATOR_SETTINGS_DEFAULTS,
  });
}

/** Every region's replicator settings (backfill and repair write from any region). */
export function settingsByRegion(table: TableModel): Record<string, ReplicatorSettings> {
  return Object.fromEntries(tableRegions(table).map((r) => [r, replicatorSettingsOf(table, r)]));
}
