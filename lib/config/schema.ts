/**
 * The zod schema of the raw `mirror.config.yaml`, and the cross-field checks that need the whole file.
 *
 * Two layers, both collecting every problem:
 * - structure: strict objects (an unknown key is a typo, not something to ignore), types, enums, patterns;
 * - relations ({@link checkConfig}): references to declared regions, key/attribute clashes, routing coverage.
 *   It runs even when the structure has errors, reading the value defensively, so one run reports all.
 *   The rules shared with code-built models (regions of a table, routing) live in `rules.ts`: this file
 *   only reads the raw value into their input.
 *
 * Every message names the offending value; the field path is added by `issues.ts`.
 */
import { z } from 'zod';
import { RESERVED_PREFIX, tombstoneTableName } from '../../lambda/contract';
import {
  MIN_TOMBSTONE_TTL_DAYS,
  REGION_NAME_PATTERN,
  accountProblems,
  existingProblems,
  regionListProblems,
  notificationProblems,
  routingProblems,
  tableRegionProblems,
  tombstoneTtlMessage,
  type LocationFacts,
  type Problem,
  type RegionAccountFacts,
  type RegionFacts,
  type RoutingFacts,
  type TableRegionFacts,
} from './rules';

export { REGION_NAME_PATTERN };

/** Every default of the config file, in one place. `load.ts` and the schema's `default`s read these. */
export const DEFAULTS = {
  stackPrefix: 'DdbMirror',
  healthCheck: {
    protocol: 'HTTPS',
    /** Port per protocol; TCP has no default. */
    port: { HTTPS: 443, HTTP: 80 },
    path: '/health',
    intervalSeconds: 30,
    failureThreshold: 3,
  },
  versionAttribute: 'version',
  conflicts: 'version',
  existing: false,
  ttlReplicateDeletes: false,
  excludeAttributes: [] as string[],
  billing: { mode: 'PAY_PER_REQUEST' },
  pointInTimeRecovery: true,
  deletionProtection: true,
  removalPolicy: 'RETAIN',
  /**
   * More than the 28 days a parked write can wait on SQS (rules.ts), and 2 days over them: the parked
   * consumer refuses a write older than the lifetime less 2 days, so with 30 it refuses only writes a
   * drain re-drove past their queues' retention.
   */
  tombstoneTtlDays: 30,
  readOnlyReplicas: true,
  /**
   * How each region's stream is read and replicated, measured by `npm run bench` (one shard at 250 ms
   * per cross-region request): 4 parallel batches of up to 100 records, 25 items of a batch in flight,
   * keep about 100 writes in flight per shard, twice the engine ceiling that bench compares with.
   */
  replication: { parallelizationFactor: 4, batchSize: 100, itemsInFlight: 25 },
  /**
   * Continuous divergence checks, when a table asks for them: a run every 15 minutes compares 50 keys
   * (half of them written while it watches the stream for 20 s) in every region.
   */
  divergenceSampling: { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 },
  /**
   * Backfill from a table export, when a table asks for it: 10 export files applied at once, sharing
   * 1,000 write units per second at each target (100 per file). A new on-demand table takes up to
   * 4,000 write units per second before it scales (docs/platform.md#export-backfill), and live
   * replication keeps the rest; raise both for a table of hundreds of gigabytes.
   */
  exportBackfill: { maxConcurrency: 10, writeUnitsPerSecond: 1000 },
  /**
   * Verify and repair at any size, when a table asks for it: 10 scan segments or export files hashed
   * at once per region, and 10 partitions compared at once (docs/replication.md, "Anti-entropy by range
   * hashes").
   */
  antiEntropy: { maxConcurrency: 10 },
  routingTtlSeconds: 60,
  routingPolicy: 'latency',
} as const;

