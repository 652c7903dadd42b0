/**
 * Every default the constructs apply, in one place, each with the reason it was chosen.
 * Constructs read these; props override them; nothing else hard-codes a number.
 */
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { METRIC_NAMESPACE, METRIC_SERVICE, TOMBSTONE_ATTRIBUTES } from '../../lambda/contract';

/** Newest Node.js runtime aws-cdk-lib knows; cdk-nag AwsSolutions-L1 and Serverless-LambdaLatestVersion demand it. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

export const FUNCTION_DEFAULTS = {
  architecture: lambda.Architecture.ARM_64,
  memorySize: 512,
  timeout: Duration.seconds(60),
  logRetention: logs.RetentionDays.ONE_MONTH,
  /** Powertools Metrics namespace; the dashboard and the functions read it from the contract. */
  metricsNamespace: METRIC_NAMESPACE,
  /** Powertools `service`, the default metric dimension of both functions. */
  serviceName: METRIC_SERVICE,
} as const;

/**
 * How the function bundles are built (esbuild, at synth). Measured by `npm run bench` (bundle size and
 * module init):
 * - ES module builds first: they tree-shake (zod/mini and the SDK's `dist-es` shrink the bundle).
 * - The DynamoDB client, the hot path, is bundled: the version package-lock.json pins, and one minified
 *   file starts faster than the runtime's unbundled SDK (docs/platform.md#cdk-and-nag). The SQS client,
 *   used only to park a record for an unreachable target, is left to the Lambda runtime's SDK and
 *   loaded on the first park. So is the STS client, which only a peer in another account needs
 *   (lambda/core/peer-clients.ts): bundled, it would add about 40 kB to every function.
 * - Lambda hands functions their credentials in the environment: the default provider chain (SSO,
 *   STS web identity, IMDS, profiles; a fifth of the bundle) is replaced by the environment provider.
 * - The source map ships beside the bundle but is not enabled: `--enable-source-maps` parses it at every
 *   cold start (about 55 ms here). Set NODE_OPTIONS=--enable-source-maps on a function to read its
 *   stack traces against the source.
 */
export const FUNCTION_BUNDLING: nodejs.BundlingOptions = {
  minify: true,
  sourceMap: true,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/client-sqs', '@aws-sdk/client-sts'],
  esbuildArgs: {
    '--alias:@aws-sdk/credential-provider-node': './lambda/core/lambda-credentials.ts',
  },
};

/** Replicator behaviour written into `DDBM_SETTINGS`. */
export const REPLICATOR_SETTINGS_DEFAULTS = {
  // Items in flight are per table (config `replication.itemsInFlight`).
  maxAttempts: 5,
  baseDelayMs: 100,
} as const;

/**
 * DynamoDB stream event source (aws-solutions-constructs lambda-event-source-mapping-defaults).
 * Unbounded defaults block a shard for 24 h on one bad record (docs/platform.md#event-source-mapping), so every bound is explicit.
 */
export const STREAM_EVENT_SOURCE_DEFAULTS = {
  startingPosition: lambda.StartingPosition.TRIM_HORIZON,
  bisectBatchOnError: true,
  retryAttempts: 10,
  /** The stream keeps records 24 h; older ones are gone anyway. */
  maxRecordAge: Duration.days(1),
  reportBatchItemFailures: true,
  // Batch size and ParallelizationFactor are per table (config `replication`, defaults in lib/config).
} as const;

export const PARKED_EVENT_SOURCE_DEFAULTS = {
  batchSize: 10,
  reportBatchItemFailures: true,
} as const;

export const QUEUE_DEFAULTS = {
  /** Parked records must outlive any regional outage worth riding out; 14 days is the SQS maximum. */
  retentionPeriod: Duration.days(14),
  /** AWS guidance for SQS event sources: visibility timeout at least 6x the function timeout. */
  visibilityTimeoutFactor: 6,
  /**
   * Receives before a parked record moves to its DLQ. With a 6-minute visibility timeout this is about
   * 10 hours of retries; longer outages land in the DLQ (alarmed), from where a redrive resumes them.
   */
  parkingMaxReceiveCount: 100,
} as const;

export const ALARM_DEFAULTS = {
  /**
   * Lambda reads a healthy stream within about a second (4 polls/s). A sustained minute of lag means a
   * stuck shard or a failing target, hours before the 24 h retention and the 1-day record-age bound drop
   * records; five one-minute datapoints ride out throttling bursts and bisect-and-retry cycles.
   */
  iteratorAgeThreshold: Duration.minutes(1),
  iteratorAgeEvaluationPeriods: 5,
  period: Duration.minutes(1),
} as const;

/**
 * Attribute of tombstone items that carries their TTL expiry (epoch seconds). Reserved-prefixed, so it
 * can never collide with a key attribute of the table (config rejects keys starting with `_ddbm_`).
 */
export const TOMBSTONE_TTL_ATTRIBUTE = TOMBSTONE_ATTRIBUTES.expiresAt;

/** The divergence sampler's fixed behaviour (per-table sizes are config `divergenceSampling`). */
export const SAMPLER_DEFAULTS = {
  /**
   * A key that differs is read three times, ten seconds apart, and counted only if it differs each
   * time: a write being replicated (sub-second when healthy) settles between two reads.
   */
  recheckRounds: 3,
  recheckIntervalSeconds: 10,
  /** Function timeout beyond listening and re-reading: the reads themselves and reporting. */
  timeoutMargin: Duration.seconds(60),
  /**
   * A failed run is not retried by EventBridge: the next run samples again, and the function's errors
   * are alarmed.
   */
  retryAttempts: 0,
} as const;

/** The export backfill's fixed behaviour (per-table concurrency and budget are config `exportBackfill`). */
export const EXPORT_BACKFILL_DEFAULTS = {
  /**
   * Lambda's longest timeout: an invocation applies as much of its file as it can and returns the line
   * to resume from a minute before the end.
   */
  functionTimeout: Duration.minutes(15),
  /** Items of one file applied at once (the write budget paces them). */
  itemsInFlight: 16,
  /** An export takes minutes to hours, mostly in a fixed start-up (docs/platform.md#export-backfill). */
  exportPollInterval: Duration.minutes(2),
  /** Attempts of one invocation that fails or finds a target unavailable, 30 s apart and doubling. */
  invokeAttempts: 6,
  /** A whole backfill of the largest tables; Standard executions may last up to a year. */
  executionTimeout: Duration.days(7),
  /** Exports are copies of the table: kept long enough to inspect a failed run, then deleted. */
  exportRetention: Duration.days(7),
} as const;

/** Verify and repair at any size (`lib/constructs/verify-deployed.ts`, config `antiEntropy`). */
export const ANTI_ENTROPY_DEFAULTS = {
  /** Lambda's longest timeout: a segment is hashed until a minute before it, then resumed. */
  functionTimeout: Duration.minutes(15),
  /** An export takes minutes to hours (docs/platform.md#export-backfill). */
  exportPollInterval: Duration.minutes(2),
  /** Attempts of an invocation Lambda itself failed, 30 s apart and doubling. */
  invokeAttempts: 6,
  /** Hashing every region and comparing; Standard executions may last up to a year. */
  executionTimeout: Duration.days(2),
  /** Run files: hashes and keys, kept to inspect a run, then deleted with the exports. */
  retention: Duration.days(7),
  /** Verify's re-read rule (`DEFAULT_RECHECK` in lambda/ops/verify.ts): three reads a second apart. */
  recheckRounds: 3,
  recheckIntervalSeconds: 1,
} as const;
