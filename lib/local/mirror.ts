import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { appendFileSync, mkdirSync, rmSync } from 'fs';
import { basename, join, resolve as resolvePath } from 'path';
import type { TableModel } from '../config/model';
import { checkAssemblyTables } from './assembly';
import { ControlServer } from './control';
import { runCustomResource } from './custom-resource';
import { Engine, startEngine } from './engine';
import { describeError } from './error-text';
import { DynamoStreamEventSource, EventSourceNotice } from './event-source';
import type { RunHandles, RunQueueSource, RunStreamSource } from './run-hooks';
import { LocalFunction, startLocalFunction } from './function-host';
import { AccessDeniedError, assertAllowed, type PolicyDocument } from './iam-check';
import { LocalQueue, LocalQueues, SqsEventSource } from './local-queue';
import { mappingPermissions } from './permissions';
import type { LocalPlan, PlanAdoption, PlanFunction, PlanMapping, PlanQueue, PlanTable } from './plan';
import { buildReport, RunReport, StatsCollector, writeReport } from './report';
import { probeReadOnlyReplicas, type ReadOnlyProbe } from './read-only-check';
import { describeScheduledRun, runSchedulesOnce, type ScheduledRun } from './scheduled-runs';
import { StreamReader } from './stream-reader';
import { createTable } from './tables';
import { describeDivergence, verifyMirror, VerifyResult } from './verify';
import { MirrorView, ViewStream } from './view';
import { LagSampler } from './lag-sampler';
import { liveStatus, LiveStreamSource } from './live-status';
import {
  planWorkload,
  runWorkload,
  sleep,
  WORKLOAD_DEFAULTS,
  WorkloadOptions,
  WorkloadResult,
} from './workload';

import type { RunHooks } from './run-hooks';

/**
 * One local mirror session: every region of the plan on DynamoDB Local (one process, one database per
 * signing region), every function's real bundle in its own process behind an IAM-checking proxy, an
 * emulated event source per mapping, then the demo workload on the config's tables, a bounded drain, the
 * divergence check and the report. Everything started here is stopped here, also when the run is aborted.
 */

/** DynamoDB Local keeps one database per access key and region: every client of the run uses this key. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalMirrorOptions {
  readonly plan: LocalPlan;
  /** The config's tables (`loadConfig(...).tables`): what the workload writes and the check compares. */
  readonly tables: readonly TableModel[];
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
  /**
   * Delay added to every call a function makes to another region's tables, as a cross-region round
   * trip would (70–250 ms in AWS). @default 0
   */
  readonly crossRegionLatencyMs?: number;
  /**
   * Lag is measured on one write in `every`, probed every `intervalMs` (each probe is a read the
   * engine serves too). @default { every: 2, intervalMs: 150 }
   */
  readonly lagSampling?: {
    readonly every?: number;
    readonly intervalMs?: number;
    /** @default 200 */
    readonly maxPending?: number;
    /** @default 30000 */
    readonly timeoutMs?: number;
  };
  /** A failure drill's view of the run (lib/local/drills). @default - none */
  readonly hooks?: RunHooks;
  /**
   * Fire the assembly's scheduled rules (the divergence samplers) once as the workload starts. A
   * benchmark turns this off: a sampler's reads would weigh on the lag it measures. @default true
   */
  readonly runSchedules?: boolean;
}

export interface RunResult {
  readonly report: RunReport;
  readonly files: { readonly json: string; readonly html: string };
  readonly ok: boolean;
  readonly endpoint: string;
  /**
   * Set when `keep`: the control endpoint for the operations commands and SDKs (DynamoDB, Streams, the
   * mirror's SQS queues, `GET /status`), lib/local/control.ts.
   */
  readonly controlEndpoint?: string;
  /** IAM denials seen (each fails the run). */
  readonly denials: readonly AccessDeniedError[];
  /** Set when `keep`: stops everything that is still running. */
  readonly stop?: () => Promise<void>;
}

