import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve as resolvePath } from 'path';
import { pathToFileURL } from 'url';
import type { KeySchema, KeyType } from '../config/model';
import { decodeSettings, ReplicatorSettings, SETTINGS_ENV } from '../../lambda/contract';

/**
 * Reads a synthesized CDK cloud assembly (cdk.out) and turns it into what the local mirror runs:
 * per region, the tables to create, the functions to host (with their bundles, environment and IAM
 * policies), the queues and the event source mappings. Every CloudFormation token the emulator needs
 * is resolved against a local context (account, partition `aws`, the stack's region, local queue URLs).
 */

export const LOCAL_ACCOUNT = '000000000000';
/** The stream label stands in for the one DynamoDB assigns at table creation (policies use the table's ARN). */
export const LOCAL_STREAM_LABEL = '1970-01-01T00:00:00.000';

export type PolicyStatement = {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: unknown;
  readonly Sid?: string;
};

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly PolicyStatement[];
}

export interface PlanTable {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly key: KeySchema;
  readonly attributeDefinitions: readonly { readonly name: string; readonly type: KeyType }[];
  /** @default - no stream */
  readonly streamViewType?: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';
  /** @default - no TTL */
  readonly ttlAttribute?: string;
  readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  readonly arn: string;
  /** The deployed-shape stream ARN (label {@link LOCAL_STREAM_LABEL}); the engine assigns its own. */
  readonly streamArn?: string;
}

