import * as path from 'path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  encodeSettings,
  SETTINGS_ENV,
  settingsProblems,
  tombstoneTableName,
  type PeerSettings,
  type ReplicatorSettings,
} from '../../lambda/contract';
import { tableRegions, type TableModel } from '../config/model';
import {
  FUNCTION_DEFAULTS,
  LAMBDA_RUNTIME,
  PARKED_EVENT_SOURCE_DEFAULTS,
  QUEUE_DEFAULTS,
  REPLICATOR_SETTINGS_DEFAULTS,
  STREAM_EVENT_SOURCE_DEFAULTS,
} from './defaults';
import { MirroredTable } from './mirrored-table';
import { acknowledge } from './nag';

const REPO_ROOT = path.join(__dirname, '..', '..');

export interface ReplicatorProps {
  /**
   * The table (in this construct's region) whose stream is replicated to the table's other regions.
   *
   * Note: the stack must have an explicit region, and that region must be one of the table's
   * replicator regions (one-way: the source; multi-active: any of its regions).
   */
  readonly mirroredTable: MirroredTable;
  /**
   * Items of one batch processed in parallel.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Attempts per record per target before the record is parked.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * First back-off delay in milliseconds; doubles per attempt, with full jitter.
   * @default 100
   */
  readonly baseDelayMs?: number;
  /**
   * Entry file of the stream replicator (exports `handler`).
   * @default - `lambda/replicator/index.ts` of this repository
   */
  readonly replicatorEntry?: string;
  /**
   * Entry file of the parked-record consumer (exports `handler`).
   * @default - `lambda/parked/index.ts` of this repository
   */
  readonly parkedEntry?: string;
}

/** The parking queue (in this region) for one peer region, and its dead-letter queue. */
export interface ParkingQueue {
  readonly targetRegion: string;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * Reads one table's stream in one region and applies every local change to the table's peers:
 * the stream replicator, its event source mapping and on-failure queue, one parking queue per peer
 * (each with a DLQ), the parked-record consumer, and least-privilege roles for both functions.
 */
export class Replicator extends Construct {
  public readonly replicatorFunction: nodejs.NodejsFunction;
  public readonly parkedFunction: nodejs.NodejsFunction;
  /** Execution role of the replicator (inline policies only; no managed policies). */
  public readonly role: iam.Role;
  /** Execution role of the parked-record consumer. */
  public readonly parkedRole: iam.Role;
  /**
   * The stream mapping's on-failure destination: receives the metadata (shard, sequence range) of batches
   * that exhausted the mapping's retries, not the records (docs/platform.md#event-source-mapping).
   */
  public readonly onFailureQueue: sqs.Queue;
  /** One per peer region, in peer order. */
  public readonly parkingQueues: readonly ParkingQueue[];
  public readonly streamEventSource: lambda.EventSourceMapping;
  /** The settings both functions receive in `DDBM_SETTINGS` (queue URLs are tokens). */
  public readonly settings: ReplicatorSettings;
  public readonly region: string;
  public readonly peerRegions: readonly string[];

  constructor(scope: Construct, id: string, props: ReplicatorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const mirrored = props.mirroredTable;
    const model = mirrored.model;
    if (Token.isUnresolved(stack.region)) {
      throw new Error(`Replicator for table ${model.name} needs a stack with an explicit region`);
    }
    this.region = stack.region;
    const regions = tableRegions(model);
    if (!regions.includes(this.region)) {
      throw new Error(
        `Replicator for table ${model.name}: region ${this.region} is not one of ${regions.join(', ')}`,
      );
    }
    this.peerRegions = regions.filter((r) => r !== this.region);

    const terminalQueue = (queueId: string, description: string): sqs.Queue => {
      const q = new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: QUEUE_DEFAULTS.retentionPeriod,
      });
      acknowledge(
        q,
        'AwsSolutions-SQS3',
        `${description} is itself the dead-letter queue; nothing redrives from it automatically.`,
      );
      acknowledge(
        q,
        'Serverless-SQSRedrivePolicy',
        `${description} is itself the dead-letter queue (the end of the line).`,
      );
      return q;
    };

    this.onFailureQueue = terminalQueue('OnFailureQueue', 'The stream mapping on-failure destination');