export class MirrorError extends Error {}

export async function runLocalMirror(options: LocalMirrorOptions): Promise<RunResult> {
  if (!options.tables.length) throw new MirrorError('The config has no tables: there is nothing to mirror');
  checkAssemblyTables(options.plan, options.tables);
  const run = new MirrorRun(options);
  try {
    await run.startEngine();
    await run.beforeTables();
    await run.createTables();
    await run.startFunctions();
    run.startEventSources();
    await run.probeReadOnlyReplicas();
    await run.runWorkload();
    await run.drain();
  } catch (e) {
    // Ctrl-C reaches the whole process group: the engine and functions may be gone before we stop them.
    if (!options.signal?.aborted) {
      // Setup failures (engine, assembly, tables) end the run with their own message; nothing is left running.
      await run.abort();
      throw e;
    }
  }
  return run.finish();
}

const DEFAULT_DRAIN_TIMEOUT_MS = 60000;

/** The state of one run and its steps, in the order `runLocalMirror` takes them. */
class MirrorRun {
  private readonly startedAt = Date.now();
  private plan: LocalPlan;
  /** The config's tables; a drill that adds a region replaces them (`extend`). */
  private tables: readonly TableModel[];
  private readonly workloadOptions: WorkloadOptions;
  private readonly stats = new StatsCollector();
  private readonly outDir: string;
  private readonly timings: Record<string, number> = {};
  private readonly denials: AccessDeniedError[] = [];
  private readonly deniedOnce = new Set<string>();
  private readonly onFailureFiles = new Set<string>();
  private readonly view?: MirrorView;
  private readonly clients = new Map<string, DynamoDBClient>();
  private readonly streamArns = new Map<PlanTable, string>();
  private readonly queues = new LocalQueues();
  private readonly functions = new Map<string, LocalFunction>();
  private readonly consumedQueues: LocalQueue[] = [];
  /** Read-only replicas' resource-based policies, by table ARN: every function's calls meet them. */
  private readonly resourcePolicies: Map<string, PolicyDocument>;
  private streamSources: DynamoStreamEventSource[] = [];
  private readonly liveSources: LiveStreamSource[] = [];
  private control?: ControlServer;
  private sqsSources: SqsEventSource[] = [];
  /** The sources again, with what they read and invoke (for a drill's hooks). */
  private readonly sourceInfo: { stream: RunStreamSource[]; queue: RunQueueSource[] } = {
    stream: [],
    queue: [],
  };
  private engine?: Engine;
  private sampler?: LagSampler;
  private workload?: WorkloadResult;
  private readOnlyProbes: ReadOnlyProbe[] = [];
  private scheduled?: Promise<ScheduledRun[]>;
  private scheduledRuns: ScheduledRun[] = [];
  private verification?: VerifyResult;
  private failure?: string;

