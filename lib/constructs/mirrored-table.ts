import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { tombstoneTableName } from '../../lambda/contract';
import type { KeyAttribute, TableModel } from '../config/model';
import { TOMBSTONE_TTL_ATTRIBUTE } from './defaults';

export interface MirroredTableProps {
  /**
   * The table as configured. Its name becomes the physical table name in every region.
   *
   * Note: the name is the same in every region so that peers compute each other's ARNs from
   * (region, account, name) without cross-region references.
   */
  readonly table: TableModel;
  /**
   * Make this table a read-only replica: a resource policy denies data-plane writes to every principal
   * but these role ARNs (the source's replicator roles, or the writer role they assume when the source
   * is in another account, and any configured writers).
   * @default - no resource policy: any principal the account's IAM allows may write
   */
  readonly onlyWriters?: readonly string[];
}

/**
 * The data-plane writes a read-only replica refuses. PutItem, UpdateItem and DeleteItem also authorise
 * the writes inside a TransactWriteItems; BatchWriteItem and PartiQL are authorised on their own.
 */
export const REPLICA_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLInsert',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/**
 * One mirrored table in one region, plus its tombstone table.
 *
 * Uses `aws-dynamodb.Table` (AWS::DynamoDB::Table), not `TableV2` (AWS::DynamoDB::GlobalTable): every
 * region is its own stack with its own independent table, which is what a plain Table is; its template
 * is the flat shape the local emulator reads, and cdk-nag's PITR check (DDB3) understands it.
 */
export class MirroredTable extends Construct {
  /** The application table (stream NEW_AND_OLD_IMAGES). */
  public readonly table: dynamodb.Table;
  /** `<name>-ddbm-tombstones`: records of deletes, expiring through TTL on `_ddbm_expires`. No stream. */
  public readonly tombstoneTable: dynamodb.Table;
  /** The configured model this table was built from. */
  public readonly model: TableModel;

  constructor(scope: Construct, id: string, props: MirroredTableProps) {
    super(scope, id);
    const t = props.table;
    this.model = t;
    const removalPolicy = toRemovalPolicy(t);
    const billing =
      t.billing.mode === 'PROVISIONED'
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            readCapacity: t.billing.readCapacity,
            writeCapacity: t.billing.writeCapacity,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST };
    const keys = {
      partitionKey: toAttribute(t.key.partitionKey),
      sortKey: t.key.sortKey ? toAttribute(t.key.sortKey) : undefined,
    };
    const common = {
      ...keys,
      ...billing,
      // AWS managed key: encrypted at rest, key use visible in CloudTrail, no key policy to manage.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: t.pointInTimeRecovery },
      deletionProtection: t.deletionProtection,
      removalPolicy,
    };

    this.table = new dynamodb.Table(this, 'Table', {
      ...common,
      tableName: t.name,
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: t.ttl?.attribute,
      ...(props.onlyWriters ? { resourcePolicy: readOnlyPolicy(this, t.name, props.onlyWriters) } : {}),
    });

    // Same PITR/deletion settings as the table: a restored table without its tombstones could let
    // deleted items come back from a replayed record.
    this.tombstoneTable = new dynamodb.Table(this, 'Tombstones', {
      ...common,
      tableName: tombstoneTableName(t.name),
      timeToLiveAttribute: TOMBSTONE_TTL_ATTRIBUTE,
    });
  }

  /**
   * ARN of this table's name in another region (no cross-region reference).
   * @param account the peer's account. @default - this stack's account
   */
  public static tableArnIn(scope: Construct, region: string, tableName: string, account?: string): string {
    return Stack.of(scope).formatArn({
      service: 'dynamodb',
      region,
      ...(account !== undefined && { account }),
      resource: 'table',
      resourceName: tableName,
    });
  }
}

/** Deny every write but the listed principals'. The table's own ARN by name: GetAtt would be circular. */
function readOnlyPolicy(scope: Construct, table: string, writers: readonly string[]): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'ReadOnlyReplica',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: REPLICA_WRITE_ACTIONS,
        resources: [MirroredTable.tableArnIn(scope, Stack.of(scope).region, table)],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...writers] } },
      }),
    ],
  });
}

function toAttribute(a: KeyAttribute): dynamodb.Attribute {
  const type = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  }[a.type];
  return { name: a.name, type };
}

function toRemovalPolicy(t: TableModel): RemovalPolicy {
  switch (t.removalPolicy) {
    case 'RETAIN':
      return RemovalPolicy.RETAIN;
    case 'DESTROY':
      return RemovalPolicy.DESTROY;
  }
}
