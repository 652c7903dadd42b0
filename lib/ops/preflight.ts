/**
 * `ddb-mirror plan`, the decision: from what was read of every table and region of the config (its
 * DescribeTable, tags, continuous backups, stream readers and a sample of items), what a deploy and a
 * backfill will meet: one row per table × region, blockers and warnings, each naming its fix. Pure: the
 * reading is lib/ops/preflight-gather.ts. The facts it rests on, with their sources: docs/preflight.md.
 */
import {
  isAdoptedIn,
  replicatorRegions,
  tableRegions,
  type KeyAttribute,
  type KeySchema,
  type MirrorModel,
  type TableModel,
} from '../config/model';
import { tombstoneTableName } from '../../lambda/contract/names';

/** DynamoDB Streams serves at most two simultaneous readers per shard (docs/platform.md#event-source-mapping). */
export const STREAM_READERS_PER_SHARD = 2;

/** The stream view the replicator reads: it needs both images (docs/replication.md). */
export const MIRROR_STREAM_VIEW = 'NEW_AND_OLD_IMAGES';

/**
 * Table statuses a table does not leave by itself: the adoption check at deploy refuses them
 * (lambda/adopt/stream.ts), and a created table in one cannot be updated either.
 */
export const STUCK_STATUSES: readonly string[] = [
  'DELETING',
  'INACCESSIBLE_ENCRYPTION_CREDENTIALS',
  'ARCHIVING',
  'ARCHIVED',
];

/** Items read per region to check the version contract (one eventually consistent Scan page). */
export const DEFAULT_SAMPLE_SIZE = 100;

/** Something that could not be read, and why (denied, or an endpoint that does not serve the call). */
export interface Unread {
  readonly unread: string;
}

export type Read<T> = T | Unread;

export function isUnread(v: unknown): v is Unread {
  return typeof v === 'object' && v !== null && 'unread' in v;
}

export type Billing =
  | { readonly mode: 'PAY_PER_REQUEST' }
  | { readonly mode: 'PROVISIONED'; readonly readCapacity: number; readonly writeCapacity: number };

/** A table as DescribeTable shows it. */
export interface TableFacts {
  readonly arn: string;
  /** `ACTIVE`, `CREATING`, `UPDATING`, … */
  readonly status: string;
  /** Its key, with each attribute's type from AttributeDefinitions. */
  readonly key: KeySchema;
  readonly billing: Billing;
  /** Absent when the table has no enabled stream. */
  readonly stream?: { readonly arn: string; readonly viewType: string };
  /** DescribeTable's ItemCount and TableSizeBytes, which DynamoDB updates about every six hours. */
  readonly itemCount: number;
  readonly sizeBytes: number;
}

/** A Lambda event source mapping on the table's stream. */
export interface StreamConsumer {
  /** The function's name. */
  readonly name: string;
  readonly uuid?: string;
  /** `Enabled`, `Disabled`, `Creating`, … */
  readonly state: string;
  /** This mirror's own replicator (already deployed): one of the readers the mirror brings, not another. */
  readonly mirror: boolean;
}

/** The items a Scan page read, checked for a numeric version attribute. */
export interface VersionSample {
  readonly attribute: string;
  readonly items: number;
  /** Items without the attribute. */
  readonly missing: number;
  /** Items whose attribute is not a number. */
  readonly notNumber: number;
  /** A few keys of such items (JSON of the key attributes). */
  readonly examples: readonly string[];
  /** The Scan's ConsumedCapacity. */
  readonly readUnits: number;
}

/** Everything read about one table in one region. */
export interface RegionFacts {
  readonly table: string;
  readonly region: string;
  /** Undefined: no table of that name in the region. */
  readonly found?: TableFacts;
  /** The CloudFormation stack that manages the table (its `aws:cloudformation:stack-name` tag); null: none. */
  readonly owner?: Read<string | null>;
  /** The tombstone table `<name>-ddbm-tombstones`, which the stack always creates. */
  readonly tombstones: { readonly found: boolean; readonly owner?: Read<string | null> };
  /** Point-in-time recovery (DescribeContinuousBackups), when the table exists. */
  readonly pitr?: Read<boolean>;
  /** The Lambda event source mappings on its stream, when it has one. */
  readonly consumers?: Read<readonly StreamConsumer[]>;
  /** Multi-active tables with `conflicts: version` that exist: the version contract's sample. */
  readonly sample?: Read<VersionSample>;
}