    this.parkingQueues = this.peerRegions.map((targetRegion) => {
      const deadLetterQueue = terminalQueue(
        `ParkingDlq-${targetRegion}`,
        `The parking DLQ for ${targetRegion}`,
      );
      const queue = new sqs.Queue(this, `Parking-${targetRegion}`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: QUEUE_DEFAULTS.retentionPeriod,
        visibilityTimeout: Duration.seconds(
          FUNCTION_DEFAULTS.timeout.toSeconds() * QUEUE_DEFAULTS.visibilityTimeoutFactor,
        ),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: QUEUE_DEFAULTS.parkingMaxReceiveCount },
      });
      return { targetRegion, queue, deadLetterQueue };
    });

    this.settings = replicatorSettings(
      model,
      this.region,
      this.parkingQueues.map((p) => ({ region: p.targetRegion, parkingQueueUrl: p.queue.queueUrl })),
      {
        maxConcurrency: props.maxConcurrency ?? REPLICATOR_SETTINGS_DEFAULTS.maxConcurrency,
        maxAttempts: props.maxAttempts ?? REPLICATOR_SETTINGS_DEFAULTS.maxAttempts,
        baseDelayMs: props.baseDelayMs ?? REPLICATOR_SETTINGS_DEFAULTS.baseDelayMs,
      },
    );
    const problems = settingsProblems(this.settings);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid replicator settings: ${problems.join('; ')}`);

    // Writes to every peer, one TransactWriteItems per record (authorised per contained action): the
    // item's conditional Put or Delete, and on the tombstone a ConditionCheck or an Update (an Update,
    // not a Put, so the target's own life marker on the same tombstone item survives).
    const peerWrites = new iam.PolicyStatement({
      sid: 'WritePeerTables',
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: this.peerRegions.map((r) => MirroredTable.tableArnIn(this, r, model.name)),
    });
    const peerTombstoneUpdates = new iam.PolicyStatement({
      sid: 'WritePeerTombstones',
      actions: ['dynamodb:ConditionCheckItem', 'dynamodb:UpdateItem'],
      resources: this.peerRegions.map((r) =>
        MirroredTable.tableArnIn(this, r, tombstoneTableName(model.name)),
      ),
    });

    const replicatorStatements = [
      new iam.PolicyStatement({
        sid: 'ReadOwnStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        // The exact stream (GetAtt StreamArn), narrower than table/NAME/stream/*.
        resources: [mirrored.table.tableStreamArn!],
      }),
      peerWrites,
      peerTombstoneUpdates,
      new iam.PolicyStatement({
        sid: 'ParkRecords',
        actions: ['sqs:SendMessage'],
        resources: this.parkingQueues.map((p) => p.queue.queueArn),
      }),
    ];
    if (model.mode === 'multi-active') {
      replicatorStatements.push(
        // Stamps (UpdateItem) and, for a local delete, removing a peer's save that slipped into the
        // gap before the tombstone (DeleteItem inside the tombstone transaction).
        new iam.PolicyStatement({
          sid: 'OwnItems',
          actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [mirrored.table.tableArn],
        }),
        // Local tombstones and life markers: a consistent read, then conditional updates.
        new iam.PolicyStatement({
          sid: 'OwnTombstones',
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          resources: [mirrored.tombstoneTable.tableArn],
        }),
      );
    }

    const replicator = this.createFunction('Replicator', {
      entry: props.replicatorEntry ?? path.join(REPO_ROOT, 'lambda', 'replicator', 'index.ts'),
      description: `ddb-mirror: replicates ${model.name} from ${this.region} to ${this.peerRegions.join(', ')}`,
      statements: replicatorStatements,
    });
    this.replicatorFunction = replicator.fn;
    this.role = replicator.role;

    const parked = this.createFunction('Parked', {
      entry: props.parkedEntry ?? path.join(REPO_ROOT, 'lambda', 'parked', 'index.ts'),
      description: `ddb-mirror: re-applies parked ${model.name} records from ${this.region}`,
      statements: [peerWrites, peerTombstoneUpdates],
    });
    this.parkedFunction = parked.fn;
    this.parkedRole = parked.role;

    this.streamEventSource = new lambda.EventSourceMapping(this, 'StreamEventSource', {
      target: this.replicatorFunction,
      eventSourceArn: mirrored.table.tableStreamArn!,
      ...STREAM_EVENT_SOURCE_DEFAULTS,
      onFailure: new SqsDlq(this.onFailureQueue),
    });

    for (const p of this.parkingQueues) {
      p.queue.grantConsumeMessages(this.parkedFunction);
      const mapping = new lambda.EventSourceMapping(this, `ParkedEventSource-${p.targetRegion}`, {
        target: this.parkedFunction,
        eventSourceArn: p.queue.queueArn,
        ...PARKED_EVENT_SOURCE_DEFAULTS,
      });
      acknowledge(
        mapping,
        'Serverless-LambdaEventSourceMappingDestination',
        'SQS event source mappings take no OnFailure destination; failed parked records go to the queue redrive DLQ.',
      );
    }

    // Both functions run only through event source mappings (synchronous invokes): a function DLQ
    // (async invokes only) would never receive anything. Failures go to the mapping on-failure queue
    // and the parking DLQs, which are alarmed.
    for (const fn of [this.replicatorFunction, this.parkedFunction]) {
      acknowledge(
        fn,
        'Serverless-LambdaDLQ',
        'Invoked only by event source mappings (synchronously); failures go to the on-failure queue and parking DLQs.',
      );
    }
    // CDK puts X-Ray (and, for the replicator, ListStreams) into the role's DefaultPolicy; data
    // actions live in the role's inline policy, so this acknowledgement cannot cover a data wildcard.
    const xrayReason = 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.';
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListStreams',
        actions: ['dynamodb:ListStreams'],
        // ListStreams supports no resource-level permissions (Service Authorization Reference;
        // aws-cdk#10631); the event source mapping needs it to find the stream's shards.
        resources: ['*'],
      }),
    );
    acknowledge(
      this.role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      `${xrayReason} dynamodb:ListStreams supports no resource-level permissions.`,
    );
    acknowledge(
      this.parkedRole.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      xrayReason,
    );
  }

  private createFunction(
    id: string,
    opts: { entry: string; description: string; statements: iam.PolicyStatement[] },
  ): { fn: nodejs.NodejsFunction; role: iam.Role } {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: FUNCTION_DEFAULTS.logRetention });
    // Own role with inline policies instead of AWSLambdaBasicExecutionRole (cdk-nag IAM4).
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: opts.description,
      inlinePolicies: {
        Logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'WriteOwnLogs',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
        Replication: new iam.PolicyDocument({ statements: opts.statements }),
      },
    });
    const fn = new nodejs.NodejsFunction(this, id, {
      entry: opts.entry,
      handler: 'handler',
      description: opts.description,
      runtime: LAMBDA_RUNTIME,
      architecture: FUNCTION_DEFAULTS.architecture,
      memorySize: FUNCTION_DEFAULTS.memorySize,
      timeout: FUNCTION_DEFAULTS.timeout,
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        minify: true,
        sourceMap: true,
        // Bundle everything, AWS SDK v3 included, so the deployed SDK is the one package-lock.json pins
        // (not whatever the runtime ships) and cold starts load one minified file.
        externalModules: [],
        // ES module builds first: they tree-shake (zod/mini and the SDK's dist-es shrink the bundle).
        mainFields: ['module', 'main'],
        forceDockerBundling: false,
      },
      environment: {
        [SETTINGS_ENV]: encodeSettings(this.settings),
        POWERTOOLS_SERVICE_NAME: FUNCTION_DEFAULTS.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: FUNCTION_DEFAULTS.metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    return { fn, role };
  }
}

/** How a replicator works through a batch: the tunable part of its settings. */
export interface ReplicatorTuning {
  readonly maxConcurrency: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
}

/** The settings a table's replicator in `region` receives (the contract's discriminated union). */
export function replicatorSettings(
  model: TableModel,
  region: string,
  peers: readonly PeerSettings[],
  tuning: ReplicatorTuning,
): ReplicatorSettings {
  // Key order as deployed: a reordered JSON would change every function's environment.
  const head = { table: model.name, tombstoneTable: tombstoneTableName(model.name), region };
  const key = {
    partitionKey: model.key.partitionKey.name,
    ...(model.key.sortKey ? { sortKey: model.key.sortKey.name } : {}),
  };
  const rest = {
    peers,
    tombstoneTtlSeconds: model.tombstoneTtlDays * 86400,
    ...(model.ttl
      ? { ttl: { attribute: model.ttl.attribute, replicateDeletes: model.ttl.replicateDeletes } }
      : {}),
    excludeAttributes: [...model.excludeAttributes],
    ...tuning,
  };
  return model.mode === 'one-way'
    ? { ...head, mode: 'one-way', ...key, ...rest }
    : { ...head, mode: 'multi-active', ...key, versionAttribute: model.versionAttribute, ...rest };
}