export interface PlanQueue {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  /** @default 30 */
  readonly visibilityTimeoutSeconds: number;
  /** @default 345600 (4 days) */
  readonly retentionSeconds: number;
  /** @default - no redrive */
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

export interface PlanFunction {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the bundle directory in the assembly. */
  readonly assetDir: string;
  readonly handler: string;
  readonly runtime?: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default 3 */
  readonly timeoutSeconds: number;
  /** @default 128 */
  readonly memoryMB: number;
  readonly roleArn: string;
  /** Every identity policy attached to the role (inline, AWS::IAM::Policy, customer managed). */
  readonly policies: readonly PolicyDocument[];
  /** AWS managed policy ARNs on the role (not evaluated locally: named for the record). */
  readonly managedPolicyArns: readonly string[];
  /** Decoded DDBM_SETTINGS when the function carries it. */
  readonly settings?: ReplicatorSettings;
}

export type MappingSource =
  | { readonly kind: 'stream'; readonly table: PlanTable }
  | { readonly kind: 'queue'; readonly queue: PlanQueue };

export interface PlanMapping {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly functionName: string;
  readonly source: MappingSource;
  /** @default 100 for streams, 10 for SQS */
  readonly batchSize: number;
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  readonly bisectBatchOnFunctionError: boolean;
  /** @default -1 (infinite, as on AWS) */
  readonly maximumRetryAttempts: number;
  /** @default -1 (infinite, as on AWS) */
  readonly maximumRecordAgeInSeconds: number;
  readonly reportBatchItemFailures: boolean;
  /** @default 1 */
  readonly parallelizationFactor: number;
  /** @default 0 */
  readonly maximumBatchingWindowInSeconds: number;
  /** @default - no on-failure destination */
  readonly onFailure?: PlanQueue;
  readonly enabled: boolean;
  /** The template's `Properties`, intrinsics resolved (the event-source emulator takes this spelling). */
  readonly properties: Readonly<Record<string, unknown>>;
}

/** One mirrored table as the replicators' settings describe it. */
export interface PlanMirrorTable {
  readonly name: string;
  readonly mode: 'one-way' | 'multi-active';
  /** One-way: the source region. */
  readonly source?: string;
  /** Every region the table lives in (source first for one-way). */
  readonly regions: readonly string[];
  readonly key: KeySchema;
  readonly versionAttribute?: string;
  readonly excludeAttributes: readonly string[];
  readonly ttlAttribute?: string;
  readonly tombstoneTable: string;
}

export interface LocalPlan {
  readonly assemblyDir: string;
  readonly account: string;
  readonly regions: readonly string[];
  readonly stacks: readonly {
    readonly name: string;
    readonly region: string;
    readonly templateFile: string;
  }[];
  readonly tables: readonly PlanTable[];
  readonly queues: readonly PlanQueue[];
  readonly functions: readonly PlanFunction[];
  readonly mappings: readonly PlanMapping[];
  readonly mirrorTables: readonly PlanMirrorTable[];
}

export interface ReadAssemblyOptions {
  /** @default - the account in the stack environment when concrete, else {@link LOCAL_ACCOUNT} */
  readonly account?: string;
  /**
   * Base URL of the local SQS endpoint; queue URLs become `BASE/ACCOUNT/NAME`.
   * @default - `https://sqs.REGION.amazonaws.com` (the deployed shape; the SDK sends to its configured endpoint anyway)
   */
  readonly queueEndpoint?: string;
}

export class AssemblyError extends Error {}

/**
 * Builds the app from a config — the same composition as bin/app.ts, with cdk.json's context (feature
 * flags) applied as the CLI would — and returns the assembly directory. Faster than the CDK CLI.
 * It runs in a child process so that the bundler's per-function output stays out of the terminal
 * unless synthesis fails. cdk-nag is left to `cdk synth`: its findings are not the local run's concern.
 */
export async function synthesize(
  options: { configPath?: string; outdir?: string; cwd?: string } = {},
): Promise<string> {
  const cwd = options.cwd ?? process.cwd();
  const outdir = resolvePath(cwd, options.outdir ?? mkdtempSync(join(tmpdir(), 'ddb-mirror-assembly-')));
  const configPath = resolvePath(cwd, options.configPath ?? 'mirror.config.yaml');
  if (!existsSync(configPath))
    throw new AssemblyError(`Config file ${configPath} not found: pass --config PATH or --assembly DIR`);
  const cdkJson = join(cwd, 'cdk.json');
  const context = existsSync(cdkJson)
    ? ((JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context ?? {})
    : {};
  const script = `
    const { App } = require('aws-cdk-lib');
    const { loadConfig } = require(${JSON.stringify(join(__dirname, '..', 'config', 'load'))});
    const { buildApp } = require(${JSON.stringify(join(__dirname, '..', 'app'))});
    const [configPath, outdir, context] = [process.env.DDBM_CONFIG, process.env.DDBM_OUTDIR, JSON.parse(process.env.DDBM_CONTEXT)];
    try {
      const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
      buildApp(app, loadConfig(configPath), { nag: false });
      app.synth();
    } catch (e) {
      process.stdout.write(JSON.stringify({ name: e.name, message: e.message, stack: e.stack }));
      process.exit(3);
    }`;
  const loader = pathToFileURL(require.resolve('tsx')).href;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (done, reject) => {
      const child = spawn(process.execPath, ['--import', loader, '-e', script], {
        cwd,
        env: {
          ...process.env,
          DDBM_CONFIG: configPath,
          DDBM_OUTDIR: outdir,
          DDBM_CONTEXT: JSON.stringify(context),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('exit', (c) => done({ code: c, stdout: out, stderr: err }));
    },
  );
  if (code === 3) {
    const e = JSON.parse(stdout) as { name: string; message: string; stack?: string };
    // A config mistake keeps its name so the CLI shows it as one message without a stack.
    const error =
      e.name === 'ConfigError'
        ? new SynthError(e.message)
        : new SynthError(`Synthesis failed: ${e.message}\n${e.stack ?? ''}`);
    error.name = e.name === 'ConfigError' ? 'ConfigError' : 'SynthError';
    throw error;
  }
  if (code !== 0) throw new SynthError(`Synthesis failed (exit ${code}):\n${stderr.trim()}`);
  return outdir;
}

export class SynthError extends Error {}

type Template = {
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Parameters?: Record<string, { Default?: unknown }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Conditions?: Record<string, unknown>;
};

interface StackInfo {
  readonly name: string;
  readonly region: string;
  readonly account?: string;
  readonly templateFile: string;
  readonly template: Template;
  readonly assetPaths: Map<string, string>;
  readonly dir: string;
}

export function readAssembly(dir: string, options: ReadAssemblyOptions = {}): LocalPlan {
  const assemblyDir = resolvePath(dir);
  const manifestPath = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestPath))
    throw new AssemblyError(
      `${assemblyDir} is not a cloud assembly: manifest.json is missing (run cdk synth first)`,
    );
  const stacks = readStacks(assemblyDir);
  if (!stacks.length)
    throw new AssemblyError(`The assembly in ${assemblyDir} holds no CloudFormation stacks`);

  const concrete = stacks.map((s) => s.account).find((a) => a && /^\d{12}$/.test(a));
  const account = options.account ?? concrete ?? LOCAL_ACCOUNT;
  const ctx = new Resolver(stacks, account, options.queueEndpoint);

  const tables: PlanTable[] = [];
  const queues: PlanQueue[] = [];
  const functions: PlanFunction[] = [];
  const mappings: PlanMapping[] = [];
  for (const stack of stacks) {
    for (const [id, res] of Object.entries(stack.template.Resources ?? {})) {
      if (res.Type === 'AWS::DynamoDB::Table' || res.Type === 'AWS::DynamoDB::GlobalTable')
        tables.push(ctx.table(stack, id));
      else if (res.Type === 'AWS::SQS::Queue') queues.push(ctx.queue(stack, id));
    }
  }
  for (const stack of stacks) {
    for (const [id, res] of Object.entries(stack.template.Resources ?? {})) {
      if (res.Type === 'AWS::Lambda::Function') functions.push(readFunction(ctx, stack, id));
    }
  }
  for (const stack of stacks) {
    for (const [id, res] of Object.entries(stack.template.Resources ?? {})) {
      if (res.Type === 'AWS::Lambda::EventSourceMapping')
        mappings.push(readMapping(ctx, stack, id, tables, queues, functions));
    }
  }
  const regions = [...new Set([...tables, ...functions].map((r) => r.region))];
  return {
    assemblyDir,
    account,
    regions,
    stacks: stacks.map((s) => ({ name: s.name, region: s.region, templateFile: s.templateFile })),
    tables,
    queues,
    functions,
    mappings,
    mirrorTables: deriveMirrorTables(tables, functions, mappings),
  };
}

function readStacks(dir: string): StackInfo[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<
      string,
      { type: string; environment?: string; properties?: Record<string, unknown>; displayName?: string }
    >;
  };
  const out: StackInfo[] = [];
  const assetPaths = new Map<string, string>();
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    if (artifact.type !== 'cdk:asset-manifest') continue;
    const file = join(dir, String(artifact.properties?.file));
    if (!existsSync(file)) continue;
    const assets = JSON.parse(readFileSync(file, 'utf8')) as {
      files?: Record<string, { source?: { path?: string } }>;
    };
    for (const [hash, a] of Object.entries(assets.files ?? {}))
      if (a.source?.path) assetPaths.set(hash, resolvePath(dir, a.source.path));
  }
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const nested = String(artifact.properties?.directoryName ?? '');
      if (nested) out.push(...readStacks(join(dir, nested)));
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const env = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '');
    const region = env?.[2];
    if (!region || region === 'unknown-region')
      throw new AssemblyError(
        `Stack ${id} has no concrete region (environment ${artifact.environment}): every stack needs an explicit env`,
      );
    const templateFile = String(artifact.properties?.templateFile ?? '');
    const templatePath = join(dir, templateFile);
    if (!templateFile || !existsSync(templatePath))
      throw new AssemblyError(
        `Stack ${id}: template file ${templateFile || '(none)'} is missing from ${dir}`,
      );
    out.push({
      name: String(artifact.properties?.stackName ?? artifact.displayName ?? id)
        .split('/')
        .pop()!,
      region,
      account: env?.[1] === 'unknown-account' ? undefined : env?.[1],
      templateFile: templatePath,
      template: JSON.parse(readFileSync(templatePath, 'utf8')) as Template,
      assetPaths,
      dir,
    });
  }
  return out;
}

