import { createServer, IncomingMessage, Server, ServerResponse, request as httpRequest, Agent } from 'http';
import type { AddressInfo } from 'net';
import { AccessDeniedError, assertAllowed, PolicyDocument } from './iam-check';
import {
  AwsService,
  parseTarget,
  Permission,
  PermissionContext,
  queueArnFromUrl,
  requiredPermissions,
} from './permissions';
import { LocalQueue, LocalQueues, MessageAttributeValue, ReceivedMessage } from './local-queue';

/**
 * A local endpoint for one function's AWS calls. The function's bundle carries its own SDK, so a middleware
 * cannot be slipped in from outside; pointing `AWS_ENDPOINT_URL_DYNAMODB` / `_DYNAMODB_STREAMS` / `_SQS` here
 * works for any bundle. Every call is checked against the function's role before it goes anywhere: DynamoDB
 * calls are then forwarded untouched to DynamoDB Local (whose database is chosen by the caller's access key
 * and signing region), SQS calls (JSON protocol, `X-Amz-Target: AmazonSQS.*`) are answered from LocalQueues.
 */
/**
 * How the proxy fails a DynamoDB call it is told to fail (failure drills, lib/local/drills):
 * - `down`: HTTP 503 ServiceUnavailable, the answer of an unavailable endpoint;
 * - `reset`: the connection is cut before any answer (the SDK sees a network error);
 * - `throttle`: HTTP 400 ProvisionedThroughputExceededException;
 * - `server-error`: HTTP 500 InternalServerError.
 * These never reach the engine, so a failed write is never applied. The lost-answer faults do:
 * - `lost-answer`: the engine applies the call, then the function gets HTTP 500 InternalServerError
 *   (DynamoDB's request router can fail a write its storage node applied);
 * - `lost-answer-reset`: the engine applies the call, then the connection is cut (a timeout or a
 *   dropped connection after the commit).
 * The SDK retries both, so the retry meets its own earlier effect. An engine answer that is already an
 * error passes through unchanged: nothing was applied.
 */
export type ProxyFault = 'down' | 'reset' | 'throttle' | 'server-error' | 'lost-answer' | 'lost-answer-reset';

/** The DynamoDB operations that change data (what a lost answer is about). */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'TransactWriteItems',
  'BatchWriteItem',
]);

/** A DynamoDB call as the fault hook sees it: `region` is the region it was signed for. */
export interface ProxyCall {
  readonly functionName: string;
  readonly region: string;
  readonly operation: string;
}

/** Decides, per DynamoDB call, whether the proxy fails it. SQS calls are never failed. */
export interface ProxyFaults {
  faultFor(call: ProxyCall): ProxyFault | undefined;
  /** A call given a lost-answer fault was applied by the engine, and its answer dropped. */
  answerLost?(call: ProxyCall, fault: 'lost-answer' | 'lost-answer-reset'): void;
}

export interface AwsProxyOptions {
  /** Named in AccessDenied messages. */
  readonly functionName: string;
  /** The function's region: table ARNs, and queue URLs that do not name a region. */
  readonly region: string;
  readonly account: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  readonly dynamoEndpoint: string;
  /** The role's policy documents, intrinsics resolved. @default - no IAM check */
  readonly policies?: readonly PolicyDocument[];
  /** The role's ARN: the principal that resource-based policies name. @default - none apply */
  readonly principalArn?: string;
  /**
   * Resource-based policies by table ARN (read-only replicas'), evaluated with `policies` for calls on
   * that table or its indexes. @default - none
   */
  readonly resourcePolicies?: ReadonlyMap<string, PolicyDocument>;
  /** @default - SQS calls fail with QueueDoesNotExist */
  readonly queues?: LocalQueues;
  /** For queue URLs that neither `queueUrl()` produced nor have the AWS form. */
  readonly queueUrlToArn?: (url: string) => string | undefined;
  /** Called for every denied call (the run should be flagged: the deployed function would fail the same way). */
  readonly onDenied?: (error: AccessDeniedError) => void;
  /** Called for every call checked, allowed or not. */
  readonly onCall?: (call: { service: AwsService; operation: string; permissions: Permission[] }) => void;
  /** @default 0 - a free port */
  readonly port?: number;
  /**
   * Added to every DynamoDB call signed for another region than the function's own: a cross-region
   * round trip (70–250 ms in AWS), which an engine on the same machine does not have. @default 0
   */
  readonly crossRegionLatencyMs?: number;
  /** @default - no call is failed */
  readonly faults?: ProxyFaults;
}