export interface PreflightOptions {
  /** The CLI backfill's rate (`--max-write-units`, per target); else the table's export backfill rate. */
  readonly maxWriteUnits?: number;
}

/** What the deploy does with the table in a region. */
export type Intent = 'create' | 'adopt' | 'deployed';

export type Check =
  | 'adopted-missing'
  | 'already-exists'
  | 'tombstones-exist'
  | 'key-schema'
  | 'stream-view'
  | 'stream-readers'
  | 'point-in-time-recovery'
  | 'version-contract'
  | 'table-status'
  | 'backfill-capacity'
  | 'unread';

export interface Finding {
  readonly table: string;
  readonly region: string;
  readonly check: Check;
  readonly message: string;
  readonly fix: string;
}

export interface BackfillEstimate {
  /** The regions a backfill from this region writes to. */
  readonly targets: readonly string[];
  readonly itemCount: number;
  readonly averageItemBytes: number;
  /** Write units per item and target: one per started KB of the average item. */
  readonly unitsPerItem: number;
  /** Over every target. */
  readonly writeUnits: number;
  /** Undefined: the CLI backfill without --max-write-units, which is not paced. */
  readonly rate?: {
    readonly writeUnitsPerSecond: number;
    readonly from: 'exportBackfill' | '--max-write-units';
  };
  /** At `rate` per target, the targets written at once. */
  readonly seconds?: number;
}

export interface PreflightRow {
  readonly table: string;
  readonly region: string;
  readonly intent: Intent;
  readonly exists: boolean;
  readonly keyMatches?: boolean;
  readonly billing?: Billing;
  /** The stream's view type, or 'off'. */
  readonly stream?: string;
  /** Stream readers once the mirror is deployed: others (not disabled) plus the mirror's. */
  readonly readers?: {
    readonly others: readonly string[];
    readonly mirror: number;
    /** Undefined when the mappings could not be read. */
    readonly total?: number;
  };
  readonly pointInTimeRecovery?: boolean;
  readonly itemCount?: number;
  readonly sizeBytes?: number;
  readonly backfill?: BackfillEstimate;
  readonly sample?: VersionSample;
  readonly verdict: 'ready' | 'warning' | 'blocked';
}

/** What the deploy will change on a table it adopts (not a problem: told so that nobody is surprised). */
export interface Change {
  readonly table: string;
  readonly region: string;
  readonly change: string;
}

export interface PreflightReport {
  readonly ready: boolean;
  readonly rows: readonly PreflightRow[];
  readonly blockers: readonly Finding[];
  readonly warnings: readonly Finding[];
  readonly changes: readonly Change[];
  /** Read units of every sample. */
  readonly sampleReadUnits: number;
}

/** The version attribute whose contract the sample checks; undefined when the table has none. */
export function versionContract(table: TableModel): string | undefined {
  return table.mode === 'multi-active' && table.conflicts === 'version' ? table.versionAttribute : undefined;
}

/** The stack that deploys `region` (lib/app.ts names it `${stackPrefix}-${region}`). */
export function regionStackName(model: Pick<MirrorModel, 'stackPrefix'>, region: string): string {
  return `${model.stackPrefix}-${region}`;
}

/** Stream readers the mirror brings in `region`: its replicator, and the divergence sampler's listener. */
export function mirrorReaders(table: TableModel, region: string): number {
  if (!replicatorRegions(table).includes(region)) return 0;
  return 1 + (table.divergenceSampling ? 1 : 0);
}

/** `pk (S)`, `pk (S) + sk (N)`. */
export function keyText(key: KeySchema): string {
  const one = (a: KeyAttribute) => `${a.name} (${a.type})`;
  return key.sortKey ? `${one(key.partitionKey)} + ${one(key.sortKey)}` : one(key.partitionKey);
}

function sameKey(a: KeySchema, b: KeySchema): boolean {
  const same = (x?: KeyAttribute, y?: KeyAttribute) => x?.name === y?.name && x?.type === y?.type;
  return same(a.partitionKey, b.partitionKey) && same(a.sortKey, b.sortKey);
}

