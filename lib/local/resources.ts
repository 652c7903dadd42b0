import {
  ADOPTED_TABLE_TYPE,
  READ_ONLY_POLICY_TYPE,
  REQUIRED_STREAM_VIEW,
  type AdoptedTableProperties,
} from '../../lambda/adopt/contract';
import type { KeyType } from '../config/model';
import { IntrinsicResolver, ResourceValues, TemplateStack } from './intrinsics';
import { AssemblyError, LOCAL_STREAM_LABEL, PlanQueue, PlanTable } from './plan';
import { policyDocument } from './role-policies';

/**
 * The resources that `Ref` and `Fn::GetAtt` point at — tables, queues, functions, roles — read from the
 * templates once, with the names and ARNs they would have when deployed. Owns the assembly's
 * {@link IntrinsicResolver}, which asks it for those values.
 */
export class AssemblyResources implements ResourceValues {
  readonly resolver: IntrinsicResolver;
  private readonly tables = new Map<string, PlanTable>();
  private readonly queues = new Map<string, PlanQueue>();

  constructor(
    stacks: readonly TemplateStack[],
    readonly account: string,
    /** Base URL of queue URLs. @default `https://sqs.REGION.amazonaws.com` */
    private readonly queueEndpoint?: string,
  ) {
    this.resolver = new IntrinsicResolver(stacks, account, this);
  }

  /** A table the stack creates (`AWS::DynamoDB::Table`) or adopts (`Custom::DdbMirrorAdoptedTable`). */
  table(stack: TemplateStack, id: string): PlanTable {
    const key = `${stack.name}/${id}`;
    let t = this.tables.get(key);
    if (!t) {
      const adopted = this.resolver.resource(stack, id).Type === ADOPTED_TABLE_TYPE;
      t = adopted ? this.readAdoptedTable(stack, id) : this.readTable(stack, id);
      this.tables.set(key, t);
    }
    return t;
  }

