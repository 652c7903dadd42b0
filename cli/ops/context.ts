/**
 * What `status`, `replay` and `drain` work on: the deployment the config describes, its replicators and
 * their queues (found by the names CloudFormation gives them), and per-region clients of every service
 * they call (clients.ts), with one AWS caller that backs off throttling and reports it.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ReplicatorSettings } from '../../lambda/contract';
import { AwsCaller } from '../../lambda/ops/aws-call';
import { OpsError } from '../../lambda/ops/errors';
import { listQueueUrls, pickQueue, type QueueRef } from '../../lambda/ops/queues';
import type { MirrorModel, TableModel } from '../../lib/config/model';
import {
  generatedNamePrefix,
  matchGeneratedName,
  replicatorDeployments,
  type ReplicatorDeployment,
} from '../../lib/ops/deployment';
import type { CommandIo, ParsedValues } from '../command';
import { clientConfig, fetchStatus, type ClientConfig } from './clients';
import { loadOpsConfig, replicatorSettingsOf } from './config';
import { opsArgs, profileRegionProblems, type OpsArgs } from './options';

export class OpsContext {
  readonly caller: AwsCaller;
  private readonly clients = new Map<string, { destroy(): void }>();
  private deployments?: ReplicatorDeployment[];

  constructor(
    readonly model: MirrorModel,
    readonly args: OpsArgs,
    io: CommandIo,
  ) {
    this.caller = new AwsCaller({
      onThrottle: (t, attempt, delay) =>
        io.err.write(
          `throttled: ${t.action} on ${t.resource}; backing off ${delay} ms (attempt ${attempt})\n`,
        ),
    });
  }

  get endpoint(): string | undefined {
    return this.args.endpoint;
  }

  /** Before the first call: `--endpoint` must answer as a ddb-mirror control endpoint. */
  async connect(): Promise<void> {
    if (this.endpoint) await fetchStatus(this.endpoint);
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
    return replicatorSettingsOf(table, region, (r) => parking[r]?.url ?? `no parking queue for ${r}`);
  }

  destroy(): void {
    this.clients.forEach((c) => c.destroy());
    this.clients.clear();
  }

  private client<T extends { destroy(): void }>(
    kind: string,
    region: string,
    make: (config: ClientConfig) => T,
  ): T {
    const id = `${kind}/${region}`;
    let c = this.clients.get(id) as T | undefined;
    if (!c) this.clients.set(id, (c = make(clientConfig(this.args, region))));
    return c;
  }
}

/**
 * Checks the shared options (their problems added to `problems`) and reads the config; nothing is
 * called yet (see {@link OpsContext.connect}).
 */
export function openOps(values: ParsedValues, io: CommandIo, problems: string[]): OpsContext {
  const args = opsArgs(values, problems);
  const model = loadOpsConfig(args.configPath, io.cwd);
  problems.push(
    ...profileRegionProblems(
      args,
      model.regions.map((r) => r.name),
    ),
  );
  return new OpsContext(model, args, io);
}
