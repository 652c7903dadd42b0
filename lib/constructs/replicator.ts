import { existsSync } from 'fs';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  RESERVED,
  encodeSettings,
  settingsProblems,
  tombstoneTableName,
  type PeerSettings,
  type ReplicatorSettings,
} from '../../lambda/contract';
import { replicatorRegions, tableRegions, type TableModel } from '../config/model';
import {
  FUNCTION_DEFAULTS,
  PARKED_EVENT_SOURCE_DEFAULTS,
  QUEUE_DEFAULTS,
  REPLICATOR_SETTINGS_DEFAULTS,
  STREAM_EVENT_SOURCE_DEFAULTS,
} from './defaults';
import { functionEntry, mirrorFunction, type MirrorFunction } from './mirror-function';
import { MirroredTable } from './mirrored-table';
import {
  assumePeerRolesStatement,
  peerRoleFor,
  peerWriteStatements,
  stackAccountProblems,
  type RegionAccounts,
} from './peer-access';
import { replicatorRoleName } from './replicator-roles';
import { acknowledge } from './nag';

const DEFAULT_ENTRIES = {
  replicator: functionEntry('replicator'),
  parked: functionEntry('parked'),
} as const;

export interface ReplicatorProps {
  /**
   * The table (in this construct's region) whose stream is replicated to the table's other regions.
   *
   * Note: the stack must have an explicit region, and that region must be one of the table's
   * replicator regions (one-way: the source; multi-active: any of its regions).
   */
  readonly mirroredTable: MirroredTable;
  /**
   * Region → account of the table's regions. A peer in another account than this region's is written
   * through the writer role its stack creates there (`PeerAccessRoles`): this replicator's roles get
   * `sts:AssumeRole` on exactly that role and no data action on that peer's tables.
   *
   * Note: when it names this region, the stack must deploy to that account.
   * @default - every peer in this stack's account
   */
  readonly accounts?: RegionAccounts;
  /**
   * Items of one batch processed in parallel.
   * @default - the table's `replication.itemsInFlight`
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
  /** The peer region whose records wait here. */
  readonly targetRegion: string;
  /** Records the replicator could not apply to the peer yet; the parked-record consumer retries them. */
  readonly queue: sqs.Queue;
  /** Where parked records go after `QUEUE_DEFAULTS.parkingMaxReceiveCount` receives (alarmed). */
  readonly deadLetterQueue: sqs.Queue;
}

/**
 * Reads one table's stream in one region and applies every local change to the table's peers:
 * the stream replicator, its event source mapping and on-failure queue, one parking queue per peer
 * (each with a DLQ), the parked-record consumer, and least-privilege roles for both functions.
 */
export class Replicator extends Construct {
  /** Reads the table's stream and writes every change to the peers. */
  public readonly replicatorFunction: nodejs.NodejsFunction;
  /** Re-applies parked records from the parking queues. */
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
  /** The mapping from the table's stream to the replicator function. */
  public readonly streamEventSource: lambda.EventSourceMapping;
  /** The settings both functions receive in `DDBM_SETTINGS` (queue URLs are tokens). */
  public readonly settings: ReplicatorSettings;
  /** The region this replicator runs in: its stack's region. */
  public readonly region: string;
  /** The table's other regions, the targets of the replication, in the table's region order. */
  public readonly peerRegions: readonly string[];
  /** Writer role ARN by peer region, for the peers in another account (assumed, not granted directly). */
  public readonly peerRoles: ReadonlyMap<string, string>;

  constructor(scope: Construct, id: string, props: ReplicatorProps) {
    super(scope, id);
    const mirrored = props.mirroredTable;
    const tuning = this.validateProps(props);
    this.region = Stack.of(this).region;
    this.peerRegions = tableRegions(mirrored.model).filter((r) => r !== this.region);
    this.peerRoles = writerRoles(this, mirrored.model.name, this.region, this.peerRegions, props.accounts);

    this.onFailureQueue = this.createTerminalQueue(
      'OnFailureQueue',
      'The stream mapping on-failure destination',
    );
    this.parkingQueues = this.createParkingQueues();
    this.settings = replicatorSettings(
      mirrored.model,
      this.region,
      this.parkingQueues.map((p) => peerSettings(p.targetRegion, p.queue.queueUrl, this.peerRoles)),
      tuning,
    );

    const functions = this.createFunctions(props);
    this.replicatorFunction = functions.replicator.fn;
    this.role = functions.replicator.role;
    this.parkedFunction = functions.parked.fn;
    this.parkedRole = functions.parked.role;

    this.streamEventSource = this.createStreamEventSource(mirrored);
    this.createParkedEventSources();
    this.grantListStreams();
    this.acknowledgeNagFindings();
  }

