import { LOCAL_STREAM_LABEL, type PlanMapping } from './plan';

/**
 * Which IAM actions and resources an AWS API call needs: the request side of the local IAM check
 * (`iam-check.ts` decides whether a role's policies allow them).
 */

export interface Permission {
  readonly action: string;
  readonly resource: string;
}

export interface PermissionContext {
  readonly region: string;
  readonly account: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** Queue ARN of a queue URL that is not of the form `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`. */
  readonly queueUrlToArn?: (url: string) => string | undefined;
}

export type AwsService = 'dynamodb' | 'dynamodbstreams' | 'sqs';

/** The service and operation of a JSON-protocol request, from its `X-Amz-Target` header. */
export function parseTarget(
  target: string | undefined,
): { service: AwsService; operation: string } | undefined {
  const m = /^(DynamoDB_20120810|DynamoDBStreams_20120810|AmazonSQS)\.(\w+)$/.exec(target ?? '');
  if (!m) return undefined;
  const service: AwsService =
    m[1] === 'AmazonSQS' ? 'sqs' : m[1] === 'DynamoDB_20120810' ? 'dynamodb' : 'dynamodbstreams';
  return { service, operation: m[2] };
}

/**
 * The (action, resource) pairs IAM checks for one call. DynamoDB Streams `GetRecords` names only an
 * opaque iterator and is not checked (its `GetShardIterator` is).
 */
export function requiredPermissions(
  service: AwsService,
  operation: string,
  input: Record<string, unknown>,
  context: PermissionContext,
): Permission[] {
  const partition = context.partition ?? 'aws';
  const table = (name: unknown): string =>
    String(name).startsWith('arn:')
      ? String(name)
      : `arn:${partition}:dynamodb:${context.region}:${context.account}:table/${name}`;
  if (service === 'dynamodb') {
    const action = `dynamodb:${operation}`;
    switch (operation) {
      case 'BatchWriteItem':
      case 'BatchGetItem':
        return Object.keys((input.RequestItems as object) ?? {}).map((t) => ({ action, resource: table(t) }));
      case 'TransactWriteItems':
      case 'TransactGetItems': {
        const names: Record<string, string> = {
          Put: 'PutItem',
          Delete: 'DeleteItem',
          Update: 'UpdateItem',
          ConditionCheck: 'ConditionCheckItem',
          Get: 'GetItem',
        };
        return ((input.TransactItems as Record<string, { TableName?: string }>[]) ?? []).flatMap((item) =>
          Object.entries(item)
            .filter(([k]) => k in names)
            .map(([k, v]) => ({ action: `dynamodb:${names[k]}`, resource: table(v.TableName) })),
        );
      }
      case 'Query':
      case 'Scan':
        return [
          {
            action,
            resource: input.IndexName
              ? `${table(input.TableName)}/index/${input.IndexName}`
              : table(input.TableName),
          },
        ];
      default:
        if (input.TableName !== undefined) return [{ action, resource: table(input.TableName) }];
        if (typeof input.ResourceArn === 'string') return [{ action, resource: input.ResourceArn }];
        return [{ action, resource: '*' }];
    }
  }
  if (service === 'dynamodbstreams') {
    if (operation === 'GetRecords') return [];
    return [
      {
        action: `dynamodb:${operation}`,
        resource: typeof input.StreamArn === 'string' ? deployedStreamArn(input.StreamArn, context) : '*',
      },
    ];
  }
  const batchless = operation.replace(/Batch$/, '');
  const action = `sqs:${batchless}`;
  if (typeof input.QueueUrl === 'string')
    return [{ action, resource: queueArnFromUrl(input.QueueUrl, context) }];
  if (operation === 'GetQueueUrl')
    return [
      {
        action,
        resource: `arn:${partition}:sqs:${context.region}:${input.QueueOwnerAWSAccountId ?? context.account}:${input.QueueName}`,
      },
    ];
  return [{ action, resource: '*' }];
}

