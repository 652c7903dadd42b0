/**
 * The settings a construct writes into each function's environment (`DDBM_SETTINGS`) and the
 * functions read at cold start. One zod schema validates both ends: the construct at synth time (so a
 * bad value fails `cdk synth` naming the construct, not a Lambda cold start) and the function at start.
 *
 * `zod/mini`: the functional build of zod tree-shakes to a few kB in the bundles.
 */
import * as z from 'zod/mini';

export const SETTINGS_ENV = 'DDBM_SETTINGS';

const text = z.string('must be a non-empty string').check(z.minLength(1, 'must be a non-empty string'));
const integer = (min: number) =>
  z.number('must be a number').check(z.int('must be an integer'), z.gte(min, `must be at least ${min}`));

/**
 * An IAM role in a peer's account: what a function assumes to reach a copy in another account. Any
 * partition without a colon: at synth it is still CDK's partition token.
 */
const roleArn = z
  .string('must be an IAM role ARN')
  .check(z.regex(/^arn:[^:]+:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'must be an IAM role ARN'));

const peer = z.object({
  region: text,
  /** SQS queue (in the replicator's own region) where records for this peer are parked. */
  parkingQueueUrl: text,
  /**
   * The peer is in another account: its writer role, assumed for every call to its tables
   * (README, "Cross-account peers"). Absent: the function's own role reaches the peer.
   */
  roleArn: z.optional(roleArn),
});

const common = {
  /** Table name, the same in every region. */
  table: text,
  /** Tombstone table name, the same in every region. */
  tombstoneTable: text,
  /** The region the function runs in (the origin of the changes it reads). */
  region: text,
  partitionKey: text,
  sortKey: z.optional(text),
  peers: z.readonly(z.array(peer, 'must be an array')),
  tombstoneTtlSeconds: integer(1),
  ttl: z.optional(z.object({ attribute: text, replicateDeletes: z.boolean('must be true or false') })),
  /** Attributes never copied to peers. */
  excludeAttributes: z.readonly(z.array(text, 'must be an array')),
  /** Items of one batch processed in parallel (records of one item always in order). */
  maxConcurrency: integer(1),
  /** Attempts per record per target before the record is parked. */
  maxAttempts: integer(1),
  /** First back-off delay; doubles per attempt, with full jitter. */
  baseDelayMs: integer(0),
};

export const settingsSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('one-way'), ...common }),
  z.object({
    mode: z.literal('multi-active'),
    ...common,
    /** The application's version attribute (docs/replication.md, "The application's write contract"). */
    versionAttribute: text,
    /**
     * How concurrent writes resolve. `last-writer-wins`: no writer contract; the origin's replicator
     * orders every save by a hybrid logical clock (docs/replication.md, "Last writer wins"), kept in
     * `_ddbm_ver`, which is then the version attribute. @default 'version'
     */
    conflicts: z.optional(z.enum(['version', 'last-writer-wins'])),
  }),
]);

export type ReplicatorSettings = Readonly<z.infer<typeof settingsSchema>>;
export type OneWaySettings = Extract<ReplicatorSettings, { mode: 'one-way' }>;
export type MultiActiveSettings = Extract<ReplicatorSettings, { mode: 'multi-active' }>;
export type PeerSettings = Readonly<z.infer<typeof peer>>;

/** Every problem with `value` as settings, each naming the field and the value found; [] if none. */
export function settingsProblems(value: unknown): string[] {
  return problemsOf(settingsSchema, value, "must be 'one-way' or 'multi-active'");
}

function problemsOf(schema: z.ZodMiniType, value: unknown, unionMessage: string): string[] {
  const result = z.safeParse(schema, value);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const at = issue.path.map(String).join('.');
    const found = issue.path.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      value,
    );
    const message =
      issue.code === 'invalid_union' ? unionMessage : at === '' ? 'must be an object' : issue.message;
    return `${at || 'settings'} ${message}, got ${JSON.stringify(found)}`;
  });
}

export function encodeSettings(settings: ReplicatorSettings): string {
  return JSON.stringify(settings);
}

/** Reads and checks the settings; throws one error naming every missing or malformed field. */
export function decodeSettings(raw: string | undefined): ReplicatorSettings {
  return z.parse(settingsSchema, parseChecked(raw, settingsProblems));
}

