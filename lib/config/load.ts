/**
 * Config file → {@link MirrorModel}. Validation is pure ({@link validateConfig}); the throwing wrappers
 * turn its issues into one {@link ConfigError} that lists every problem.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type {
  Endpoint,
  GeoLocationModel,
  HealthCheck,
  MirrorModel,
  NotificationsModel,
  RegionModel,
  RoutingModel,
  TableModel,
} from './model';
import { type ConfigIssue, errorMap, toConfigIssues } from './issues';
import { configSchema, DEFAULTS, type ParsedConfig } from './schema';

export type { ConfigIssue } from './issues';

/** A user mistake in the config file. `message` lists every issue; print it, no stack trace needed. */
export class ConfigError extends Error {
  constructor(
    /** The file (or label) the config came from, e.g. `mirror.config.yaml`. */
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = 'ConfigError';
  }
}

/** `<source> is invalid (2 problems):` followed by one `  - path: message` line per issue. */
export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
  const lines = issues.map((i) => `  - ${i.path ? `${i.path}: ` : ''}${i.message}`);
  return [`${source} is invalid (${count}):`, ...lines].join('\n');
}

export type ValidationResult =
  | { readonly ok: true; readonly model: MirrorModel }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** Pure: checks an already-parsed YAML/JSON value and collects every problem, or returns the model. */
export function validateConfig(input: unknown): ValidationResult {
  if (input === null || input === undefined)
    return {
      ok: false,
      issues: [{ path: '', message: 'the config is empty; expected a mapping with regions and tables' }],
    };
  const result = configSchema.safeParse(input, { error: errorMap });
  if (!result.success) {
    const issues = [...result.error.issues].sort(byPlaceInFile(input));
    return { ok: false, issues: toConfigIssues(issues, configSchema, input) };
  }
  return { ok: true, model: toModel(result.data) };
}

/**
 * Validates an already-parsed YAML/JSON value and returns the model with every default applied.
 * @param source names the origin in the error message. @default 'config'
 * @throws {ConfigError} listing every problem.
 */
export function parseConfig(input: unknown, source = 'config'): MirrorModel {
  const result = validateConfig(input);
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.model;
}

/**
 * Reads, parses (YAML, so JSON too) and validates a config file.
 * @throws {ConfigError} when the file cannot be read, is not valid YAML (naming the line), or is invalid.
 */
