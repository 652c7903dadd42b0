import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  FunctionError,
  FunctionHost,
  FunctionHostOptions,
  lambdaEnvironment,
  rewriteQueueUrls,
} from '../../lib/local/function-host';

/** A "bundled" handler: plain JavaScript in an asset directory of its own. */
function asset(code: string, file = 'index.js'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddbm-fn-'));
  writeFileSync(join(dir, file), code);
  dirs.push(dir);
  return dir;
}
const dirs: string[] = [];
const hosts: FunctionHost[] = [];
function host(options: Partial<FunctionHostOptions> & { codeDirectory: string }): FunctionHost {
  const h = new FunctionHost({
    functionName: 'fn-test',
    handler: 'index.handler',
    region: 'eu-west-1',
    ...options,
  });
  hosts.push(h);
  return h;
}
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const HANDLER = `
exports.handler = async (event, context) => {
  console.log(JSON.stringify({ level: 'INFO', message: 'got', n: event.n }));
  console.error('to stderr');
  if (event.fail) throw new TypeError('bad input ' + event.n);
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return {
    pid: process.pid,
    n: event.n,
    remaining: context.getRemainingTimeInMillis(),
    requestId: context.awsRequestId,
    env: {
      region: process.env.AWS_REGION,
      defaultRegion: process.env.AWS_DEFAULT_REGION,
      name: process.env.AWS_LAMBDA_FUNCTION_NAME,
      deployed: process.env.DEPLOYED,
      key: process.env.AWS_ACCESS_KEY_ID,
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      profile: process.env.AWS_PROFILE ?? null,
    },
  };
};`;