function parseChecked(raw: string | undefined, problemsIn: (value: unknown) => string[]): unknown {
  if (!raw) throw new Error(`${SETTINGS_ENV} is not set`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${SETTINGS_ENV} is not valid JSON: ${(e as Error).message}`);
  }
  const problems = problemsIn(parsed);
  if (problems.length) throw new Error(`${SETTINGS_ENV} is invalid: ${problems.join('; ')}`);
  return parsed;
}

/**
 * The divergence sampler's settings (`lambda/sampler`), in the same variable: which table, where its
 * copies live, and how much to sample per run (docs/replication.md, "Continuous divergence sampling").
 */
export const samplerSettingsSchema = z.object({
  /** Tells these settings from a replicator's in the same variable (the local mirror reads both). */
  kind: z.literal('sampler', "must be 'sampler'"),
  table: text,
  mode: z.enum(['one-way', 'multi-active'], "must be 'one-way' or 'multi-active'"),
  /** The region the sampler runs in: it watches this region's stream and compares with the others. */
  region: text,
  /** Every region of the table, the one-way source first (the comparison's reference). */
  regions: z.readonly(
    z.array(text, 'must be an array').check(z.minLength(2, 'must name at least 2 regions')),
  ),
  /** Partition key name, then the sort key name if any. */
  keyNames: z.readonly(
    z.array(text, 'must be an array').check(z.minLength(1, 'must name the key attributes')),
  ),
  excludeAttributes: z.readonly(z.array(text, 'must be an array')),
  /** Keys compared per run: up to half from the stream's live writes, the rest from a random segment. */
  sampleSize: integer(1),
  /** How long a run watches the stream for live writes. */
  listenSeconds: integer(0),
  /** Reads of a key that differs, the first right away; only a key that differs on each is counted. */
  recheckRounds: integer(1),
  /** Pause between two reads of a key that differs (longer than the mirror's replication lag). */
  recheckIntervalSeconds: integer(0),
  /**
   * The reader role to assume in each region of another account; absent when there is none. (A list,
   * not a record: zod/mini's record costs the bundles about 3 kB.)
   */
  peerRoles: z.optional(z.readonly(z.array(z.object({ region: text, roleArn })))),
});

export type SamplerSettings = Readonly<z.infer<typeof samplerSettingsSchema>>;

/** Every problem with `value` as sampler settings, each naming the field and the value found. */
export function samplerSettingsProblems(value: unknown): string[] {
  return problemsOf(samplerSettingsSchema, value, 'is invalid');
}

export function encodeSamplerSettings(settings: SamplerSettings): string {
  return JSON.stringify(settings);
}

export function decodeSamplerSettings(raw: string | undefined): SamplerSettings {
  return z.parse(samplerSettingsSchema, parseChecked(raw, samplerSettingsProblems));
}

/** What one sampler run returns (the local mirror prints it; in AWS it is the invocation's result). */
export interface SampleSummary {
  readonly table: string;
  readonly region: string;
  /** Keys taken from the stream's live writes. */
  readonly live: number;
  /** Keys taken from a random segment of the table. */
  readonly scanned: number;
  /** Distinct keys compared across every region. */
  readonly compared: number;
  /** Keys whose copies differed on every read. */
  readonly divergent: number;
}

/**
 * What the export backfill adds to the exported region's replicator settings (`lambda/export-backfill`):
 * where the export lands and the write budget of one invocation. The targets are the settings' peers.
 */
const exportBackfillPart = z.object(
  {
    /** The bucket the state machine exports the table to. */
    bucket: text,
    /** Write units per second one invocation may use at each target (the table's budget / concurrency). */
    writeUnitsPerSecond: integer(1),
    /** Items of one file applied at once. */
    itemsInFlight: integer(1),
  },
  'must be an object',
);

/**
 * The export backfill's settings: the exported region's replicator settings (so items go through the
 * same order rules and guards as the replicator's), plus {@link exportBackfillPart} under `exportBackfill`.
 */
export const exportBackfillSettingsSchema = z.intersection(
  settingsSchema,
  z.object({ exportBackfill: exportBackfillPart }),
);

export type ExportBackfillSettings = Readonly<z.infer<typeof exportBackfillSettingsSchema>>;

/** Every problem with `value` as export backfill settings, each naming the field and the value found. */
export function exportBackfillSettingsProblems(value: unknown): string[] {
  return problemsOf(exportBackfillSettingsSchema, value, "must be 'one-way' or 'multi-active'");
}

export function encodeExportBackfillSettings(settings: ExportBackfillSettings): string {
  return JSON.stringify(settings);
}

export function decodeExportBackfillSettings(raw: string | undefined): ExportBackfillSettings {
  return z.parse(exportBackfillSettingsSchema, parseChecked(raw, exportBackfillSettingsProblems));
}

/** Multi-active without a writer contract: the replicator orders every save itself. */
export function lastWriterWins(settings: ReplicatorSettings): boolean {
  return settings.mode === 'multi-active' && settings.conflicts === 'last-writer-wins';
}
