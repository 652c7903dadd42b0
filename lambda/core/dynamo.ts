/**
 * Sending one DynamoDB request: transient errors retried within the policy and the invocation's
 * budget, conditional failures returned as values, consumed capacity reported to an optional meter.
 */
import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReplicatorSettings } from '../contract';
import { fromSdkImage, type Image } from './attributes';
import { withRetry, type RetryClock } from './retry';

/** Capacity units as DynamoDB bills them (docs/platform.md#writes-and-billing). */
export interface Consumed {
  readonly table: string;
  readonly read: number;
  readonly write: number;
}

export interface CapacityMeter {
  record(consumed: Consumed): void;
}

export interface SendOptions extends RetryClock {
  readonly meter?: CapacityMeter;
}

/** A conditional write that did not go through: which action (transactions) and what it met. */
export interface ConditionFailure {
  /** Index of the failed action in a transaction; 0 for a single write. */
  readonly index: number;
  /** The item as it was (ALL_OLD), when the request asked for it; undefined when there was none. */
  readonly item?: Image;
}

// `send` is overloaded per command in the SDK; the structural form is all these helpers need.
type Sendable = { send(command: unknown): Promise<unknown> };

/** Sends with retries; reports consumed capacity. */
export async function send<T>(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  options: SendOptions,
  build: () => { readonly input: unknown },
  kind: 'read' | 'write' = 'write',
): Promise<T & { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }> {
  const output = (await withRetry(
    () => (client as unknown as Sendable).send(build()),
    settings,
    options,
  )) as T & { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
  meter(options, kind, output.ConsumedCapacity);
  return output;
}

/**
 * Sends a conditional write (or transaction); undefined when it went through, the failure when a
 * condition did not hold. A failed condition is still billed, but the response reports no units:
 * it is metered at the documented rate, one write unit per single write and two per transaction
 * action (for items up to 1 KB).
 */
export async function sendConditional(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  options: SendOptions,
  kind: 'write' | 'transaction',
  build: () => { readonly input: unknown },
  onSuccess?: (output: unknown) => void,
): Promise<ConditionFailure | undefined> {
  try {
    const output = await send<unknown>(client, settings, options, build);
    onSuccess?.(output);
    return undefined;
  } catch (e) {
    const failure = conditionFailure(e);
    if (!failure) throw e;
    const input = build().input as { TableName?: string; TransactItems?: unknown[] };
    const actions = input.TransactItems?.length ?? 1;
    options.meter?.record({
      table: input.TableName ?? tableOfTransaction(input.TransactItems) ?? '',
      read: 0,
      write: kind === 'transaction' ? 2 * actions : 1,
    });
    return failure;
  }
}

function conditionFailure(e: unknown): ConditionFailure | undefined {
  const err = e as {
    name?: string;
    Item?: Record<string, unknown>;
    CancellationReasons?: { Code?: string; Item?: Record<string, unknown> }[];
  };
  const image = (raw?: Record<string, unknown>) =>
    raw ? { item: fromSdkImage(raw as Record<string, Record<string, unknown>>) } : {};
  if (err.name === 'ConditionalCheckFailedException') return { index: 0, ...image(err.Item) };
  if (err.name !== 'TransactionCanceledException') return undefined;
  const reasons = err.CancellationReasons ?? [];
  const index = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
  // Only a transaction cancelled by conditions alone is a verdict; conflicts and throttling are errors.
  if (index < 0 || !reasons.every((r) => !r.Code || r.Code === 'None' || r.Code === 'ConditionalCheckFailed'))
    return undefined;
  return { index, ...image(reasons[index].Item) };
}

function meter(
  options: SendOptions,
  kind: 'read' | 'write',
  consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
): void {
  if (!options.meter || !consumed) return;
  // A transaction reports one entry per table it touched.
  for (const c of Array.isArray(consumed) ? consumed : [consumed]) {
    const units = (kind === 'read' ? c.ReadCapacityUnits : c.WriteCapacityUnits) ?? c.CapacityUnits ?? 0;
    options.meter.record({
      table: c.TableName ?? '',
      read: kind === 'read' ? units : 0,
      write: kind === 'write' ? units : 0,
    });
  }
}

function tableOfTransaction(items: unknown[] | undefined): string | undefined {
  const first = items?.[0] as Record<string, { TableName?: string }> | undefined;
  return first ? Object.values(first)[0]?.TableName : undefined;
}