  queue(stack: TemplateStack, id: string): PlanQueue {
    const key = `${stack.name}/${id}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = this.readQueue(stack, id)));
    return q;
  }

  functionName(stack: TemplateStack, id: string): string {
    return this.physicalName(stack, id, 'FunctionName', `function ${id} FunctionName`);
  }

  roleName(stack: TemplateStack, id: string): string {
    return this.physicalName(stack, id, 'RoleName', `role ${id} RoleName`);
  }

  ref(stack: TemplateStack, id: string): unknown {
    switch (this.resolver.resource(stack, id).Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
      case ADOPTED_TABLE_TYPE:
        return this.table(stack, id).name;
      case 'AWS::SQS::Queue':
        return this.queue(stack, id).url;
      case 'AWS::Lambda::Function':
        return this.functionName(stack, id);
      case 'AWS::IAM::Role':
        return this.roleName(stack, id);
      default:
        return `${stack.name}-${id}`;
    }
  }

  getAtt(stack: TemplateStack, id: string, attr: string, what: string): unknown {
    const res = this.resolver.resource(stack, id);
    const value = this.attribute(stack, id, res.Type, attr, what);
    if (value === undefined)
      throw new AssemblyError(`${what}: Fn::GetAtt ${id}.${attr} (${res.Type}) cannot be resolved locally`);
    return value;
  }

  private attribute(stack: TemplateStack, id: string, type: string, attr: string, what: string): unknown {
    const arn = (service: string, rest: string) =>
      `arn:aws:${service}:${stack.region}:${this.account}:${rest}`;
    switch (type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return this.tableAttribute(this.table(stack, id), attr, what);
      case ADOPTED_TABLE_TYPE:
        return attr === 'TableArn'
          ? this.table(stack, id).arn
          : this.tableAttribute(this.table(stack, id), attr, what);
      case 'AWS::SQS::Queue': {
        const q = this.queue(stack, id);
        const values: Record<string, string> = { Arn: q.arn, QueueUrl: q.url, QueueName: q.name };
        return Object.hasOwn(values, attr) ? values[attr] : undefined;
      }
      case 'AWS::Lambda::Function':
        return attr === 'Arn' ? arn('lambda', `function:${this.functionName(stack, id)}`) : undefined;
      case 'AWS::IAM::Role':
        if (attr === 'RoleId') return `AROA${id.toUpperCase().slice(0, 16)}`;
        return attr === 'Arn' ? `arn:aws:iam::${this.account}:role/${this.roleName(stack, id)}` : undefined;
      case 'AWS::Logs::LogGroup':
        return attr === 'Arn' ? arn('logs', `log-group:${this.logGroupName(stack, id, what)}:*`) : undefined;
      default:
        // Not something the emulator acts on (alarms, dashboards, keys…): a stable placeholder keeps
        // policies and environment readable without pretending to know the deployed value.
        if (attr === 'Arn') return arn('local', `${type.replace(/::/g, '-')}/${stack.name}-${id}`);
        return `${stack.name}-${id}.${attr}`;
    }
  }

  private tableAttribute(t: PlanTable, attr: string, what: string): string | undefined {
    if (attr === 'Arn') return t.arn;
    if (attr !== 'StreamArn') return undefined;
    if (!t.streamArn)
      throw new AssemblyError(
        `${what}: table ${t.name} in ${t.region} has no stream but its StreamArn is used`,
      );
    return t.streamArn;
  }

  private logGroupName(stack: TemplateStack, id: string, what: string): string {
    const name = this.resolver.resource(stack, id).Properties?.LogGroupName;
    return name === undefined ? `/aws/${stack.name}-${id}` : this.resolver.str(stack, name, what);
  }

  private physicalName(stack: TemplateStack, id: string, property: string, what: string): string {
    const value = this.resolver.resource(stack, id).Properties?.[property];
    return value === undefined ? `${stack.name}-${id}`.slice(0, 64) : this.resolver.str(stack, value, what);
  }

  private readTable(stack: TemplateStack, id: string): PlanTable {
    const p = this.resolver.resource(stack, id).Properties ?? {};
    const where = `Stack ${stack.name}, table ${id}`;
    const name =
      p.TableName === undefined ? undefined : this.resolver.str(stack, p.TableName, `${where} TableName`);
    if (!name) throw new AssemblyError(`${where} has no TableName: mirrored tables need a fixed name`);
    const arn = `arn:aws:dynamodb:${stack.region}:${this.account}:table/${name}`;
    const stream = p.StreamSpecification as { StreamViewType?: string; StreamEnabled?: boolean } | undefined;
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    const streamViewType =
      stream?.StreamViewType && stream.StreamEnabled !== false
        ? (stream.StreamViewType as PlanTable['streamViewType'])
        : undefined;
    return {
      region: stack.region,
      stack: stack.name,
      logicalId: id,
      name,
      ...tableKey(p, where),
      ...(streamViewType ? { streamViewType, streamArn: `${arn}/stream/${LOCAL_STREAM_LABEL}` } : {}),
      ...(ttl?.AttributeName && ttl.Enabled !== false ? { ttlAttribute: ttl.AttributeName } : {}),
      billingMode:
        p.BillingMode === 'PROVISIONED' || (p.ProvisionedThroughput && !p.BillingMode)
          ? 'PROVISIONED'
          : 'PAY_PER_REQUEST',
      arn,
      ...this.resourcePolicy(stack, p.ResourcePolicy, where),
    };
  }

  /**
   * An adopted table, from its custom resource's properties: the configured name and key, a stream where
   * the resource asks for one (the run gets its real ARN from the resource's function), and the read-only
   * statement a `Custom::DdbMirrorReadOnlyPolicy` of the stack merges into its policy.
   */
  private readAdoptedTable(stack: TemplateStack, id: string): PlanTable {
    const where = `Stack ${stack.name}, adopted table ${id}`;
    const resolved = this.resolver.resolve(stack, this.resolver.resource(stack, id).Properties ?? {}, where);
    const props = resolved as AdoptedTableProperties & { ServiceToken?: unknown };
    const name = props.TableName;
    if (typeof name !== 'string' || !name) throw new AssemblyError(`${where} has no TableName`);
    const token = typeof props.ServiceToken === 'string' ? props.ServiceToken : '';
    const functionName = /:function:([^:]+)$/.exec(token)?.[1];
    if (!functionName)
      throw new AssemblyError(`${where}: ServiceToken ${JSON.stringify(token)} is not a function ARN`);
    const arn = `arn:aws:dynamodb:${stack.region}:${this.account}:table/${name}`;
    const key = tableKey(
      {
        KeySchema: props.KeySchema?.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
        AttributeDefinitions: props.KeySchema?.map(({ AttributeName, AttributeType }) => ({
          AttributeName,
          AttributeType,
        })),
      },
      where,
    );
    const stream = props.Stream === REQUIRED_STREAM_VIEW;
    const statements = this.readOnlyStatements(stack, arn);
    return {
      region: stack.region,
      stack: stack.name,
      logicalId: id,
      name,
      ...key,
      ...(stream
        ? { streamViewType: REQUIRED_STREAM_VIEW, streamArn: `${arn}/stream/${LOCAL_STREAM_LABEL}` }
        : {}),
      // Not the stack's to set: the run keeps what the table has.
      billingMode: 'PAY_PER_REQUEST',
      arn,
      ...(statements.length
        ? {
            resourcePolicy: policyDocument(
              { Version: '2012-10-17', Statement: statements },
              `${where} read-only statement`,
            ),
          }
        : {}),
      adoption: {
        logicalId: id,
        functionName,
        resourceType: ADOPTED_TABLE_TYPE,
        properties: resolved as Record<string, unknown>,
      },
    };
  }

  /** The statements `Custom::DdbMirrorReadOnlyPolicy` resources of the stack put on the table `arn`. */
  private readOnlyStatements(stack: TemplateStack, arn: string): unknown[] {
    return Object.entries(stack.template.Resources ?? {})
      .filter(([, r]) => r.Type === READ_ONLY_POLICY_TYPE)
      .map(([id, r]) => this.resolver.resolve(stack, r.Properties ?? {}, `Stack ${stack.name}, ${id}`))
      .filter((p) => (p as { TableArn?: unknown }).TableArn === arn)
      .map((p) => (p as { Statement: unknown }).Statement);
  }

  private resourcePolicy(
    stack: TemplateStack,
    value: unknown,
    where: string,
  ): Pick<PlanTable, 'resourcePolicy'> {
    const document = (value as { PolicyDocument?: unknown } | undefined)?.PolicyDocument;
    if (document === undefined) return {};
    const what = `${where} ResourcePolicy`;
    return { resourcePolicy: policyDocument(this.resolver.resolve(stack, document, what), what) };
  }

  private readQueue(stack: TemplateStack, id: string): PlanQueue {
    const p = this.resolver.resource(stack, id).Properties ?? {};
    const where = `Stack ${stack.name}, queue ${id}`;
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const generated = `${stack.name}-${id}`.slice(0, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
    const name =
      p.QueueName === undefined ? generated : this.resolver.str(stack, p.QueueName, `${where} QueueName`);
    const base = (this.queueEndpoint ?? `https://sqs.${stack.region}.amazonaws.com`).replace(/\/$/, '');
    const redrive = p.RedrivePolicy as
      { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | undefined;
    return {
      region: stack.region,
      stack: stack.name,
      logicalId: id,
      name,
      url: `${base}/${this.account}/${name}`,
      arn: `arn:aws:sqs:${stack.region}:${this.account}:${name}`,
      fifo,
      visibilityTimeoutSeconds: Number(p.VisibilityTimeout ?? 30),
      retentionSeconds: Number(p.MessageRetentionPeriod ?? 345600),
      ...(redrive
        ? {
            redrive: {
              deadLetterTargetArn: this.resolver.str(
                stack,
                redrive.deadLetterTargetArn,
                `${where} RedrivePolicy`,
              ),
              maxReceiveCount: Number(
                this.resolver.resolve(stack, redrive.maxReceiveCount, `${where} RedrivePolicy`),
              ),
            },
          }
        : {}),
    };
  }
}

/** Key schema and attribute definitions of a table's properties. */
function tableKey(
  p: Record<string, unknown>,
  where: string,
): Pick<PlanTable, 'key' | 'attributeDefinitions'> {
  const keySchema = (p.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
  const defs = ((p.AttributeDefinitions ?? []) as { AttributeName: string; AttributeType: KeyType }[]).map(
    (d) => ({ name: d.AttributeName, type: d.AttributeType }),
  );
  const keyAttr = (kind: string) => {
    const k = keySchema.find((e) => e.KeyType === kind);
    if (!k) return undefined;
    const def = defs.find((d) => d.name === k.AttributeName);
    if (!def) throw new AssemblyError(`${where}: key ${k.AttributeName} has no AttributeDefinition`);
    return { name: k.AttributeName, type: def.type };
  };
  const partitionKey = keyAttr('HASH');
  if (!partitionKey) throw new AssemblyError(`${where} has no HASH key in KeySchema`);
  const sortKey = keyAttr('RANGE');
  return { key: sortKey ? { partitionKey, sortKey } : { partitionKey }, attributeDefinitions: defs };
}