  constructor(private readonly options: LocalMirrorOptions) {
    this.plan = options.plan;
    this.tables = options.tables;
    this.resourcePolicies = new Map(
      this.plan.tables.flatMap((t) => (t.resourcePolicy ? [[t.arn, t.resourcePolicy] as const] : [])),
    );
    this.workloadOptions = { ...WORKLOAD_DEFAULTS, ...(options.workload ?? {}) };
    this.outDir = resolvePath(options.outDir ?? '.ddb-mirror');
    this.stats.declarePairs(options.tables);
    for (const dir of [this.onFailureDir, this.logDir]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    this.view = options.out ? new MirrorView(options.out, () => this.stats.figures()) : undefined;
  }

  async startEngine(): Promise<void> {
    this.view?.setPhase('starting DynamoDB Local');
    await this.timed('engineStartMs', async () => {
      this.engine = await startEngine({ endpoint: this.options.endpoint, port: this.options.port });
    });
    const { endpoint, pid } = this.engine!;
    this.say(`DynamoDB Local at ${endpoint}${pid ? ` (pid ${pid})` : ' (given)'}`);
  }

  /** A hook's work on the engine before the tables are set up (the tables an adoption finds there). */
  async beforeTables(): Promise<void> {
    await this.options.hooks?.onEngine?.({
      endpoint: this.endpoint,
      clientFor: (region) => this.clientFor(region),
      say: (line) => this.say(line),
    });
  }

  async createTables(): Promise<void> {
    this.view?.setPhase('creating tables');
    await this.timed('createTablesMs', () => this.createTablesOf(this.plan.tables));
    const regions = this.plan.regions;
    this.say(`${this.plan.tables.length} tables in ${regions.length} regions: ${regions.join(', ')}`);
  }

  private async createTablesOf(tables: readonly PlanTable[]): Promise<void> {
    for (const table of tables) {
      const arn = table.adoption
        ? await this.adoptTable(table, table.adoption)
        : await createTable(this.clientFor(table.region), table);
      if (arn) this.streamArns.set(table, arn);
    }
  }

  /**
   * A table the stack adopts is not created: it must exist on the engine already (with its items), and
   * its custom resource runs as a deploy would run it, through the real adopt function, which checks the
   * table and enables its stream. Its read-only statement, if any, is not sent: DynamoDB Local has no
   * resource-policy API, so the run enforces the statement from the template, as for a created replica.
   */
  private async adoptTable(table: PlanTable, adoption: PlanAdoption): Promise<string | undefined> {
    const fn = this.plan.functions.find((f) => f.name === adoption.functionName && f.region === table.region);
    if (!fn)
      throw new MirrorError(
        `${adoption.logicalId} in ${table.region}: no function ${adoption.functionName} in the assembly`,
      );
    let local = this.functions.get(fn.name);
    if (!local) this.functions.set(fn.name, (local = await this.startFunction(fn)));
    const answer = await runCustomResource((event) => local.invoke(event), {
      requestType: 'Create',
      stackName: table.stack,
      region: table.region,
      account: this.plan.account,
      logicalId: adoption.logicalId,
      resourceType: adoption.resourceType,
      properties: adoption.properties,
      timeoutMs: fn.timeoutSeconds * 1000 + 5000,
    });
    if (answer.Status !== 'SUCCESS')
      throw new MirrorError(
        `adopting ${table.name} in ${table.region} failed (a deploy would fail the same way): ${answer.Reason ?? 'no reason given'}`,
      );
    const streamArn = answer.Data?.StreamArn || undefined;
    const stream = !streamArn
      ? 'no stream needed here'
      : answer.Data?.StreamEnabledHere === 'true'
        ? 'enabled its NEW_AND_OLD_IMAGES stream'
        : 'its NEW_AND_OLD_IMAGES stream was there already';
    this.say(`✓ adopted the existing table ${table.name} in ${table.region}: ${stream}`);
    // Items written before the stream existed never travel on it: only a backfill copies them.
    if (streamArn && (await holdsItems(this.clientFor(table.region), table.name)))
      this.say(
        `  it holds items from before the mirror: the other regions get them from \`ddb-mirror backfill --table ${table.name} --from ${table.region}\`, not from the stream`,
      );
    return streamArn;
  }

  async startFunctions(): Promise<void> {
    this.createQueues();
    if (this.options.keep) await this.startControl();
    this.view?.setPhase('starting functions');
    await this.timed('startFunctionsMs', async () => {
      for (const fn of this.plan.functions)
        // An adopt function already ran for its table.
        if (!this.functions.has(fn.name)) this.functions.set(fn.name, await this.startFunction(fn));
    });
  }

  startEventSources(): void {
    this.startMappings(this.plan.mappings.filter((m) => m.enabled));
    this.say(
      `${this.plan.functions.length} functions, ${this.streamSources.length} stream and ${this.sqsSources.length} queue event sources`,
    );
  }

  private startMappings(mappings: readonly PlanMapping[]): void {
    for (const mapping of mappings) {
      const fn = this.plan.functions.find((f) => f.name === mapping.functionName)!;
      this.checkMappingPermissions(fn, mapping);
      const { source } = mapping;
      if (source.kind === 'stream') {
        const s = this.streamSource(fn, mapping, source.table);
        this.streamSources.push(s);
        s.start();
      } else {
        const s = this.sqsSource(fn, mapping, source.queue);
        this.sqsSources.push(s);
        s.start();
      }
    }
  }

  /**
   * Applies a plan synthesized from the same config with more regions to this running mirror, as
   * `cdk deploy` would: the new tables and queues are created, new functions and event sources
   * started, and every function whose deployment changed (a replicator with a new peer) replaced; the
   * existing tables, their items and stream positions stay. From here on the drain, the divergence
   * check and the report cover the new regions too.
   */
  async extend(after: LocalPlan, tables: readonly TableModel[]): Promise<ExtendResult> {
    const before = this.plan;
    const knownTables = new Set(before.tables.map((t) => t.arn));
    const newTables = after.tables.filter((t) => !knownTables.has(t.arn));
    checkAssemblyTables(after, tables);
    this.plan = after;
    this.tables = tables;
    for (const t of after.tables) if (t.resourcePolicy) this.resourcePolicies.set(t.arn, t.resourcePolicy);
    this.stats.declarePairs(tables);
    await this.createTablesOf(newTables);
    this.createQueues();
    const beforeFunctions = new Map(before.functions.map((f) => [f.name, f]));
    const started: string[] = [];
    const replaced: string[] = [];
    for (const fn of after.functions) {
      const old = beforeFunctions.get(fn.name);
      if (old && sameDeployment(old, fn)) continue;
      const previous = this.functions.get(fn.name);
      this.functions.set(fn.name, await this.startFunction(fn));
      // Event sources look the function up per batch: the next batch goes to the new one. A batch in
      // the old one when it stops fails and is retried, as Lambda retries one cut short by a deploy.
      if (previous) {
        replaced.push(fn.name);
        void previous.stop();
      } else started.push(fn.name);
    }
    const mappingKey = (m: PlanMapping) =>
      `${m.functionName} ${m.source.kind === 'stream' ? m.source.table.arn : m.source.queue.arn}`;
    const running = new Set(before.mappings.filter((m) => m.enabled).map(mappingKey));
    const newMappings = after.mappings.filter((m) => m.enabled && !running.has(mappingKey(m)));
    this.startMappings(newMappings);
    const newQueues = after.queues.length - before.queues.length;
    return { tables: newTables.length, queues: newQueues, started, replaced, mappings: newMappings.length };
  }

  /** A demo application write to each read-only replica: its resource policy must refuse it. */
  async probeReadOnlyReplicas(): Promise<void> {
    this.readOnlyProbes = await probeReadOnlyReplicas(this.plan, this.endpoint, LOCAL_CREDENTIALS);
    for (const p of this.readOnlyProbes) {
      const where = `${p.table} in ${p.region}`;
      if (p.refused) this.say(`✓ read-only replica ${where} refused an application's PutItem: ${p.message}`);
      else this.fail(`read-only replica ${where} did not refuse an application's PutItem: ${p.message}`);
    }
  }

  async runWorkload(): Promise<void> {
    const sampler = new LagSampler({
      clientFor: (region) => this.clientFor(region),
      every: this.options.lagSampling?.every ?? 2,
      intervalMs: this.options.lagSampling?.intervalMs ?? 150,
      maxPending: this.options.lagSampling?.maxPending ?? 200,
      timeoutMs: this.options.lagSampling?.timeoutMs ?? 30000,
      onObservation: (o) => this.stats.addLag(o),
    });
    this.sampler = sampler;
    sampler.start();
    const hooks = this.options.hooks;
    await hooks?.onStart?.(this.handles());
    const { durationSeconds, seed } = this.workloadOptions;
    const ops = planWorkload(this.options.tables, this.workloadOptions);
    if (this.options.runSchedules ?? true)
      this.scheduled = runSchedulesOnce(this.plan, (name, event) => this.functions.get(name)!.invoke(event));
    this.view?.setPhase(`workload: ${ops.length} operations over ${durationSeconds}s (seed ${seed})`);
    this.view?.start();
    let lastReported = 0;
    this.workload = await this.timed('workloadMs', () =>
      runWorkload(ops, {
        clientFor: (region) =>
          hooks?.workloadClient?.(region, this.clientFor(region)) ?? this.clientFor(region),
        onOutcome: (op, outcome) => hooks?.onOperation?.(op, outcome),
        tables: this.tables,
        signal: this.options.signal,
        onProgress: (p) => this.view?.setProgress(p),
        onWrite: (s) => sampler.track(s),
        onError: (op, e) => {
          this.stats.addError(`workload ${op.table}@${op.region}`, describeError(e));
          // One line every two seconds at most: a broken engine fails every write.
          if (Date.now() - lastReported > 2000)
            this.say(`workload write failed: ${op.kind} ${op.table} in ${op.region}: ${describeError(e)}`);
          lastReported = Date.now();
        },
      }),
    );
  }

  async drain(): Promise<void> {
    if (!this.options.signal?.aborted) await this.options.hooks?.beforeDrain?.();
    if (!this.options.signal?.aborted) {
      this.view?.setPhase('draining streams and queues');
      const timeoutMs = this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
      this.verification = await this.timed('drainMs', () => this.drainAndVerify(timeoutMs));
      await this.finishScheduledRuns();
    }
    await this.sampler?.stop(0);
    if (!this.verification?.divergentKeys) return;
    this.say(`✘ ${this.verification.divergentKeys} divergent keys:`);
    for (const d of this.verification.tables.flatMap((x) => x.divergent).slice(0, 10))
      this.say(`  ${describeDivergence(d)}`);
  }

  /** The scheduled functions fired when the workload started (the divergence samplers), and what they found. */
  private async finishScheduledRuns(): Promise<void> {
    if (!this.scheduled) return;
    this.view?.setPhase('waiting for the scheduled divergence samplers');
    this.scheduledRuns = await this.scheduled;
    for (const run of this.scheduledRuns) this.say(describeScheduledRun(run));
  }

  /** Writes the report; stops everything unless the caller keeps it running. */
  async finish(): Promise<RunResult> {
    this.view?.stop();
    if (this.options.signal?.aborted) this.failure ??= 'interrupted before verification';
    const report = this.report();
    const files = writeReport(report, this.outDir);
    const endpoint = this.engine?.endpoint ?? this.options.endpoint ?? '';
    const result = {
      report,
      files,
      ok: report.ok,
      endpoint,
      ...(this.control ? { controlEndpoint: this.control.endpoint } : {}),
      denials: this.denials,
    };
    // Kept also when verification failed: a failing state is the one worth exploring by hand.
    if (this.options.keep && !this.options.signal?.aborted) return { ...result, stop: () => this.shutdown() };
    await this.shutdown();
    return result;
  }

  async abort(): Promise<void> {
    this.view?.stop(false);
    await this.shutdown();
  }

  /** The operations commands' endpoint (kept runs only): the live figures and the queues of this run. */
  private async startControl(): Promise<void> {
    this.control = await ControlServer.start({
      dynamoEndpoint: this.endpoint,
      queues: this.queues,
      accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
      status: () =>
        liveStatus({
          plan: this.plan,
          stats: this.stats,
          queues: this.queues,
          streamSources: this.liveSources,
        }),
    });
    this.say(
      `Control endpoint (--endpoint of every ddb-mirror operations command) at ${this.control.endpoint}`,
    );
  }

  private get onFailureDir(): string {
    return join(this.outDir, 'on-failure');
  }

  private get logDir(): string {
    return join(this.outDir, 'logs');
  }

  private clientFor(region: string): DynamoDBClient {
    let c = this.clients.get(region);
    if (!c) {
      c = new DynamoDBClient({
        region,
        endpoint: this.endpoint,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 5,
      });
      this.clients.set(region, c);
    }
    return c;
  }

  private get endpoint(): string {
    if (!this.engine) throw new MirrorError('DynamoDB Local is not running');
    return this.engine.endpoint;
  }

  private say(line: string): void {
    this.view?.log(line);
  }

  private fail(message: string): void {
    this.failure ??= message;
    this.say(`✘ ${message}`);
  }

  private async timed<T>(name: string, step: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await step();
    } finally {
      this.timings[name] = Date.now() - t;
    }
  }

