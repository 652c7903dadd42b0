import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { encodeSamplerSettings, samplerSettingsProblems, type SamplerSettings } from '../../lambda/contract';
import { replicatorRegions, tableRegions, type DivergenceSamplingModel } from '../config/model';
import { SAMPLER_DEFAULTS } from './defaults';
import { functionEntry, mirrorFunction } from './mirror-function';
import { MirroredTable } from './mirrored-table';
import { acknowledge } from './nag';
import {
  assumePeerRolesStatement,
  peerReadStatement,
  peerRoleFor,
  stackAccountProblems,
  type RegionAccounts,
} from './peer-access';
import { replicatorRoleName } from './replicator-roles';

export interface DivergenceSamplerProps {
  /** The table (in this construct's region) whose copies are compared; it must have sampling configured. */
  readonly mirroredTable: MirroredTable;
  /**
   * Region → account of the table's regions. A copy in another account than this region's is read
   * through the reader role its stack creates there (`PeerAccessRoles`): the sampler's role may only
   * assume that role, and its fixed name is what the reader role trusts.
   * @default - every copy in this stack's account
   */
  readonly accounts?: RegionAccounts;
}

/**
 * Continuous divergence checks for one table from one region (docs/replication.md, "Continuous
 * divergence sampling"): a function on a schedule compares a sample of keys (live writes from this
 * region's stream, and a random segment) across every region, with `verify`'s comparison, and
 * publishes `ItemsSampled` and `DivergentItems` (alarmed by the region's monitoring).
 */
export class DivergenceSampler extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  /** The schedule that invokes the function. */
  public readonly rule: events.Rule;
  public readonly settings: SamplerSettings;
  public readonly sampling: DivergenceSamplingModel;

  constructor(scope: Construct, id: string, props: DivergenceSamplerProps) {
    super(scope, id);
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    this.sampling = this.validateProps(props);
    const others = tableRegions(model).filter((r) => r !== region);
    const roles = readerRoles(this, model.name, region, others, props.accounts);
    const direct = others.filter((r) => !roles.some((p) => p.region === r));
    this.settings = {
      kind: 'sampler',
      table: model.name,
      mode: model.mode,
      region,
      // The comparison's reference comes first: a one-way table's source.
      regions: model.mode === 'one-way' ? [model.source, ...model.replicas] : [...model.regions],
      keyNames: [model.key.partitionKey.name, ...(model.key.sortKey ? [model.key.sortKey.name] : [])],
      excludeAttributes: [...model.excludeAttributes],
      sampleSize: this.sampling.sampleSize,
      listenSeconds: this.sampling.listenSeconds,
      recheckRounds: SAMPLER_DEFAULTS.recheckRounds,
      recheckIntervalSeconds: SAMPLER_DEFAULTS.recheckIntervalSeconds,
      ...(roles.length ? { peerRoles: roles } : {}),
    };
    const problems = samplerSettingsProblems(this.settings);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid sampler settings: ${problems.join('; ')}`);

    const table = props.mirroredTable.table;
    const { fn, role } = mirrorFunction(this, 'Sampler', {
      entry: functionEntry('sampler'),
      description: `ddb-mirror: samples ${model.name} from ${region} and compares it with ${others.join(', ')}`,
      settings: encodeSamplerSettings(this.settings),
      roleName: replicatorRoleName(model.name, region, 'sampler'),
      timeout: Duration.seconds(
        this.settings.listenSeconds +
          this.settings.recheckRounds * this.settings.recheckIntervalSeconds +
          SAMPLER_DEFAULTS.timeoutMargin.toSeconds(),
      ),
      statements: [
        // The item count (segment sizing) and the stream's ARN; a key-only Scan of one segment; the
        // re-reads (BatchGetItem).
        new iam.PolicyStatement({
          sid: 'ReadOwnTable',
          actions: ['dynamodb:DescribeTable', 'dynamodb:Scan', 'dynamodb:BatchGetItem'],
          resources: [table.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadOwnStream',
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetShardIterator', 'dynamodb:GetRecords'],
          resources: [table.tableStreamArn!],
        }),
        ...(direct.length
          ? [
              peerReadStatement(
                direct.map((r) => MirroredTable.tableArnIn(this, r, model.name, props.accounts?.[r])),
              ),
            ]
          : []),
        ...(roles.length ? [assumePeerRolesStatement(roles.map((p) => p.roleArn))] : []),
      ],
    });
    this.function = fn;
    this.role = role;
    this.rule = new events.Rule(this, 'Schedule', {
      description: `ddb-mirror: divergence sample of ${model.name} every ${this.sampling.everyMinutes} minutes`,
      schedule: events.Schedule.rate(Duration.minutes(this.sampling.everyMinutes)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: SAMPLER_DEFAULTS.retryAttempts })],
    });
    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'A scheduled check: a failed run is alarmed (function errors) and the next run samples again; nothing to redrive.',
    );
    acknowledge(
      this.rule,
      'Serverless-EventBusDLQ',
      'The event is a clock tick with no payload: an undelivered tick has nothing to redrive, the next one samples again, and missing runs show as a flat ItemsSampled on the dashboard.',
    );
    acknowledge(
      role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
  }

  /** The table's sampling settings; the stack must be one of the table's replicator regions. */
  private validateProps(props: DivergenceSamplerProps): DivergenceSamplingModel {
    const model = props.mirroredTable.model;
    const region = Stack.of(this).region;
    const problems = stackAccountProblems(this, props.accounts);
    if (!model.divergenceSampling) problems.push(`table ${model.name} has no divergenceSampling configured`);
    if (!replicatorRegions(model).includes(region))
      problems.push(
        `region ${region} is not a region where ${model.name} is written (${replicatorRegions(model).join(', ')})`,
      );
    if (problems.length)
      throw new Error(`${this.node.path}: invalid DivergenceSampler props: ${problems.join('; ')}`);
    return model.divergenceSampling!;
  }
}

/** The reader role of each copy in another account than `region`. */
function readerRoles(
  scope: Construct,
  table: string,
  region: string,
  others: readonly string[],
  accounts: RegionAccounts | undefined,
): { region: string; roleArn: string }[] {
  return others.flatMap((peer) => {
    const roleArn = peerRoleFor(scope, table, region, peer, 'reader', accounts);
    return roleArn === undefined ? [] : [{ region: peer, roleArn }];
  });
}