export class AwsProxy {
  /** Every denied call since start, oldest first. */
  readonly denials: AccessDeniedError[] = [];
  /** Consulted for every DynamoDB call after the IAM check; replaceable while the proxy runs. */
  faults?: ProxyFaults;
  private readonly urls = new Map<string, string>();
  private readonly agent = new Agent({ keepAlive: true });
  private readonly permissionContext: PermissionContext;

  private constructor(
    private readonly options: AwsProxyOptions,
    private readonly server: Server,
    readonly endpoint: string,
  ) {
    this.permissionContext = {
      region: options.region,
      account: options.account,
      partition: options.partition,
      queueUrlToArn: (url) => this.urls.get(url) ?? options.queueUrlToArn?.(url),
    };
  }

  static async start(options: AwsProxyOptions): Promise<AwsProxy> {
    const holder: { proxy?: AwsProxy } = {};
    const { server, endpoint } = await listenLocally(options.port, (req, res) =>
      holder.proxy!.handle(req, res),
    );
    holder.proxy = new AwsProxy(options, server, endpoint);
    holder.proxy.faults = options.faults;
    return holder.proxy;
  }

  /**
   * The URL the function must use for a queue. The SDK sends SQS calls to the queue URL's host even when an
   * endpoint is configured, so a deployed URL (`https://sqs...`) would bypass the proxy.
   */
  queueUrl(queueArn: string): string {
    const [, , , , account, name] = queueArn.split(':');
    const url = `${this.endpoint}/${account}/${name}`;
    this.urls.set(url, queueArn);
    return url;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = parseTarget(req.headers['x-amz-target'] as string | undefined);
    if (!target)
      return reply(
        res,
        400,
        'UnknownOperationException',
        `No X-Amz-Target the local proxy knows: ${req.headers['x-amz-target']}`,
      );
    let input: Record<string, unknown>;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return reply(res, 400, 'SerializationException', 'The request body is not JSON');
    }

    // DynamoDB calls are checked against the region they were signed for (a replicator writes to its
    // peers through clients of the peers' regions), not the function's own region. SQS queue ARNs come
    // from the queue URL instead.
    const signedRegion = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(
      String(req.headers.authorization ?? ''),
    )?.[1];
    const permissions = requiredPermissions(target.service, target.operation, input, {
      ...this.permissionContext,
      ...(signedRegion && target.service !== 'sqs' ? { region: signedRegion } : {}),
    });
    this.options.onCall?.({ ...target, permissions });
    if (this.options.policies) {
      for (const p of permissions) {
        try {
          assertAllowed(this.options.functionName, this.options.policies, p.action, p.resource, {
            principalArn: this.options.principalArn,
            resourcePolicy: this.resourcePolicyOf(p.resource),
          });
        } catch (e) {
          if (!(e instanceof AccessDeniedError)) throw e;
          this.denials.push(e);
          this.options.onDenied?.(e);
          const sqs = target.service === 'sqs';
          return reply(res, 400, sqs ? 'AccessDenied' : 'AccessDeniedException', e.message, sqs);
        }
      }
    }