export function loadConfig(path: string): MirrorModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${(e as Error).message}` }]);
  }
  return parseConfig(parseYaml(text, path), path);
}

/** YAML text → value; syntax errors (and duplicate keys) become a ConfigError naming line and column. */
export function parseYaml(text: string, source: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = text.split(/\r?\n/);
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const reason = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        const line = pos ? lines[pos.line - 1]?.trim() : undefined;
        return {
          path: pos ? `line ${pos.line}, column ${pos.col}` : '',
          message: `YAML syntax error: ${reason}${line ? ` (in ${JSON.stringify(line)})` : ''}`,
        };
      }),
    );
  }
  return doc.toJS();
}

const SECTIONS = ['stackPrefix', 'account', 'regions', 'tables', 'routing', 'notifications'];

/**
 * Orders issues as the file reads: by section, then region or table, so the cross-field issues (found
 * after the structural ones) sit beside the others of the same table. Stable within one table.
 */
function byPlaceInFile(input: unknown) {
  const regionNames = Object.keys((input as { regions?: object }).regions ?? {});
  const rank = (path: readonly PropertyKey[]): [number, number] => {
    const section = path.length ? SECTIONS.indexOf(String(path[0])) : -1;
    const second = path[1];
    const item =
      typeof second === 'number' ? second : path[0] === 'regions' ? regionNames.indexOf(String(second)) : -1;
    return [section, item];
  };
  return (a: { path: readonly PropertyKey[] }, b: { path: readonly PropertyKey[] }) => {
    const [ra, rb] = [rank(a.path), rank(b.path)];
    return ra[0] - rb[0] || ra[1] - rb[1];
  };
}

// ---------------------------------------------------------------------------------------------------------
// parsed file → model: the defaults zod cannot express (they depend on another field) are resolved here

function toModel(raw: ParsedConfig): MirrorModel {
  return {
    stackPrefix: raw.stackPrefix,
    ...(raw.account !== undefined && { account: raw.account }),
    regions: Object.entries(raw.regions).map(([name, r]): RegionModel => {
      const hc = r.healthCheck;
      const protocol = hc?.protocol ?? DEFAULTS.healthCheck.protocol;
      const healthCheck: HealthCheck = {
        protocol,
        // TCP without a port was rejected by the schema.
        port: hc?.port ?? (protocol === 'TCP' ? 0 : DEFAULTS.healthCheck.port[protocol]),
        path: hc?.path ?? DEFAULTS.healthCheck.path,
        intervalSeconds: hc?.intervalSeconds ?? DEFAULTS.healthCheck.intervalSeconds,
        failureThreshold: hc?.failureThreshold ?? DEFAULTS.healthCheck.failureThreshold,
      };
      return {
        name,
        endpoint: toEndpoint(r.endpoint),
        healthCheck,
        ...(r.account !== undefined && { account: r.account }),
      };
    }),
    tables: raw.tables.map(toTable),
    ...(raw.routing && { routing: toRouting(raw.routing) }),
    ...(raw.notifications && { notifications: toNotifications(raw.notifications) }),
  };
}

function toNotifications(n: NonNullable<ParsedConfig['notifications']>): NotificationsModel {
  return 'email' in n
    ? { kind: 'email', addresses: typeof n.email === 'string' ? [n.email] : n.email }
    : { kind: 'topic', arnTemplate: n.snsTopicArn };
}

function toEndpoint(e: ParsedConfig['regions'][string]['endpoint']): Endpoint {
  if ('hostname' in e) return { kind: 'cname', hostname: stripDot(e.hostname) };
  return { kind: 'alias', dnsName: stripDot(e.aliasDnsName), hostedZoneId: e.aliasHostedZoneId };
}

function toTable(t: ParsedConfig['tables'][number]): TableModel {
  const common = {
    name: t.name,
    key: {
      partitionKey: t.partitionKey,
      ...(t.sortKey && { sortKey: t.sortKey }),
    },
    ...(t.ttl && { ttl: { attribute: t.ttl.attribute, replicateDeletes: t.ttl.replicateDeletes } }),
    excludeAttributes: t.excludeAttributes,
    billing: t.billing,
    pointInTimeRecovery: t.pointInTimeRecovery,
    deletionProtection: t.deletionProtection,
    removalPolicy: t.removalPolicy,
    tombstoneTtlDays: t.tombstoneTtlDays,
    replication: t.replication,
    ...(t.divergenceSampling && { divergenceSampling: t.divergenceSampling }),
    ...(t.exportBackfill && { exportBackfill: t.exportBackfill }),
    ...(t.antiEntropy && { antiEntropy: t.antiEntropy }),
    existing: existingRegions(t),
  };
  return t.mode === 'one-way'
    ? {
        ...common,
        mode: 'one-way',
        source: t.source,
        replicas: t.replicas,
        readOnlyReplicas: { enforced: t.readOnlyReplicas, writers: t.replicaWriters },
      }
    : {
        ...common,
        mode: 'multi-active',
        regions: t.regions,
        conflicts: t.conflicts,
        versionAttribute: t.versionAttribute ?? DEFAULTS.versionAttribute,
      };
}

/** `existing: true` → every region of the table; a list is kept as written (checked by the schema). */
function existingRegions(t: ParsedConfig['tables'][number]): readonly string[] {
  if (t.existing === false) return [];
  if (t.existing === true) return t.mode === 'one-way' ? [t.source, ...t.replicas] : t.regions;
  return t.existing;
}

function toRouting(r: NonNullable<ParsedConfig['routing']>): RoutingModel {
  const p = r.policy;
  const policy: RoutingModel['policy'] =
    p === 'latency' || p.type === 'latency'
      ? { type: 'latency' }
      : {
          type: 'geolocation',
          defaultRegion: p.defaultRegion,
          locations: Object.fromEntries(
            Object.entries(p.locations).map(([region, locs]) => [
              region,
              locs.map((l): GeoLocationModel => (typeof l === 'string' ? { continent: l } : l)),
            ]),
          ),
        };
  return {
    hostedZoneId: r.hostedZoneId,
    zoneName: stripDot(r.zoneName),
    recordName: stripDot(r.recordName),
    ttlSeconds: r.ttlSeconds,
    policy,
  };
}

const stripDot = (name: string) => name.replace(/\.$/, '');