  /**
   * Every problem with the props, in one error naming this construct and each bad value: the stack's
   * region, the entry files, and the settings the functions will receive, checked by the same schema the
   * functions apply at cold start (tuning out of range fails `cdk synth`, not a deployed function).
   */
  private validateProps(props: ReplicatorProps): ReplicatorTuning {
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    const tableRegion = Stack.of(props.mirroredTable).region;
    const tuning: ReplicatorTuning = {
      maxConcurrency: props.maxConcurrency ?? model.replication.itemsInFlight,
      maxAttempts: props.maxAttempts ?? REPLICATOR_SETTINGS_DEFAULTS.maxAttempts,
      baseDelayMs: props.baseDelayMs ?? REPLICATOR_SETTINGS_DEFAULTS.baseDelayMs,
    };
    const problems: string[] = [];
    if (Token.isUnresolved(region)) {
      problems.push('the stack has no explicit region (set env.region): peers are addressed by region');
    } else if (!replicatorRegions(model).includes(region)) {
      const expected = replicatorRegions(model).join(', ');
      problems.push(
        `region ${region} is not a replicator region of ${model.mode} table ${model.name} (${expected})`,
      );
    } else if (!Token.isUnresolved(tableRegion) && tableRegion !== region) {
      problems.push(`mirroredTable ${model.name} is in ${tableRegion}, not in the replicator's ${region}`);
    }
    for (const [prop, entry] of [
      ['replicatorEntry', props.replicatorEntry],
      ['parkedEntry', props.parkedEntry],
    ] as const) {
      if (entry !== undefined && !existsSync(entry)) problems.push(`${prop} ${entry} does not exist`);
    }
    problems.push(...stackAccountProblems(this, props.accounts));
    const peerRegions = tableRegions(model).filter((r) => r !== region);
    const roles = writerRoles(this, model.name, region, peerRegions, props.accounts);
    const peers = peerRegions.map((r) => peerSettings(r, `parking queue for ${r}`, roles));
    problems.push(...settingsProblems(replicatorSettings(model, region, peers, tuning)));
    if (problems.length > 0) {
      throw new Error(`${this.node.path}: invalid Replicator props: ${problems.join('; ')}`);
    }
    return tuning;
  }