const PSEUDO_NO_VALUE = Symbol('AWS::NoValue');

/** Resolves CloudFormation intrinsics (Ref, GetAtt, Join, Sub, Select, Split, ImportValue) locally. */
class Resolver {
  private readonly tableCache = new Map<string, PlanTable>();
  private readonly queueCache = new Map<string, PlanQueue>();

  constructor(
    private readonly stacks: readonly StackInfo[],
    readonly account: string,
    private readonly queueEndpoint?: string,
  ) {}

  resource(stack: StackInfo, id: string) {
    const r = stack.template.Resources?.[id];
    if (!r) throw new AssemblyError(`Stack ${stack.name}: resource ${id} is referenced but not defined`);
    return r;
  }

  table(stack: StackInfo, id: string): PlanTable {
    const cacheKey = `${stack.name}/${id}`;
    const cached = this.tableCache.get(cacheKey);
    if (cached) return cached;
    const p = (this.resource(stack, id).Properties ?? {}) as Record<string, unknown>;
    const where = `Stack ${stack.name}, table ${id}`;
    const name = p.TableName === undefined ? undefined : this.str(stack, p.TableName, `${where} TableName`);
    if (!name) throw new AssemblyError(`${where} has no TableName: mirrored tables need a fixed name`);
    const keySchema = (p.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
    const defs = ((p.AttributeDefinitions ?? []) as { AttributeName: string; AttributeType: KeyType }[]).map(
      (d) => ({
        name: d.AttributeName,
        type: d.AttributeType,
      }),
    );
    const keyAttr = (kind: string) => {
      const k = keySchema.find((e) => e.KeyType === kind);
      if (!k) return undefined;
      const def = defs.find((d) => d.name === k.AttributeName);
      if (!def) throw new AssemblyError(`${where}: key ${k.AttributeName} has no AttributeDefinition`);
      return { name: k.AttributeName, type: def.type };
    };
    const partitionKey = keyAttr('HASH');
    if (!partitionKey) throw new AssemblyError(`${where} has no HASH key in KeySchema`);
    const sortKey = keyAttr('RANGE');
    const stream = p.StreamSpecification as { StreamViewType?: string; StreamEnabled?: boolean } | undefined;
    const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    const arn = `arn:aws:dynamodb:${stack.region}:${this.account}:table/${name}`;
    const streamViewType =
      stream?.StreamViewType && stream.StreamEnabled !== false
        ? (stream.StreamViewType as PlanTable['streamViewType'])
        : undefined;
    const t: PlanTable = {
      region: stack.region,
      stack: stack.name,
      logicalId: id,
      name,
      key: sortKey ? { partitionKey, sortKey } : { partitionKey },
      attributeDefinitions: defs,
      ...(streamViewType ? { streamViewType, streamArn: `${arn}/stream/${LOCAL_STREAM_LABEL}` } : {}),
      ...(ttl?.AttributeName && ttl.Enabled !== false ? { ttlAttribute: ttl.AttributeName } : {}),
      billingMode:
        p.BillingMode === 'PROVISIONED' || (p.ProvisionedThroughput && !p.BillingMode)
          ? 'PROVISIONED'
          : 'PAY_PER_REQUEST',
      arn,
    };
    this.tableCache.set(cacheKey, t);
    return t;
  }

  queue(stack: StackInfo, id: string): PlanQueue {
    const cacheKey = `${stack.name}/${id}`;
    const cached = this.queueCache.get(cacheKey);
    if (cached) return cached;
    const p = (this.resource(stack, id).Properties ?? {}) as Record<string, unknown>;
    const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
    const generated = `${stack.name}-${id}`.slice(0, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
    const name =
      p.QueueName === undefined
        ? generated
        : this.str(stack, p.QueueName, `Stack ${stack.name}, queue ${id} QueueName`);
    const base = (this.queueEndpoint ?? `https://sqs.${stack.region}.amazonaws.com`).replace(/\/$/, '');
    const redrive = p.RedrivePolicy as
      { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | undefined;
    const q: PlanQueue = {
      region: stack.region,
      stack: stack.name,
      logicalId: id,
      name,
      url: `${base}/${this.account}/${name}`,
      arn: `arn:aws:sqs:${stack.region}:${this.account}:${name}`,
      fifo,
      visibilityTimeoutSeconds: Number(p.VisibilityTimeout ?? 30),
      retentionSeconds: Number(p.MessageRetentionPeriod ?? 345600),
      ...(redrive
        ? {
            redrive: {
              deadLetterTargetArn: this.str(
                stack,
                redrive.deadLetterTargetArn,
                `Stack ${stack.name}, queue ${id} RedrivePolicy`,
              ),
              maxReceiveCount: Number(this.resolve(stack, redrive.maxReceiveCount, 'RedrivePolicy')),
            },
          }
        : {}),
    };
    this.queueCache.set(cacheKey, q);
    return q;
  }

  functionName(stack: StackInfo, id: string): string {
    const p = (this.resource(stack, id).Properties ?? {}) as Record<string, unknown>;
    return p.FunctionName === undefined
      ? `${stack.name}-${id}`.slice(0, 64)
      : this.str(stack, p.FunctionName, `function ${id} FunctionName`);
  }

  roleName(stack: StackInfo, id: string): string {
    const p = (this.resource(stack, id).Properties ?? {}) as Record<string, unknown>;
    return p.RoleName === undefined
      ? `${stack.name}-${id}`.slice(0, 64)
      : this.str(stack, p.RoleName, `role ${id} RoleName`);
  }

  str(stack: StackInfo, value: unknown, what: string): string {
    const v = this.resolve(stack, value, what);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw new AssemblyError(`${what}: expected a string, got ${JSON.stringify(v)}`);
    return String(v);
  }

  /** Resolves every intrinsic in a value; `what` names the place for error messages. */
  resolve(stack: StackInfo, value: unknown, what: string): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value))
      return value.map((v) => this.resolve(stack, v, what)).filter((v) => v !== PSEUDO_NO_VALUE);
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
      return this.intrinsic(stack, keys[0], obj[keys[0]], what);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = this.resolve(stack, obj[k], what);
      if (v !== PSEUDO_NO_VALUE) out[k] = v;
    }
    return out;
  }

  private intrinsic(stack: StackInfo, fn: string, arg: unknown, what: string): unknown {
    switch (fn) {
      case 'Ref':
        return this.ref(stack, String(arg), what);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.+)/);
        return this.getAtt(stack, id, attr, what);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        const resolved = this.resolve(stack, parts, what) as unknown[];
        return resolved.map((p) => (typeof p === 'object' ? JSON.stringify(p) : String(p))).join(sep);
      }
      case 'Fn::Sub': {
        const [template, vars] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [arg as string, {}];
        return template.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
          if (vars && name in vars) return String(this.resolve(stack, vars[name], what));
          const [id, attr] = name.split(/\.(.+)/);
          return String(attr ? this.getAtt(stack, id, attr, what) : this.ref(stack, id, what));
        });
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const arr = this.resolve(stack, list, what) as unknown[];
        return arr[Number(this.resolve(stack, index, what))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return String(this.resolve(stack, source, what)).split(sep);
      }
      case 'Fn::ImportValue': {
        const name = this.str(stack, arg, what);
        for (const s of this.stacks)
          for (const out of Object.values(s.template.Outputs ?? {}))
            if (out.Export && this.resolve(s, out.Export.Name, what) === name)
              return this.resolve(s, out.Value, what);
        throw new AssemblyError(`${what}: Fn::ImportValue ${name} has no matching export in the assembly`);
      }
      case 'Fn::GetAZs':
        return [`${stack.region}a`, `${stack.region}b`, `${stack.region}c`];
      case 'Fn::Base64':
        return Buffer.from(String(this.resolve(stack, arg, what))).toString('base64');
      default:
        throw new AssemblyError(`${what}: ${fn} cannot be resolved locally`);
    }
  }

  private ref(stack: StackInfo, id: string, what: string): unknown {
    switch (id) {
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Region':
        return stack.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.name;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${stack.region}:${this.account}:stack/${stack.name}/local`;
      case 'AWS::NoValue':
        return PSEUDO_NO_VALUE;
    }
    const param = stack.template.Parameters?.[id];
    if (param) {
      if (param.Default === undefined) throw new AssemblyError(`${what}: parameter ${id} has no default`);
      return param.Default;
    }
    const res = stack.template.Resources?.[id];
    if (!res) throw new AssemblyError(`${what}: Ref ${id} names nothing in stack ${stack.name}`);
    switch (res.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return this.table(stack, id).name;
      case 'AWS::SQS::Queue':
        return this.queue(stack, id).url;
      case 'AWS::Lambda::Function':
        return this.functionName(stack, id);
      case 'AWS::IAM::Role':
        return this.roleName(stack, id);
      default:
        return `${stack.name}-${id}`;
    }
  }

  private getAtt(stack: StackInfo, id: string, attr: string, what: string): unknown {
    const res = this.resource(stack, id);
    const fail = () => {
      throw new AssemblyError(`${what}: Fn::GetAtt ${id}.${attr} (${res.Type}) cannot be resolved locally`);
    };
    switch (res.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        const t = this.table(stack, id);
        if (attr === 'Arn') return t.arn;
        if (attr === 'StreamArn') {
          if (!t.streamArn)
            throw new AssemblyError(
              `${what}: table ${t.name} in ${t.region} has no stream but its StreamArn is used`,
            );
          return t.streamArn;
        }
        return fail();
      }
      case 'AWS::SQS::Queue': {
        const q = this.queue(stack, id);
        if (attr === 'Arn') return q.arn;
        if (attr === 'QueueUrl') return q.url;
        if (attr === 'QueueName') return q.name;
        return fail();
      }
      case 'AWS::Lambda::Function':
        if (attr === 'Arn')
          return `arn:aws:lambda:${stack.region}:${this.account}:function:${this.functionName(stack, id)}`;
        return fail();
      case 'AWS::IAM::Role':
        if (attr === 'Arn') return `arn:aws:iam::${this.account}:role/${this.roleName(stack, id)}`;
        if (attr === 'RoleId') return `AROA${id.toUpperCase().slice(0, 16)}`;
        return fail();
      case 'AWS::Logs::LogGroup': {
        const name = (res.Properties as { LogGroupName?: unknown } | undefined)?.LogGroupName;
        const groupName = name === undefined ? `/aws/${stack.name}-${id}` : this.str(stack, name, what);
        if (attr === 'Arn') return `arn:aws:logs:${stack.region}:${this.account}:log-group:${groupName}:*`;
        return fail();
      }
      default:
        // Not something the emulator acts on (alarms, dashboards, keys…): a stable placeholder keeps
        // policies and environment readable without pretending to know the deployed value.
        if (attr === 'Arn')
          return `arn:aws:local:${stack.region}:${this.account}:${res.Type.replace(/::/g, '-')}/${stack.name}-${id}`;
        return `${stack.name}-${id}.${attr}`;
    }
  }
}

function readFunction(ctx: Resolver, stack: StackInfo, id: string): PlanFunction {
  const res = ctx.resource(stack, id);
  const p = (res.Properties ?? {}) as Record<string, unknown>;
  const where = `Stack ${stack.name}, function ${id}`;
  const name = ctx.functionName(stack, id);
  const assetDir = findAssetDir(stack, res.Metadata, p.Code as Record<string, unknown> | undefined, where);
  const handler = String(p.Handler ?? '');
  if (!handler) throw new AssemblyError(`${where} has no Handler`);
  const handlerFile = handler.replace(/\.[^.]+$/, '');
  if (!['.js', '.mjs', '.cjs'].some((ext) => existsSync(join(assetDir, handlerFile + ext))))
    throw new AssemblyError(
      `${where}: handler ${handler} has no ${handlerFile}.js (or .mjs/.cjs) in ${assetDir}`,
    );

  const env: Record<string, string> = {};
  const vars = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
    {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(vars))
    env[k] = ctx.str(stack, v, `${where}, environment variable ${k}`);

  let settings: ReplicatorSettings | undefined;
  if (env[SETTINGS_ENV] !== undefined) {
    try {
      settings = decodeSettings(env[SETTINGS_ENV]);
    } catch (e) {
      throw new AssemblyError(`${where}: ${(e as Error).message}`);
    }
  }

  const roleRef = p.Role;
  const roleId = roleLogicalId(roleRef);
  const policies: PolicyDocument[] = [];
  const managedPolicyArns: string[] = [];
  let roleArn: string;
  if (roleId) {
    roleArn = ctx.str(stack, roleRef, `${where} Role`);
    const role = ctx.resource(stack, roleId);
    const rp = (role.Properties ?? {}) as Record<string, unknown>;
    for (const inline of (rp.Policies ?? []) as { PolicyDocument: unknown }[])
      policies.push(
        ctx.resolve(stack, inline.PolicyDocument, `${where} role inline policy`) as PolicyDocument,
      );
    for (const arn of (rp.ManagedPolicyArns ?? []) as unknown[]) {
      const managedId = refId(arn);
      const managed = managedId ? stack.template.Resources?.[managedId] : undefined;
      if (managed?.Type === 'AWS::IAM::ManagedPolicy')
        policies.push(
          ctx.resolve(
            stack,
            (managed.Properties as { PolicyDocument: unknown }).PolicyDocument,
            `${where} managed policy`,
          ) as PolicyDocument,
        );
      else managedPolicyArns.push(ctx.str(stack, arn, `${where} managed policy ARN`));
    }
    for (const [pid, pol] of Object.entries(stack.template.Resources ?? {})) {
      if (pol.Type !== 'AWS::IAM::Policy' && pol.Type !== 'AWS::IAM::ManagedPolicy') continue;
      const pp = (pol.Properties ?? {}) as { Roles?: unknown[]; PolicyDocument?: unknown };
      if (!(pp.Roles ?? []).some((r) => refId(r) === roleId)) continue;
      policies.push(ctx.resolve(stack, pp.PolicyDocument, `${where} policy ${pid}`) as PolicyDocument);
    }
  } else if (typeof roleRef === 'string') {
    roleArn = roleRef;
  } else {
    throw new AssemblyError(
      `${where} has no Role: the local run checks every call against the function's role`,
    );
  }

  return {
    region: stack.region,
    stack: stack.name,
    logicalId: id,
    name,
    arn: `arn:aws:lambda:${stack.region}:${ctx.account}:function:${name}`,
    assetDir,
    handler,
    ...(p.Runtime ? { runtime: String(p.Runtime) } : {}),
    environment: env,
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMB: Number(p.MemorySize ?? 128),
    roleArn,
    policies,
    managedPolicyArns,
    ...(settings ? { settings } : {}),
  };
}

