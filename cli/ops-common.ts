/**
 * What `replay`, `drain` and `status` share: the options every operations command takes, the table and
 * region they act on (defaults from the config, mistakes listing what is known), per-region clients
 * (credentials from the standard chain, `--profile` picks a profile, `--endpoint` points every client at
 * a kept local mirror's control endpoint) and the replicator's queues, found by the names CloudFormation
 * gives them.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../lib/config/load';
import { replicatorRegions, tableRegions, type MirrorModel, type TableModel } from '../lib/config/model';
import { REPLICATOR_SETTINGS_DEFAULTS } from '../lib/constructs/defaults';
import { replicatorSettings } from '../lib/constructs/replicator';
import {
  generatedNamePrefix,
  matchGeneratedName,
  replicatorDeployments,
  type ReplicatorDeployment,
} from '../lib/ops/deployment';
import type { ReplicatorSettings } from '../lambda/contract';
import { AwsCaller } from '../lambda/ops/aws-call';
import { OpsError } from '../lambda/ops/errors';
import { listQueueUrls, pickQueue, type QueueRef } from '../lambda/ops/queues';
import { type CommandIo, type OptionSpec, type ParsedValues, stringOption, UsageError } from './command';

export const OPS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: { type: 'string', value: 'PATH', description: 'config file (default: mirror.config.yaml)' },
  profile: {
    type: 'string',
    value: 'NAME',
    description: 'AWS profile for the credentials (default: the standard chain)',
  },
  endpoint: {
    type: 'string',
    value: 'URL',
    description: 'a kept local mirror: the control endpoint `npm start -- --keep` prints\n(default: AWS)',
  },
  json: { type: 'boolean', description: 'print a machine-readable summary (JSON) instead of text' },
};

export const TABLE_OPTION: OptionSpec = {
  type: 'string',
  value: 'NAME',
  description: 'the table (default: the only table of the config)',
};
export const REGION_OPTION: OptionSpec = {
  type: 'string',
  value: 'REGION',
  description: "the replicator's region (default: the table's only replicator region, a one-way source)",
};

/** A command's view of the deployment: the config, clients per region, the shared AWS caller. */
export class OpsContext {
  readonly caller: AwsCaller;
  private readonly clients = new Map<string, { destroy(): void }>();
  private deployments?: ReplicatorDeployment[];

  constructor(
    readonly model: MirrorModel,
    readonly configPath: string,
    readonly endpoint: string | undefined,
    private readonly profile: string | undefined,
    io: CommandIo,
  ) {
    this.caller = new AwsCaller({
      onThrottle: (t, attempt, delay) =>
        io.err.write(
          `throttled: ${t.action} on ${t.resource}; backing off ${delay} ms (attempt ${attempt})\n`,
        ),
    });
  }

  /**
   * Prepares the credentials before the first call: `--profile` selects a profile of the standard chain;
   * `--endpoint` must answer as a ddb-mirror control endpoint, and since the local mirror ignores
   * credentials, dummy ones stand in when the environment has none.
   */
  async connect(): Promise<void> {
    if (this.profile) process.env.AWS_PROFILE = this.profile;
    if (!this.endpoint) return;
    await fetchStatus(this.endpoint);
    if (!this.profile && !process.env.AWS_ACCESS_KEY_ID) {
      process.env.AWS_ACCESS_KEY_ID = 'local';
      process.env.AWS_SECRET_ACCESS_KEY = 'local';
    }
  }

  dynamo(region: string): DynamoDBClient {
    return this.client('dynamodb', region, (c) => new DynamoDBClient(c));
  }

  streams(region: string): DynamoDBStreamsClient {
    return this.client('streams', region, (c) => new DynamoDBStreamsClient(c));
  }

  sqs(region: string): SQSClient {
    return this.client('sqs', region, (c) => new SQSClient(c));
  }

  cloudwatch(region: string): CloudWatchClient {
    return this.client('cloudwatch', region, (c) => new CloudWatchClient(c));
  }

  /** Every replicator the config deploys (stack names and logical IDs). */
  replicators(): ReplicatorDeployment[] {
    return (this.deployments ??= replicatorDeployments(this.model));
  }

  deployment(table: string, region: string): ReplicatorDeployment {
    const d = this.replicators().find((x) => x.table === table && x.region === region);
    if (!d) throw new OpsError(`the config deploys no replicator for ${table} in ${region}`);
    return d;
  }

  /** A queue of `d` by logical ID, among the queues of its region. */
  async queue(
    d: ReplicatorDeployment,
    logicalId: string,
    what: string,
    urls?: readonly string[],
  ): Promise<QueueRef> {
    const listed = urls ?? (await this.queueUrls(d));
    return pickQueue(listed, {
      region: d.region,
      prefix: generatedNamePrefix(d.stackName),
      what: `${what} (${d.stackName}/${logicalId})`,
      score: (name) => matchGeneratedName(name, d.stackName, logicalId),
    });
  }

  /** The queues whose names could be CloudFormation's for `d`'s stack. */
  queueUrls(d: ReplicatorDeployment): Promise<string[]> {
    return listQueueUrls(this.sqs(d.region), this.caller, d.region, generatedNamePrefix(d.stackName));
  }