  /** A queue nothing redrives from: the end of the line, alarmed by the monitoring. */
  private createTerminalQueue(queueId: string, description: string): sqs.Queue {
    const queue = new sqs.Queue(this, queueId, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_DEFAULTS.retentionPeriod,
    });
    acknowledge(
      queue,
      'AwsSolutions-SQS3',
      `${description} is itself the dead-letter queue; nothing redrives from it automatically.`,
    );
    acknowledge(
      queue,
      'Serverless-SQSRedrivePolicy',
      `${description} is itself the dead-letter queue (the end of the line).`,
    );
    return queue;
  }

  /** One parking queue per peer region, each with its DLQ. */
  private createParkingQueues(): ParkingQueue[] {
    return this.peerRegions.map((targetRegion) => {
      const deadLetterQueue = this.createTerminalQueue(
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
  }

  /** The stream replicator and the parked-record consumer, each with its own role and log group. */
  private createFunctions(props: ReplicatorProps): Record<'replicator' | 'parked', MirrorFunction> {
    const name = props.mirroredTable.model.name;
    const statements = this.policyStatements(props.mirroredTable, props.accounts);
    return {
      replicator: mirrorFunction(this, 'Replicator', {
        entry: props.replicatorEntry ?? DEFAULT_ENTRIES.replicator,
        settings: encodeSettings(this.settings),
        description: `ddb-mirror: replicates ${name} from ${this.region} to ${this.peerRegions.join(', ')}`,
        statements: statements.replicator,
        roleName: replicatorRoleName(name, this.region, 'replicator'),
      }),
      parked: mirrorFunction(this, 'Parked', {
        entry: props.parkedEntry ?? DEFAULT_ENTRIES.parked,
        settings: encodeSettings(this.settings),
        description: `ddb-mirror: re-applies parked ${name} records from ${this.region}`,
        statements: statements.parked,
        roleName: replicatorRoleName(name, this.region, 'parked'),
      }),
    };
  }

  /**
   * The inline policy statements of both roles: every data action, each on the exact resources. A peer
   * in another account is reached only by assuming the writer role its stack offers.
   */
  private policyStatements(
    mirrored: MirroredTable,
    accounts: RegionAccounts | undefined,
  ): {
    replicator: iam.PolicyStatement[];
    parked: iam.PolicyStatement[];
  } {
    const name = mirrored.model.name;
    const multiActive = mirrored.model.mode === 'multi-active';
    const direct = this.peerRegions.filter((r) => !this.peerRoles.has(r));
    const peerAccess = [
      ...(direct.length
        ? peerWriteStatements(
            mirrored.model,
            direct.map((r) => MirroredTable.tableArnIn(this, r, name, accounts?.[r])),
            direct.map((r) => MirroredTable.tableArnIn(this, r, tombstoneTableName(name), accounts?.[r])),
          )
        : []),
      ...(this.peerRoles.size ? [assumePeerRolesStatement([...this.peerRoles.values()])] : []),
    ];
    const replicator = [
      // Not table.grantStreamRead(role): it would put these data actions into the role's DefaultPolicy,
      // where the per-role IAM5 Resource::* acknowledgement lives (docs/platform.md#cdk-and-nag).
      new iam.PolicyStatement({
        sid: 'ReadOwnStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        // The exact stream (GetAtt StreamArn), narrower than table/NAME/stream/*.
        resources: [mirrored.table.tableStreamArn!],
      }),
      ...peerAccess,
      new iam.PolicyStatement({
        sid: 'ParkRecords',
        actions: ['sqs:SendMessage'],
        resources: this.parkingQueues.map((p) => p.queue.queueArn),
      }),
    ];
    if (multiActive) {
      replicator.push(
        // In its own region (docs/replication.md, "How a local change gets its order key", "Deferred
        // writes"): stamps and deferral updates (UpdateItem), the look for a gap item after a local delete
        // (GetItem) and its removal (DeleteItem), and deciding a deferred write (PutItem, or a DeleteItem
        // with the tombstone in one transaction).
        new iam.PolicyStatement({
          sid: 'OwnItems',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
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
    return { replicator, parked: peerAccess };
  }

  /** The replicator reads the table's stream; batches that exhaust their retries go to the on-failure queue. */
  private createStreamEventSource(mirrored: MirroredTable): lambda.EventSourceMapping {
    return new lambda.EventSourceMapping(this, 'StreamEventSource', {
      target: this.replicatorFunction,
      eventSourceArn: mirrored.table.tableStreamArn!,
      ...STREAM_EVENT_SOURCE_DEFAULTS,
      batchSize: mirrored.model.replication.batchSize,
      parallelizationFactor: mirrored.model.replication.parallelizationFactor,
      onFailure: new SqsDlq(this.onFailureQueue),
    });
  }

  /** The parked-record consumer reads every parking queue. */
  private createParkedEventSources(): void {
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
  }

  /** The stream mapping needs ListStreams to find the stream's shards. */
  private grantListStreams(): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListStreams',
        actions: ['dynamodb:ListStreams'],
        // ListStreams supports no resource-level permissions (Service Authorization Reference;
        // aws-cdk#10631), so it goes to the DefaultPolicy with X-Ray, acknowledged there.
        resources: ['*'],
      }),
    );
  }

  /** The cdk-nag findings this construct accepts, each on the narrowest construct, with its reason. */
  private acknowledgeNagFindings(): void {
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
    // Only the finding Resource::* of each DefaultPolicy: X-Ray and (replicator) ListStreams. CDK's other
    // grants there (the on-failure SendMessage, the parking queues' consume actions) name exact queue
    // ARNs, and the hand-written data actions live in the inline policy.
    const xrayReason = 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.';
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
}

/** How a replicator works through a batch: the tunable part of its settings. */
export interface ReplicatorTuning {
  /** Items of one batch processed in parallel. */
  readonly maxConcurrency: number;
  /** Attempts per record per target before the record is parked. */
  readonly maxAttempts: number;
  /** First back-off delay in milliseconds. */
  readonly baseDelayMs: number;
}

/** The writer role ARN by peer region, for the peers in another account than `region`. */
function writerRoles(
  scope: Construct,
  table: string,
  region: string,
  peerRegions: readonly string[],
  accounts: RegionAccounts | undefined,
): Map<string, string> {
  return new Map(
    peerRegions.flatMap((peer) => {
      const role = peerRoleFor(scope, table, region, peer, 'writer', accounts);
      return role === undefined ? [] : [[peer, role] as const];
    }),
  );
}

/** One peer's settings: its parking queue, and the role to assume there when it is in another account. */
function peerSettings(
  region: string,
  parkingQueueUrl: string,
  roles: ReadonlyMap<string, string>,
): PeerSettings {
  const roleArn = roles.get(region);
  return { region, parkingQueueUrl, ...(roleArn !== undefined && { roleArn }) };
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
    : model.conflicts === 'last-writer-wins'
      ? // No writer contract: the replicator's own `_ddbm_ver` holds each state's clock.
        {
          ...head,
          mode: 'multi-active',
          ...key,
          versionAttribute: RESERVED.stampedVersion,
          conflicts: 'last-writer-wins',
          ...rest,
        }
      : { ...head, mode: 'multi-active', ...key, versionAttribute: model.versionAttribute, ...rest };
}
