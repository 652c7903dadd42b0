import { ChildProcess, fork } from 'child_process';
import { createHash, randomUUID } from 'crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createInterface } from 'readline';
import { AwsProxy, AwsProxyOptions } from './aws-proxy';
import type { InvokeMessage, WorkerMessage } from './function-worker';

let workerScript: string | undefined;

/**
 * The worker as JavaScript: transpiled by esbuild (a devDependency, as tsx is) into a file named by the
 * source's hash, so only the first host after a change pays for it. The function then runs under the
 * bare `node` binary, as on Lambda, whether the host runs under jest or tsx.
 */
function workerScriptPath(): string {
  if (workerScript) return workerScript;
  // Compiled (the package's bin), the worker is JavaScript already, and esbuild may not be installed.
  if (__filename.endsWith('.js')) return (workerScript = join(__dirname, 'function-worker.js'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { transformSync, version: esbuildVersion } = require('esbuild') as typeof import('esbuild');
  const sourceFile = join(__dirname, 'function-worker.ts');
  const source = readFileSync(sourceFile, 'utf8');
  const hash = createHash('sha256').update(`${esbuildVersion}\n${source}`).digest('hex').slice(0, 16);
  const file = join(tmpdir(), `ddb-mirror-function-worker-${hash}.js`);
  if (!existsSync(file)) {
    const options = {
      loader: 'ts',
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcefile: sourceFile,
    } as const;
    // Written aside and renamed: hosts in other processes may be writing the same file.
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, transformSync(source, options).code);
    renameSync(partial, file);
  }
  return (workerScript = file);
}

/** A function error, shaped as Lambda reports one (`X-Amz-Function-Error` with this payload). */
export class FunctionError extends Error {
  override readonly name = 'FunctionError';
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: readonly string[] = [],
  ) {
    super(`${functionName} failed: ${errorType}: ${errorMessage}`);
  }
}

export interface FunctionHostOptions {
  readonly functionName: string;
  /** The bundled asset directory (the function's `LAMBDA_TASK_ROOT`), e.g. `cdk.out/asset.<hash>`. */
  readonly codeDirectory: string;
  /** As in the template, e.g. `index.handler`. */
  readonly handler: string;
  readonly region: string;
  /** For the function ARN. @default '000000000000' */
  readonly account?: string;
  /** The deployed `Environment.Variables`, intrinsics resolved. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 3 (Lambda's default) */
  readonly timeoutSeconds?: number;
  /** @default 128 */
  readonly memorySizeMb?: number;
  /** Endpoints the function's SDK clients use (normally an `AwsProxy`). @default - none set */
  readonly endpoints?: {
    readonly dynamodb?: string;
    readonly dynamodbStreams?: string;
    readonly sqs?: string;
  };
  /**
   * DynamoDB Local keeps one database per access key and signing region: use the same key as the rest of
   * the local run. @default { accessKeyId: 'local', secretAccessKey: 'local' }
   */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** Each line the function writes (Powertools JSON logs, EMF metric lines, anything else). */
  readonly onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
}

interface Pending {
  readonly id: string;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly requestId: string;
  timer?: NodeJS.Timeout;
}

/**
 * Runs a bundled Lambda handler in its own `node` process, one invocation at a time (as one sandbox does;
 * concurrent calls queue). The process starts on the first invocation and is reused; a timeout or a crash
 * kills it and the next invocation starts a new one (a cold start), as on Lambda.
 */
