'use strict';
/**
 * Runs one bundled Lambda handler in this process for lib/local/function-host.ts. Plain JavaScript on
 * purpose: it is started with the bare `node` binary (no ts-jest, no tsx loader), from jest and from the CLI.
 *
 * Protocol (process.send, JSON): host → worker { type: 'invoke', id, event, requestId, deadline };
 * worker → host { type: 'ready' } | { type: 'init-error', error } | { type: 'result', id, ok, result | error }.
 * Stdout and stderr belong to the function (its logs and EMF lines); this file never writes to them.
 */
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const env = process.env;
let current;

function toError(e, fallbackType) {
  if (e && typeof e === 'object') {
    return {
      errorType: e.errorType || (e.name && e.name !== 'Error' ? e.name : fallbackType || 'Error'),
      errorMessage: String(e.errorMessage || e.message || ''),
      trace: typeof e.stack === 'string' ? e.stack.split('\n') : [],
    };
  }
  return { errorType: fallbackType || 'Error', errorMessage: String(e), trace: [] };
}

async function loadHandler() {
  // Lambda's rule: the module is the handler string up to the first dot after the last slash.
  const spec = env._HANDLER || 'index.handler';
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw { errorType: 'Runtime.MalformedHandlerName', message: `Bad handler ${spec}` };
  const moduleName = spec.slice(0, dot);
  const exportPath = spec.slice(dot + 1).split('.');
  const base = path.resolve(env.LAMBDA_TASK_ROOT || process.cwd(), moduleName);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file)
    throw { errorType: 'Runtime.ImportModuleError', message: `Error: Cannot find module '${moduleName}'` };
  let mod;
  try {
    if (file.endsWith('.mjs')) mod = await import(pathToFileURL(file).href);
    else {
      try {
        mod = require(file);
      } catch (e) {
        if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(pathToFileURL(file).href);
        else throw e;
      }
    }
  } catch (e) {
    throw {
      errorType: 'Runtime.ImportModuleError',
      message: `${e && e.name}: ${e && e.message}`,
      stack: e && e.stack,
    };
  }
  let fn = exportPath.reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (typeof fn !== 'function' && mod && mod.default)
    fn = exportPath.reduce((o, k) => (o == null ? undefined : o[k]), mod.default);
  if (typeof fn !== 'function')
    throw { errorType: 'Runtime.HandlerNotFound', message: `${spec} is undefined or not exported` };
  return fn;
}

function callHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = done;
    context.succeed = (r) => done(null, r);
    context.fail = (e) => done(e || new Error('handled'));
    try {
      const out = fn(event, context, done);
      if (out && typeof out.then === 'function')
        out.then(
          (r) => done(null, r),
          (e) => done(e || new Error('rejected')),
        );
      else if (fn.length < 3) done(null, out);
    } catch (e) {
      done(e);
    }
  });
}

function reply(message) {
  if (process.connected) process.send(message);
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

loadHandler().then(
  (handler) => {
    process.on('message', async (msg) => {
      if (!msg || msg.type !== 'invoke') return;
      current = msg.id;
      const context = {
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
    });
    reply({ type: 'ready' });
  },
  (e) => {
    reply({ type: 'init-error', error: toError(e, 'Runtime.ImportModuleError') });
    setTimeout(() => process.exit(1), 50);
  },
);
