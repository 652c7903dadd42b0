import { createHash } from 'crypto';
import { type CfnElement, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { tombstoneTableName, type ReplicatorSettings } from '../../lambda/contract';
import {
  antiEntropySettingsProblems,
  encodeAntiEntropySettings,
  type AntiEntropyRole,
  type AntiEntropySettings,
} from '../../lambda/contract/anti-entropy';
import { replicatorRegions, tableRegions, type AntiEntropyModel, type TableModel } from '../config/model';
import { ANTI_ENTROPY_DEFAULTS, REPLICATOR_SETTINGS_DEFAULTS } from './defaults';
import { functionEntry, mirrorFunction } from './mirror-function';
import { MirroredTable } from './mirrored-table';
import { acknowledge } from './nag';
import { peerWriteStatements } from './peer-access';
import { replicatorSettings } from './replicator';
import { replicatorRoleName } from './replicator-roles';
import { loggedStateMachine } from './state-machine';

export interface VerifyDeployedProps {
  /** The table (in this construct's region) hashed here, and compared from here where it is written. */
  readonly mirroredTable: MirroredTable;
}

/** The state machine's name for `table` in `region`: fixed, so `ddb-mirror verify --deployed` finds it. */
export function verifyStateMachineName(table: string, region: string): string {
  return `ddbm-${table.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)}-${region}-verify`;
}

/**
 * The run bucket's name for `table` in `region`: fixed, so the comparing region's function can read the
 * other regions' buckets without a cross-region reference. Globally unique by account and region.
 */
export function verifyBucketName(table: string, region: string, account: string): string {
  return `ddbm-ae-${account}-${region}-${createHash('sha256').update(table).digest('hex').slice(0, 8)}`;
}

/** Where the export lands in the bucket (docs/platform.md#export-backfill). */
const DATA_PREFIX =
  "States.Format('AWSDynamoDB/{}/data/', States.ArrayGetItem(States.StringSplit($.export.exportArn, '/'), 3))";
const RUNS = 'runs/*';
const EXPORTS = 'AWSDynamoDB/*';

/**
 * Verify and repair at any size for one table in one region (docs/replication.md, "Anti-entropy by
 * range hashes"). In every region of the table, a state machine hashes the region's items into its own
 * bucket with a Distributed Map (over Scan segments, or over the table's export when point-in-time
 * recovery is on) and reduces them to one tree of bucket sums per partition. Where the table is written
 * (a one-way source, every multi-active region) the same state machine also compares: a Distributed Map
 * over partitions reads only the trees' sums of every region, descends where they differ, re-reads the
 * differing keys and, with `repair`, writes them through the replicator's guards; a last step sums up.
 */
export class VerifyDeployed extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly bucket: s3.Bucket;
  public readonly hashFunction: nodejs.NodejsFunction;
  public readonly hashRole: iam.Role;
  /** Where the table is written only. */
  public readonly compareFunction?: nodejs.NodejsFunction;
  public readonly compareRole?: iam.Role;
  public readonly repairFunction?: nodejs.NodejsFunction;
  public readonly repairRole?: iam.Role;
  public readonly antiEntropy: AntiEntropyModel;
  /** Whether this region compares (and repairs), not only hashes. */
  public readonly compares: boolean;
  private readonly model: TableModel;

  constructor(scope: Construct, id: string, props: VerifyDeployedProps) {
    super(scope, id);
    const mirrored = props.mirroredTable;
    const model = mirrored.model;
    this.model = model;
    const stack = Stack.of(this);
    const region = stack.region;
    this.antiEntropy = this.validateProps(props);
    this.compares = replicatorRegions(model).includes(region);
    this.bucket = new s3.Bucket(this, 'Runs', {
      bucketName: verifyBucketName(model.name, region, stack.account),
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          expiration: ANTI_ENTROPY_DEFAULTS.retention,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      "Written and read only by this table's verify functions and its export; every request is in CloudTrail and the objects expire. An access-log bucket would need its own exemption.",
    );
    const hash = this.fn('hash', [
      new iam.PolicyStatement({
        sid: 'ScanOwnTable',
        actions: ['dynamodb:Scan'],
        resources: [mirrored.table.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadExportAndRunFiles',
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(EXPORTS), this.bucket.arnForObjects(RUNS)],
      }),
      this.writeRuns(),
      this.listRuns(),
    ]);
    this.hashFunction = hash.fn;
    this.hashRole = hash.role;
    if (this.compares) {
      const regions = tableRegions(model);
      const tables = regions.map((r) => MirroredTable.tableArnIn(this, r, model.name));
      const compare = this.fn('compare', [
        new iam.PolicyStatement({
          sid: 'ReadEveryRegionsHashes',
          actions: ['s3:GetObject'],
          resources: regions.map((r) => this.runObjectsIn(r)),
        }),
        this.writeRuns(),
        this.listRuns(),
        new iam.PolicyStatement({
          sid: 'ReadEveryRegionsItems',
          actions: ['dynamodb:BatchGetItem'],
          resources: tables,
        }),
      ]);
      this.compareFunction = compare.fn;
      this.compareRole = compare.role;
      // One-way: the source is the truth, only replicas are written; multi-active: any region may be.
      const written = model.mode === 'one-way' ? regions.filter((r) => r !== region) : regions;
      const repair = this.fn('repair', [
        new iam.PolicyStatement({
          sid: 'ReadAndWriteOwnRuns',
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [this.bucket.arnForObjects(RUNS)],
        }),
        // Each region's item and tombstone before the plan; the re-reads after it.
        new iam.PolicyStatement({
          sid: 'ReadEveryRegionsItems',
          actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
          resources: tables,
        }),
        ...peerWriteStatements(
          model,
          written.map((r) => MirroredTable.tableArnIn(this, r, model.name)),
          regions.map((r) => MirroredTable.tableArnIn(this, r, tombstoneTableName(model.name))),
        ),
      ]);
      this.repairFunction = repair.fn;
      this.repairRole = repair.role;
    }
    this.stateMachine = this.configureStateMachine(mirrored);
  }

  private validateProps(props: VerifyDeployedProps): AntiEntropyModel {
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    const problems: string[] = [];
    if (!model.antiEntropy) problems.push(`table ${model.name} has no antiEntropy configured`);
    if (!tableRegions(model).includes(region))
      problems.push(`region ${region} is not a region of ${model.name} (${tableRegions(model).join(', ')})`);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid VerifyDeployed props: ${problems.join('; ')}`);
    return model.antiEntropy!;
  }

  /** The run files of the bucket `region`'s stack names (same account: the stack refuses others). */
  private runObjectsIn(region: string): string {
    const stack = Stack.of(this);
    return stack.formatArn({
      service: 's3',
      region: '',
      account: '',
      resource: verifyBucketName(this.model.name, region, stack.account),
      resourceName: RUNS,
    });
  }

  private writeRuns(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'WriteOwnRuns',
      actions: ['s3:PutObject'],
      resources: [this.bucket.arnForObjects(RUNS)],
    });
  }

  private listRuns(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'ListOwnRuns',
      actions: ['s3:ListBucket'],
      resources: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [RUNS] } },
    });
  }

  /** One of the three functions, from the one bundle; `role` decides its settings and its tasks. */
  private fn(role: AntiEntropyRole, statements: iam.PolicyStatement[]) {
    const model = this.model;
    const stack = Stack.of(this);
    const region = stack.region;
    const regions = tableRegions(model);
    const peersOf = (r: string) =>
      regions
        .filter((x) => x !== r)
        .map((x) => ({ region: x, parkingQueueUrl: 'none: anti-entropy parks nothing' }));
    const tuning = { maxConcurrency: 8, ...REPLICATOR_SETTINGS_DEFAULTS };
    const settings: AntiEntropySettings = {
      ...replicatorSettings(model, region, peersOf(region), tuning),
      antiEntropy: {
        role,
        table: {
          name: model.name,
          mode: model.mode,
          regions: model.mode === 'one-way' ? [model.source, ...model.replicas] : [...model.regions],
          keyNames: [model.key.partitionKey.name, ...(model.key.sortKey ? [model.key.sortKey.name] : [])],
          excludeAttributes: [...model.excludeAttributes],
        },
        buckets:
          role === 'compare'
            ? Object.fromEntries(regions.map((r) => [r, verifyBucketName(model.name, r, stack.account)]))
            : { [region]: this.bucket.bucketName },
        recheckRounds: ANTI_ENTROPY_DEFAULTS.recheckRounds,
        recheckIntervalSeconds: ANTI_ENTROPY_DEFAULTS.recheckIntervalSeconds,
        ...(role === 'repair'
          ? {
              replicators: Object.fromEntries(
                regions.map((r): [string, ReplicatorSettings] => [
                  r,
                  replicatorSettings(model, r, peersOf(r), tuning),
                ]),
              ),
            }
          : {}),
      },
    };
    const problems = antiEntropySettingsProblems(settings);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid anti-entropy settings: ${problems.join('; ')}`);
    const names: Record<AntiEntropyRole, string> = { hash: 'Hash', compare: 'Compare', repair: 'Repair' };
    const what: Record<AntiEntropyRole, string> = {
      hash: `hashes ${model.name} in ${region} into its run bucket`,
      compare: `compares the hashes of ${model.name} in ${regions.join(', ')}`,
      repair: `repairs ${model.name} in ${regions.join(', ')} through the replicator's guards`,
    };
    const { fn, role: fnRole } = mirrorFunction(this, names[role], {
      entry: functionEntry('anti-entropy'),
      description: `ddb-mirror: ${what[role]}`,
      settings: encodeAntiEntropySettings(settings),
      timeout: ANTI_ENTROPY_DEFAULTS.functionTimeout,
      // Replicas' resource policies name the repair role (it writes read-only replicas).
      ...(role === 'repair' ? { roleName: replicatorRoleName(model.name, region, 'repair') } : {}),
      statements,
    });
    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by the state machine, which retries it and fails the run with the error.',
    );
    acknowledge(
      fnRole.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
    const bucket = this.logicalId(this.bucket);
    for (const [resource, reason] of Object.entries({
      [`<${bucket}.Arn>/${RUNS}`]:
        'The run files, under run IDs the CLI chooses at run time, in a bucket that holds nothing else.',
      [`<${bucket}.Arn>/${EXPORTS}`]: 'The files of exports whose IDs DynamoDB generates at run time.',
    }))
      acknowledge(fnRole, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
    for (const r of regions)
      acknowledge(
        fnRole,
        `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'Partition')}:s3:::${verifyBucketName(model.name, r, shown(stack.account, 'AccountId'))}/${RUNS}]`,
        `The run files of ${r}, under run IDs the CLI chooses at run time: only hashes and keys of this table.`,
      );
    return { fn, role: fnRole };
  }

  private logicalId(construct: Construct): string {
    return Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
  }

  private configureStateMachine(mirrored: MirroredTable): sfn.StateMachine {
    const stateMachine = loggedStateMachine(this, {
      name: verifyStateMachineName(mirrored.model.name, Stack.of(this).region),
      definition: this.definition(mirrored),
      timeout: ANTI_ENTROPY_DEFAULTS.executionTimeout,
    });
    this.acknowledgeStateMachineWildcards(stateMachine, mirrored);
    return stateMachine;
  }

  private acknowledgeStateMachineWildcards(stateMachine: sfn.StateMachine, mirrored: MirroredTable): void {
    const policy = stateMachine.role.node.findChild('DefaultPolicy');
    const bucket = this.logicalId(this.bucket);
    const reasons: Record<string, string> = {
      '*': 'Log delivery (logs:CreateLogDelivery and its siblings) and X-Ray support no resource-level permissions.',
      [`<${this.logicalId(this.hashFunction)}.Arn>:*`]:
        'Invokes the hash function (any version): CDK grants the function and its versions together.',
      ...(this.compareFunction && this.repairFunction
        ? {
            [`<${this.logicalId(this.compareFunction)}.Arn>:*`]:
              'Invokes the compare function (any version): CDK grants the function and its versions together.',
            [`<${this.logicalId(this.repairFunction)}.Arn>:*`]:
              'Invokes the repair function (any version): CDK grants the function and its versions together.',
          }
        : {}),
      ...(mirrored.model.pointInTimeRecovery
        ? {
            [`<${bucket}.Arn>/${EXPORTS}`]:
              'The export writes files under an ID DynamoDB generates at run time, in a bucket that holds nothing else.',
            [`${mirrored.nagTableArn}/export/*`]:
              "DescribeExport of this table's exports, whose IDs DynamoDB generates at run time.",
          }
        : {}),
    };
    for (const [resource, reason] of Object.entries(reasons))
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
    const stack = Stack.of(this);
    const execution = `arn:${shown(stack.partition, 'Partition')}:states:${stack.region}:${shown(stack.account, 'AccountId')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.logicalId(stateMachine)}"}]}]}`;
    for (const resource of [`${execution}:*`, `${execution}/*:*`])
      acknowledge(
        stateMachine.node.findChild('DistributedMapPolicy'),
        `AwsSolutions-IAM5[Resource::${resource}]`,
        "The Distributed Maps run and stop their child executions, whose names Step Functions generates; only this state machine's executions.",
      );
  }

  /**
   * `phase: hash` (every region): the items, from an export or by Scan segments, into part files, then
   * each partition's tree. `phase: compare` (where the table is written): every partition compared, and
   * repaired when `repair` is true, then the summary as the execution's output.
   */
  private definition(mirrored: MirroredTable): sfn.IChainable {
    const hashed = new sfn.Succeed(this, 'Hashed');
    const reduce = this.map(
      'ReducePartitions',
      '$.partitions',
      {
        task: 'reduce',
        'runId.$': '$.runId',
        'plan.$': '$.plan',
        'partition.$': '$$.Map.Item.Value',
      },
      this.invoke('Reduce', this.hashFunction).next(this.done('PartitionReduced')),
    );
    const segments = this.map(
      'HashSegments',
      '$.segments',
      {
        task: 'hash-segment',
        'runId.$': '$.runId',
        'plan.$': '$.plan',
        'segment.$': '$$.Map.Item.Value',
        'totalSegments.$': '$.totalSegments',
      },
      this.segmentLoop(),
    );
    const phase = new sfn.Choice(this, 'Phase?');
    if (this.compares) phase.when(sfn.Condition.stringEquals('$.phase', 'compare'), this.compare());
    if (mirrored.model.pointInTimeRecovery)
      phase.when(
        sfn.Condition.and(
          sfn.Condition.stringEquals('$.phase', 'hash'),
          sfn.Condition.stringEquals('$.source', 'export'),
        ),
        this.exportThenHash(mirrored, reduce),
      );
    phase.when(sfn.Condition.stringEquals('$.phase', 'hash'), segments.next(reduce).next(hashed));
    return phase.otherwise(
      new sfn.Fail(this, 'UnknownPhase', {
        error: 'UnknownPhase',
        cause: this.compares
          ? "The input's phase must be 'hash' or 'compare'."
          : "The input's phase must be 'hash': the table is compared from a region where it is written.",
      }),
    );
  }

  /** An invocation, retried on Lambda's own faults; `payload` defaults to the state's input. */
  private invoke(
    id: string,
    fn: nodejs.NodejsFunction,
    o: { payload?: Record<string, unknown>; discard?: boolean } = {},
  ): tasks.LambdaInvoke {
    const invoke = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: fn,
      ...(o.payload ? { payload: sfn.TaskInput.fromObject(o.payload) } : {}),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...(o.discard ? { resultPath: sfn.JsonPath.DISCARD } : {}),
    });
    invoke.addRetry({
      errors: [
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
        'States.Timeout',
      ],
      interval: Duration.seconds(30),
      maxAttempts: ANTI_ENTROPY_DEFAULTS.invokeAttempts,
      backoffRate: 2,
    });
    return invoke;
  }

  /** A child's end: nothing of it is kept in the Map's output (which may not exceed 256 KiB). */
  private done(id: string): sfn.Pass {
    return new sfn.Pass(this, id, { result: sfn.Result.fromObject({}) });
  }

  private map(
    id: string,
    itemsPath: string | undefined,
    itemSelector: Record<string, unknown>,
    processor: sfn.IChainable,
    reader?: sfn.IItemReader,
  ): sfn.DistributedMap {
    const map = new sfn.DistributedMap(this, id, {
      ...(itemsPath ? { itemsPath } : {}),
      ...(reader ? { itemReader: reader } : {}),
      itemSelector,
      maxConcurrency: this.antiEntropy.maxConcurrency,
      toleratedFailurePercentage: 0,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: sfn.JsonPath.DISCARD,
    });
    map.itemProcessor(processor);
    return map;
  }

  /** One segment, invocation after invocation from where the last one stopped. */
  private segmentLoop(): sfn.IChainable {
    const hash = this.invoke('HashSegment', this.hashFunction);
    return hash.next(
      new sfn.Choice(this, 'SegmentDone?')
        .when(sfn.Condition.booleanEquals('$.done', true), this.done('SegmentHashed'))
        .otherwise(hash),
    );
  }

  private exportThenHash(mirrored: MirroredTable, reduce: sfn.DistributedMap): sfn.IChainable {
    const table = mirrored.table;
    const startExport = new tasks.CallAwsService(this, 'StartExport', {
      service: 'dynamodb',
      action: 'exportTableToPointInTime',
      iamAction: 'dynamodb:ExportTableToPointInTime',
      parameters: {
        TableArn: table.tableArn,
        S3Bucket: this.bucket.bucketName,
        ExportFormat: 'DYNAMODB_JSON',
      },
      iamResources: [table.tableArn],
      additionalIamStatements: [
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: [this.bucket.arnForObjects(EXPORTS)],
        }),
      ],
      resultSelector: { 'exportArn.$': '$.ExportDescription.ExportArn' },
      resultPath: '$.export',
    });
    const wait = new sfn.Wait(this, 'WaitForExport', {
      time: sfn.WaitTime.duration(ANTI_ENTROPY_DEFAULTS.exportPollInterval),
    });
    const describe = new tasks.CallAwsService(this, 'DescribeExport', {
      service: 'dynamodb',
      action: 'describeExport',
      iamAction: 'dynamodb:DescribeExport',
      parameters: { ExportArn: sfn.JsonPath.stringAt('$.export.exportArn') },
      iamResources: [`${table.tableArn}/export/*`],
      resultSelector: { 'status.$': '$.ExportDescription.ExportStatus', 'failure.$': '$.ExportDescription' },
      resultPath: '$.exportStatus',
    });
    const failed = new sfn.Fail(this, 'ExportFailed', {
      error: 'ExportFailed',
      causePath: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.exportStatus.failure')),
    });
    const prefix = new sfn.Pass(this, 'DataPrefix', {
      parameters: { 'prefix.$': DATA_PREFIX },
      resultPath: '$.data',
    });
    const files = this.map(
      'HashFiles',
      undefined,
      {
        task: 'hash-export',
        'runId.$': '$.runId',
        'plan.$': '$.plan',
        bucket: this.bucket.bucketName,
        'key.$': '$$.Map.Item.Value.Key',
      },
      this.invoke('HashFile', this.hashFunction).next(this.done('FileHashed')),
      new sfn.S3ObjectsItemReader({ bucket: this.bucket, prefix: sfn.JsonPath.stringAt('$.data.prefix') }),
    );
    return startExport
      .next(wait)
      .next(describe)
      .next(
        new sfn.Choice(this, 'ExportDone?')
          .when(
            sfn.Condition.stringEquals('$.exportStatus.status', 'COMPLETED'),
            prefix.next(files).next(reduce),
          )
          .when(sfn.Condition.stringEquals('$.exportStatus.status', 'FAILED'), failed)
          .otherwise(wait),
      );
  }

  /** Every partition compared (and repaired), then the summary as the execution's output. */
  private compare(): sfn.IChainable {
    const compare = this.invoke('ComparePartition', this.compareFunction!, {
      payload: { task: 'compare', 'runId.$': '$.runId', 'plan.$': '$.plan', 'partition.$': '$.partition' },
      discard: true,
    });
    const repair = this.invoke('RepairPartition', this.repairFunction!, {
      payload: { task: 'repair', 'runId.$': '$.runId', 'partition.$': '$.partition' },
      discard: true,
    });
    const partitions = this.map(
      'ComparePartitions',
      '$.partitions',
      {
        'runId.$': '$.runId',
        'plan.$': '$.plan',
        'partition.$': '$$.Map.Item.Value',
        'repair.$': '$.repair',
      },
      compare.next(
        new sfn.Choice(this, 'Repair?')
          .when(sfn.Condition.booleanEquals('$.repair', true), repair.next(this.done('PartitionRepaired')))
          .otherwise(this.done('PartitionCompared')),
      ),
    );
    const summarise = this.invoke('Summarise', this.compareFunction!, {
      payload: { task: 'summarise', 'runId.$': '$.runId', 'plan.$': '$.plan' },
    });
    return partitions.next(summarise).next(new sfn.Succeed(this, 'Compared'));
  }
}

/** As cdk-nag prints them: a pseudo parameter as <AWS::Name>, a concrete environment as its value. */
function shown(value: string, pseudo: string): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
}
