import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { main } from '../../bin/ddb-mirror';
import { loadConfig } from '../../lib/config/load';
import type { MirrorModel } from '../../lib/config/model';
import { ControlServer } from '../../lib/local/control';
import { LocalQueue, LocalQueues } from '../../lib/local/local-queue';
import { replicatorDeployments, type ReplicatorDeployment } from '../../lib/ops/deployment';
import { LOCAL_ACCOUNT } from '../../lib/local/plan';
import { createMirrorTables, uniqueName, type MirrorTables } from './dynamo';

/**
 * A one-way table (us-east-1 → eu-west-1) on the test run's DynamoDB Local with its tombstone tables, a
 * config file naming it, the replicator's real local queues (on-failure, parking, parking DLQ) named as
 * the local mirror names them, and a control endpoint serving them: what the operations commands see
 * against `npm start -- --keep`, without running the whole mirror.
 */
export const SOURCE = 'us-east-1';
export const REPLICA = 'eu-west-1';

export interface CliRun {
  readonly code?: number;
  readonly out: string;
  readonly err: string;
  /** The error `main` threw (usage and operator errors), if any. */
  readonly error?: Error;
}

export interface OpsFixture {
  readonly configPath: string;
  readonly model: MirrorModel;
  readonly tables: MirrorTables;
  readonly deployment: ReplicatorDeployment;
  readonly control: ControlServer;
  readonly onFailure: LocalQueue;
  readonly parking: LocalQueue;
  readonly dlq: LocalQueue;
  /** `ddb-mirror ARGS --config <fixture> --endpoint <control>`. */
  cli(...args: string[]): Promise<CliRun>;
  close(): Promise<void>;
}

export async function startOpsFixture(): Promise<OpsFixture> {
  const tables = await createMirrorTables({
    regions: [SOURCE, REPLICA],
    key: { partitionKey: { name: 'pk', type: 'S' } },
    streamRegions: [SOURCE],
    table: uniqueName('Ops'),
  });
  const configPath = join(mkdtempSync(join(tmpdir(), 'ddbm-ops-')), 'mirror.config.yaml');
  writeFileSync(
    configPath,
    [
      'regions:',
      `  ${SOURCE}: { endpoint: { hostname: a.example.com } }`,
      `  ${REPLICA}: { endpoint: { hostname: b.example.com } }`,
      'tables:',
      `  - { name: ${tables.table}, partitionKey: { name: pk, type: S }, mode: one-way, source: ${SOURCE}, replicas: [${REPLICA}] }`,
      '',
    ].join('\n'),
  );
  const model = loadConfig(configPath);
  const deployment = replicatorDeployments(model)[0];
  const queues = new LocalQueues();
  const add = (logicalId: string, redrive?: LocalQueue) =>
    queues.add(
      new LocalQueue({
        arn: `arn:aws:sqs:${SOURCE}:${LOCAL_ACCOUNT}:${deployment.stackName}-${logicalId}`,
        ...(redrive ? { redrive: { deadLetterQueue: redrive, maxReceiveCount: 100 } } : {}),
      }),
    );
  const onFailure = add(deployment.onFailureQueue);
  const dlq = add(deployment.parking[0].dlq);
  const parking = add(deployment.parking[0].queue, dlq);
  const control = await ControlServer.start({
    dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB!,
    queues,
    accessKeyId: 'local',
    status: () => ({ at: new Date().toISOString(), pairs: [], replicators: [], errors: [] }),
  });
  const cli = (...args: string[]) =>
    runCli([...args, '--config', configPath, '--endpoint', control.endpoint]);
  return {
    configPath,
    model,
    tables,
    deployment,
    control,
    onFailure,
    parking,
    dlq,
    cli,
    close: () => control.stop(),
  };
}

/** Runs `ddb-mirror ARGS` in-process, capturing its output. */
export async function runCli(argv: readonly string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const io = {
    out: { write: (c: string) => ((out += c), true) } as unknown as NodeJS.WriteStream & { fd: 1 },
    err: { write: (c: string) => ((err += c), true) } as unknown as NodeJS.WriteStream & { fd: 2 },
    cwd: process.cwd(),
  };
  try {
    const code = await main(argv, io);
    return { code, out, err };
  } catch (error) {
    return { out, err, error: error as Error };
  }
}