/** DynamoDB allows 255 characters; the tombstone table appends a suffix to the same name. */
export const MAX_TABLE_NAME_LENGTH = 255 - tombstoneTableName('').length;
const TABLE_NAME_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{3,${MAX_TABLE_NAME_LENGTH}}$`);

const CONTINENTS = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'] as const;
const DNS_NAME_PATTERN =
  /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,32}$/;

/** Renders a user's value for a message: strings quoted, long values cut. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A string schema whose every failure (wrong type or pattern) reads `<value> is not <what>`. */
function patterned(pattern: RegExp, what: string, description: string) {
  const error = (iss: { input?: unknown }) =>
    iss.input === undefined ? `required, expected ${what}` : `${show(iss.input)} is not ${what}`;
  return z.string({ error }).regex(pattern, { error }).describe(description);
}

const regionName = z.string().min(1).describe('AWS region name declared under `regions`, e.g. `us-east-1`.');

const dnsName = (description: string) => patterned(DNS_NAME_PATTERN, 'a valid DNS name', description);

/** A 12-digit account id, quoted: YAML reads an unquoted one as a number and drops leading zeros. */
const accountId = z
  .string({
    error: (iss) =>
      typeof iss.input === 'number'
        ? `${show(iss.input)} must be quoted: "${iss.input}" (unquoted, YAML reads a number and drops leading zeros)`
        : `${show(iss.input)} is not an AWS account id (12 digits, quoted)`,
  })
  .regex(/^\d{12}$/, { error: (iss) => `${show(iss.input)} is not an AWS account id (12 digits)` });

// ---------------------------------------------------------------------------------------------------------
// regions

const cnameEndpoint = z
  .strictObject({
    hostname: dnsName('Hostname the record points to with a CNAME, e.g. `us-east-1.app.example.com`.'),
  })
  .describe('CNAME target.');

const aliasEndpoint = z
  .strictObject({
    aliasDnsName: dnsName('DNS name of the alias target, e.g. an ALB or API Gateway regional domain name.'),
    aliasHostedZoneId: patterned(
      HOSTED_ZONE_ID_PATTERN,
      'a Route 53 hosted zone id (Z followed by capitals and digits)',
      "Canonical hosted zone id of the alias target (the load balancer's zone, not yours).",
    ),
  })
  .describe('Route 53 alias target.');

const endpoint = z
  .union([cnameEndpoint, aliasEndpoint], {
    error: (iss) =>
      `${iss.input === undefined ? 'required' : `got ${show(iss.input)}`}: expected { hostname } for a CNAME ` +
      'target or { aliasDnsName, aliasHostedZoneId } for an alias target',
  })
  .describe("How users reach this region's application.");

const healthCheck = z
  .strictObject({
    protocol: z
      .enum(['HTTP', 'HTTPS', 'TCP'])
      .default(DEFAULTS.healthCheck.protocol)
      .describe('Health check protocol.'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('Port to probe. Default: 443 for HTTPS, 80 for HTTP; required for TCP.'),
    path: z
      .string()
      .regex(/^\/.{0,254}$/, { error: (iss) => `${show(iss.input)} is not a path starting with "/"` })
      .default(DEFAULTS.healthCheck.path)
      .describe('Path to request (ignored for TCP).'),
    intervalSeconds: z
      .union([z.literal(10), z.literal(30)], {
        error: (iss) => `${show(iss.input)} is not 10 or 30 (the intervals Route 53 offers)`,
      })
      .default(DEFAULTS.healthCheck.intervalSeconds)
      .describe('Seconds between probes: 10 or 30.'),
    failureThreshold: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(DEFAULTS.healthCheck.failureThreshold)
      .describe('Consecutive failures before the endpoint is unhealthy (1-10).'),
  })
  .superRefine((hc, ctx) => {
    if (hc.protocol === 'TCP' && hc.port === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['port'],
        message: 'required for a TCP health check (no default port)',
      });
  })
  .describe(
    'Route 53 health check of the endpoint. Defaults: HTTPS, port 443, /health, every 30 s, 3 failures.',
  );

const region = z
  .strictObject({
    endpoint,
    healthCheck: healthCheck.optional(),
    account: accountId
      .optional()
      .describe(
        "AWS account this region's stack deploys to, 12 digits in quotes; a table's replicators reach a peer in another account through a role its stack creates there. Default: the top-level account.",
      ),
  })
  .describe('A region the mirror deploys to.');

// ---------------------------------------------------------------------------------------------------------
// tables

const attributeName = z.string().min(1).max(255);

const keyAttribute = z.strictObject({
  name: attributeName.describe('Attribute name.'),
  type: z
    .enum(['S', 'N', 'B'], {
      error: (iss) => `${show(iss.input)} is not a key type; use S (string), N (number) or B (binary)`,
    })
    .describe('S (string), N (number) or B (binary).'),
});

const billing = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('PAY_PER_REQUEST') }),
    z.strictObject({
      mode: z.literal('PROVISIONED'),
      readCapacity: z.number().int().min(1).describe('Provisioned read capacity units.'),
      writeCapacity: z.number().int().min(1).describe('Provisioned write capacity units.'),
    }),
  ])
  .default(DEFAULTS.billing)
  .describe('Billing mode. Default: PAY_PER_REQUEST. PROVISIONED requires readCapacity and writeCapacity.');

const tableCommon = {
  name: patterned(
    TABLE_NAME_PATTERN,
    `a valid table name: 3-${MAX_TABLE_NAME_LENGTH} characters of A-Z a-z 0-9 _ . - ` +
      `(DynamoDB allows 255; the tombstone table appends "${tombstoneTableName('')}")`,
    'Table name, the same in every region.',
  ),
  partitionKey: keyAttribute.describe('Partition key.'),
  sortKey: keyAttribute.optional().describe('Sort key. Default: none.'),
  ttl: z
    .strictObject({
      attribute: attributeName.describe('Attribute holding the expiry time in epoch seconds.'),
      replicateDeletes: z
        .boolean()
        .default(DEFAULTS.ttlReplicateDeletes)
        .describe('Replicate a TTL expiry in one region as a delete to the peers. Default: false.'),
    })
    .optional()
    .describe('Time to live. Default: none.'),
  excludeAttributes: z
    .array(attributeName)
    .default(DEFAULTS.excludeAttributes)
    .describe('Attributes never copied to peers. Default: [].'),
  billing,
  pointInTimeRecovery: z.boolean().default(DEFAULTS.pointInTimeRecovery).describe('Default: true.'),
  deletionProtection: z.boolean().default(DEFAULTS.deletionProtection).describe('Default: true.'),
  removalPolicy: z
    .enum(['RETAIN', 'DESTROY'])
    .default(DEFAULTS.removalPolicy)
    .describe(
      'What happens to the table when its stack is deleted (CloudFormation offers no Snapshot policy for DynamoDB). Default: RETAIN.',
    ),
  tombstoneTtlDays: z
    .number()
    .int()
    .min(MIN_TOMBSTONE_TTL_DAYS, { error: (iss) => tombstoneTtlMessage(iss.input) })
    .max(3650)
    .default(DEFAULTS.tombstoneTtlDays)
    .describe(
      `Days tombstones of deleted items are kept: more than the ${MIN_TOMBSTONE_TTL_DAYS - 1} days a parked write can wait on its parking queue and DLQ. Default: 30.`,
    ),
  replication: z
    .strictObject({
      parallelizationFactor: z
        .number()
        .int()
        .min(1)
        .max(10)
        .default(DEFAULTS.replication.parallelizationFactor)
        .describe(
          'Batches of one stream shard replicated at once (Lambda ParallelizationFactor, 1-10); one key stays in one, in order. Default: 4.',
        ),
      batchSize: z
        .number()
        .int()
        .min(1)
        .max(10000)
        .default(DEFAULTS.replication.batchSize)
        .describe('Stream records per invocation (1-10000). Default: 100.'),
      itemsInFlight: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(DEFAULTS.replication.itemsInFlight)
        .describe("Items of one batch replicated at once; one item's records always in order. Default: 25."),
    })
    .default(DEFAULTS.replication)
    .describe(
      'How the stream is read and replicated. Defaults: 4 parallel batches of 100, 25 items in flight.',
    ),
  divergenceSampling: z
    .strictObject({
      everyMinutes: z
        .number()
        .int()
        .min(1)
        .max(1440)
        .default(DEFAULTS.divergenceSampling.everyMinutes)
        .describe('Minutes between two runs (1-1440). Default: 15.'),
      sampleSize: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(DEFAULTS.divergenceSampling.sampleSize)
        .describe('Keys compared per run and region (1-1000). Default: 50.'),
      listenSeconds: z
        .number()
        .int()
        .min(0)
        .max(600)
        .default(DEFAULTS.divergenceSampling.listenSeconds)
        .describe(
          "Seconds a run watches the table's stream for live writes, up to half the sample (0-600; 0: random keys only). Default: 20.",
        ),
    })
    .optional()
    .describe(
      'Continuous divergence checks: a scheduled function in each region that writes the table compares a sample of keys across every region, re-reads before it counts, publishes DivergentItems (alarmed) and logs each divergent key. Default: off; {} turns it on with the defaults.',
    ),
  exportBackfill: z
    .strictObject({
      maxConcurrency: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(DEFAULTS.exportBackfill.maxConcurrency)
        .describe('Export files applied at once by the Distributed Map (1-1000). Default: 10.'),
      writeUnitsPerSecond: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(DEFAULTS.exportBackfill.writeUnitsPerSecond)
        .describe(
          'Write units per second the whole backfill may use at each target, shared by the files applied at once (at least 1 each). Default: 1000.',
        ),
    })
    .optional()
    .describe(
      "Backfill at any size: a Step Functions state machine in each region that writes the table exports it to S3 (no read capacity used; needs pointInTimeRecovery) and applies every exported item to the other regions through the replicator's guards, with a Distributed Map of functions. Start it with `ddb-mirror backfill --deployed`. Default: off; {} turns it on with the defaults.",
    ),
  antiEntropy: z
    .strictObject({
      maxConcurrency: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(DEFAULTS.antiEntropy.maxConcurrency)
        .describe(
          'Scan segments or export files hashed at once in each region, and partitions compared at once (1-1000). Default: 10.',
        ),
    })
    .optional()
    .describe(
      "Verify and repair at any size: a Step Functions state machine in every region of the table hashes that region's items into S3 where they live (from the table's export when pointInTimeRecovery is on, which uses no read capacity), and the comparing region reads only the hashes, descends where they differ and repairs through the replicator's guards. Start it with `ddb-mirror verify --deployed [--repair]`. Default: off; {} turns it on with the defaults.",
    ),
  existing: z
    .union([z.boolean(), z.array(regionName)], {
      error: (iss) =>
        `expected true (the table exists in every one of its regions) or a list of its regions, got ${show(iss.input)}`,
    })
    .default(DEFAULTS.existing)
    .describe(
      "Adopt a table that already exists (with its data): true for every region of the table, or the list of regions where it exists. There the stack references the table by name and never creates, replaces or deletes it; it enables a NEW_AND_OLD_IMAGES stream when the table has none, and fails the deploy when the table's stream has another view type (its readers would break if it were replaced). billing, pointInTimeRecovery, deletionProtection, removalPolicy and ttl's setting on the table apply only where the stack creates the table. Backfill after the first deploy. Default: false (the stack creates the table in every region).",
    ),
};

const oneWayTable = z
  .strictObject({
    ...tableCommon,
    mode: z.literal('one-way'),
    source: regionName.describe('The region applications write to.'),
    replicas: z
      .array(regionName)
      .min(1, { error: (iss) => `a one-way table needs at least one replica region, got ${show(iss.input)}` })
      .describe('Read-only copies, kept in sync from the source.'),
    readOnlyReplicas: z
      .boolean()
      .default(DEFAULTS.readOnlyReplicas)
      .describe(
        'Enforce read-only replicas: a resource policy on each replica denies writes to every principal but the replicator roles (and replicaWriters). Default: true.',
      ),
    replicaWriters: z
      .array(
        patterned(
          /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
          'an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
          'Role ARN.',
        ),
      )
      .default([])
      .describe(
        'Roles that may still write replicas (e.g. an operator running backfill or verify --repair). Default: none.',
      ),
  })
  .describe('One-way: the source region is written, replicas follow.');

const multiActiveTable = z
  .strictObject({
    ...tableCommon,
    mode: z.literal('multi-active'),
    regions: z
      .array(regionName)
      .min(2, { error: (iss) => `a multi-active table needs at least two regions, got ${show(iss.input)}` })
      .describe('Every region accepts writes.'),
    conflicts: z
      .enum(['version', 'last-writer-wins'])
      .default(DEFAULTS.conflicts)
      .describe(
        'How concurrent writes of one item in two regions resolve. version: every writer ADDs 1 to the version attribute. last-writer-wins: no writer contract; each region\'s replicator orders its saves by a hybrid logical clock (docs/replication.md, "Last writer wins"). Default: version.',
      ),
    // Defaulted in load.ts, not here: the cross-field check must know whether the user wrote it.
    versionAttribute: attributeName
      .optional()
      .meta({ default: DEFAULTS.versionAttribute })
      .describe(
        'Number attribute the application increments on every write (conflicts: version only). Default: version.',
      ),
  })
  .describe('Multi-active: every region is written; conflicts resolve by version, then by write order.');

const table = z.discriminatedUnion('mode', [oneWayTable, multiActiveTable]);

// ---------------------------------------------------------------------------------------------------------
// routing

const continent = z.enum(CONTINENTS);

const geoLocation = z.union(
  [
    continent.describe('Continent code.'),
    z.strictObject({ continent }),
    z.strictObject({
      country: patterned(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code (two capitals)', 'Country code.'),
      subdivision: patterned(
        /^[A-Z0-9]{1,3}$/,
        'a subdivision code (1-3 capitals or digits, e.g. CA)',
        'Subdivision code of a US state or a region of Ukraine, e.g. CA (country US or UA only).',
      ).optional(),
    }),
  ],
  {
    error: (iss) =>
      `${show(iss.input)} is not a location: use a continent code (${CONTINENTS.join(', ')}) ` +
      `or { country: <ISO code> } (a bare string is read as a continent: "AS" is Asia, not American Samoa)`,
  },
);

const policy = z
  .union(
    [
      z.literal('latency'),
      z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('latency') }),
        z.strictObject({
          type: z.literal('geolocation'),
          locations: z
            .record(regionName, z.array(geoLocation).min(1))
            .describe('Region name → locations it serves.'),
          defaultRegion: regionName.describe('Region answering for locations nobody claimed.'),
        }),
      ]),
    ],
    {
      error: (iss) => `expected "latency" or { type: latency | geolocation, ... }, got ${show(iss.input)}`,
    },
  )
  .default(DEFAULTS.routingPolicy)
  .describe('Routing policy: latency (default) or geolocation.');

const routing = z
  .strictObject({
    hostedZoneId: patterned(
      HOSTED_ZONE_ID_PATTERN,
      'a Route 53 hosted zone id (Z followed by capitals and digits)',
      'Id of your public hosted zone.',
    ),
    zoneName: dnsName('Name of the hosted zone, e.g. `example.com`.'),
    recordName: dnsName('Record users resolve, inside the zone, e.g. `app.example.com`.'),
    ttlSeconds: z
      .number()
      .int()
      .min(0)
      .max(2147483647)
      .default(DEFAULTS.routingTtlSeconds)
      .describe('TTL of CNAME records (alias records have none). Default: 60.'),
    policy,
  })
  .describe('Route 53 records in front of the regional endpoints. Default: no routing.');

// ---------------------------------------------------------------------------------------------------------
// notifications

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:(\$\{region\}|[a-z]{2}(-[a-z]+)+-\d):\d{12}:[A-Za-z0-9_-]{1,256}$/;

const notifications = z
  .union(
    [
      z.strictObject({
        email: z
          .union([z.email(), z.array(z.email()).min(1)])
          .describe('Address (or list) subscribed to a topic the mirror creates in each region.'),
      }),
      z.strictObject({
        snsTopicArn: patterned(
          SNS_TOPIC_ARN,
          'an SNS topic ARN; alarms notify a topic in their own region, so use ${region} in it when the mirror has more than one region',
          'Existing topic per region, e.g. arn:aws:sns:${region}:123456789012:ops-alerts.',
        ),
      }),
    ],
    {
      error: (iss) =>
        `expected { email: <address or list> } or { snsTopicArn: <arn with \${region}> }, got ${show(iss.input)}`,
    },
  )
  .describe('Who every alarm notifies. Default: nobody (alarms without actions).');

// ---------------------------------------------------------------------------------------------------------
// the file

const structure = z
  .strictObject({
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, {
        error: (iss) =>
          `${show(iss.input)} is not a stack name prefix (a letter, then up to 63 letters, digits, -)`,
      })
      .default(DEFAULTS.stackPrefix)
      .describe('Prefix of every stack name. Default: DdbMirror.'),
    account: accountId
      .optional()
      .describe(
        "AWS account id, 12 digits in quotes: every region's account unless the region names its own. Default: CDK_DEFAULT_ACCOUNT.",
      ),
    regions: z
      .record(z.string(), region)
      .meta({ propertyNames: { pattern: REGION_NAME_PATTERN.source } })
      .describe('Regions, keyed by AWS region name.'),
    tables: z
      .array(table)
      .min(1, { error: 'at least one table is required, got []' })
      .describe('Tables to mirror.'),
    routing: routing.optional(),
    notifications: notifications.optional(),
  })
  .meta({
    title: 'ddb-mirror configuration',
    description: 'mirror.config.yaml: regions, tables and routing.',
  });

/** The raw file's schema: structure, then {@link checkConfig}. */
export const configSchema = structure.superRefine(checkConfig, { when: () => true });

/** The raw file, as a user writes it. */
export type RawConfig = z.input<typeof configSchema>;
/** The raw file after structural parsing: simple defaults applied, cross-field rules checked. */
export type ParsedConfig = z.output<typeof configSchema>;

// ---------------------------------------------------------------------------------------------------------
// cross-field checks

type Path = (string | number)[];
type Report = (path: Path, message: string) => void;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * Rules spanning fields. Runs even when the structure has errors (`when: () => true`), so it reads the
 * value as `unknown` and skips a rule whose inputs are missing or mistyped (the structure reported those).
 */
export function checkConfig(value: unknown, ctx: z.RefinementCtx): void {
  if (!isObject(value)) return;
  const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message });

  const declared = checkRegions(value.regions, report);
  if (isObject(value.regions)) {
    // A mistyped account still counts as named: the structure reported it, this rule need not again.
    const defaultAccount = value.account === undefined ? undefined : String(value.account);
    reportAll(report, [], accountProblems(regionAccounts(value.regions), defaultAccount));
  }
  checkTables(value.tables, declared, report);
  if (isObject(value.routing) && isObject(value.regions)) {
    const facts = routingFacts(value.routing, value.regions);
    reportAll(report, [], routingProblems(facts.routing, facts.regions));
  }
  const topic = isObject(value.notifications) ? asString(value.notifications.snsTopicArn) : undefined;
  if (topic && isObject(value.regions))
    reportAll(report, [], notificationProblems(topic, Object.keys(value.regions)));
}

function checkRegions(regions: unknown, report: Report): Set<string> | undefined {
  if (!isObject(regions)) return undefined;
  reportAll(report, [], regionListProblems(Object.keys(regions)));
  return new Set(Object.keys(regions));
}

/** The raw regions' accounts as {@link accountProblems} reads them; a mistyped account still counts as named. */
function regionAccounts(regions: Record<string, unknown>): RegionAccountFacts[] {
  return Object.entries(regions).map(([name, r]) => {
    const account = isObject(r) ? r.account : undefined;
    return account === undefined ? { name } : { name, account: String(account) };
  });
}

function checkTables(tables: unknown, declared: Set<string> | undefined, report: Report): void {
  const firstByName = new Map<string, number>();
  asList(tables).forEach((t, i) => {
    if (!isObject(t)) return;
    const at: Path = ['tables', i];
    const name = asString(t.name);
    if (name !== undefined) {
      const first = firstByName.get(name);
      if (first === undefined) firstByName.set(name, i);
      else report([...at, 'name'], `duplicate table name "${name}" (also tables[${first}].name)`);
    }
    const regionFacts = tableRegionFacts(t);
    if (regionFacts) reportAll(report, at, tableRegionProblems(regionFacts, declared));
    checkTableAttributes(t, at, report);
    checkExportBackfill(t, at, report);
    if (regionFacts && Array.isArray(t.existing))
      reportAll(report, at, existingProblems(factRegions(regionFacts), t.existing.map(asString)));
  });
}

/** An export needs point-in-time recovery on the table (docs/platform.md#export-backfill). */
function checkExportBackfill(t: Record<string, unknown>, at: Path, report: Report): void {
  if (t.exportBackfill !== undefined && t.pointInTimeRecovery === false)
    report(
      [...at, 'exportBackfill'],
      'needs pointInTimeRecovery: a table is exported from its continuous backups; set pointInTimeRecovery: true or remove exportBackfill',
    );
}

/** The raw table's region fields as {@link tableRegionProblems} reads them; undefined for an unknown mode. */
function tableRegionFacts(t: Record<string, unknown>): TableRegionFacts | undefined {
  if (t.mode === 'one-way')
    return { mode: 'one-way', source: asString(t.source), replicas: asList(t.replicas).map(asString) };
  if (t.mode === 'multi-active') return { mode: 'multi-active', regions: asList(t.regions).map(asString) };
  return undefined;
}

const factRegions = (facts: TableRegionFacts): readonly (string | undefined)[] =>
  facts.mode === 'one-way' ? [facts.source, ...facts.replicas] : facts.regions;

function checkTableAttributes(t: Record<string, unknown>, at: Path, report: Report) {
  const keys = new Map<string, string>();
  for (const [field, role] of [
    ['partitionKey', 'partition key'],
    ['sortKey', 'sort key'],
  ] as const) {
    const name = isObject(t[field]) ? asString(t[field].name) : undefined;
    if (name === undefined) continue;
    const path = [...at, field, 'name'];
    if (name.startsWith(RESERVED_PREFIX)) report(path, reserved(name));
    if (keys.has(name)) report(path, `sort key "${name}" has the same name as the partition key`);
    else keys.set(name, role);
  }

  const clash = (path: Path, name: string, what: string) => {
    if (name.startsWith(RESERVED_PREFIX)) report(path, reserved(name));
    const role = keys.get(name);
    if (role) report(path, `${what} "${name}" is also the ${role}`);
  };

  let version: string | undefined;
  // Under last-writer-wins nobody writes a version attribute, so no rule reads it.
  if (t.mode === 'multi-active' && t.conflicts !== 'last-writer-wins') {
    if (t.versionAttribute === undefined) {
      version = DEFAULTS.versionAttribute;
      const role = keys.get(version);
      if (role)
        report(
          [...at, 'versionAttribute'],
          `version attribute "${version}" (the default) is also the ${role}; set versionAttribute to another attribute`,
        );
    } else {
      version = asString(t.versionAttribute);
      if (version !== undefined) clash([...at, 'versionAttribute'], version, 'version attribute');
    }
  }

  const ttl = isObject(t.ttl) ? asString(t.ttl.attribute) : undefined;
  if (ttl !== undefined) {
    const path = [...at, 'ttl', 'attribute'];
    clash(path, ttl, 'TTL attribute');
    if (ttl === version) report(path, `TTL attribute "${ttl}" is also the version attribute`);
  }

  const excluded = new Set<string>();
  asList(t.excludeAttributes).forEach((v, j) => {
    const name = asString(v);
    if (name === undefined) return;
    const path = [...at, 'excludeAttributes', j];
    if (excluded.has(name)) report(path, `excluded attribute "${name}" is listed twice`);
    else if (name === version && !keys.has(name))
      report(path, `excluded attribute "${name}" is the version attribute, which must replicate`);
    else clash(path, name, 'excluded attribute');
    excluded.add(name);
  });
}

const reserved = (name: string) =>
  `"${name}" starts with "${RESERVED_PREFIX}", the prefix reserved for the replicator's own attributes`;

