import { Agent, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'http';
import { answerQueueCall, json, listenLocally, readBody, reply } from './aws-proxy';
import type { LocalQueue, LocalQueues } from './local-queue';
import { parseTarget, queueArnFromUrl } from './permissions';

/**
 * The one endpoint a kept local mirror (`ddb-mirror start --keep`) offers to the operations commands and
 * to any SDK (`--endpoint URL`): DynamoDB and DynamoDB Streams calls are forwarded to the engine, SQS
 * calls (JSON protocol) are answered from the mirror's own queues, `GET /status` returns the live figures
 * (lib/local/live-status.ts). Unlike a function's AwsProxy it checks no IAM policy: it stands for the
 * operator's own access.
 *
 * DynamoDB Local keeps one database per access key and signing region (docs/platform.md#dynamodb-local):
 * forwarded calls are re-labelled with the mirror's access key, so any credentials reach the mirror's
 * tables; the signing region still picks the region. Queue URLs are `ENDPOINT/ACCOUNT/NAME` with the
 * names CloudFormation's would start with (`{stack}-{logical ID}`), and a queue is looked up in the
 * region the call was signed for, as SQS does.
 */
export interface ControlServerOptions {
  /** DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  readonly dynamoEndpoint: string;
  readonly queues: LocalQueues;
  /** The access key of the mirror's own clients (its databases). */
  readonly accessKeyId: string;
  /** The live figures, computed per request. */
  readonly status: () => unknown;
  /** @default 0 - a free port */
  readonly port?: number;
}

export class ControlServer {
  private readonly agent = new Agent({ keepAlive: true });

  private constructor(
    private readonly options: ControlServerOptions,
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(options: ControlServerOptions): Promise<ControlServer> {
    const holder: { control?: ControlServer } = {};
    const { server, endpoint } = await listenLocally(options.port, (req, res) =>
      holder.control!.handle(req, res),
    );
    holder.control = new ControlServer(options, server, endpoint);
    return holder.control;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The URL of a local queue, as ListQueues returns it. */
  queueUrl(q: LocalQueue): string {
    return `${this.endpoint}/${q.account}/${q.name}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      if (req.url?.replace(/\?.*$/, '') === '/status') return json(res, this.options.status());
      return reply(res, 404, 'NotFound', `Nothing at ${req.url}: GET /status, or AWS JSON-protocol calls`);
    }
    const body = await readBody(req);
    const target = parseTarget(req.headers['x-amz-target'] as string | undefined);
    if (!target)
      return reply(
        res,
        400,
        'UnknownOperationException',
        `Unknown X-Amz-Target: ${req.headers['x-amz-target']}`,
      );
    if (target.service !== 'sqs') return this.forward(req, body, res);
    let input: Record<string, unknown>;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return reply(res, 400, 'SerializationException', 'The request body is not JSON', true);
    }
    return this.sqs(target.operation, input, signingRegion(req), res);
  }

  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const to = new URL(this.options.dynamoEndpoint);
    const authorization = String(req.headers.authorization ?? '').replace(
      /Credential=[^/]+\//,
      `Credential=${this.options.accessKeyId}/`,
    );
    const headers = { ...req.headers, host: to.host, authorization };
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers, agent: this.agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) =>
      reply(res, 502, 'InternalServerError', `DynamoDB Local did not answer: ${e.message}`),
    );
    upstream.end(body);
  }

  private async sqs(
    operation: string,
    input: Record<string, unknown>,
    region: string | undefined,
    res: ServerResponse,
  ): Promise<void> {
    const inRegion = this.options.queues.all().filter((q) => !region || q.region === region);
    if (operation === 'ListQueues') {
      const prefix = String(input.QueueNamePrefix ?? '');
      const urls = inRegion.filter((q) => q.name.startsWith(prefix)).map((q) => this.queueUrl(q));
      return json(res, urls.length ? { QueueUrls: urls } : {});
    }
    const q =
      operation === 'GetQueueUrl'
        ? inRegion.find((x) => x.name === input.QueueName)
        : this.queueAt(input.QueueUrl, region, inRegion);
    if (!q)
      return reply(
        res,
        400,
        'QueueDoesNotExist',
        `The specified queue does not exist: ${String(input.QueueUrl ?? input.QueueName)}${region ? ` (in ${region})` : ''}`,
        true,
      );
    return answerQueueCall(operation, input, q, res, {
      url: this.queueUrl(q),
      staleReceipts: 'reject',
      unsupported: 'is not served by the local control endpoint',
    });
  }

  private queueAt(url: unknown, region: string | undefined, inRegion: LocalQueue[]): LocalQueue | undefined {
    if (typeof url !== 'string') return undefined;
    let arn: string;
    try {
      arn = queueArnFromUrl(url, { region: region ?? '', account: '' });
    } catch {
      return undefined;
    }
    return this.options.queues.get(arn) ?? inRegion.find((q) => q.name === arn.split(':')[5]);
  }
}

/** The region a SigV4 request was signed for (its credential scope). */
function signingRegion(req: IncomingMessage): string | undefined {
  return /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
}