function findAssetDir(
  stack: StackInfo,
  metadata: Record<string, unknown> | undefined,
  code: Record<string, unknown> | undefined,
  where: string,
): string {
  const metaPath = metadata?.['aws:asset:path'];
  if (typeof metaPath === 'string') {
    const dir = resolvePath(stack.dir, metaPath);
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  }
  if (code?.ZipFile !== undefined)
    throw new AssemblyError(`${where} has inline code (ZipFile): the local run hosts bundled assets only`);
  const key = code?.S3Key;
  const keyText = typeof key === 'string' ? key : JSON.stringify(key ?? null);
  const hash = /([0-9a-f]{64})/.exec(keyText)?.[1];
  if (!hash)
    throw new AssemblyError(
      `${where}: Code has neither aws:asset:path metadata nor an asset hash in S3Key (${keyText})`,
    );
  const candidates = [stack.assetPaths.get(hash), join(stack.dir, `asset.${hash}`)].filter(
    (c): c is string => !!c,
  );
  for (const c of candidates) if (existsSync(c) && statSync(c).isDirectory()) return c;
  throw new AssemblyError(
    `${where}: asset ${hash} is not in the assembly (looked for ${candidates.join(', ')}); re-run synth with bundling enabled`,
  );
}

function refId(v: unknown): string | undefined {
  if (v && typeof v === 'object' && 'Ref' in v) return String((v as { Ref: unknown }).Ref);
  return undefined;
}

