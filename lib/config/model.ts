/**
 * The validated, typed model of `mirror.config.yaml`.
 *
 * Everything downstream (stacks, constructs, the local mirror) reads this model, never the raw file.
 * Defaults are already applied here: a consumer never has to know a default.
 */

export type KeyType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export interface KeySchema {
  readonly partitionKey: KeyAttribute;
  /** @default - no sort key */
  readonly sortKey?: KeyAttribute;
}

/** How users reach a region's application: a CNAME target or a Route 53 alias target. */
export type Endpoint =
  | { readonly kind: 'cname'; readonly hostname: string }
  | {
      readonly kind: 'alias';
      /** DNS name of the alias target, e.g. an ALB's or API Gateway's regional domain name. */
      readonly dnsName: string;
      /** Hosted zone id of the alias target (the load balancer's canonical zone, not yours). */
      readonly hostedZoneId: string;
    };

export interface HealthCheck {
  /** @default 'HTTPS' */
  readonly protocol: 'HTTP' | 'HTTPS' | 'TCP';
  /** @default 443 for HTTPS, 80 for HTTP; required for TCP */
  readonly port: number;
  /** @default '/health' (ignored for TCP) */
  readonly path: string;
  /** @default 30 */
  readonly intervalSeconds: 10 | 30;
  /** @default 3 */
  readonly failureThreshold: number;
}

export interface RegionModel {
  /** AWS region name, e.g. `us-east-1`. */
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly healthCheck: HealthCheck;
  /**
   * The account this region's stack deploys to. When set on any region, every region has one (its own
   * or the mirror's `account`), and peers in different accounts reach each other through roles.
   * @default - the mirror's `account`
   */
  readonly account?: string;
}

export interface TtlModel {
  readonly attribute: string;
  /** Whether a TTL expiry in one region is replicated as a delete to the peers. @default false */
  readonly replicateDeletes: boolean;
}

interface TableCommon {
  readonly name: string;
  readonly key: KeySchema;
  /** @default - no TTL */
  readonly ttl?: TtlModel;
  /** Attributes never copied to peers (stripped before writing). @default [] */
  readonly excludeAttributes: readonly string[];
  /** @default 'PAY_PER_REQUEST' */
  readonly billing:
    | { readonly mode: 'PAY_PER_REQUEST' }
    | { readonly mode: 'PROVISIONED'; readonly readCapacity: number; readonly writeCapacity: number };
  /** @default true */
  readonly pointInTimeRecovery: boolean;
  /** @default true */
  readonly deletionProtection: boolean;
  /** @default 'RETAIN' */
  readonly removalPolicy: 'RETAIN' | 'DESTROY';
  /**
   * Tombstones (kept outside the table) expire after this many days: more than a parked write can wait
   * on SQS (`MIN_TOMBSTONE_TTL_DAYS`). @default 30
   */
  readonly tombstoneTtlDays: number;
  /** How the stream is read and replicated. */
  readonly replication: ReplicationTuningModel;
  /** Continuous divergence checks. @default - none */
  readonly divergenceSampling?: DivergenceSamplingModel;
  /** Backfill from a table export on Step Functions (`backfill --deployed`). @default - none */
  readonly exportBackfill?: ExportBackfillModel;
  /** Verify and repair by range hashes on Step Functions (`verify --deployed`). @default - none */
  readonly antiEntropy?: AntiEntropyModel;
  /**
   * Regions where the table already exists (adopted): the region's stack references it by name and never
   * creates, replaces or deletes it; a stream is enabled on it when it has none. The table's other
   * settings (billing, point-in-time recovery, deletion protection, removal policy, TTL) apply only where
   * the stack creates the table. Every entry is one of the table's regions. @default [] (created everywhere)
   */
  readonly existing: readonly string[];
}

export interface AntiEntropyModel {
  /** Scan segments or export files hashed at once per region, and partitions compared at once. @default 10 */
  readonly maxConcurrency: number;
}

export interface ExportBackfillModel {
  /** Export files applied at once. @default 10 */
  readonly maxConcurrency: number;
  /** Write units per second at each target for the whole backfill, shared by the files at once. @default 1000 */
  readonly writeUnitsPerSecond: number;
}

export interface DivergenceSamplingModel {
  /** Minutes between two runs. @default 15 */
  readonly everyMinutes: number;
  /** Keys compared per run and region. @default 50 */
  readonly sampleSize: number;
  /** Seconds a run watches the stream for live writes (up to half the sample). @default 20 */
  readonly listenSeconds: number;
}