    if (target.service === 'sqs') return this.sqs(target.operation, input, res);
    const region = signedRegion ?? this.options.region;
    const call = { functionName: this.options.functionName, region, operation: target.operation };
    const faults = this.faults;
    const fault = faults?.faultFor(call);
    const losesAnswer = fault === 'lost-answer' || fault === 'lost-answer-reset';
    if (fault && !losesAnswer) return failCall(fault, req, res);
    const latency =
      signedRegion && signedRegion !== this.options.region ? this.options.crossRegionLatencyMs : 0;
    if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
    if (!losesAnswer) return this.forward(req, body, res);
    this.forward(req, body, res, () => {
      faults?.answerLost?.(call, fault);
      if (fault === 'lost-answer-reset') return void req.socket.destroy();
      reply(res, 500, 'InternalServerError', 'the write was applied, its answer lost (drill)');
    });
  }

  /** The table's resource-based policy for an ARN of the table or of one of its indexes. */
  private resourcePolicyOf(resource: string): PolicyDocument | undefined {
    return this.options.resourcePolicies?.get(resource.replace(/\/index\/.*$/, ''));
  }

  /**
   * Sends the call to DynamoDB Local and its answer back; with `loseSuccess`, a success is read to its
   * end (the engine has then applied the call) and `loseSuccess` answers instead.
   */
  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse, loseSuccess?: () => void): void {
    const to = new URL(this.options.dynamoEndpoint);
    const headers = { ...req.headers, host: to.host };
    const upstream = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers, agent: this.agent },
      (up) => {
        if (!loseSuccess || up.statusCode !== 200) {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        up.resume();
        up.once('end', loseSuccess);
      },
    );
    upstream.on('error', (e) =>
      reply(res, 502, 'InternalServerError', `DynamoDB Local did not answer: ${e.message}`),
    );
    upstream.end(body);
  }

  private async sqs(operation: string, input: Record<string, unknown>, res: ServerResponse): Promise<void> {
    if (operation === 'GetQueueUrl') return this.getQueueUrl(input, res);
    const q =
      typeof input.QueueUrl === 'string'
        ? this.options.queues?.get(queueArnFromUrl(input.QueueUrl, this.permissionContext))
        : undefined;
    if (!q)
      return reply(
        res,
        400,
        'QueueDoesNotExist',
        `The specified queue does not exist: ${input.QueueUrl}`,
        true,
      );
    return answerQueueCall(operation, input, q, res, {
      staleReceipts: 'ignore',
      unsupported: 'is not emulated locally',
    });
  }

  private getQueueUrl(input: Record<string, unknown>, res: ServerResponse): void {
    const account = String(input.QueueOwnerAWSAccountId ?? this.options.account);
    const arn = `arn:${this.options.partition ?? 'aws'}:sqs:${this.options.region}:${account}:${input.QueueName}`;
    if (!this.options.queues?.get(arn))
      return reply(res, 400, 'QueueDoesNotExist', `The specified queue does not exist: ${arn}`, true);
    return json(res, { QueueUrl: this.queueUrl(arn) });
  }
}

const FAULT_ANSWERS = {
  down: [503, 'ServiceUnavailableException', 'the region is unreachable (drill)'],
  throttle: [400, 'ProvisionedThroughputExceededException', 'throttled (drill)'],
  'server-error': [500, 'InternalServerError', 'internal server error (drill)'],
} as const;

function failCall(
  fault: Exclude<ProxyFault, 'lost-answer' | 'lost-answer-reset'>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (fault === 'reset') return void req.socket.destroy();
  const [status, code, message] = FAULT_ANSWERS[fault];
  reply(res, status, code, message);
}

/** One SendMessage, or one entry of a SendMessageBatch. */
export function send(q: LocalQueue, entry: Record<string, unknown>) {
  return q.send(String(entry.MessageBody ?? ''), {
    delaySeconds: entry.DelaySeconds as number | undefined,
    messageAttributes: entry.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
  });
}

/** ReceiveMessage, with long polling up to `WaitTimeSeconds` (at most 20, as SQS). */
export async function receive(q: LocalQueue, input: Record<string, unknown>): Promise<ReceivedMessage[]> {
  const deadline = Date.now() + Math.min(Number(input.WaitTimeSeconds ?? 0), 20) * 1000;
  const options = {
    maxMessages: input.MaxNumberOfMessages as number | undefined,
    visibilityTimeoutSeconds: input.VisibilityTimeout as number | undefined,
  };
  let got = q.receive(options);
  while (!got.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = q.receive(options);
  }
  return got;
}

