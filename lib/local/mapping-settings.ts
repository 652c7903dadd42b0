/**
 * The settings of a Lambda event source mapping, read and checked once: the assembly reader parses each
 * mapping's `Properties` here, and the emulated event sources take the result. Ranges are those of the
 * Lambda API (docs/platform.md#event-source-mapping).
 */

/** The properties of an `AWS::Lambda::EventSourceMapping`, spelled as in the synthesized template. */
export interface EventSourceMappingProperties {
  /** @default 100 for streams, 10 for queues (1–10,000) */
  readonly BatchSize?: number;
  /** @default 'TRIM_HORIZON' */
  readonly StartingPosition?: string;
  /** Split a batch that makes the function fail in two and retry each half; splitting uses no retries. @default false */
  readonly BisectBatchOnFunctionError?: boolean;
  /** -1 is infinite. @default -1 (-1–10,000) */
  readonly MaximumRetryAttempts?: number;
  /** Records older than this are not delivered but go to the on-failure destination. -1 is infinite. @default -1 */
  readonly MaximumRecordAgeInSeconds?: number;
  /** `['ReportBatchItemFailures']` turns on partial batch responses. @default - whole-batch semantics */
  readonly FunctionResponseTypes?: readonly string[];
  /** Where the metadata of discarded batches goes. @default - discarded batches are only counted */
  readonly DestinationConfig?: { readonly OnFailure?: { readonly Destination?: string } };
  /** Wait up to this long to fill a batch. @default 0 (0–300) */
  readonly MaximumBatchingWindowInSeconds?: number;
  /** Concurrent batches per shard; records of one partition key stay in one, in order. @default 1 (1–10) */
  readonly ParallelizationFactor?: number;
  /** @default true */
  readonly Enabled?: boolean;
  /** Not emulated: a stream mapping that sets it is rejected rather than run with different semantics. */
  readonly FilterCriteria?: unknown;
  /** Not emulated (rejected on stream mappings). */
  readonly TumblingWindowInSeconds?: number;
}

/** A mapping's settings with every default applied. */
export interface MappingSettings {
  readonly batchSize: number;
  /** Streams only. */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 is infinite, as on AWS. */
  readonly maximumRetryAttempts: number;
  /** -1 is infinite, as on AWS. */
  readonly maximumRecordAgeInSeconds: number;
  readonly maximumBatchingWindowInSeconds: number;
  /** Streams only: batches of one shard in flight at once. */
  readonly parallelizationFactor: number;
  readonly reportBatchItemFailures: boolean;
  /** ARN from `DestinationConfig.OnFailure.Destination`. @default - no on-failure destination */
  readonly onFailureDestination?: string;
  readonly enabled: boolean;
}

export type MappingSourceKind = 'stream' | 'queue';

/**
 * Checks the properties and applies the defaults. Every out-of-range or unsupported property is named in
 * one error. Queue mappings are checked for what the SQS emulation uses (BatchSize) only.
 */
export function parseMappingProperties(
  properties: EventSourceMappingProperties | Readonly<Record<string, unknown>>,
  kind: MappingSourceKind = 'stream',
): MappingSettings {
  const p = properties as Readonly<Record<string, unknown>>;
  const errors = kind === 'stream' ? streamProblems(p) : rangeProblems(p, ['BatchSize']);
  if (errors.length) throw new Error(`Invalid event source mapping: ${errors.join('; ')}`);
  const destination = (p.DestinationConfig as EventSourceMappingProperties['DestinationConfig'])?.OnFailure
    ?.Destination;
  return {
    batchSize: (p.BatchSize as number | undefined) ?? (kind === 'stream' ? 100 : 10),
    startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: (p.MaximumRetryAttempts as number | undefined) ?? -1,
    maximumRecordAgeInSeconds: (p.MaximumRecordAgeInSeconds as number | undefined) ?? -1,
    maximumBatchingWindowInSeconds: (p.MaximumBatchingWindowInSeconds as number | undefined) ?? 0,
    parallelizationFactor: (p.ParallelizationFactor as number | undefined) ?? 1,
    reportBatchItemFailures: responseTypes(p).includes('ReportBatchItemFailures'),
    ...(destination !== undefined ? { onFailureDestination: destination } : {}),
    enabled: p.Enabled !== false,
  };
}

const RANGES = {
  BatchSize: [1, 10000],
  MaximumRetryAttempts: [-1, 10000],
  MaximumRecordAgeInSeconds: [-1, 604800],
  MaximumBatchingWindowInSeconds: [0, 300],
  ParallelizationFactor: [1, 10],
} as const;

function rangeProblems(p: Readonly<Record<string, unknown>>, names: readonly (keyof typeof RANGES)[]) {
  const errors: string[] = [];
  for (const name of names) {
    const v = p[name];
    const [min, max] = RANGES[name];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      errors.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return errors;
}

function streamProblems(p: Readonly<Record<string, unknown>>): string[] {
  const errors = rangeProblems(p, Object.keys(RANGES) as (keyof typeof RANGES)[]);
  const age = p.MaximumRecordAgeInSeconds;
  if (typeof age === 'number' && age >= 0 && age < 60)
    errors.push(`MaximumRecordAgeInSeconds must be -1 or at least 60, got ${age}`);
  if (
    p.StartingPosition !== undefined &&
    p.StartingPosition !== 'TRIM_HORIZON' &&
    p.StartingPosition !== 'LATEST'
  )
    errors.push(`StartingPosition must be TRIM_HORIZON or LATEST, got ${JSON.stringify(p.StartingPosition)}`);
  if (p.FilterCriteria !== undefined) errors.push('FilterCriteria is not emulated locally');
  if (p.TumblingWindowInSeconds !== undefined) errors.push('TumblingWindowInSeconds is not emulated locally');
  if (p.FunctionResponseTypes !== undefined && !Array.isArray(p.FunctionResponseTypes))
    errors.push(`FunctionResponseTypes must be a list, got ${JSON.stringify(p.FunctionResponseTypes)}`);
  const unknownTypes = responseTypes(p).filter((t) => t !== 'ReportBatchItemFailures');
  if (unknownTypes.length)
    errors.push(`FunctionResponseTypes has unknown values ${JSON.stringify(unknownTypes)}`);
  const destination = (p.DestinationConfig as EventSourceMappingProperties['DestinationConfig'])?.OnFailure
    ?.Destination;
  if (destination !== undefined && typeof destination !== 'string')
    errors.push(`DestinationConfig.OnFailure.Destination must be an ARN, got ${JSON.stringify(destination)}`);
  return errors;
}

function responseTypes(p: Readonly<Record<string, unknown>>): readonly unknown[] {
  return Array.isArray(p.FunctionResponseTypes) ? p.FunctionResponseTypes : [];
}