export interface ReplicationTuningModel {
  /**
   * Batches of one stream shard in flight at once (Lambda ParallelizationFactor); records of one key
   * stay in one batch stream, in order. @default 4
   */
  readonly parallelizationFactor: number;
  /** Stream records per invocation. @default 100 */
  readonly batchSize: number;
  /** Items of one batch replicated at once (one item's records always in order). @default 25 */
  readonly itemsInFlight: number;
}

export interface OneWayTableModel extends TableCommon {
  readonly mode: 'one-way';
  readonly source: string;
  readonly replicas: readonly string[];
  /**
   * Replicas refuse writes from every principal but the source's replicator roles and `writers`
   * (a resource policy on each replica table). @default { enforced: true, writers: [] }
   */
  readonly readOnlyReplicas: { readonly enforced: boolean; readonly writers: readonly string[] };
}

export interface MultiActiveTableModel extends TableCommon {
  readonly mode: 'multi-active';
  readonly regions: readonly string[];
  /**
   * How concurrent writes in two regions resolve: `version` (every writer ADDs 1 to `versionAttribute`)
   * or `last-writer-wins` (no writer contract; a hybrid logical clock orders writes). @default 'version'
   */
  readonly conflicts: ConflictResolution;
  /** Meaningful only when `conflicts` is `version`. @default 'version' */
  readonly versionAttribute: string;
}

/** How a multi-active table orders concurrent writes of one item in different regions. */
export type ConflictResolution = 'version' | 'last-writer-wins';

export type TableModel = OneWayTableModel | MultiActiveTableModel;

export interface RoutingModel {
  readonly hostedZoneId: string;
  readonly zoneName: string;
  /** Fully qualified record name, e.g. `app.example.com`. */
  readonly recordName: string;
  /** @default 60 (ignored for alias records) */
  readonly ttlSeconds: number;
  readonly policy:
    | { readonly type: 'latency' }
    | {
        readonly type: 'geolocation';
        /** Region name → locations it serves. */
        readonly locations: Readonly<Record<string, readonly GeoLocationModel[]>>;
        /** Region that answers for locations nobody claimed. */
        readonly defaultRegion: string;
      };
}

/** A Route 53 geolocation: a continent code (AF, AN, AS, EU, NA, OC, SA) or an ISO country code. */
export type GeoLocationModel =
  | { readonly continent: 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA' }
  | { readonly country: string; readonly subdivision?: string };

export interface MirrorModel {
  /** @default 'DdbMirror' */
  readonly stackPrefix: string;
  /** @default - `CDK_DEFAULT_ACCOUNT`, else environment-agnostic account */
  readonly account?: string;
  readonly regions: readonly RegionModel[];
  readonly tables: readonly TableModel[];
  /** @default - no routing stack */
  readonly routing?: RoutingModel;
  /** Who every alarm notifies. @default - nobody: alarms have no actions */
  readonly notifications?: NotificationsModel;
}

/** Alarm notifications: a topic the mirror creates per region (email subscriptions), or an existing one. */
export type NotificationsModel =
  | { readonly kind: 'email'; readonly addresses: readonly string[] }
  /** `${region}` in the ARN stands for each region: an alarm can only notify a topic in its own region. */
  | { readonly kind: 'topic'; readonly arnTemplate: string };

/** The topic ARN for `region` from a notifications template. */
export function topicArnIn(template: string, region: string): string {
  return template.split('${region}').join(region);
}

/** The account `region` deploys to: its own, else the mirror's; undefined when neither is named. */
export function regionAccount(model: MirrorModel, region: string): string | undefined {
  return model.regions.find((r) => r.name === region)?.account ?? model.account;
}

/**
 * Region → account of every region whose account is known: what the constructs read to tell a peer in
 * another account (reached through a role there) from one in their own.
 */
export function regionAccounts(model: MirrorModel): Readonly<Record<string, string>> {
  return Object.fromEntries(
    model.regions.flatMap((r) => {
      const account = regionAccount(model, r.name);
      return account === undefined ? [] : [[r.name, account]];
    }),
  );
}

/** Regions a table lives in, source first for one-way tables. */
export function tableRegions(table: TableModel): readonly string[] {
  return table.mode === 'one-way' ? [table.source, ...table.replicas] : table.regions;
}

/** Whether the table already exists in `region` (adopted there, not created by the stack). */
export function isAdoptedIn(table: TableModel, region: string): boolean {
  return table.existing.includes(region);
}

/** Regions in which the table runs a replicator (one-way: the source only; multi-active: every region). */
export function replicatorRegions(table: TableModel): readonly string[] {
  return table.mode === 'one-way' ? [table.source] : table.regions;
}