function roleLogicalId(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const getAtt = (v as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return refId(v);
}

function readMapping(
  ctx: Resolver,
  stack: StackInfo,
  id: string,
  tables: readonly PlanTable[],
  queues: readonly PlanQueue[],
  functions: readonly PlanFunction[],
): PlanMapping {
  const p = (ctx.resource(stack, id).Properties ?? {}) as Record<string, unknown>;
  const where = `Stack ${stack.name}, event source mapping ${id}`;
  const sourceArn = ctx.str(stack, p.EventSourceArn, `${where} EventSourceArn`);
  const table = tables.find((t) => t.streamArn === sourceArn);
  const queue = queues.find((q) => q.arn === sourceArn);
  if (!table && !queue)
    throw new AssemblyError(
      `${where}: EventSourceArn ${sourceArn} is neither a table stream nor a queue of the assembly`,
    );
  const fnRef = ctx.str(stack, p.FunctionName, `${where} FunctionName`);
  const fn = functions.find(
    (f) =>
      f.name === fnRef ||
      f.arn === fnRef ||
      (f.region === stack.region && fnRef.endsWith(`:function:${f.name}`)),
  );
  if (!fn) throw new AssemblyError(`${where}: FunctionName ${fnRef} is not a function of the assembly`);
  const dest = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure
    ?.Destination;
  let onFailure: PlanQueue | undefined;
  if (dest !== undefined) {
    const destArn = ctx.str(stack, dest, `${where} OnFailure destination`);
    onFailure = queues.find((q) => q.arn === destArn);
    if (!onFailure)
      throw new AssemblyError(
        `${where}: on-failure destination ${destArn} is not a queue of the assembly (only SQS is emulated)`,
      );
  }
  const responseTypes = (p.FunctionResponseTypes ?? []) as string[];
  return {
    region: stack.region,
    stack: stack.name,
    logicalId: id,
    functionName: fn.name,
    source: table ? { kind: 'stream', table } : { kind: 'queue', queue: queue! },
    batchSize: Number(p.BatchSize ?? (table ? 100 : 10)),
    ...(p.StartingPosition
      ? { startingPosition: p.StartingPosition as PlanMapping['startingPosition'] }
      : {}),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
    maximumRecordAgeInSeconds: Number(p.MaximumRecordAgeInSeconds ?? -1),
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    parallelizationFactor: Number(p.ParallelizationFactor ?? 1),
    maximumBatchingWindowInSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
    ...(onFailure ? { onFailure } : {}),
    enabled: p.Enabled !== false,
    properties: ctx.resolve(stack, p, where) as Record<string, unknown>,
  };
}

/** The mirrored tables as the replicators see them: their DDBM_SETTINGS are the source of truth. */
function deriveMirrorTables(
  tables: readonly PlanTable[],
  functions: readonly PlanFunction[],
  mappings: readonly PlanMapping[],
): PlanMirrorTable[] {
  const replicators = functions.filter(
    (f) =>
      f.settings &&
      mappings.some((m) => m.functionName === f.name && m.region === f.region && m.source.kind === 'stream'),
  );
  const byTable = new Map<string, PlanFunction[]>();
  for (const f of replicators) byTable.set(f.settings!.table, [...(byTable.get(f.settings!.table) ?? []), f]);
  const out: PlanMirrorTable[] = [];
  for (const [name, fns] of byTable) {
    const s = fns[0].settings!;
    const regions = [
      ...new Set(fns.flatMap((f) => [f.settings!.region, ...f.settings!.peers.map((p) => p.region)])),
    ];
    const source = s.mode === 'one-way' ? s.region : undefined;
    const ordered = source ? [source, ...regions.filter((r) => r !== source)] : regions;
    const missing = ordered.filter((r) => !tables.some((t) => t.name === name && t.region === r));
    if (missing.length)
      throw new AssemblyError(
        `Table ${name} is replicated to ${missing.join(', ')} but the assembly has no such table there`,
      );
    const table = tables.find((t) => t.name === name)!;
    out.push({
      name,
      mode: s.mode,
      ...(source ? { source } : {}),
      regions: ordered,
      key: table.key,
      ...(s.mode === 'multi-active' ? { versionAttribute: s.versionAttribute } : {}),
      excludeAttributes: s.excludeAttributes,
      ...(s.ttl
        ? { ttlAttribute: s.ttl.attribute }
        : table.ttlAttribute
          ? { ttlAttribute: table.ttlAttribute }
          : {}),
      tombstoneTable: s.tombstoneTable,
    });
  }
  return out;
}

/** Short human summary of a plan (for the CLI and the report). */
export function describePlan(plan: LocalPlan): string[] {
  return plan.mirrorTables.map((t) =>
    t.mode === 'one-way'
      ? `${t.name}: one-way ${t.source} → ${t.regions.filter((r) => r !== t.source).join(', ')}`
      : `${t.name}: multi-active in ${t.regions.join(', ')}`,
  );
}
