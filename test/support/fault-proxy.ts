import { createServer, request as httpRequest, Agent, IncomingMessage, Server, ServerResponse } from 'http';
import type { Socket } from 'net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { WRITE_OPERATIONS } from '../../lib/local/aws-proxy';
import { prng } from '../../lib/local/workload';

/**
 * How the proxy answers requests signed for a region:
 * - `ok`: forwarded to the engine untouched;
 * - `down`: HTTP 503, the answer of an unavailable endpoint (the SDK sees a server error);
 * - `reset`: the socket is destroyed before any answer (the SDK sees a network error);
 * - `throttle`: HTTP 400 with `ProvisionedThroughputExceededException` (or `ThrottlingException`,
 *   see `throttleError`), which the SDK classifies as throttling;
 * - `lost-answer`: the request reaches the engine, which applies it; once the engine has answered
 *   success, the client gets HTTP 500 `InternalServerError` instead (DynamoDB's router can fail a
 *   write its storage node applied, and the SDK retries a 500);
 * - `lost-answer-reset`: the same, but the connection is cut after the commit (a client timeout or a
 *   lost connection after the write went through).
 * The two lost-answer modes apply to a share of the requests and can be kept to writes
 * (`LostAnswerOptions`). Every other mode fails the request before the engine sees it.
 */
export type FaultMode = 'ok' | 'down' | 'reset' | 'throttle' | 'lost-answer' | 'lost-answer-reset';

/** Which requests of a region in a lost-answer mode lose their answer. */
export interface LostAnswerOptions {
  /** Share of the eligible requests, drawn from a seeded sequence. @default 1 */
  readonly fraction?: number;
  /** Only PutItem, UpdateItem, DeleteItem, TransactWriteItems and BatchWriteItem (by `X-Amz-Target`). @default false */
  readonly writesOnly?: boolean;
  /** Seeds the draws, from the moment the mode is set. @default 1 */
  readonly seed?: number;
}

export interface FaultProxyOptions {
  /** Where requests in `ok` mode go. @default process.env.AWS_ENDPOINT_URL_DYNAMODB */
  readonly target?: string;
  /** The error code sent in `throttle` mode. @default 'ProvisionedThroughputExceededException' */
  readonly throttleError?: 'ProvisionedThroughputExceededException' | 'ThrottlingException';
  /**
   * Added to every request before it is forwarded: a cross-region round trip (70–250 ms in AWS)
   * modelled in front of an engine on the same machine. @default 0
   */
  readonly latencyMs?: number;
}

export interface RegionCounters {
  /** Requests that reached the engine (lost answers included). */
  forwarded: number;
  /** Requests failed before the engine saw them. */
  failed: number;
  /** Requests the engine completed whose success the client never saw (lost-answer modes). */
  lost: number;
}

interface RegionFault {
  readonly mode: Exclude<FaultMode, 'ok'>;
  readonly fraction: number;
  readonly writesOnly: boolean;
  readonly random: () => number;
}

const THROTTLE_TYPES = {
  ProvisionedThroughputExceededException:
    'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  ThrottlingException: 'com.amazon.coral.availability#ThrottlingException',
} as const;

/**
 * The signing region of a SigV4 request, from the credential scope of its Authorization header
 * (`Credential=AKID/20260101/eu-west-1/dynamodb/aws4_request`). DynamoDB Local keeps one database per
 * signing region (docs/platform.md#dynamodb-local), so this is exactly the "region" the request talks to.
 */
export function signingRegion(authorization: string | undefined): string | undefined {
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/.exec(authorization ?? '');
  return m?.[1];
}

/**
 * A small HTTP proxy in front of DynamoDB Local that fails the requests of chosen regions. Test-only:
 * clients of a faulty region are built with `endpoint: proxy.url`; production clients use region only.
 */
