import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  ADOPTED_TABLE_TYPE,
  encodeAdoptSettings,
  READ_ONLY_POLICY_TYPE,
  REQUIRED_STREAM_VIEW,
  type AdoptedTableProperties,
  type ReadOnlyPolicyProperties,
} from '../../lambda/adopt/contract';
import type { TableModel } from '../config/model';
import { functionEntry, mirrorFunction } from './mirror-function';
import { acknowledge } from './nag';

export interface AdoptedTableProps {
  /** The configured table; it already exists in this construct's region under `model.name`. */
  readonly model: TableModel;
  /** A replicator reads the table's stream here: it must have a NEW_AND_OLD_IMAGES stream. */
  readonly stream: boolean;
  /**
   * The read-only replica statement (Sid `ReadOnlyReplica`) to merge into the table's resource policy.
   * @default - the table's resource policy is left alone
   */
  readonly readOnlyStatement?: iam.PolicyStatement;
  /**
   * Entry file of the adopt function (exports `handler`).
   * @default - `lambda/adopt/index.ts` of this repository
   */
  readonly entry?: string;
}

/**
 * A table that already exists in this region, referenced by name: the stack never creates, replaces or
 * deletes it. A custom resource checks at deploy that it exists with the configured key and, where a
 * replicator reads it, that it has a NEW_AND_OLD_IMAGES stream (enabling one when it has no stream; a
 * stream of another view type fails the deploy), and returns the stream's ARN. A read-only replica's
 * statement is merged into the table's resource policy by a second custom resource. Both are served by one
 * function whose role may act on this table only.
 */
export class AdoptedTable extends Construct {
  /** The table, by name; its stream ARN (when it needs one) is the custom resource's, resolved at deploy. */
  public readonly table: dynamodb.ITable;
  /** `Custom::DdbMirrorAdoptedTable`: attributes `StreamArn`, `TableArn`, `StreamEnabledHere`. */
  public readonly resource: CustomResource;
  /** `Custom::DdbMirrorReadOnlyPolicy`, when the copy is a read-only replica. */
  public readonly policyResource?: CustomResource;
  /** Serves both custom resources. */
  public readonly function: lambda.IFunction;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: AdoptedTableProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const name = props.model.name;
    // The table's ARN by name, as every other policy of the mirror names it.
    const tableArn = stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: name });
    const statements = [
      new iam.PolicyStatement({
        sid: 'AdoptTable',
        actions: ['dynamodb:DescribeTable', ...(props.stream ? ['dynamodb:UpdateTable'] : [])],
        resources: [tableArn],
      }),
    ];
    if (props.readOnlyStatement)
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadOnlyStatement',
          actions: [
            'dynamodb:GetResourcePolicy',
            'dynamodb:PutResourcePolicy',
            'dynamodb:DeleteResourcePolicy',
          ],
          resources: [tableArn],
        }),
      );
    const { fn, role } = mirrorFunction(this, 'Function', {
      entry: props.entry ?? functionEntry('adopt'),
      description: `ddb-mirror: adopts the existing table ${name} in ${stack.region}${props.stream ? ' (enables its stream when it has none)' : ''}`,
      statements,
      settings: encodeAdoptSettings({ kind: 'adopt', table: name, region: stack.region }),
      // Enabling a stream takes the table through UPDATING; the function waits for ACTIVE.
      timeout: Duration.minutes(5),
    });
    this.function = fn;
    this.role = role;

    const key = props.model.key;
    const properties: AdoptedTableProperties = {
      TableName: name,
      KeySchema: [
        { AttributeName: key.partitionKey.name, KeyType: 'HASH', AttributeType: key.partitionKey.type },
        ...(key.sortKey
          ? [{ AttributeName: key.sortKey.name, KeyType: 'RANGE' as const, AttributeType: key.sortKey.type }]
          : []),
      ],
      Stream: props.stream ? REQUIRED_STREAM_VIEW : 'NONE',
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: ADOPTED_TABLE_TYPE,
      properties: { ...properties },
      // A function that cannot answer fails the deploy within minutes, not CloudFormation's hour.
      serviceTimeout: Duration.minutes(10),
    });
    this.table = dynamodb.Table.fromTableAttributes(this, 'Table', {
      tableName: name,
      ...(props.stream ? { tableStreamArn: this.resource.getAttString('StreamArn') } : {}),
    });

    if (props.readOnlyStatement) {
      const policy: ReadOnlyPolicyProperties = {
        TableArn: tableArn,
        Statement: props.readOnlyStatement.toStatementJson() as Record<string, unknown>,
      };
      this.policyResource = new CustomResource(this, 'ReadOnlyPolicy', {
        serviceToken: fn.functionArn,
        resourceType: READ_ONLY_POLICY_TYPE,
        properties: { ...policy },
        serviceTimeout: Duration.minutes(10),
      });
      // The table is checked before its policy changes.
      this.policyResource.node.addDependency(this.resource);
    }

    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'CloudFormation invokes it for a custom resource and waits for its answer: a failure fails the deploy, there is nothing to redrive.',
    );
    acknowledge(
      role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );
  }
}
