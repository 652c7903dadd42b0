/**
 * What the operations commands (`backfill`, `verify`) share: the table and regions from the config,
 * one client per region (the standard credential chain, `--profile`, or the local mirror's endpoint),
 * metered and paced capacity, a check that every table answers before any work starts, and Ctrl-C.
 */
import { isAbsolute, join } from 'path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tombstoneTableName, type ReplicatorSettings } from '../lambda/contract';
import { meterClient, newMeter, TokenBucket, type CapacityMeter } from '../lambda/ops/capacity';
import { explainAwsError } from '../lambda/ops/errors';
import { loadConfig } from '../lib/config/load';
import { tableRegions, type MirrorModel, type TableModel } from '../lib/config/model';
import { REPLICATOR_SETTINGS_DEFAULTS } from '../lib/constructs/defaults';
import { replicatorSettings } from '../lib/constructs/replicator';
import { numberOption, stringOption, UsageError, type OptionSpec, type ParsedValues } from './command';

/** A failure of the operation itself (not of the command line): printed as one line, exit code 1. */
export class OperationError extends Error {}

export const OPS_OPTIONS = {
  table: { type: 'string', value: 'NAME', description: 'the table (default: the only table of the config)' },
  config: { type: 'string', value: 'PATH', description: 'config file (default: mirror.config.yaml)' },
  endpoint: {
    type: 'string',
    value: 'URL',
    description:
      'a DynamoDB endpoint for every region, e.g. the local mirror (npm start -- --keep);\n' +
      'credentials default to local/local there',
  },
  profile: {
    type: 'string',
    value: 'NAME',
    description: 'AWS profile (default: the standard credential chain)',
  },
  segments: { type: 'string', value: 'N', description: 'parallel Scan segments per region (default: 4)' },
  'page-size': { type: 'string', value: 'N', description: 'items per Scan page (default: 500)' },
  'max-read-units': {
    type: 'string',
    value: 'N',
    description: 'read capacity units per second per region (default: no limit)',
  },
  json: { type: 'boolean', description: 'print a machine-readable summary (JSON) on stdout, nothing else' },
} as const satisfies Record<string, OptionSpec>;

export const MAX_WRITE_UNITS: OptionSpec = {
  type: 'string',
  value: 'N',
  description: 'write capacity units per second per target region (default: no limit)',
};

export interface Connection {
  readonly endpoint?: string;
  readonly profile?: string;
}

export interface CommonArgs extends Connection {
  readonly configPath: string;
  readonly table?: string;
  readonly segments: number;
  readonly pageSize: number;
  readonly maxReadUnits?: number;
  readonly json: boolean;
}