/** A backfill from `region`: one write unit per started KB of the average item, per target. */
export function backfillEstimate(
  table: TableModel,
  region: string,
  found: Pick<TableFacts, 'itemCount' | 'sizeBytes'>,
  options: PreflightOptions = {},
): BackfillEstimate {
  const targets = tableRegions(table).filter((r) => r !== region);
  const averageItemBytes = found.itemCount > 0 ? found.sizeBytes / found.itemCount : 0;
  const unitsPerItem = Math.max(1, Math.ceil(averageItemBytes / 1024));
  const perTarget = found.itemCount * unitsPerItem;
  const rate =
    options.maxWriteUnits !== undefined
      ? { writeUnitsPerSecond: options.maxWriteUnits, from: '--max-write-units' as const }
      : table.exportBackfill
        ? { writeUnitsPerSecond: table.exportBackfill.writeUnitsPerSecond, from: 'exportBackfill' as const }
        : undefined;
  return {
    targets,
    itemCount: found.itemCount,
    averageItemBytes: Math.round(averageItemBytes),
    unitsPerItem,
    writeUnits: perTarget * targets.length,
    ...(rate ? { rate, seconds: targets.length ? perTarget / rate.writeUnitsPerSecond : 0 } : {}),
  };
}

/** The regions a backfill runs from: a one-way table's source, any region of a multi-active one. */
function backfillsFrom(table: TableModel, region: string): boolean {
  return table.mode === 'one-way' ? region === table.source : true;
}

/** The report: one row per table and region of the model (in its order), every blocker and warning. */
export function preflightReport(
  model: MirrorModel,
  facts: readonly RegionFacts[],
  options: PreflightOptions = {},
): PreflightReport {
  const rows: Omit<PreflightRow, 'verdict'>[] = [];
  const out = { blockers: [] as Finding[], warnings: [] as Finding[], changes: [] as Change[] };
  for (const table of model.tables) {
    for (const region of tableRegions(table)) {
      const f = facts.find((x) => x.table === table.name && x.region === region);
      if (f) rows.push(regionRow(model, table, f, options, out));
    }
    out.warnings.push(...capacityWarnings(table, facts, options));
  }
  const { blockers, warnings, changes } = out;
  const mine = (r: Omit<PreflightRow, 'verdict'>) => (x: Finding) =>
    x.table === r.table && x.region === r.region;
  return {
    ready: blockers.length === 0,
    rows: rows.map((r) => ({
      ...r,
      verdict: blockers.some(mine(r)) ? 'blocked' : warnings.some(mine(r)) ? 'warning' : 'ready',
    })),
    blockers,
    warnings,
    changes,
    sampleReadUnits: rows.reduce((n, r) => n + (r.sample?.readUnits ?? 0), 0),
  };
}