export function messageJson(m: ReceivedMessage) {
  return {
    MessageId: m.messageId,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    Attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentTimestamp),
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp),
    },
    ...(Object.keys(m.messageAttributes).length ? { MessageAttributes: m.messageAttributes } : {}),
  };
}

function queueAttributes(q: LocalQueue): Record<string, string> {
  return {
    QueueArn: q.arn,
    ApproximateNumberOfMessages: String(q.visibleCount),
    ApproximateNumberOfMessagesNotVisible: String(q.inFlightCount),
    ApproximateNumberOfMessagesDelayed: String(Math.max(0, q.size - q.visibleCount - q.inFlightCount)),
    VisibilityTimeout: String(q.visibilityTimeoutSeconds),
  };
}

export interface QueueCallOptions {
  /** The queue's URL, for GetQueueUrl. @default - GetQueueUrl is answered by the caller */
  readonly url?: string;
  /**
   * A DeleteMessage or ChangeMessageVisibility with a receipt handle that is no longer the latest:
   * ignored (as a function's calls are), or refused with ReceiptHandleIsInvalid (the operations
   * commands must know they no longer hold the message).
   */
  readonly staleReceipts: 'ignore' | 'reject';
  /** Ends the UnsupportedOperation message: `SQS <op> <unsupported>`. */
  readonly unsupported: string;
}

/** One SQS call on one local queue: the function proxy's and the control endpoint's. */
export async function answerQueueCall(
  operation: string,
  input: Record<string, unknown>,
  q: LocalQueue,
  res: ServerResponse,
  o: QueueCallOptions,
): Promise<void> {
  const stale = (ok: boolean) =>
    ok || o.staleReceipts === 'ignore'
      ? json(res, {})
      : reply(
          res,
          400,
          'ReceiptHandleIsInvalid',
          `Not the latest receipt handle: ${input.ReceiptHandle}`,
          true,
        );
  switch (operation) {
    case 'GetQueueUrl':
      if (o.url === undefined) break;
      return json(res, { QueueUrl: o.url });
    case 'SendMessage': {
      const sent = send(q, input);
      return json(res, { MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfBody });
    }
    case 'SendMessageBatch': {
      const entries = (input.Entries as Record<string, unknown>[]) ?? [];
      const Successful = entries.map((e) => {
        const sent = send(q, e);
        return { Id: e.Id, MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfBody };
      });
      return json(res, { Successful, Failed: [] });
    }
    case 'ReceiveMessage':
      return json(res, { Messages: (await receive(q, input)).map(messageJson) });
    case 'DeleteMessage':
      return stale(q.delete(String(input.ReceiptHandle)));
    case 'DeleteMessageBatch': {
      const entries = (input.Entries as { Id: string; ReceiptHandle: string }[]) ?? [];
      for (const e of entries) q.delete(e.ReceiptHandle);
      return json(res, { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] });
    }
    case 'ChangeMessageVisibility':
      return stale(q.changeVisibility(String(input.ReceiptHandle), Number(input.VisibilityTimeout ?? 0)));
    case 'GetQueueAttributes':
      return json(res, { Attributes: queueAttributes(q) });
  }
  return reply(res, 400, 'UnsupportedOperation', `SQS ${operation} ${o.unsupported}`, true);
}

/**
 * An HTTP server on 127.0.0.1 (`port`, or a free one) whose handler's failures are answered as a 500
 * InternalServerError; resolves once it listens.
 */
export async function listenLocally(
  port: number | undefined,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((e: Error) => reply(res, 500, 'InternalServerError', e.message));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * A JSON-protocol error. SQS is "awsQueryCompatible": the SDK takes the error code from
 * `x-amzn-query-error`, so both carry it.
 */
export function reply(res: ServerResponse, status: number, code: string, message: string, sqs = false): void {
  if (res.headersSent) return void res.end();
  const namespace = sqs ? 'com.amazonaws.sqs' : 'com.amazonaws.dynamodb.v20120810';
  const text = JSON.stringify({ __type: `${namespace}#${code}`, message, Message: message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': code,
    ...(sqs ? { 'x-amzn-query-error': `${code};Sender` } : {}),
  });
  res.end(text);
}