/** The shared options, each checked; a usage error names the option and the value. */
export function commonArgs(values: ParsedValues, problems: string[]): CommonArgs {
  const endpoint = stringOption(values, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    problems.push(`--endpoint needs a URL like http://127.0.0.1:8000, got ${JSON.stringify(endpoint)}`);
  const number = (name: string, rules: Parameters<typeof numberOption>[2]) => {
    try {
      return numberOption(values, name, rules);
    } catch (e) {
      problems.push((e as Error).message);
      return undefined;
    }
  };
  return {
    configPath: stringOption(values, 'config') ?? 'mirror.config.yaml',
    table: stringOption(values, 'table'),
    endpoint,
    profile: stringOption(values, 'profile'),
    segments: number('segments', { integer: true, min: 1, max: 1000 }) ?? 4,
    pageSize: number('page-size', { integer: true, min: 1, max: 10000 }) ?? 500,
    maxReadUnits: number('max-read-units', { min: 1 }),
    json: values.json === true,
  };
}

/** Throws one usage error listing every problem. */
export function throwProblems(problems: readonly string[]): void {
  if (problems.length) throw new UsageError(problems.join('\n'));
}

/**
 * The table named by --table (or the config's only table). `configPath` is shown as given and read
 * relative to `cwd`.
 */
export function findTable(
  configPath: string,
  name: string | undefined,
  cwd: string,
): { model: MirrorModel; table: TableModel } {
  // Read relative to the command's directory, named as the user wrote it.
  const model = loadConfig(
    isAbsolute(configPath) || cwd === process.cwd() ? configPath : join(cwd, configPath),
  );
  const names = model.tables.map((t) => t.name);
  if (name === undefined) {
    if (model.tables.length === 1) return { model, table: model.tables[0] };
    throw new UsageError(`--table is required: ${configPath} has the tables ${names.join(', ')}`);
  }
  const table = model.tables.find((t) => t.name === name);
  if (!table)
    throw new UsageError(
      `--table ${JSON.stringify(name)} is not in ${configPath}; its tables: ${names.join(', ')}`,
    );
  return { model, table };
}

/** `findTable`, with a usage error added to `problems` instead of thrown (so every problem is told at once). */
export function tableOrProblem(a: CommonArgs, cwd: string, problems: string[]): TableModel | undefined {
  try {
    return findTable(a.configPath, a.table, cwd).table;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

/** A region list option: comma-separated, repeatable. Undefined when absent. */
export function regionsOption(values: ParsedValues, name: string): string[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [String(raw)]).flatMap((v) => v.split(','));
  return [...new Set(list.map((r) => r.trim()).filter((r) => r))];
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

/** Each region's replicator settings, as the deployed construct builds them (peers do not matter here). */
export function settingsByRegion(table: TableModel): Record<string, ReplicatorSettings> {
  const regions = tableRegions(table);
  const tuning = { maxConcurrency: table.replication.itemsInFlight, ...REPLICATOR_SETTINGS_DEFAULTS };
  return Object.fromEntries(
    regions.map((r) => [
      r,
      replicatorSettings(
        table,
        r,
        regions.filter((p) => p !== r).map((p) => ({ region: p, parkingQueueUrl: 'unused-by-operations' })),
        tuning,
      ),
    ]),
  );
}

export interface RegionClients {
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly meters: Readonly<Record<string, CapacityMeter>>;
  endpointOf(region: string): string;
}

/** DynamoDB Local keeps one database per access key; the local mirror's is `local`. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** One metered (and, with limits, paced) client per region: `region` only, plus the endpoint or profile asked for. */
export function regionClients(
  regions: readonly string[],
  c: Connection,
  limits: { readonly readUnits?: number; readonly writeUnits?: number } = {},
): RegionClients {
  const local = c.endpoint !== undefined && c.profile === undefined && !process.env.AWS_ACCESS_KEY_ID;
  const clients: Record<string, DynamoDBClient> = {};
  const meters: Record<string, CapacityMeter> = {};
  for (const region of regions) {
    clients[region] = new DynamoDBClient({
      region,
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      ...(c.profile ? { profile: c.profile } : {}),
      ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
    });
    meters[region] = newMeter();
    meterClient(clients[region], meters[region], {
      ...(limits.readUnits ? { read: new TokenBucket(limits.readUnits) } : {}),
      ...(limits.writeUnits ? { write: new TokenBucket(limits.writeUnits) } : {}),
    });
  }
  const endpointOf = (region: string) =>
    c.endpoint ??
    process.env.AWS_ENDPOINT_URL_DYNAMODB ??
    process.env.AWS_ENDPOINT_URL ??
    `https://dynamodb.${region}.amazonaws.com`;
  return { clients, meters, endpointOf };
}

/**
 * Before any work: every region's table and tombstone table answers (DescribeTable, 15 s each).
 * Returns the table's approximate item count per region; throws one error naming every problem.
 */
export async function preflight(
  rc: RegionClients,
  table: string,
  regions: readonly string[],
  c: Connection,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // The same problem in several regions (one endpoint that does not answer) is told once.
  const problems = new Map<string, string[]>();
  await Promise.all(
    regions.flatMap((region) =>
      [table, tombstoneTableName(table)].map(async (name) => {
        try {
          const res = await rc.clients[region].send(new DescribeTableCommand({ TableName: name }), {
            abortSignal: AbortSignal.timeout(15_000),
          });
          if (name === table) counts[region] = res.Table?.ItemCount ?? 0;
        } catch (e) {
          const text = explainAwsError(e, { region: REGION, endpoint: rc.endpointOf(region), table: name });
          const list = problems.get(text) ?? [];
          if (!list.includes(region)) list.push(region);
          problems.set(text, list);
        }
      }),
    ),
  );
  if (problems.size) {
    const lines = [...problems].map(([text, rs]) =>
      text.split(REGION).join(sortLike(rs, regions).join(', ')),
    );
    if (c.endpoint && lines.some((p) => p.includes('not found')))
      lines.push(
        '(DynamoDB Local keeps one database per access key and region: the local mirror uses the key "local")',
      );
    throw new OperationError(lines.sort().join('\n'));
  }
  return counts;
}

const REGION = '\u0000region\u0000';
const sortLike = (some: readonly string[], order: readonly string[]) => order.filter((r) => some.includes(r));

export interface Interrupt {
  readonly signal: AbortSignal;
  dispose(): void;
}

/** The first Ctrl-C stops at the next checkpoint; a second one exits at once. */
export function onInterrupt(say: (line: string) => void, what: string): Interrupt {
  const controller = new AbortController();
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130);
    say(`\n${signal}: ${what} (Ctrl-C again to quit at once)`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}

/** Units and throttles, in total and per region (only regions that consumed any). */
export function capacityFigures(meters: Readonly<Record<string, CapacityMeter>>) {
  const regions = Object.fromEntries(
    Object.entries(meters)
      .filter(([, m]) => m.readUnits || m.writeUnits || m.throttles)
      .map(([r, m]) => [
        r,
        { readUnits: round(m.readUnits), writeUnits: round(m.writeUnits), throttles: m.throttles },
      ]),
  );
  const sum = (f: (m: CapacityMeter) => number) => Object.values(meters).reduce((n, m) => n + f(m), 0);
  return {
    readUnits: round(sum((m) => m.readUnits)),
    writeUnits: round(sum((m) => m.writeUnits)),
    throttles: sum((m) => m.throttles),
    regions,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** `1,234`. */
export const fmt = (n: number) => n.toLocaleString('en-US');

/** Arguments to repeat in a printed command line: the connection and config when not the defaults. */
export function connectionArgs(a: CommonArgs): string[] {
  return [
    ...(a.configPath !== 'mirror.config.yaml' ? ['--config', a.configPath] : []),
    ...(a.endpoint ? ['--endpoint', a.endpoint] : []),
    ...(a.profile ? ['--profile', a.profile] : []),
  ];
}
