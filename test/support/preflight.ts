import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  type AttributeValue,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import {
  ListEventSourceMappingsCommand,
  type EventSourceMappingConfiguration,
  type ListEventSourceMappingsCommandOutput,
} from '@aws-sdk/client-lambda';
import { Agent, request as httpRequest, type Server } from 'http';
import { listenLocally, readBody } from '../../lib/local/aws-proxy';
import type { LambdaLike } from '../../lib/ops/preflight-gather';
import { client, type KeySpec } from './dynamo';

/**
 * Stand-ins for what DynamoDB Local does not serve (continuous backups, tags) and for Lambda, for the
 * plan's tests. Everything else goes to the test run's DynamoDB Local.
 */

export interface DynamoStandIns {
  /** DescribeContinuousBackups: point-in-time recovery per table name. @default - sent on (and refused) */
  readonly pitr?: (table: string) => boolean;
  /** ListTagsOfResource: the `aws:cloudformation:stack-name` per table name, null for none. @default - sent on */
  readonly stack?: (table: string) => string | null;
  /** DescribeTable of these table names is denied, as IAM would. */
  readonly denyDescribe?: readonly string[];
}

/** A region-only client (global setup points it at DynamoDB Local) that records every command it sends. */
export function standInClient(
  region: string,
  standIns: DynamoStandIns = {},
  sent: string[] = [],
): DynamoDBClient {
  const client = new DynamoDBClient({ region });
  type Handler = (args: {
    input: Record<string, unknown>;
  }) => Promise<{ output: unknown; response: unknown }>;
  const stack = client.middlewareStack as unknown as {
    add(mw: (next: Handler, context: { commandName?: string }) => Handler, options: object): void;
  };
  const answer = (output: object) => ({ output: { $metadata: {}, ...output }, response: {} });
  stack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? '?';
      sent.push(command.replace(/Command$/, ''));
      if (command === 'DescribeContinuousBackupsCommand' && standIns.pitr) {
        const on = standIns.pitr(String(args.input.TableName));
        return answer({
          ContinuousBackupsDescription: {
            ContinuousBackupsStatus: 'ENABLED',
            PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: on ? 'ENABLED' : 'DISABLED' },
          },
        });
      }
      if (command === 'ListTagsOfResourceCommand' && standIns.stack) {
        // DynamoDB Local's ARNs end in table/<name>.
        const name = String(args.input.ResourceArn).split('/')[1];
        const stackName = standIns.stack(name);
        return answer({
          Tags: [
            { Key: 'team', Value: 'payments' },
            ...(stackName ? [{ Key: 'aws:cloudformation:stack-name', Value: stackName }] : []),
          ],
        });
      }
      if (command === 'DescribeTableCommand' && standIns.denyDescribe?.includes(String(args.input.TableName)))
        throw Object.assign(
          new Error(
            `User: arn:aws:iam::111122223333:user/ops is not authorized to perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:${region}:111122223333:table/${String(args.input.TableName)}`,
          ),
          { name: 'AccessDeniedException' },
        );
      return next(args);
    },
    { step: 'initialize', name: 'preflightStandIns' },
  );
  return client;
}

/** Lambda's ListEventSourceMappings from a fixed list per region and stream, `pageSize` mappings a page. */
export class LambdaStandIn {
  readonly calls: { region: string; eventSourceArn?: string; marker?: string }[] = [];

  constructor(
    private readonly mappings: (region: string, streamArn: string) => EventSourceMappingConfiguration[],
    private readonly pageSize = 1,
  ) {}

  forRegion(region: string): LambdaLike {
    return {
      send: async (
        command: ListEventSourceMappingsCommand,
      ): Promise<ListEventSourceMappingsCommandOutput> => {
        const { EventSourceArn, Marker } = command.input;
        this.calls.push({ region, eventSourceArn: EventSourceArn, marker: Marker });
        const all = EventSourceArn ? this.mappings(region, EventSourceArn) : [];
        const from = Number(Marker ?? 0);
        const next = from + this.pageSize;
        return {
          $metadata: {},
          EventSourceMappings: all.slice(from, next),
          ...(next < all.length ? { NextMarker: String(next) } : {}),
        };
      },
    };
  }
}

/** A mapping as ListEventSourceMappings lists it. */
export function mapping(
  region: string,
  functionName: string,
  streamArn: string,
  state = 'Enabled',
): EventSourceMappingConfiguration {
  return {
    UUID: `uuid-${functionName}`,
    FunctionArn: `arn:aws:lambda:${region}:111122223333:function:${functionName}`,
    EventSourceArn: streamArn,
    State: state,
  };
}

/** A table on DynamoDB Local as an application would have made it: its key, a stream or none, its items. */
export async function applicationTable(
  region: string,
  name: string,
  key: KeySpec,
  options: {
    readonly stream?: StreamViewType;
    readonly items?: readonly Record<string, AttributeValue>[];
  } = {},
): Promise<string | undefined> {
  const attributes = [key.partitionKey, ...(key.sortKey ? [key.sortKey] : [])];
  const res = await client(region).send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: attributes.map((a, i) => ({ AttributeName: a.name, KeyType: i ? 'RANGE' : 'HASH' })),
      AttributeDefinitions: attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
      BillingMode: 'PAY_PER_REQUEST',
      ...(options.stream
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: options.stream } }
        : {}),
    }),
  );
  for (const item of options.items ?? [])
    await client(region).send(new PutItemCommand({ TableName: name, Item: item }));
  return res.TableDescription?.LatestStreamArn;
}

/**
 * Between a client and DynamoDB Local: forwards every request untouched and records its operation
 * (`X-Amz-Target`), so a test sees every call that reached the engine.
 */
export class RecordingProxy {
  readonly operations: string[] = [];
  private readonly agent = new Agent({ keepAlive: true });
  private server?: Server;
  endpoint = '';

  static async start(target = process.env.AWS_ENDPOINT_URL_DYNAMODB!): Promise<RecordingProxy> {
    const proxy = new RecordingProxy();
    const to = new URL(target);
    const { server, endpoint } = await listenLocally(undefined, async (req, res) => {
      proxy.operations.push(String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '?');
      const body = await readBody(req);
      const upstream = httpRequest(
        {
          host: to.hostname,
          port: to.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: to.host },
          agent: proxy.agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.end(body);
    });
    proxy.server = server;
    proxy.endpoint = endpoint;
    return proxy;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