/**
 * A stream ARN as DynamoDB Local hands it out (from DescribeTable: region `ddblocal`, its own label) in
 * the shape a policy names it once deployed: the signing region (the engine keeps a database per
 * region) and {@link LOCAL_STREAM_LABEL}, which is what the assembly's `StreamArn` resolves to locally
 * (docs/platform.md#dynamodb-local). Any other ARN is returned as it is.
 */
export function deployedStreamArn(arn: string, context: PermissionContext): string {
  const m = /^arn:[^:]+:dynamodb:ddblocal:[^:]*:table\/([^/]+)\/stream\/.+$/.exec(arn);
  return m
    ? `arn:${context.partition ?? 'aws'}:dynamodb:${context.region}:${context.account}:table/${m[1]}/stream/${LOCAL_STREAM_LABEL}`
    : arn;
}

/**
 * What an event source mapping needs of its function's role: Lambda polls the source and sends to the
 * on-failure destination with the function's permissions.
 */
export function mappingPermissions(mapping: PlanMapping): Permission[] {
  const on = (resource: string, ...actions: string[]) => actions.map((action) => ({ action, resource }));
  const source =
    mapping.source.kind === 'stream'
      ? [
          ...on(
            // A stream mapping's table has a stream: the assembly reader found it by its stream ARN.
            mapping.source.table.streamArn!,
            'dynamodb:DescribeStream',
            'dynamodb:GetRecords',
            'dynamodb:GetShardIterator',
          ),
          ...on('*', 'dynamodb:ListStreams'),
        ]
      : on(mapping.source.queue.arn, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
  return [...source, ...(mapping.onFailure ? on(mapping.onFailure.arn, 'sqs:SendMessage') : [])];
}

/**
 * `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (or the legacy `REGION.queue.amazonaws.com`) →
 * `arn:aws:sqs:REGION:ACCOUNT:NAME`; other hosts (a local endpoint) take the context's region.
 */
export function queueArnFromUrl(url: string, context: PermissionContext): string {
  const mapped = context.queueUrlToArn?.(url);
  if (mapped) return mapped;
  const u = new URL(url);
  const [account, name] = u.pathname.split('/').filter(Boolean).slice(-2);
  const region =
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(u.hostname)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com/.exec(u.hostname)?.[1] ??
    context.region;
  return `arn:${context.partition ?? 'aws'}:sqs:${region}:${account}:${name}`;
}

/** The slice of the SDK's middleware stack this file uses (no dependency on @smithy/types). */
interface MiddlewareStackLike {
  add(middleware: unknown, options: unknown): void;
}

type HandlerLike = (args: { input: Record<string, unknown> }) => Promise<unknown>;

/**
 * An SDK v3 plugin for DynamoDBClient, DynamoDBStreamsClient or SQSClient that runs `check(action, resource)`
 * for every permission a command needs before the request is built; `check` throws to deny (for example
 * `(a, r) => assertAllowed(fn, policies, a, r)`). `client.middlewareStack.use(iamGuardMiddleware(...))`.
 */
export function iamGuardMiddleware(
  check: (action: string, resource: string) => void,
  context: PermissionContext,
): { applyToStack(stack: MiddlewareStackLike): void } {
  return {
    applyToStack(stack) {
      stack.add(
        (next: HandlerLike, ctx: { clientName?: string; commandName?: string }) =>
          async (args: { input: Record<string, unknown> }) => {
            const service: AwsService | undefined =
              ctx.clientName === 'DynamoDBClient'
                ? 'dynamodb'
                : ctx.clientName === 'DynamoDBStreamsClient'
                  ? 'dynamodbstreams'
                  : ctx.clientName === 'SQSClient'
                    ? 'sqs'
                    : undefined;
            if (!service || !ctx.commandName)
              throw new Error(
                `iamGuardMiddleware cannot map ${ctx.clientName}.${ctx.commandName} to IAM actions`,
              );
            const operation = ctx.commandName.replace(/Command$/, '');
            for (const p of requiredPermissions(service, operation, args.input ?? {}, context))
              check(p.action, p.resource);
            return next(args);
          },
        { step: 'initialize', name: 'ddbMirrorIamGuard', priority: 'high' },
      );
    },
  };
}
