import {
  AttributeDefinition,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  KeySchemaElement,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { appendFileSync, mkdirSync, rmSync } from 'fs';
import { join, resolve as resolvePath } from 'path';
import type { LocalPlan, PlanFunction, PlanMapping, PlanTable } from './plan';
import { Engine, startEngine } from './engine';
import { DynamoStreamEventSource, EventSourceNotice } from './event-source';
import { LocalFunction, startLocalFunction } from './function-host';
import { AccessDeniedError, assertAllowed } from './iam-check';
import { LocalQueue, LocalQueues, SqsEventSource } from './local-queue';
import { buildReport, RunReport, StatsCollector, writeReport } from './report';
import { StreamReader } from './stream-reader';
import { describeDivergence, verifyMirror, VerifyResult } from './verify';
import { MirrorView, ViewStream } from './view';
import { LagSampler } from './lag-sampler';
import {
  planWorkload,
  runWorkload,
  sleep,
  WORKLOAD_DEFAULTS,
  WorkloadOptions,
  WorkloadResult,
} from './workload';

/**
 * One local mirror session: every region of the plan on DynamoDB Local (one process, one database per
 * signing region), every function's real bundle in its own process behind an IAM-checking proxy, an
 * emulated event source per mapping, then the demo workload, a bounded drain, the divergence check and
 * the report. Everything started here is stopped here, also when the run is aborted.
 */

/** DynamoDB Local keeps one database per access key and region: every client of the run uses this key. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalMirrorOptions {
  readonly plan: LocalPlan;
  /** Use a running DynamoDB Local instead of starting one. @default - start one */
  readonly endpoint?: string;
  /** Port for the DynamoDB Local we start. @default - a free port */
  readonly port?: number;
  readonly workload?: Partial<WorkloadOptions>;
  /** Where report, logs and on-failure records go. @default '.ddb-mirror' in the working directory */
  readonly outDir?: string;
  /** Terminal output (the CLI passes process.stdout). @default - no view */
  readonly out?: ViewStream;
  /** Upper bound for waiting until streams and queues are drained and regions agree. @default 60000 */
  readonly drainTimeoutMs?: number;
  /** Aborting stops the workload and the drain; everything is still stopped cleanly. */
  readonly signal?: AbortSignal;
  /** Leave everything running after the report; the caller must call `stop()`. @default false */
  readonly keep?: boolean;
  /** Lambda polls a shard about 4 times a second (docs/platform.md#event-source-mapping). @default 250 */
  readonly pollIntervalMs?: number;
}

export interface RunResult {
  readonly report: RunReport;
  readonly files: { readonly json: string; readonly html: string };
  readonly ok: boolean;
  readonly endpoint: string;
  /** IAM denials seen (each fails the run). */
  readonly denials: readonly AccessDeniedError[];
  /** Set when `keep`: stops everything that is still running. */
  readonly stop?: () => Promise<void>;
}

export class MirrorError extends Error {}

interface Session {
  engine?: Engine;
  functions: Map<string, LocalFunction>;
  streamSources: DynamoStreamEventSource[];
  sqsSources: SqsEventSource[];
  /** Queues a function consumes (parking queues): drained before verifying. */
  consumedQueues: LocalQueue[];
  sampler?: LagSampler;
  view?: MirrorView;
  clients: DynamoDBClient[];
}