  private onDenied(e: AccessDeniedError): void {
    // One entry per function, action and resource: a denied call is retried many times.
    const id = `${e.functionName} ${e.action} ${e.resource}`;
    if (this.deniedOnce.has(id)) return;
    this.deniedOnce.add(id);
    this.denials.push(e);
    this.stats.addError(e.functionName, e.message);
    this.fail(`IAM denied: ${e.functionName} may not ${e.action} on ${e.resource}`);
  }

  /** Queues without a redrive first, so a queue's dead-letter queue exists when it is created. */
  private createQueues(): void {
    const ordered = [
      ...this.plan.queues.filter((q) => !q.redrive),
      ...this.plan.queues.filter((q) => q.redrive),
    ];
    for (const q of ordered) {
      if (this.queues.get(q.arn)) continue;
      const dlq = q.redrive ? this.queues.get(q.redrive.deadLetterTargetArn) : undefined;
      this.queues.add(
        new LocalQueue({
          arn: q.arn,
          visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
          ...(dlq ? { redrive: { deadLetterQueue: dlq, maxReceiveCount: q.redrive!.maxReceiveCount } } : {}),
        }),
      );
    }
  }

  private startFunction(fn: PlanFunction): Promise<LocalFunction> {
    const logFile = join(this.logDir, `${fn.name}.log`);
    return startLocalFunction({
      functionName: fn.name,
      // As many sandboxes as the function's stream mappings run batches at once (ParallelizationFactor).
      concurrency: Math.max(
        1,
        ...this.plan.mappings
          .filter((m) => m.functionName === fn.name && m.region === fn.region)
          .map((m) => m.parallelizationFactor),
      ),
      codeDirectory: fn.assetDir,
      handler: fn.handler,
      region: fn.region,
      account: this.plan.account,
      environment: fn.environment,
      timeoutSeconds: fn.timeoutSeconds,
      memorySizeMb: fn.memoryMB,
      credentials: LOCAL_CREDENTIALS,
      dynamoEndpoint: this.endpoint,
      ...(this.options.crossRegionLatencyMs
        ? { crossRegionLatencyMs: this.options.crossRegionLatencyMs }
        : {}),
      policies: fn.policies,
      principalArn: fn.roleArn,
      resourcePolicies: this.resourcePolicies,
      queues: this.queues,
      onDenied: (e) => this.onDenied(e),
      onLog: (line) => {
        appendFileSync(logFile, line + '\n');
        if (this.stats.ingestLine(line, { source: fn.region, table: fn.settings?.table })) return;
        const error = errorLine(line);
        if (error) this.stats.addError(fn.name, error);
      },
    });
  }