export class FunctionHost {
  readonly environment: Readonly<Record<string, string>>;
  readonly functionArn: string;
  readonly counters = { invocations: 0, errors: 0, timeouts: 0, coldStarts: 0, crashes: 0 };
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private pending?: Pending;
  private current?: { readonly event: unknown; readonly since: number };
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: FunctionHostOptions) {
    this.functionArn = `arn:aws:lambda:${options.region}:${options.account ?? '000000000000'}:function:${options.functionName}`;
    this.environment = lambdaEnvironment(options);
  }

  /** Resolves with the handler's result; rejects with a `FunctionError` for errors, timeouts and crashes. */
  invoke(event: unknown): Promise<unknown> {
    const run = this.queue.then(() => this.invokeNow(event));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.kill();
  }

  /** The invocation this sandbox runs now (its event, and since when, epoch ms); undefined when idle. */
  get inFlight(): { readonly event: unknown; readonly since: number } | undefined {
    return this.current;
  }

  /**
   * Kills the sandbox's process at once, as a crash would (out of memory, a fault in native code): the
   * invocation in flight fails with `Runtime.ExitError`, whatever it had written so far stays written,
   * and the next invocation starts a new process. False when no invocation was in flight.
   */
  async crash(): Promise<boolean> {
    if (!this.current || !this.child) return false;
    this.counters.crashes++;
    await this.kill();
    return true;
  }

  private async invokeNow(event: unknown): Promise<unknown> {
    if (this.stopped) throw new Error(`${this.options.functionName} is stopped`);
    this.current = { event, since: Date.now() };
    try {
      return await this.run(event);
    } finally {
      this.current = undefined;
    }
  }

  private async run(event: unknown): Promise<unknown> {
    this.counters.invocations++;
    const timeoutMs = (this.options.timeoutSeconds ?? 3) * 1000;
    // Preparing the worker is the emulator's cost, not the function's: it stays out of its timeout.
    workerScriptPath();
    const requestId = randomUUID();
    const deadline = Date.now() + timeoutMs;
    try {
      await this.spawn(deadline);
      return await new Promise<unknown>((resolve, reject) => {
        const pending: Pending = { id: randomUUID(), resolve, reject, requestId };
        pending.timer = setTimeout(
          () => {
            this.counters.timeouts++;
            const seconds = (timeoutMs / 1000).toFixed(2);
            this.settle(
              new FunctionError(
                this.options.functionName,
                'Sandbox.Timedout',
                `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
              ),
            );
            void this.kill();
          },
          Math.max(0, deadline - Date.now()),
        );
        this.pending = pending;
        const message: InvokeMessage = {
          type: 'invoke',
          id: pending.id,
          event,
          requestId,
          deadline,
          functionArn: this.functionArn,
        };
        this.child!.send(message, (error) => {
          if (error)
            this.settle(new FunctionError(this.options.functionName, 'Runtime.ExitError', error.message));
        });
      });
    } catch (e) {
      this.counters.errors++;
      throw e;
    }
  }

  private settle(outcome: Error | { value: unknown }): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.value);
  }

  /** Starts the process if needed and waits for the handler module to load (the init phase). */
  private spawn(deadline: number): Promise<void> {
    if (this.ready) return this.ready;
    this.counters.coldStarts++;
    const child = fork(workerScriptPath(), [], {
      cwd: this.options.codeDirectory,
      env: { ...this.environment },
      execArgv: [],
      silent: true,
      serialization: 'json',
    });
    this.child = child;
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      if (stream) createInterface({ input: stream }).on('line', (line) => this.options.onLog?.(line, name));
    }
    const name = this.options.functionName;
    this.ready = new Promise<void>((resolve, reject) => {
      const initTimer = setTimeout(
        () => {
          reject(
            new FunctionError(name, 'Sandbox.Timedout', 'Init did not finish within the function timeout'),
          );
          void this.kill();
        },
        Math.max(0, deadline - Date.now()),
      );
      child.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') {
          clearTimeout(initTimer);
          resolve();
        } else if (msg.type === 'init-error') {
          clearTimeout(initTimer);
          reject(new FunctionError(name, msg.error.errorType, msg.error.errorMessage, msg.error.trace));
        } else if (msg.type === 'result' && this.pending?.id === msg.id) {
          if (msg.ok) this.settle({ value: msg.result });
          else
            this.settle(
              new FunctionError(name, msg.error.errorType, msg.error.errorMessage, msg.error.trace),
            );
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(initTimer);
        if (this.child === child) {
          this.child = undefined;
          this.ready = undefined;
        }
        const error = new FunctionError(
          name,
          'Runtime.ExitError',
          `Runtime exited with ${signal ?? `exit status ${code}`}`,
        );
        reject(error);
        this.settle(error);
      });
    });
    // A failed init leaves no process to reuse: the next invocation is another cold start.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  private async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The environment a function sees: the reserved variables Lambda sets, the deployed variables, fake
 * credentials and the local endpoints. Nothing leaks from the host's own environment but PATH (no profile,
 * no real credentials).
 */
/** Where the Lambda runtime's SDK comes from locally: this project's node_modules. */
const RUNTIME_NODE_PATH = join(__dirname, '..', '..', 'node_modules');

export function lambdaEnvironment(options: FunctionHostOptions): Record<string, string> {
  const credentials = options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  const name = options.functionName;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    ...(options.environment ?? {}),
    _HANDLER: options.handler,
    LAMBDA_TASK_ROOT: options.codeDirectory,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    // The runtime's AWS SDK, which a bundle may leave out (lib/constructs/defaults.ts, FUNCTION_BUNDLING):
    // on Lambda it is on NODE_PATH; here the project's own copy stands in for it.
    NODE_PATH: RUNTIME_NODE_PATH,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySizeMb ?? 128),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    ...(options.endpoints?.dynamodb ? { AWS_ENDPOINT_URL_DYNAMODB: options.endpoints.dynamodb } : {}),
    ...(options.endpoints?.dynamodbStreams
      ? { AWS_ENDPOINT_URL_DYNAMODB_STREAMS: options.endpoints.dynamodbStreams }
      : {}),
    ...(options.endpoints?.sqs ? { AWS_ENDPOINT_URL_SQS: options.endpoints.sqs } : {}),
  };
  return env;
}

const AWS_QUEUE_URL = /https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/([^/"'\s]+)\/([A-Za-z0-9_.-]+)/g;

/**
 * Replaces deployed queue URLs (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, also inside JSON values such
 * as `DDBM_SETTINGS`) by the proxy's URLs for the same queues: the SDK would otherwise send to AWS.
 */
export function rewriteQueueUrls(
  environment: Readonly<Record<string, string>>,
  proxy: Pick<AwsProxy, 'queueUrl'>,
  partition = 'aws',
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([k, v]) => [
      k,
      v.replace(AWS_QUEUE_URL, (_m, region: string, account: string, queue: string) =>
        proxy.queueUrl(`arn:${partition}:sqs:${region}:${account}:${queue}`),
      ),
    ]),
  );
}

export interface LocalFunctionOptions
  extends
    Omit<FunctionHostOptions, 'endpoints' | 'account'>,
    Omit<AwsProxyOptions, 'functionName' | 'region'> {
  /**
   * Invocations that may run at once, each in its own sandbox (process), as Lambda runs the parallel
   * batches of a ParallelizationFactor in separate execution environments. @default 1
   */
  readonly concurrency?: number;
}

/** A function with its own proxy: what the local mirror runs per replicator (and per consumer). */
export interface LocalFunction {
  /** The first sandbox (every sandbox shares its ARN and environment). */
  readonly host: FunctionHost;
  /** Every sandbox; each starts (cold) on its first invocation. */
  readonly hosts: readonly FunctionHost[];
  readonly proxy: AwsProxy;
  invoke(event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts the function's proxy (IAM check + DynamoDB forwarding + emulated SQS), rewrites deployed queue URLs in
 * its environment to the proxy's, and points the function's SDK at the proxy.
 */
export async function startLocalFunction(options: LocalFunctionOptions): Promise<LocalFunction> {
  const proxy = await AwsProxy.start(options);
  const hosts = Array.from(
    { length: Math.max(1, options.concurrency ?? 1) },
    () =>
      new FunctionHost({
        ...options,
        environment: rewriteQueueUrls(options.environment ?? {}, proxy, options.partition),
        endpoints: { dynamodb: proxy.endpoint, dynamodbStreams: proxy.endpoint, sqs: proxy.endpoint },
      }),
  );
  const pool = new SandboxPool(hosts);
  return {
    host: hosts[0],
    hosts,
    proxy,
    invoke: (event) => pool.invoke(event),
    stop: async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      await proxy.stop();
    },
  };
}

/** Hands each invocation to an idle sandbox, or queues it until one is free (Lambda's concurrency). */
class SandboxPool {
  private readonly idle: FunctionHost[];
  private readonly waiting: ((host: FunctionHost) => void)[] = [];

  constructor(hosts: readonly FunctionHost[]) {
    this.idle = [...hosts];
  }

  async invoke(event: unknown): Promise<unknown> {
    const host =
      this.idle.shift() ?? (await new Promise<FunctionHost>((resolve) => this.waiting.push(resolve)));
    try {
      return await host.invoke(event);
    } finally {
      const next = this.waiting.shift();
      if (next) next(host);
      else this.idle.push(host);
    }
  }
}