  /** The settings the replicator function of `table` in `region` runs with, with these parking queues. */
  settings(
    table: TableModel,
    region: string,
    parking: Readonly<Record<string, QueueRef>>,
  ): ReplicatorSettings {
    const peers = tableRegions(table)
      .filter((r) => r !== region)
      .map((r) => ({ region: r, parkingQueueUrl: parking[r]?.url ?? `no parking queue for ${r}` }));
    return replicatorSettings(table, region, peers, {
      maxConcurrency: table.replication.itemsInFlight,
      maxAttempts: REPLICATOR_SETTINGS_DEFAULTS.maxAttempts,
      baseDelayMs: REPLICATOR_SETTINGS_DEFAULTS.baseDelayMs,
    });
  }

  destroy(): void {
    this.clients.forEach((c) => c.destroy());
    this.clients.clear();
  }

  private client<T extends { destroy(): void }>(
    kind: string,
    region: string,
    make: (config: { region: string; endpoint?: string }) => T,
  ): T {
    const id = `${kind}/${region}`;
    let c = this.clients.get(id) as T | undefined;
    if (!c)
      this.clients.set(id, (c = make({ region, ...(this.endpoint ? { endpoint: this.endpoint } : {}) })));
    return c;
  }
}

/** Reads the config and checks the shared options; nothing is called yet (see {@link OpsContext.connect}). */
export function openOps(values: ParsedValues, io: CommandIo): OpsContext {
  const configPath = stringOption(values, 'config') ?? 'mirror.config.yaml';
  const endpoint = endpointOption(values);
  const profile = stringOption(values, 'profile');
  if (profile !== undefined && !/^[\w+=,.@-]+$/.test(profile))
    throw new UsageError(`--profile needs a profile name, got ${JSON.stringify(profile)}`);
  return new OpsContext(loadConfig(configPath), configPath, endpoint, profile, io);
}

function endpointOption(values: ParsedValues): string | undefined {
  const endpoint = stringOption(values, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new UsageError(
      `--endpoint needs a URL like http://127.0.0.1:4566, got ${JSON.stringify(endpoint)}`,
    );
  return endpoint?.replace(/\/$/, '');
}

/** `GET /status` of a control endpoint; an OpsError naming the endpoint when it does not answer as one. */
export async function fetchStatus(endpoint: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${endpoint}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const { cause } = e as { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new OpsError(
      `--endpoint ${endpoint} does not answer (${reason}); start one with npm start -- --keep`,
    );
  }
  if (!res.ok)
    throw new OpsError(
      `--endpoint ${endpoint} is not a ddb-mirror control endpoint (GET /status answered ${res.status}); pass the URL npm start -- --keep prints for --endpoint`,
    );
  return res.json();
}

/** The table `--table` names, or the config's only table. */
export function tableOf(model: MirrorModel, values: ParsedValues): TableModel {
  const name = stringOption(values, 'table');
  const known = model.tables.map((t) => t.name).join(', ');
  if (name === undefined) {
    if (model.tables.length === 1) return model.tables[0];
    throw new UsageError(`--table is needed: the config has ${model.tables.length} tables: ${known}`);
  }
  const table = model.tables.find((t) => t.name === name);
  if (!table) throw new UsageError(`--table ${JSON.stringify(name)} is not in the config; tables: ${known}`);
  return table;
}

/** The replicator region `--region` names for `table`, or the table's only one. */
export function replicatorRegionOf(model: MirrorModel, table: TableModel, values: ParsedValues): string {
  const region = stringOption(values, 'region');
  const replicators = replicatorRegions(table);
  const kind =
    table.mode === 'one-way'
      ? `one-way table ${table.name} replicates only from its source`
      : `${table.name} replicates from`;
  if (region === undefined) {
    if (replicators.length === 1) return replicators[0];
    throw new UsageError(`--region is needed: ${kind} ${replicators.join(', ')}`);
  }
  if (!model.regions.some((r) => r.name === region))
    throw new UsageError(
      `--region ${JSON.stringify(region)} is not a region of the config; regions: ${model.regions.map((r) => r.name).join(', ')}`,
    );
  if (!replicators.includes(region))
    throw new UsageError(
      `--region ${region} runs no replicator for ${table.name}: ${kind} ${replicators.join(', ')}`,
    );
  return region;
}

/** A target region of `table` other than `region` (`--target`), or all of them. */
export function targetsOf(table: TableModel, region: string, values: ParsedValues): string[] {
  const peers = tableRegions(table).filter((r) => r !== region);
  const target = stringOption(values, 'target');
  if (target === undefined) return peers;
  if (!peers.includes(target))
    throw new UsageError(
      `--target ${JSON.stringify(target)} is not a target of ${table.name} from ${region}; targets: ${peers.join(', ')}`,
    );
  return [target];
}

/** Aligned columns: the first `left` columns padded right, the rest left. */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  left = 2,
): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** `1 record`, `2 records`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms / 60_000)}min`;
}

export function writeJson(io: CommandIo, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}