  private streamSource(fn: PlanFunction, mapping: PlanMapping, table: PlanTable): DynamoStreamEventSource {
    const actual = this.streamArns.get(table);
    if (!actual)
      throw new MirrorError(
        `${mapping.logicalId} reads the stream of ${table.name} in ${mapping.region}, which has no stream`,
      );
    const local = this.functions.get(fn.name)!;
    const onFailureFile = join(this.onFailureDir, `${fn.name}.jsonl`);
    const source = new DynamoStreamEventSource({
      reader: new StreamReader({
        region: mapping.region,
        streamArn: actual,
        client: new DynamoDBStreamsClient({
          region: mapping.region,
          endpoint: this.endpoint,
          credentials: LOCAL_CREDENTIALS,
        }),
      }),
      invoke: (event) => this.functions.get(fn.name)!.invoke(event) as Promise<DynamoDBBatchResponse | void>,
      settings: mapping,
      // Lambda's lanes split by partition key: one key's records stay in one lane, in order.
      partitionKeyOf: (record) =>
        JSON.stringify(record.dynamodb?.Keys?.[table.key.partitionKey.name] ?? null),
      // The engine's ARN, as Lambda writes the real stream's: `replay` reads the range from it again.
      streamArn: actual,
      functionArn: local.host.functionArn,
      pollIntervalMs: this.options.pollIntervalMs ?? 250,
      // DynamoDB Local floors creation times to the minute (docs/platform.md#dynamodb-local).
      ageFromFirstRead: true,
      onFailure: (destination, record) => {
        appendFileSync(onFailureFile, JSON.stringify({ destination, ...record }) + '\n');
        this.onFailureFiles.add(onFailureFile);
        this.queues.get(destination)?.send(JSON.stringify(record));
      },
      onEvent: (n) => {
        this.noteStream(n, fn, table);
        this.options.hooks?.onStreamNotice?.(info, n);
      },
    });
    const info: RunStreamSource = {
      functionName: fn.name,
      region: mapping.region,
      table,
      streamArn: actual,
      source,
    };
    this.sourceInfo.stream.push(info);
    this.liveSources.push({ table: table.name, region: mapping.region, source });
    return source;
  }