describe('FunctionHost', () => {
  test('runs the handler in its own process with the Lambda environment, context and forwarded logs', async () => {
    // GIVEN a bundled handler and a host with a deployed variable and a local endpoint
    const logs: string[] = [];
    const h = host({
      codeDirectory: asset(HANDLER),
      environment: { DEPLOYED: 'yes' },
      endpoints: { dynamodb: 'http://127.0.0.1:1' },
      timeoutSeconds: 5,
      onLog: (line, stream) => logs.push(`${stream}:${line}`),
    });
    // WHEN invoked twice
    const first = (await h.invoke({ n: 1 })) as Record<string, unknown>;
    const second = (await h.invoke({ n: 2 })) as Record<string, unknown>;
    // THEN it ran in one warm child process with the function's region, name, variables and fake credentials
    expect(first.pid).not.toBe(process.pid);
    expect(second.pid).toBe(first.pid);
    expect(first.env).toEqual({
      region: 'eu-west-1',
      defaultRegion: 'eu-west-1',
      name: 'fn-test',
      deployed: 'yes',
      key: 'local',
      endpoint: 'http://127.0.0.1:1',
      profile: null,
    });
    // (the remaining time counts down from the 5 s timeout; how far depends on the machine's load)
    expect(first.remaining).toBeGreaterThan(0);
    expect(first.remaining).toBeLessThanOrEqual(5000);
    expect(first.requestId).not.toBe(second.requestId);
    expect(h.counters).toMatchObject({ invocations: 2, coldStarts: 1 });
    // AND its stdout and stderr lines reached onLog
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toEqual(
      expect.arrayContaining(['stdout:{"level":"INFO","message":"got","n":1}', 'stderr:to stderr']),
    );
  });

  test('reports a thrown error as a function error and keeps the process', async () => {
    const h = host({ codeDirectory: asset(HANDLER) });
    const error = await h.invoke({ n: 7, fail: true }).catch((e: FunctionError) => e);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'TypeError', errorMessage: 'bad input 7' });
    expect(await h.invoke({ n: 8 })).toMatchObject({ n: 8 });
    expect(h.counters).toMatchObject({ errors: 1, coldStarts: 1 });
  });

  test('times out after the function Timeout, kills the process, and starts a fresh one next time', async () => {
    const h = host({ codeDirectory: asset(HANDLER), timeoutSeconds: 1 });
    const before = (await h.invoke({ n: 1 })) as { pid: number };
    const started = Date.now();
    await expect(h.invoke({ n: 2, sleepMs: 5000 })).rejects.toMatchObject({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringContaining('Task timed out after 1.00 seconds'),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    const after = (await h.invoke({ n: 3 })) as { pid: number };
    expect(after.pid).not.toBe(before.pid);
    expect(h.counters).toMatchObject({ timeouts: 1, coldStarts: 2 });
  });

  test('queues concurrent invocations: one at a time per process', async () => {
    const h = host({
      codeDirectory: asset(
        `let busy = 0; exports.handler = async () => { busy++; const seen = busy; await new Promise((r) => setTimeout(r, 30)); busy--; return seen; };`,
      ),
    });
    expect(await Promise.all([h.invoke({}), h.invoke({}), h.invoke({})])).toEqual([1, 1, 1]);
  });

  test('loads ES module bundles and callback-style handlers', async () => {
    const esm = host({
      codeDirectory: asset('export const handler = async (e) => ({ esm: e.x });', 'index.mjs'),
    });
    expect(await esm.invoke({ x: 1 })).toEqual({ esm: 1 });
    const cb = host({
      codeDirectory: asset(
        'exports.main = (e, c, done) => setTimeout(() => done(null, e.x * 2), 5);',
        'app.js',
      ),
      handler: 'app.main',
    });
    expect(await cb.invoke({ x: 21 })).toBe(42);
  });

  test("import()s a module the bundle left to the runtime from NODE_PATH, as Lambda's runtime does", async () => {
    // GIVEN a bundle outside the project (a temporary directory) that imports the runtime's SQS client
    const fn = host({
      codeDirectory: asset(
        "exports.handler = async () => typeof (await import('@aws-sdk/client-sqs')).SendMessageCommand;",
      ),
    });
    // WHEN invoked THEN the module loads from the runtime's NODE_PATH (Node's own ESM loader ignores it)
    expect(await fn.invoke({})).toBe('function');
  });

  test('fails invocations with the init error when the module or the export is missing', async () => {
    const missing = host({
      codeDirectory: asset('exports.other = async () => 1;'),
      handler: 'index.handler',
    });
    await expect(missing.invoke({})).rejects.toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
    const broken = host({ codeDirectory: asset('throw new Error("cannot start");') });
    await expect(broken.invoke({})).rejects.toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining('cannot start'),
    });
  });

  test('a process that exits mid-invocation is a function error, and the next invocation cold-starts', async () => {
    const h = host({
      codeDirectory: asset('exports.handler = async (e) => { if (e.exit) process.exit(3); return "ok"; };'),
    });
    await expect(h.invoke({ exit: true })).rejects.toMatchObject({ errorType: 'Runtime.ExitError' });
    expect(await h.invoke({})).toBe('ok');
  });

  test('crash() kills the sandbox in the middle of an invocation: it fails like a Lambda crash, and the next one cold-starts', async () => {
    // GIVEN an invocation in flight that writes a marker file halfway and would finish after 2 s
    const scratch = mkdtempSync(join(tmpdir(), 'ddbm-crash-'));
    dirs.push(scratch);
    const marker = join(scratch, 'halfway');
    const h = host({
      codeDirectory: asset(
        `const fs = require('fs'); exports.handler = async (e) => { fs.writeFileSync(e.marker, 'x'); await new Promise((r) => setTimeout(r, 2000)); return process.pid; };`,
      ),
      timeoutSeconds: 10,
    });
    expect(await h.crash()).toBe(false);
    const running = h.invoke({ marker }).catch((e: FunctionError) => e);
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 10));
    expect(h.inFlight?.event).toEqual({ marker });
    // WHEN the sandbox is crashed
    const started = Date.now();
    expect(await h.crash()).toBe(true);
    // THEN the invocation fails at once with Runtime.ExitError, and the sandbox serves the next one from a new process
    expect(await running).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringContaining('SIGKILL'),
    });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(h.inFlight).toBeUndefined();
    expect(typeof (await h.invoke({ marker }))).toBe('number');
    expect(h.counters).toMatchObject({ crashes: 1, coldStarts: 2 });
  });
});

describe('function environment helpers', () => {
  test('lambdaEnvironment keeps reserved variables over deployed ones', () => {
    const env = lambdaEnvironment({
      functionName: 'f',
      codeDirectory: '/x',
      handler: 'index.handler',
      region: 'ap-south-1',
      environment: { AWS_REGION: 'us-east-1', POWERTOOLS_SERVICE_NAME: 'svc' },
    });
    expect(env).toMatchObject({
      AWS_REGION: 'ap-south-1',
      POWERTOOLS_SERVICE_NAME: 'svc',
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: '/x',
    });
  });

  test('rewriteQueueUrls replaces deployed queue URLs, also inside JSON settings', () => {
    const proxy = { queueUrl: (arn: string) => `http://127.0.0.1:9/${arn.split(':').slice(3).join('/')}` };
    const settings = JSON.stringify({
      peers: [{ parkingQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parked-us' }],
    });
    expect(rewriteQueueUrls({ DDBM_SETTINGS: settings, OTHER: 'x' }, proxy)).toEqual({
      DDBM_SETTINGS: JSON.stringify({
        peers: [{ parkingQueueUrl: 'http://127.0.0.1:9/eu-west-1/123456789012/parked-us' }],
      }),
      OTHER: 'x',
    });
  });
});
