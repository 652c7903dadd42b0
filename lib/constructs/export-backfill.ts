import { type CfnElement, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  encodeExportBackfillSettings,
  exportBackfillSettingsProblems,
  type ExportBackfillSettings,
  tombstoneTableName,
} from '../../lambda/contract';
import { replicatorRegions, tableRegions, type ExportBackfillModel } from '../config/model';
import { EXPORT_BACKFILL_DEFAULTS, REPLICATOR_SETTINGS_DEFAULTS } from './defaults';
import { functionEntry, mirrorFunction } from './mirror-function';
import { MirroredTable } from './mirrored-table';
import { acknowledge } from './nag';
import { peerWriteStatements } from './peer-access';
import { replicatorSettings } from './replicator';
import { replicatorRoleName } from './replicator-roles';
import { loggedStateMachine } from './state-machine';

export interface ExportBackfillProps {
  /** The table (in this construct's region) exported and applied to its other regions. */
  readonly mirroredTable: MirroredTable;
}

/**
 * The state machine's name for `table` in `region`: fixed, so `ddb-mirror backfill --deployed` finds
 * it (at most 80 characters of letters, digits, `-` and `_`).
 */
export function exportBackfillStateMachineName(table: string, region: string): string {
  return `ddbm-${table.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)}-${region}-backfill`;
}

/** Where the export lands in the bucket: `AWSDynamoDB/<export id>/data/` (docs/platform.md#export-backfill). */
const DATA_PREFIX =
  "States.Format('AWSDynamoDB/{}/data/', States.ArrayGetItem(States.StringSplit($.export.exportArn, '/'), 3))";
const RESULTS_PREFIX = 'backfill-results';

/**
 * Backfill at any size for one table from one region (docs/replication.md, "Backfill from an export"):
 * a Step Functions state machine exports the table to S3 (point-in-time recovery, no read capacity),
 * then a Distributed Map hands each exported data file to a function that applies its items to the
 * table's other regions with the shared backfill code, within a write-unit budget.
 */