export class FaultProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly faults = new Map<string, RegionFault>();
  private readonly counters = new Map<string, RegionCounters>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly target: URL;
  private port = 0;

  constructor(private readonly options: FaultProxyOptions = {}) {
    const target = options.target ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
    if (!target) throw new Error('FaultProxy needs a target endpoint (or AWS_ENDPOINT_URL_DYNAMODB)');
    this.target = new URL(target);
  }

  /** `http://127.0.0.1:PORT` once started. */
  get url(): string {
    if (!this.server) throw new Error('FaultProxy is not started');
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** `lost` only matters to the lost-answer modes. */
  setMode(region: string, mode: FaultMode, lost: LostAnswerOptions = {}): void {
    if (mode === 'ok') {
      this.faults.delete(region);
      return;
    }
    const fraction = lost.fraction ?? 1;
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`fraction must be within [0, 1], got ${fraction}`);
    this.faults.set(region, {
      mode,
      fraction,
      writesOnly: lost.writesOnly ?? false,
      random: prng(lost.seed ?? 1),
    });
  }

  mode(region: string): FaultMode {
    return this.faults.get(region)?.mode ?? 'ok';
  }

  /** Every region back to `ok`. */
  heal(): void {
    this.faults.clear();
  }

  /** Requests seen per signing region since start (or the last `resetCounters`). */
  stats(region: string): RegionCounters {
    return { ...(this.counters.get(region) ?? { forwarded: 0, failed: 0, lost: 0 }) };
  }

  resetCounters(): void {
    this.counters.clear();
  }

  /**
   * A client for `region` that goes through the proxy. The SDK's own retries are off by default so
   * that the code under test sees every fault and its own retry/park logic is what gets exercised.
   */
  client(
    region: string,
    options: { readonly maxAttempts?: number; readonly maxSockets?: number } = {},
  ): DynamoDBClient {
    return new DynamoDBClient({
      region,
      endpoint: this.url,
      maxAttempts: options.maxAttempts ?? 1,
      ...(options.maxSockets ? { requestHandler: { httpAgent: { maxSockets: options.maxSockets } } } : {}),
    });
  }

  private count(region: string, key: keyof RegionCounters): void {
    let c = this.counters.get(region);
    if (!c) this.counters.set(region, (c = { forwarded: 0, failed: 0, lost: 0 }));
    c[key] += 1;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const region = signingRegion(req.headers.authorization) ?? '';
    const fault = this.faults.get(region);
    if (fault && fault.mode !== 'lost-answer' && fault.mode !== 'lost-answer-reset') {
      const mode = fault.mode;
      this.count(region, 'failed');
      // Drain the request body first so the client is not left writing into a closed socket.
      req.resume();
      req.once('end', () => this.fail(mode, req, res));
      return;
    }
    const lose = fault && this.losesAnswer(fault, req) ? fault : undefined;
    this.count(region, 'forwarded');
    const send = () =>
      lose
        ? this.forwardAndLose(lose.mode === 'lost-answer-reset', region, req, res)
        : this.forward(req, res);
    const latency = this.options.latencyMs ?? 0;
    if (latency > 0) setTimeout(send, latency);
    else send();
  }

  private losesAnswer(fault: RegionFault, req: IncomingMessage): boolean {
    if (fault.writesOnly) {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (!WRITE_OPERATIONS.has(operation)) return false;
    }
    return fault.random() < fault.fraction;
  }

  /**
   * Forwards the request, waits for the engine's whole answer (the write is then applied), and only
   * then fails the call. An answer that is already an error passes through: nothing committed, so
   * there is nothing to lose, and the count stays exact.
   */
  private forwardAndLose(reset: boolean, region: string, req: IncomingMessage, res: ServerResponse): void {
    const upstream = this.upstream(
      req,
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const status = up.statusCode ?? 502;
          if (status !== 200) {
            res.writeHead(status, up.headers);
            res.end(Buffer.concat(chunks));
            return;
          }
          this.count(region, 'lost');
          if (reset) req.socket.destroy();
          else
            this.answerError(
              res,
              500,
              'com.amazonaws.dynamodb.v20120810#InternalServerError',
              'fault proxy: the write was applied, its answer lost',
            );
        });
      },
      res,
    );
    req.pipe(upstream);
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = this.upstream(
      req,
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
      res,
    );
    req.pipe(upstream);
  }

  private upstream(
    req: IncomingMessage,
    onAnswer: (up: IncomingMessage) => void,
    res: ServerResponse,
  ): ReturnType<typeof httpRequest> {
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port || 80,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      onAnswer,
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream error ${e.message}`);
    });
    return upstream;
  }

  private fail(
    mode: Exclude<FaultMode, 'ok' | 'lost-answer' | 'lost-answer-reset'>,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    const [status, type, message] =
      mode === 'down'
        ? [503, 'com.amazonaws.dynamodb.v20120810#ServiceUnavailableException', 'fault proxy: region is down']
        : [
            400,
            THROTTLE_TYPES[this.options.throttleError ?? 'ProvisionedThroughputExceededException'],
            'fault proxy: throttled',
          ];
    this.answerError(res, status, type, message);
  }

  /** A DynamoDB JSON-protocol error answer. */
  private answerError(res: ServerResponse, status: number, type: string, message: string): void {
    const body = JSON.stringify({ __type: type, message });
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': `fault-proxy-${Date.now()}`,
    });
    res.end(body);
  }
}
