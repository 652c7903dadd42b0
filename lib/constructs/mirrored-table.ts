import { CfnElement, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { READ_ONLY_SID } from '../../lambda/adopt/contract';
import { tombstoneTableName } from '../../lambda/contract';
import { isAdoptedIn, replicatorRegions, type KeyAttribute, type TableModel } from '../config/model';
import { AdoptedTable } from './adopted-table';
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
 *
 * Where the table already exists (the model's `existing` lists this region) it is referenced by name
 * instead, through {@link AdoptedTable}: the stack never creates, replaces or deletes it. Its tombstone
 * table is created all the same.
 */
export class MirroredTable extends Construct {
  /**
   * The application table (stream NEW_AND_OLD_IMAGES where a replicator reads it). An adopted table is a
   * reference by name whose stream ARN is resolved at deploy.
   */
  public readonly table: dynamodb.ITable;
  /** Present where the table already existed (adopted, not created). */
  public readonly adopted?: AdoptedTable;
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

    const region = Stack.of(this).region;
    if (t.existing.length > 0 && Token.isUnresolved(region))
      throw new Error(
        `${this.node.path}: table ${t.name} already exists in ${t.existing.join(', ')}: the stack needs an explicit region to know whether to create it`,
      );
    const statement = props.onlyWriters && readOnlyStatement(this, t.name, props.onlyWriters);
    if (isAdoptedIn(t, region)) {
      this.adopted = new AdoptedTable(this, 'Adopted', {
        model: t,
        stream: replicatorRegions(t).includes(region),
        ...(statement ? { readOnlyStatement: statement } : {}),
      });
      this.table = this.adopted.table;
    } else {
      this.table = new dynamodb.Table(this, 'Table', {
        ...common,
        tableName: t.name,
        stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        timeToLiveAttribute: t.ttl?.attribute,
        ...(statement ? { resourcePolicy: new iam.PolicyDocument({ statements: [statement] }) } : {}),
      });
    }

    // Same PITR/deletion settings as the table: a restored table without its tombstones could let
    // deleted items come back from a replayed record.
    this.tombstoneTable = new dynamodb.Table(this, 'Tombstones', {
      ...common,
      tableName: tombstoneTableName(t.name),
      timeToLiveAttribute: TOMBSTONE_TTL_ATTRIBUTE,
    });
  }

  /**
   * The table's ARN as a cdk-nag finding prints it: `<LogicalId.Arn>` for a created table, the ARN by name
   * (pseudo parameters as `<AWS::Name>`) for an adopted one. Constructs name their acknowledgements by it.
   */
  public get nagTableArn(): string {
    const stack = Stack.of(this);
    if (!this.adopted) return `<${stack.getLogicalId(this.table.node.defaultChild as CfnElement)}.Arn>`;
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    return `arn:${shown(stack.partition, 'Partition')}:dynamodb:${stack.region}:${shown(stack.account, 'AccountId')}:table/${this.model.name}`;
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

/**
 * Deny every write but the listed principals'. The table's own ARN by name: GetAtt would be circular. An
 * adopted replica gets the same statement merged into its own policy, by this Sid.
 */
function readOnlyStatement(scope: Construct, table: string, writers: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: READ_ONLY_SID,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: REPLICA_WRITE_ACTIONS,
    resources: [MirroredTable.tableArnIn(scope, Stack.of(scope).region, table)],
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...writers] } },
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