export async function runLocalMirror(options: LocalMirrorOptions): Promise<RunResult> {
  const startedAt = Date.now();
  const plan = options.plan;
  const outDir = resolvePath(options.outDir ?? '.ddb-mirror');
  const workloadOptions: WorkloadOptions = { ...WORKLOAD_DEFAULTS, ...(options.workload ?? {}) };
  const stats = new StatsCollector();
  stats.declarePairs(plan);
  const denials: AccessDeniedError[] = [];
  const timings: Record<string, number> = {};
  const session: Session = {
    functions: new Map(),
    streamSources: [],
    sqsSources: [],
    consumedQueues: [],
    clients: [],
  };
  const onFailureDir = join(outDir, 'on-failure');
  const logDir = join(outDir, 'logs');
  rmSync(onFailureDir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(onFailureDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const onFailureFiles = new Set<string>();

  const view = options.out ? new MirrorView(options.out, () => stats.figures()) : undefined;
  session.view = view;
  const say = (line: string) => view?.log(line);
  const phase = (p: string) => view?.setPhase(p);
  const mark = (name: string, since: number) => (timings[name] = Date.now() - since);

  let workload: WorkloadResult | undefined;
  let verification: VerifyResult | undefined;
  let failure: string | undefined;
  const fail = (message: string) => {
    failure ??= message;
    say(`✘ ${message}`);
  };
  const deniedOnce = new Set<string>();
  const onDenied = (e: AccessDeniedError) => {
    // One entry per function, action and resource: a denied call is retried many times.
    const id = `${e.functionName} ${e.action} ${e.resource}`;
    if (deniedOnce.has(id)) return;
    deniedOnce.add(id);
    denials.push(e);
    stats.addError(e.functionName, e.message);
    fail(`IAM denied: ${e.functionName} may not ${e.action} on ${e.resource}`);
  };

  try {
    if (!plan.mirrorTables.length)
      throw new MirrorError(
        `The assembly in ${plan.assemblyDir} has no replicated table (no function with DDBM_SETTINGS reads a table stream)`,
      );
    phase('starting DynamoDB Local');
    let t = Date.now();
    session.engine = await startEngine({ endpoint: options.endpoint, port: options.port });
    mark('engineStartMs', t);
    const endpoint = session.engine.endpoint;
    const clients = new Map<string, DynamoDBClient>();
    const clientFor = (region: string) => {
      let c = clients.get(region);
      if (!c) {
        c = new DynamoDBClient({ region, endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 5 });
        clients.set(region, c);
        session.clients.push(c);
      }
      return c;
    };
    const streamsClientFor = (region: string) =>
      new DynamoDBStreamsClient({ region, endpoint, credentials: LOCAL_CREDENTIALS });
    say(`DynamoDB Local at ${endpoint}${session.engine.pid ? ` (pid ${session.engine.pid})` : ' (given)'}`);

    phase('creating tables');
    t = Date.now();
    const streamArns = new Map<PlanTable, string>();
    for (const table of plan.tables) {
      const arn = await createTable(clientFor(table.region), table);
      if (arn) streamArns.set(table, arn);
    }
    mark('createTablesMs', t);
    say(`${plan.tables.length} tables in ${plan.regions.length} regions: ${plan.regions.join(', ')}`);

    const queues = new LocalQueues();
    for (const q of plan.queues.filter((q) => !q.redrive))
      queues.add(new LocalQueue({ arn: q.arn, visibilityTimeoutSeconds: q.visibilityTimeoutSeconds }));
    for (const q of plan.queues.filter((q) => q.redrive)) {
      const dlq = queues.get(q.redrive!.deadLetterTargetArn);
      queues.add(
        new LocalQueue({
          arn: q.arn,
          visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
          ...(dlq ? { redrive: { deadLetterQueue: dlq, maxReceiveCount: q.redrive!.maxReceiveCount } } : {}),
        }),
      );
    }

    phase('starting functions');
    t = Date.now();
    for (const fn of plan.functions) {
      const logFile = join(logDir, `${fn.name}.log`);
      const local = await startLocalFunction({
        functionName: fn.name,
        codeDirectory: fn.assetDir,
        handler: fn.handler,
        region: fn.region,
        account: plan.account,
        environment: fn.environment,
        timeoutSeconds: fn.timeoutSeconds,
        memorySizeMb: fn.memoryMB,
        credentials: LOCAL_CREDENTIALS,
        dynamoEndpoint: endpoint,
        policies: fn.policies,
        queues,
        onDenied,
        onLog: (line) => {
          appendFileSync(logFile, line + '\n');
          if (stats.ingestLine(line, { source: fn.region, table: fn.settings?.table })) return;
          const error = errorLine(line);
          if (error) stats.addError(fn.name, error);
        },
      });
      session.functions.set(fn.name, local);
    }
    mark('startFunctionsMs', t);

    for (const mapping of plan.mappings) {
      if (!mapping.enabled) continue;
      const fn = plan.functions.find((f) => f.name === mapping.functionName)!;
      const local = session.functions.get(fn.name)!;
      checkMappingPermissions(fn, mapping);
      if (mapping.source.kind === 'stream') {
        const actual = streamArns.get(mapping.source.table);
        if (!actual)
          throw new MirrorError(
            `${mapping.logicalId} reads the stream of ${mapping.source.table.name} in ${mapping.region}, which has no stream`,
          );
        const onFailureFile = join(onFailureDir, `${fn.name}.jsonl`);
        const source = new DynamoStreamEventSource({
          reader: new StreamReader({
            region: mapping.region,
            streamArn: actual,
            client: streamsClientFor(mapping.region),
          }),
          invoke: (event) => local.invoke(event) as Promise<DynamoDBBatchResponse | void>,
          settings: mapping,
          streamArn: mapping.source.table.streamArn!,
          functionArn: local.host.functionArn,
          pollIntervalMs: options.pollIntervalMs ?? 250,
          onFailure: (destination, record) => {
            appendFileSync(onFailureFile, JSON.stringify({ destination, ...record }) + '\n');
            onFailureFiles.add(onFailureFile);
            queues.get(destination)?.send(JSON.stringify(record));
          },
          onEvent: (n) => noteStream(n, fn, mapping),
        });
        session.streamSources.push(source);
      } else {
        const queue = queues.require(mapping.source.queue.arn);
        session.consumedQueues.push(queue);
        session.sqsSources.push(
          new SqsEventSource({
            queue,
            invoke: (event) => local.invoke(event) as Promise<SQSBatchResponse | void>,
            settings: mapping,
            pollIntervalMs: options.pollIntervalMs ?? 250,
            onEvent: (n) => {
              if (n.type === 'function-error') stats.addError(fn.name, describeError(n.error));
            },
          }),
        );
      }
    }
    session.streamSources.forEach((s) => s.start());
    session.sqsSources.forEach((s) => s.start());
    say(
      `${plan.functions.length} functions, ${session.streamSources.length} stream and ${session.sqsSources.length} queue event sources`,
    );

    const sampler = new LagSampler({
      clientFor,
      every: 2,
      intervalMs: 150,
      maxPending: 200,
      onObservation: (o) => stats.addLag(o),
    });
    session.sampler = sampler;
    sampler.start();

    const ops = planWorkload(plan.mirrorTables, workloadOptions);
    phase(
      `workload: ${ops.length} operations over ${workloadOptions.durationSeconds}s (seed ${workloadOptions.seed})`,
    );
    view?.start();
    t = Date.now();
    let lastWorkloadError = 0;
    workload = await runWorkload(ops, {
      clientFor,
      tables: plan.mirrorTables,
      signal: options.signal,
      onProgress: (p) => view?.setProgress(p),
      onWrite: (s) => sampler.track(s),
      onError: (op, e) => {
        stats.addError(`workload ${op.table}@${op.region}`, describeError(e));
        if (Date.now() - lastWorkloadError > 2000)
          say(`workload write failed: ${op.kind} ${op.table} in ${op.region}: ${describeError(e)}`);
        lastWorkloadError = Date.now();
      },
    });
    mark('workloadMs', t);

    if (!options.signal?.aborted) {
      phase('draining streams and queues');
      t = Date.now();
      verification = await drain(session, plan, clientFor, options.drainTimeoutMs ?? 60000, options.signal);
      mark('drainMs', t);
    }
    await sampler.stop(0);
    if (verification?.divergentKeys) {
      say(`✘ ${verification.divergentKeys} divergent keys:`);
      for (const d of verification.tables.flatMap((x) => x.divergent).slice(0, 10))
        say(`  ${describeDivergence(d)}`);
    }
  } catch (e) {
    // Ctrl-C reaches the whole process group: the engine and functions may be gone before we stop them.
    if (!options.signal?.aborted) {
      // Setup failures (engine, assembly, tables) end the run with their own message; nothing is left running.
      view?.stop(false);
      await shutdown(session);
      throw e;
    }
  }

  view?.stop();
  if (options.signal?.aborted) failure ??= 'interrupted before verification';
  const report = buildReport({
    plan,
    stats,
    startedAt,
    seed: workloadOptions.seed,
    options: {
      ...workloadOptions,
      endpoint: session.engine?.endpoint,
      drainTimeoutMs: options.drainTimeoutMs ?? 60000,
    },
    timings,
    workload,
    verification,
    onFailureFiles: [...onFailureFiles],
    queuesLeft: Object.fromEntries(
      session.consumedQueues.filter((q) => q.size > 0).map((q) => [q.name, q.size]),
    ),
    failure: failure ?? (denials.length ? `${denials.length} IAM denials` : undefined),
  });
  const files = writeReport(report, outDir);
  const endpoint = session.engine?.endpoint ?? options.endpoint ?? '';
  // Kept also when verification failed: a failing state is the one worth exploring by hand.
  if (options.keep && !options.signal?.aborted)
    return { report, files, ok: report.ok, endpoint, denials, stop: () => shutdown(session) };
  await shutdown(session);
  return { report, files, ok: report.ok, endpoint, denials };

  function noteStream(n: EventSourceNotice, fn: PlanFunction, mapping: PlanMapping) {
    if (n.type === 'function-error') stats.addError(fn.name, describeError(n.error));
    else if (n.type === 'discard')
      stats.addError(
        fn.name,
        `batch discarded after retries (${n.record.DDBStreamBatchInfo.batchSize} records, ${n.record.requestContext.condition}) → ${n.destination ?? 'no destination'}`,
      );
    else if (n.type === 'poll-error')
      stats.addError(
        `${mapping.region} stream of ${mapping.source.kind === 'stream' ? mapping.source.table.name : '?'}`,
        describeError(n.error),
      );
  }

  /** The event source mapping itself needs the role's permissions (Lambda checks them when it is created). */
  function checkMappingPermissions(fn: PlanFunction, mapping: PlanMapping) {
    const check = (action: string, resource: string) => {
      try {
        assertAllowed(fn.name, fn.policies, action, resource);
      } catch (e) {
        if (e instanceof AccessDeniedError) onDenied(e);
        else throw e;
      }
    };
    if (mapping.source.kind === 'stream') {
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'])
        check(action, mapping.source.table.streamArn!);
      check('dynamodb:ListStreams', '*');
    } else {
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
        check(action, mapping.source.queue.arn);
    }
    if (mapping.onFailure) check('sqs:SendMessage', mapping.onFailure.arn);
  }
}

/**
 * Waits (bounded) until the streams are drained and the regions agree. Streams count as drained after
 * two polls with nothing pending and no invocation; parking queues should be empty too, but a parked
 * record that waits for its visibility timeout may be superseded already: once the regions agree and
 * the streams have been quiet for a few seconds, what is left in the queues is reported, not awaited.
 */
async function drain(
  session: Session,
  plan: LocalPlan,
  clientFor: (region: string) => DynamoDBClient,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<VerifyResult> {
  const deadline = Date.now() + timeoutMs;
  const streamActivity = () => session.streamSources.reduce((n, s) => n + s.counters.batches, 0);
  let quiet = 0;
  let last = streamActivity();
  let result: VerifyResult | undefined;
  while (!signal?.aborted) {
    await sleep(500, signal);
    const now = streamActivity();
    const pending = session.streamSources.reduce((n, s) => n + s.pending, 0);
    quiet = now === last && pending === 0 ? quiet + 1 : 0;
    last = now;
    const late = Date.now() > deadline;
    if (quiet >= 2 || late) {
      result = await verifyMirror(plan.mirrorTables, clientFor);
      const queued = session.consumedQueues.reduce((n, q) => n + q.size, 0);
      if (late || (result.divergentKeys === 0 && (queued === 0 || quiet >= 10))) return result;
    }
  }
  return result ?? verifyMirror(plan.mirrorTables, clientFor);
}

async function shutdown(session: Session): Promise<void> {
  await session.sampler?.stop(0).catch(() => undefined);
  // Sources first stop polling, then the functions die (which ends any invocation in flight at
  // once, instead of after the function timeout), then the sources finish their last batch.
  const sourcesStopped = Promise.all(
    [...session.streamSources.map((s) => s.stop()), ...session.sqsSources.map((s) => s.stop())].map((p) =>
      p.catch(() => undefined),
    ),
  );
  await Promise.all([...session.functions.values()].map((f) => f.stop().catch(() => undefined)));
  await sourcesStopped;
  session.clients.forEach((c) => c.destroy());
  await session.engine?.stop();
  session.streamSources = [];
  session.sqsSources = [];
  session.functions.clear();
  session.engine = undefined;
}

/** Creates the table as the template defines it, replacing any leftover of a previous run. */
async function createTable(client: DynamoDBClient, table: PlanTable): Promise<string | undefined> {
  const keySchema: KeySchemaElement[] = [{ AttributeName: table.key.partitionKey.name, KeyType: 'HASH' }];
  if (table.key.sortKey) keySchema.push({ AttributeName: table.key.sortKey.name, KeyType: 'RANGE' });
  const keyNames = new Set(keySchema.map((k) => k.AttributeName));
  const definitions: AttributeDefinition[] = table.attributeDefinitions
    .filter((d) => keyNames.has(d.name))
    .map((d) => ({ AttributeName: d.name, AttributeType: d.type }));
  await client.send(new DeleteTableCommand({ TableName: table.name })).catch((e) => {
    if (!(e instanceof ResourceNotFoundException) && (e as Error).name !== 'ResourceNotFoundException')
      throw e;
  });
  const res = await client.send(
    new CreateTableCommand({
      TableName: table.name,
      KeySchema: keySchema,
      AttributeDefinitions: definitions,
      ...(table.billingMode === 'PROVISIONED'
        ? { ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 } }
        : { BillingMode: 'PAY_PER_REQUEST' }),
      ...(table.streamViewType
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.streamViewType } }
        : {}),
    }),
  );
  if (table.ttlAttribute) {
    // DynamoDB Local accepts the setting but never expires items (docs/platform.md#dynamodb-local).
    await client
      .send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
        }),
      )
      .catch(() => undefined);
  }
  return res.TableDescription?.LatestStreamArn;
}

/** A Powertools ERROR line (or an uncaught error on stderr) worth counting; undefined otherwise. */
function errorLine(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const doc = JSON.parse(line) as { level?: string; message?: string; error?: { message?: string } };
    if (doc.level === 'ERROR' || doc.level === 'CRITICAL')
      return `${doc.message ?? ''}${doc.error?.message ? `: ${doc.error.message}` : ''}`;
  } catch {
    return undefined;
  }
  return undefined;
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}
