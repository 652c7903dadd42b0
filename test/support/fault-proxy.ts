import { createServer, request as httpRequest, Agent, IncomingMessage, Server, ServerResponse } from 'http';
import type { Socket } from 'net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * How the proxy answers requests signed for a region:
 * - `ok`: forwarded to the engine untouched;
 * - `down`: HTTP 503, the answer of an unavailable endpoint (the SDK sees a server error);
 * - `reset`: the socket is destroyed before any answer (the SDK sees a network error);
 * - `throttle`: HTTP 400 with `ProvisionedThroughputExceededException` (or `ThrottlingException`,
 *   see `throttleError`), which the SDK classifies as throttling.
 */
export type FaultMode = 'ok' | 'down' | 'reset' | 'throttle';

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
  forwarded: number;
  failed: number;
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
  private readonly modes = new Map<string, FaultMode>();
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

  setMode(region: string, mode: FaultMode): void {
    if (mode === 'ok') this.modes.delete(region);
    else this.modes.set(region, mode);
  }

  mode(region: string): FaultMode {
    return this.modes.get(region) ?? 'ok';
  }

  /** Every region back to `ok`. */
  heal(): void {
    this.modes.clear();
  }

  /** Requests seen per signing region since start (or the last `resetCounters`). */
  stats(region: string): RegionCounters {
    return { ...(this.counters.get(region) ?? { forwarded: 0, failed: 0 }) };
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
    if (!c) this.counters.set(region, (c = { forwarded: 0, failed: 0 }));
    c[key] += 1;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const region = signingRegion(req.headers.authorization) ?? '';
    const mode = this.mode(region);
    if (mode !== 'ok') {
      this.count(region, 'failed');
      // Drain the request body first so the client is not left writing into a closed socket.
      req.resume();
      req.once('end', () => this.fail(mode, req, res));
      return;
    }
    this.count(region, 'forwarded');
    const latency = this.options.latencyMs ?? 0;
    if (latency > 0) setTimeout(() => this.forward(req, res), latency);
    else this.forward(req, res);
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port || 80,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream error ${e.message}`);
    });
    req.pipe(upstream);
  }

  private fail(mode: Exclude<FaultMode, 'ok'>, req: IncomingMessage, res: ServerResponse): void {
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
    const body = JSON.stringify({ __type: type, message });
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': `fault-proxy-${Date.now()}`,
    });
    res.end(body);
  }
}