  private sqsSource(fn: PlanFunction, mapping: PlanMapping, planQueue: PlanQueue): SqsEventSource {
    const queue = this.queues.require(planQueue.arn);
    this.consumedQueues.push(queue);
    const source = new SqsEventSource({
      queue,
      invoke: (event) => this.functions.get(fn.name)!.invoke(event) as Promise<SQSBatchResponse | void>,
      settings: mapping,
      pollIntervalMs: this.options.pollIntervalMs ?? 250,
      onEvent: (n) => {
        if (n.type === 'function-error') this.stats.addError(fn.name, describeError(n.error));
      },
    });
    this.sourceInfo.queue.push({ functionName: fn.name, region: mapping.region, queue, source });
    return source;
  }

  /** The running parts, for a drill's hooks. */
  private handles(): RunHandles {
    return {
      endpoint: this.endpoint,
      functions: this.functions,
      streamSources: this.sourceInfo.stream,
      queueSources: this.sourceInfo.queue,
      queues: this.queues,
      stats: this.stats,
      clientFor: (region) => this.clientFor(region),
      extend: (plan, tables) => this.extend(plan, tables),
      say: (line) => this.say(line),
      status: (line) => this.view?.setStatus(line),
    };
  }

  private noteStream(n: EventSourceNotice, fn: PlanFunction, table: PlanTable): void {
    if (n.type === 'function-error') this.stats.addError(fn.name, describeError(n.error));
    else if (n.type === 'discard')
      this.stats.addError(
        fn.name,
        `batch discarded after retries (${n.record.DDBStreamBatchInfo.batchSize} records, ${n.record.requestContext.condition}) → ${n.destination ?? 'no destination'}`,
      );
    else if (n.type === 'poll-error')
      this.stats.addError(`${table.region} stream of ${table.name}`, describeError(n.error));
  }

