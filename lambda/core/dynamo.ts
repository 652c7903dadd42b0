/**
 * Sending one DynamoDB request: transient errors retried within the policy and the invocation's
 * budget, conditional failures returned as values.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReplicatorSettings } from '../contract';
import { fromSdkImage, toSdkImage, type Image } from './attributes';
import { withRetry, type RetryClock } from './retry';

/** A conditional write that did not go through: which action (transactions) and what it met. */
export interface ConditionFailure {
  /** Index of the failed action in a transaction; 0 for a single write. */
  readonly index: number;
  /** The item as it was (ALL_OLD), when the request asked for it; undefined when there was none. */
  readonly item?: Image;
}

// `send` is overloaded per command in the SDK; the structural form is all these helpers need.
type Sendable = { send(command: unknown): Promise<unknown> };

/** Sends with retries. */
export async function send<T>(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  options: RetryClock,
  build: () => { readonly input: unknown },
): Promise<T> {
  return (await withRetry(() => (client as unknown as Sendable).send(build()), settings, options)) as T;
}

/** A strongly consistent read of one item (undefined: none), with retries. */
export async function readConsistent(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  options: RetryClock,
  table: string,
  key: Image,
): Promise<Image | undefined> {
  const res = await send<{ Item?: Record<string, Record<string, unknown>> }>(
    client,
    settings,
    options,
    () => new GetItemCommand({ TableName: table, Key: toSdkImage(key), ConsistentRead: true }),
  );
  return res.Item ? fromSdkImage(res.Item) : undefined;
}

/**
 * Sends a conditional write (or transaction); undefined when it went through, the failure when a
 * condition did not hold.
 */
export async function sendConditional(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  options: RetryClock,
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
