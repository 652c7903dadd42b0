/**
 * Runs one bundled Lambda handler in this process for lib/local/function-host.ts, which transpiles this
 * file once and starts it with the bare `node` binary: no loader of ours runs inside the function.
 * Imports Node built-ins only.
 *
 * Protocol (process.send, JSON): host → worker { type: 'invoke', id, event, requestId, deadline, functionArn };
 * worker → host { type: 'ready' } | { type: 'init-error', error } | { type: 'result', id, ok, result | error }.
 * Stdout and stderr belong to the function (its logs and EMF lines); this file never writes to them.
 */
import { existsSync } from 'fs';
import { createRequire, register } from 'module';
import { resolve } from 'path';
import { pathToFileURL } from 'url';

export interface WorkerError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

export type InvokeMessage = {
  readonly type: 'invoke';
  readonly id: string;
  readonly event: unknown;
  readonly requestId: string;
  /** Epoch ms. */
  readonly deadline: number;
  readonly functionArn: string;
};

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'init-error'; readonly error: WorkerError }
  | { readonly type: 'result'; readonly id: string; readonly ok: true; readonly result: unknown }
  | { readonly type: 'result'; readonly id: string; readonly ok: false; readonly error: WorkerError };

type Callback = (error?: unknown, result?: unknown) => void;
type Handler = (event: unknown, context: Record<string, unknown>, callback: Callback) => unknown;

/** An error of the runtime itself, with the `errorType` Lambda reports for it. */
class RuntimeError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    stack?: string,
  ) {
    super(message);
    if (stack) this.stack = stack;
  }
}

const env = process.env;
let current: string | undefined;

function toError(e: unknown, fallbackType = 'Error'): WorkerError {
  if (!e || typeof e !== 'object') return { errorType: fallbackType, errorMessage: String(e), trace: [] };
  const err = e as {
    errorType?: string;
    errorMessage?: string;
    name?: string;
    message?: string;
    stack?: unknown;
  };
  return {
    errorType: err.errorType || (err.name && err.name !== 'Error' ? err.name : fallbackType),
    errorMessage: String(err.errorMessage || err.message || ''),
    trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
  };
}

/** Lambda's rule: the module is the handler string up to the first dot after the last slash. */
async function loadHandler(): Promise<Handler> {
  const spec = env._HANDLER || 'index.handler';
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  const moduleName = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split('.');
  const base = resolve(env.LAMBDA_TASK_ROOT || process.cwd(), moduleName);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  const mod = await loadModule(file);
  const pick = (root: unknown) =>
    exportPath.reduce<unknown>((o, k) => (o == null ? undefined : (o as Record<string, unknown>)[k]), root);
  let fn = pick(mod);
  if (typeof fn !== 'function' && mod && typeof mod === 'object' && 'default' in mod) fn = pick(mod.default);
  if (typeof fn !== 'function')
    throw new RuntimeError('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  return fn as Handler;
}

/** CommonJS first, as the Node.js runtime does; ES modules by import. */
async function loadModule(file: string): Promise<unknown> {
  try {
    if (file.endsWith('.mjs')) return await import(pathToFileURL(file).href);
    try {
      return createRequire(file)(file);
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_REQUIRE_ESM') return await import(pathToFileURL(file).href);
      throw e;
    }
  } catch (e) {
    const err = e as Error | undefined;
    throw new RuntimeError('Runtime.ImportModuleError', `${err?.name}: ${err?.message}`, err?.stack);
  }
}

/** Async handlers, callback handlers and the legacy `context.done/succeed/fail`. */
function callHandler(fn: Handler, event: unknown, context: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const done: Callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolvePromise(result);
    };
    context.done = done;
    context.succeed = (r: unknown) => done(null, r);
    context.fail = (e: unknown) => done(e || new Error('handled'));
    try {
      const out = fn(event, context, done);
      if (out && typeof (out as Promise<unknown>).then === 'function')
        (out as Promise<unknown>).then(
          (r) => done(null, r),
          (e) => done(e || new Error('rejected')),
        );
      else if (fn.length < 3) done(null, out);
    } catch (e) {
      done(e);
    }
  });
}

function reply(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

async function invoke(handler: Handler, msg: InvokeMessage): Promise<void> {
  current = msg.id;
  const context: Record<string, unknown> = {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: msg.functionArn,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: msg.requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
  };
  try {
    const result = await callHandler(handler, msg.event, context);
    // Lambda returns the JSON serialization of the result (undefined becomes null).
    const text = JSON.stringify(result === undefined ? null : result);
    reply({ type: 'result', id: msg.id, ok: true, result: JSON.parse(text) });
  } catch (e) {
    reply({ type: 'result', id: msg.id, ok: false, error: toError(e) });
  } finally {
    current = undefined;
  }
}

process.on('unhandledRejection', (reason) => {
  if (current)
    reply({
      type: 'result',
      id: current,
      ok: false,
      error: toError(reason, 'Runtime.UnhandledPromiseRejection'),
    });
  process.exit(128);
});
process.on('uncaughtException', (e) => {
  if (current)
    reply({ type: 'result', id: current, ok: false, error: toError(e, 'Runtime.UncaughtException') });
  process.exit(129);
});
process.on('disconnect', () => process.exit(0));

/**
 * Lambda's Node.js runtimes (18 and later) search the folders on NODE_PATH when they load an ES module
 * (docs/platform.md#lambda-runtime), so a bundle that leaves the runtime's SDK out can `import()` it.
 * Node itself does not: without this hook the parking client's `import('@aws-sdk/client-sqs')` failed
 * whenever the assembly lived outside the project (a test's temporary directory).
 */
const NODE_PATH_HOOK = `
import { pathToFileURL } from 'node:url';
const dirs = ${JSON.stringify((process.env.NODE_PATH ?? '').split(':').filter(Boolean))};
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || /^[./]|^[a-z]+:/.test(specifier)) throw e;
    for (const dir of dirs) {
      try {
        return await next(specifier, { ...context, parentURL: pathToFileURL(dir + '/index.js').href });
      } catch {}
    }
    throw e;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(NODE_PATH_HOOK)}`);

loadHandler().then(
  (handler) => {
    process.on('message', (msg: InvokeMessage | undefined) => {
      if (msg?.type === 'invoke') void invoke(handler, msg);
    });
    reply({ type: 'ready' });
  },
  (e: unknown) => {
    reply({ type: 'init-error', error: toError(e, 'Runtime.ImportModuleError') });
    setTimeout(() => process.exit(1), 50);
  },
);