  /** The event source mapping itself needs the role's permissions (Lambda checks them when it is created). */
  private checkMappingPermissions(fn: PlanFunction, mapping: PlanMapping): void {
    for (const { action, resource } of mappingPermissions(mapping)) {
      try {
        assertAllowed(fn.name, fn.policies, action, resource);
      } catch (e) {
        if (e instanceof AccessDeniedError) this.onDenied(e);
        else throw e;
      }
    }
  }

  /**
   * Waits (bounded) until the streams are drained and the regions agree. Streams count as drained after
   * two polls with nothing pending and no invocation; parking queues should be empty too, but a parked
   * record that waits for its visibility timeout may be superseded already: once the regions agree and
   * the streams have been quiet for a few seconds, what is left in the queues is reported, not awaited.
   */
  private async drainAndVerify(timeoutMs: number): Promise<VerifyResult> {
    const deadline = Date.now() + timeoutMs;
    const signal = this.options.signal;
    const verify = () => verifyMirror(this.tables, (r) => this.clientFor(r));
    const activity = () => this.streamSources.reduce((n, s) => n + s.counters.batches, 0);
    let quiet = 0;
    let last = activity();
    let result: VerifyResult | undefined;
    while (!signal?.aborted) {
      await sleep(500, signal);
      const now = activity();
      const pending = this.streamSources.reduce((n, s) => n + s.pending, 0);
      quiet = now === last && pending === 0 ? quiet + 1 : 0;
      last = now;
      const late = Date.now() > deadline;
      if (quiet < 2 && !late) continue;
      result = await verify();
      const queued = this.consumedQueues.reduce((n, q) => n + q.size, 0);
      if (late || (result.divergentKeys === 0 && (queued === 0 || quiet >= 10))) return result;
    }
    return result ?? verify();
  }