function regionRow(
  model: MirrorModel,
  table: TableModel,
  f: RegionFacts,
  options: PreflightOptions,
  out: { blockers: Finding[]; warnings: Finding[]; changes: Change[] },
): Omit<PreflightRow, 'verdict'> {
  const where = { table: table.name, region: f.region };
  const block = (check: Check, message: string, fix: string) =>
    out.blockers.push({ ...where, check, message, fix });
  const warn = (check: Check, message: string, fix: string) =>
    out.warnings.push({ ...where, check, message, fix });
  const stack = regionStackName(model, f.region);
  const adopted = isAdoptedIn(table, f.region);
  const t = f.found;

  const intent: Intent = adopted ? 'adopt' : t && f.owner === stack ? 'deployed' : 'create';
  if (adopted && !t)
    block(
      'adopted-missing',
      `${table.name} is adopted in ${f.region} (existing), but no table of that name is there`,
      `create the table in ${f.region} first, or remove ${f.region} from existing so that the deploy creates it`,
    );
  if (!adopted && t && intent !== 'deployed')
    block(
      'already-exists',
      `a table ${table.name} already exists in ${f.region}${ownerPhrase(f.owner)}: creating it would fail with "already exists"`,
      `add ${f.region} to existing for ${table.name} to adopt it, or rename the table in the config`,
    );
  const tombstones = tombstoneTableName(table.name);
  if (f.tombstones.found && f.tombstones.owner !== stack)
    block(
      'tombstones-exist',
      `the tombstone table ${tombstones} already exists in ${f.region}${ownerPhrase(f.tombstones.owner)}, and the stack creates its own`,
      `a leftover of an earlier deploy (kept by its removal policy): delete ${tombstones} in ${f.region} once no mirror uses it`,
    );
  if (!t) return { ...where, intent, exists: false };

  const keyMatches = sameKey(t.key, table.key);
  if (!keyMatches)
    block(
      'key-schema',
      `the key of ${table.name} in ${f.region} is ${keyText(t.key)}, the config says ${keyText(table.key)}`,
      `make the config's partitionKey${t.key.sortKey || table.key.sortKey ? ' and sortKey' : ''} match the table (names and types), or mirror another table`,
    );
  if (STUCK_STATUSES.includes(t.status))
    block(
      'table-status',
      `${table.name} in ${f.region} is ${t.status}, which it does not leave by itself`,
      'restore the table (or its encryption key) to ACTIVE, or mirror another table',
    );
  else if (t.status !== 'ACTIVE')
    warn(
      'table-status',
      `${table.name} in ${f.region} is ${t.status}, not ACTIVE`,
      'wait until it is ACTIVE, then plan again',
    );
  // Where no replicator reads the stream (a one-way replica), the deploy leaves it as it is.
  if (t.stream && t.stream.viewType !== MIRROR_STREAM_VIEW && replicatorRegions(table).includes(f.region))
    block(
      'stream-view',
      `the stream of ${table.name} in ${f.region} shows ${t.stream.viewType}; the replicator needs ${MIRROR_STREAM_VIEW}`,
      `move the stream's consumers off it, disable the stream and enable it with ${MIRROR_STREAM_VIEW} (a stream's view type cannot be changed in place)`,
    );

  // The adopt custom resource (lambda/adopt) makes these changes at deploy.
  if (adopted && !t.stream && replicatorRegions(table).includes(f.region))
    out.changes.push({
      ...where,
      change: `no stream: the deploy enables one with ${MIRROR_STREAM_VIEW} (UpdateTable), and the replicator reads it`,
    });
  if (adopted && table.mode === 'one-way' && f.region !== table.source && table.readOnlyReplicas.enforced)
    out.changes.push({
      ...where,
      change:
        "a read-only replica: the deploy adds the mirror's ReadOnlyReplica statement to its resource policy, keeping the statements there",
    });
  const readers = t.stream
    ? streamReaders(table, f, block, warn)
    : { others: [], mirror: mirrorReaders(table, f.region), total: mirrorReaders(table, f.region) };
  const pointInTimeRecovery = pitrCheck(table, f, adopted, block, warn);
  const contract = versionContract(table);
  let sample: VersionSample | undefined;
  if (contract && f.sample !== undefined) {
    if (isUnread(f.sample))
      warn(
        'unread',
        `could not sample ${table.name} in ${f.region} for its version attribute: ${f.sample.unread}`,
        `check by hand that every item has a numeric ${contract}`,
      );
    else {
      sample = f.sample;
      const bad = sample.missing + sample.notNumber;
      if (bad)
        block(
          'version-contract',
          `${bad} of ${sample.items} sampled items of ${table.name} in ${f.region} have no numeric ${contract}${sample.examples.length ? ` (e.g. ${sample.examples.join(', ')})` : ''}: writers that do not follow the contract`,
          `make every writer ADD ${contract} 1, or set conflicts: last-writer-wins`,
        );
    }
  }
  const backfill = backfillsFrom(table, f.region) ? backfillEstimate(table, f.region, t, options) : undefined;
  return {
    ...where,
    intent,
    exists: true,
    keyMatches,
    billing: t.billing,
    stream: t.stream?.viewType ?? 'off',
    readers,
    ...(pointInTimeRecovery !== undefined ? { pointInTimeRecovery } : {}),
    itemCount: t.itemCount,
    sizeBytes: t.sizeBytes,
    ...(backfill ? { backfill } : {}),
    ...(sample ? { sample } : {}),
  };
}

type Report = (check: Check, message: string, fix: string) => void;

function ownerPhrase(owner: Read<string | null> | undefined): string {
  if (owner === undefined || owner === null) return '';
  if (isUnread(owner)) return ` (its owner could not be told: ${owner.unread})`;
  return ` (managed by the CloudFormation stack ${owner})`;
}