export class ExportBackfill extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly bucket: s3.Bucket;
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly settings: ExportBackfillSettings;
  public readonly backfill: ExportBackfillModel;

  constructor(scope: Construct, id: string, props: ExportBackfillProps) {
    super(scope, id);
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    this.backfill = this.validateProps(props);
    const peers = tableRegions(model).filter((r) => r !== region);
    this.bucket = this.configureBucket();
    this.settings = {
      ...replicatorSettings(
        model,
        region,
        peers.map((r) => ({ region: r, parkingQueueUrl: 'none: the export backfill parks nothing' })),
        { maxConcurrency: 1, ...REPLICATOR_SETTINGS_DEFAULTS },
      ),
      exportBackfill: {
        bucket: this.bucket.bucketName,
        writeUnitsPerSecond: Math.max(
          1,
          Math.floor(this.backfill.writeUnitsPerSecond / this.backfill.maxConcurrency),
        ),
        itemsInFlight: EXPORT_BACKFILL_DEFAULTS.itemsInFlight,
      },
    };
    const problems = exportBackfillSettingsProblems(this.settings);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid export backfill settings: ${problems.join('; ')}`);
    const { fn, role } = this.configureFunction(props.mirroredTable, peers);
    this.function = fn;
    this.role = role;
    this.stateMachine = this.configureStateMachine(props.mirroredTable);
  }

  /** The table's backfill settings; the stack must be a region where the table is written, with PITR on. */
  private validateProps(props: ExportBackfillProps): ExportBackfillModel {
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    const problems: string[] = [];
    if (!model.exportBackfill) problems.push(`table ${model.name} has no exportBackfill configured`);
    if (!model.pointInTimeRecovery)
      problems.push(`table ${model.name} has pointInTimeRecovery off: an export needs it`);
    if (!replicatorRegions(model).includes(region))
      problems.push(
        `region ${region} is not a region where ${model.name} is written (${replicatorRegions(model).join(', ')})`,
      );
    if (problems.length)
      throw new Error(`${this.node.path}: invalid ExportBackfill props: ${problems.join('; ')}`);
    return model.exportBackfill!;
  }

  /** Private, encrypted, TLS only; exports and results expire (they are copies of the table). */
  private configureBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'Exports', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          expiration: EXPORT_BACKFILL_DEFAULTS.exportRetention,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    acknowledge(
      bucket,
      'AwsSolutions-S1',
      'Written only by DynamoDB exports and the backfill state machine, read only by the backfill function; every request is in CloudTrail and the objects expire. An access-log bucket would need its own exemption.',
    );
    return bucket;
  }

  /** The function that applies one export file; its role writes the peers as the replicator's does. */
  private configureFunction(mirrored: MirroredTable, peers: readonly string[]) {
    const model = mirrored.model;
    const region = Stack.of(this).region;
    // Same account only: the stack refuses an export backfill whose peers are in another account.
    const [peerWrites, peerTombstoneUpdates] = peerWriteStatements(
      model,
      peers.map((r) => MirroredTable.tableArnIn(this, r, model.name)),
      peers.map((r) => MirroredTable.tableArnIn(this, r, tombstoneTableName(model.name))),
    );
    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadExportFiles',
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects('AWSDynamoDB/*')],
      }),
      peerWrites,
      peerTombstoneUpdates,
    ];
    if (model.mode === 'multi-active')
      // An item its region has not ordered: the region's tombstone, then the item again (lambda/ops/backfill.ts).
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadOwnItemsAndTombstones',
          actions: ['dynamodb:GetItem'],
          resources: [mirrored.table.tableArn, mirrored.tombstoneTable.tableArn],
        }),
      );
    const { fn, role } = mirrorFunction(this, 'Apply', {
      entry: functionEntry('export-backfill'),
      description: `ddb-mirror: applies exported ${model.name} items from ${region} to ${peers.join(', ')}`,
      settings: encodeExportBackfillSettings(this.settings),
      timeout: EXPORT_BACKFILL_DEFAULTS.functionTimeout,
      roleName: replicatorRoleName(model.name, region, 'backfill'),
      statements,
    });
    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by the state machine, which retries it and reports each failed file in the Map run.',
    );
    acknowledge(
      role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::<${this.logicalId(this.bucket)}.Arn>/AWSDynamoDB/*]`,
      'Reads the files of exports whose IDs DynamoDB generates at run time, in a bucket that holds nothing else.',
    );
    return { fn, role };
  }

  private configureStateMachine(mirrored: MirroredTable): sfn.StateMachine {
    const stateMachine = loggedStateMachine(this, {
      name: exportBackfillStateMachineName(mirrored.model.name, Stack.of(this).region),
      definition: this.definition(mirrored),
      timeout: EXPORT_BACKFILL_DEFAULTS.executionTimeout,
    });
    this.acknowledgeStateMachineWildcards(stateMachine, mirrored);
    return stateMachine;
  }

  /** Each wildcard the state machine's policies need, acknowledged one by one with its reason. */
  private acknowledgeStateMachineWildcards(stateMachine: sfn.StateMachine, mirrored: MirroredTable): void {
    const policy = stateMachine.role.node.findChild('DefaultPolicy');
    const bucket = this.logicalId(this.bucket);
    const reasons: Record<string, string> = {
      '*': 'Log delivery (logs:CreateLogDelivery and its siblings) and X-Ray support no resource-level permissions.',
      [`<${bucket}.Arn>/AWSDynamoDB/*`]:
        'The export writes files under an ID DynamoDB generates at run time, in a bucket that holds nothing else.',
      [`${mirrored.nagTableArn}/export/*`]:
        "DescribeExport of this table's exports, whose IDs DynamoDB generates at run time.",
      [`<${bucket}.Arn>/${RESULTS_PREFIX}/*`]:
        'The Map run writes its results under a run ID Step Functions generates; the verdict reads the manifest.',
      [`<${this.logicalId(this.function)}.Arn>:*`]:
        'Invokes the backfill function (any version): CDK grants the function and its versions together.',
    };
    for (const [resource, reason] of Object.entries(reasons))
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
    const stack = Stack.of(this);
    // As cdk-nag prints them: a pseudo parameter as <AWS::Name>, a concrete environment as its value.
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const execution = `arn:${shown(stack.partition, 'Partition')}:states:${stack.region}:${shown(stack.account, 'AccountId')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.logicalId(stateMachine)}"}]}]}`;
    for (const resource of [`${execution}:*`, `${execution}/*:*`])
      acknowledge(
        stateMachine.node.findChild('DistributedMapPolicy'),
        `AwsSolutions-IAM5[Resource::${resource}]`,
        "The Distributed Map runs and stops its child executions, whose names Step Functions generates; only this state machine's executions.",
      );
  }

  private logicalId(construct: Construct): string {
    return Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
  }

  /** Export, wait for it, then every data file through the function (a Distributed Map), then the verdict. */
  private definition(mirrored: MirroredTable): sfn.IChainable {
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
          resources: [this.bucket.arnForObjects('AWSDynamoDB/*')],
        }),
      ],
      resultSelector: { 'exportArn.$': '$.ExportDescription.ExportArn' },
      resultPath: '$.export',
    });
    const wait = new sfn.Wait(this, 'WaitForExport', {
      time: sfn.WaitTime.duration(EXPORT_BACKFILL_DEFAULTS.exportPollInterval),
    });
    const describe = new tasks.CallAwsService(this, 'DescribeExport', {
      service: 'dynamodb',
      action: 'describeExport',
      iamAction: 'dynamodb:DescribeExport',
      parameters: { ExportArn: sfn.JsonPath.stringAt('$.export.exportArn') },
      iamResources: [`${table.tableArn}/export/*`],
      resultSelector: { 'description.$': '$.ExportDescription' },
      resultPath: '$.status',
    });
    const exportFailed = new sfn.Fail(this, 'ExportFailed', {
      error: 'ExportFailed',
      causePath: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.status.description')),
    });
    const dataPrefix = new sfn.Pass(this, 'DataPrefix', {
      parameters: {
        'exportArn.$': '$.export.exportArn',
        'dataPrefix.$': DATA_PREFIX,
      },
    });
    const files = this.applyFiles();
    const verdict = this.verdict();
    return startExport
      .next(wait)
      .next(describe)
      .next(
        new sfn.Choice(this, 'ExportDone?')
          .when(
            sfn.Condition.stringEquals('$.status.description.ExportStatus', 'COMPLETED'),
            dataPrefix.next(files).next(verdict),
          )
          .when(sfn.Condition.stringEquals('$.status.description.ExportStatus', 'FAILED'), exportFailed)
          .otherwise(wait),
      );
  }

  /**
   * A Distributed Map over the export's data files: each child applies one file, invocation after
   * invocation from the line the last one reached, and fails with the items that failed. Every file
   * is tried (100 % tolerated); the results go to the bucket, and the verdict reads them.
   */
  private applyFiles(): sfn.DistributedMap {
    const apply = new tasks.LambdaInvoke(this, 'ApplyFile', {
      lambdaFunction: this.function,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    });
    apply.addRetry({
      errors: [
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
        'TargetUnavailable',
        'States.Timeout',
      ],
      interval: Duration.seconds(30),
      maxAttempts: EXPORT_BACKFILL_DEFAULTS.invokeAttempts,
      backoffRate: 2,
    });
    const next = new sfn.Pass(this, 'NextPart', {
      parameters: { 'bucket.$': '$.bucket', 'key.$': '$.key', 'startLine.$': '$.nextLine' },
    });
    const fileFailed = new sfn.Fail(this, 'FileFailed', {
      error: 'ItemsFailed',
      causePath: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$')),
    });
    const map = new sfn.DistributedMap(this, 'ApplyFiles', {
      itemReader: new sfn.S3ObjectsItemReader({
        bucket: this.bucket,
        prefix: sfn.JsonPath.stringAt('$.dataPrefix'),
      }),
      itemSelector: {
        bucket: this.bucket.bucketName,
        'key.$': '$$.Map.Item.Value.Key',
        startLine: 0,
      },
      maxConcurrency: this.backfill.maxConcurrency,
      toleratedFailurePercentage: 100,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultWriterV2: new sfn.ResultWriterV2({ bucket: this.bucket, prefix: RESULTS_PREFIX }),
    });
    map.itemProcessor(
      apply.next(
        new sfn.Choice(this, 'FileDone?')
          .when(sfn.Condition.numberGreaterThan('$.counts.failed', 0), fileFailed)
          .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Succeed(this, 'FileApplied'))
          .otherwise(next.next(apply)),
      ),
    );
    return map;
  }

  /** Reads the Map run's result manifest: the execution fails when any file failed. */
  private verdict(): sfn.IChainable {
    const read = new tasks.CallAwsService(this, 'ReadResults', {
      service: 's3',
      action: 'getObject',
      iamAction: 's3:GetObject',
      parameters: {
        Bucket: this.bucket.bucketName,
        Key: sfn.JsonPath.stringAt('$.ResultWriterDetails.Key'),
      },
      iamResources: [this.bucket.arnForObjects(`${RESULTS_PREFIX}/*`)],
      resultSelector: { 'manifest.$': 'States.StringToJson($.Body)' },
    });
    const failed = new sfn.Fail(this, 'FilesFailed', {
      error: 'FilesFailed',
      cause: `Some export files had items that failed: their causes are in the FAILED result files under ${RESULTS_PREFIX}/ in the export bucket, and in the Map run's failed executions.`,
    });
    return read.next(
      new sfn.Choice(this, 'AllFilesApplied?')
        .when(sfn.Condition.isPresent('$.manifest.ResultFiles.FAILED[0]'), failed)
        .otherwise(new sfn.Succeed(this, 'Backfilled')),
    );
  }
}