  private report(): RunReport {
    return buildReport({
      plan: this.plan,
      tables: this.options.tables,
      stats: this.stats,
      startedAt: this.startedAt,
      seed: this.workloadOptions.seed,
      options: {
        ...this.workloadOptions,
        endpoint: this.engine?.endpoint,
        drainTimeoutMs: this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      },
      timings: this.timings,
      workload: this.workload,
      readOnlyProbes: this.readOnlyProbes,
      scheduledRuns: this.scheduledRuns,
      verification: this.verification,
      onFailureFiles: [...this.onFailureFiles],
      queuesLeft: Object.fromEntries(
        this.consumedQueues.filter((q) => q.size > 0).map((q) => [q.name, q.size]),
      ),
      failure: this.failure ?? (this.denials.length ? `${this.denials.length} IAM denials` : undefined),
    });
  }

  private async shutdown(): Promise<void> {
    await this.sampler?.stop(0).catch(() => undefined);
    // Sources first stop polling, then the functions die (which ends any invocation in flight at
    // once, instead of after the function timeout), then the sources finish their last batch.
    const sources = [...this.streamSources, ...this.sqsSources];
    const sourcesStopped = Promise.all(sources.map((s) => s.stop().catch(() => undefined)));
    await Promise.all([...this.functions.values()].map((f) => f.stop().catch(() => undefined)));
    await sourcesStopped;
    this.clients.forEach((c) => c.destroy());
    this.clients.clear();
    await this.control?.stop();
    this.control = undefined;
    await this.engine?.stop();
    this.streamSources = [];
    this.sqsSources = [];
    this.functions.clear();
    this.engine = undefined;
  }
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

/** What `extend` changed in a running mirror. */
export interface ExtendResult {
  readonly tables: number;
  readonly queues: number;
  /** Functions new to the mirror. */
  readonly started: readonly string[];
  /** Functions whose deployment changed, replaced by the new one. */
  readonly replaced: readonly string[];
  readonly mappings: number;
}

/** Same bundle (by asset hash: each synthesis has its own directory), handler, environment and role. */
function sameDeployment(a: PlanFunction, b: PlanFunction): boolean {
  const shape = (f: PlanFunction) =>
    JSON.stringify([basename(f.assetDir), f.handler, f.environment, f.policies, f.roleArn, f.timeoutSeconds]);
  return shape(a) === shape(b);
}

/** Whether a table holds at least one item (one Scan page of one item). */
async function holdsItems(client: DynamoDBClient, table: string): Promise<boolean> {
  const page = await client.send(new ScanCommand({ TableName: table, Limit: 1, Select: 'COUNT' }));
  return (page.Count ?? 0) > 0;
}