/** The raw routing section and regions as {@link routingProblems} reads them. */
function routingFacts(
  routing: Record<string, unknown>,
  regions: Record<string, unknown>,
): { routing: RoutingFacts; regions: RegionFacts[] } {
  const policy = routing.policy;
  const locations = isObject(policy) && isObject(policy.locations) ? policy.locations : {};
  return {
    routing: {
      zoneName: asString(routing.zoneName),
      recordName: asString(routing.recordName),
      policy:
        isObject(policy) && policy.type === 'geolocation'
          ? {
              type: 'geolocation',
              defaultRegion: asString(policy.defaultRegion),
              locations: Object.fromEntries(
                Object.entries(locations).map(([region, list]) => [region, asList(list).map(locationFacts)]),
              ),
            }
          : undefined,
    },
    regions: Object.entries(regions).map(([name, r]): RegionFacts => {
      const endpoint = isObject(r) && isObject(r.endpoint) ? r.endpoint : {};
      if ('hostname' in endpoint)
        return { name, endpoint: { kind: 'cname', hostname: asString(endpoint.hostname) } };
      if ('aliasDnsName' in endpoint) return { name, endpoint: { kind: 'alias' } };
      return { name };
    }),
  };
}

/** A raw location (a continent code, or `{ continent }`, or `{ country, subdivision? }`); undefined when malformed. */
function locationFacts(loc: unknown): LocationFacts | undefined {
  if (typeof loc === 'string') return { continent: loc };
  if (!isObject(loc)) return undefined;
  if (typeof loc.continent === 'string') return { continent: loc.continent };
  if (typeof loc.country === 'string')
    return {
      country: loc.country,
      ...(typeof loc.subdivision === 'string' && { subdivision: loc.subdivision }),
    };
  return undefined;
}

function reportAll(report: Report, base: Path, problems: readonly Problem[]): void {
  for (const p of problems) report([...base, ...p.path], p.message);
}