/** The stream's readers once the mirror is deployed; more than a shard serves is a blocker. */
function streamReaders(
  table: TableModel,
  f: RegionFacts,
  block: Report,
  warn: Report,
): PreflightRow['readers'] {
  const mirror = mirrorReaders(table, f.region);
  if (f.consumers === undefined) return { others: [], mirror, total: mirror };
  if (isUnread(f.consumers)) {
    const room = STREAM_READERS_PER_SHARD - mirror;
    if (mirror)
      warn(
        'unread',
        `could not list the stream readers of ${table.name} in ${f.region}: ${f.consumers.unread}`,
        `check by hand that at most ${room} other reader${room === 1 ? ' uses' : 's use'} the stream`,
      );
    return { others: [], mirror };
  }
  // A disabled mapping does not poll; the mirror's own mapping is one of the readers it brings.
  const others = f.consumers.filter((c) => !c.mirror && c.state !== 'Disabled' && c.state !== 'Deleting');
  const total = others.length + mirror;
  const names = others.map((c) => c.name);
  if (mirror && total > STREAM_READERS_PER_SHARD) {
    const brings = table.divergenceSampling ? 'its replicator and the divergence sampler' : 'its replicator';
    const excess = total - STREAM_READERS_PER_SHARD;
    const move = excess === others.length ? names.join(', ') : `${excess} of ${names.join(', ')}`;
    block(
      'stream-readers',
      `the stream of ${table.name} in ${f.region} has ${others.length} other reader${others.length === 1 ? '' : 's'} (${names.join(', ')}); the mirror adds ${mirror} (${brings}), and DynamoDB Streams serves at most ${STREAM_READERS_PER_SHARD} per shard`,
      `move ${move} off the stream (one reader can fan out to several consumers)${table.divergenceSampling && excess === 1 ? ', or turn divergenceSampling off' : ''}`,
    );
  }
  return { others: names, mirror, total };
}

/** Point-in-time recovery where the deploy does not set it (adopted tables): the export backfill reads it. */
function pitrCheck(
  table: TableModel,
  f: RegionFacts,
  adopted: boolean,
  block: Report,
  warn: Report,
): boolean | undefined {
  if (f.pitr === undefined) return undefined;
  // The stack sets point-in-time recovery on the tables it creates, as the config says.
  if (!adopted) return isUnread(f.pitr) ? undefined : f.pitr;
  const exportsHere = !!table.exportBackfill && replicatorRegions(table).includes(f.region);
  if (isUnread(f.pitr)) {
    warn(
      'unread',
      `could not read point-in-time recovery of ${table.name} in ${f.region}: ${f.pitr.unread}`,
      exportsHere
        ? 'check by hand that it is on: the export backfill needs it'
        : 'check by hand whether it is on',
    );
    return undefined;
  }
  if (!f.pitr) {
    const fix = `turn point-in-time recovery on for ${table.name} in ${f.region} (UpdateContinuousBackups)`;
    if (exportsHere)
      block(
        'point-in-time-recovery',
        `point-in-time recovery is off on ${table.name} in ${f.region}, and its export backfill exports from it`,
        fix,
      );
    else
      warn(
        'point-in-time-recovery',
        `point-in-time recovery is off on ${table.name} in ${f.region}: no restore to a point in time, and no export`,
        fix,
      );
  }
  return f.pitr;
}

/**
 * A paced backfill into a provisioned table with less write capacity than its rate throttles, and live
 * replication with it. Once per target region: the rate is the table's, whichever region it comes from.
 */
function capacityWarnings(
  table: TableModel,
  facts: readonly RegionFacts[],
  options: PreflightOptions,
): Finding[] {
  const rate = backfillEstimate(table, '', { itemCount: 0, sizeBytes: 0 }, options).rate;
  if (!rate) return [];
  const targets = table.mode === 'one-way' ? table.replicas : table.regions;
  return targets.flatMap((region): Finding[] => {
    const billing =
      facts.find((x) => x.table === table.name && x.region === region)?.found?.billing ?? table.billing;
    if (billing.mode !== 'PROVISIONED' || billing.writeCapacity >= rate.writeUnitsPerSecond) return [];
    return [
      {
        table: table.name,
        region,
        check: 'backfill-capacity',
        message: `a backfill into ${table.name} in ${region} at ${rate.writeUnitsPerSecond} write units per second (${rate.from}) exceeds the ${billing.writeCapacity} provisioned there: it throttles, and live replication with it`,
        fix: `raise the write capacity of ${table.name} in ${region} for the backfill, or lower the rate`,
      },
    ];
  });
}
