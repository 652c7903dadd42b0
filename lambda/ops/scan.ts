/**
 * Reading whole tables for operations: one page of one segment of a parallel Scan (strongly
 * consistent), and keyed re-reads. Throttling and transient errors are retried with back-off
 * (the SDK retries first; this is the second line, for a long operation that must not give up on a
 * busy table).
 */
import {
  BatchGetItemCommand,
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { fromSdkImage, toSdkImage, type Image } from '../core/attributes';
import { withRetry, type RetryClock, type RetryPolicy } from '../core/retry';

export type SdkItem = Record<string, AttributeValue>;

/** SDK shape → stream shape (what intents and the order rules work on). */
export const toImage = (item: SdkItem): Image =>
  fromSdkImage(item as unknown as Record<string, Record<string, unknown>>);
/** Stream shape → SDK shape. */
export const toSdkItem = (image: Image): SdkItem => toSdkImage(image) as SdkItem;

/** Patience for one read of an operation: a few minutes of back-off on a throttled table. */
export const OPS_RETRY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 200, maxDelayMs: 10_000 };
const opsClock = (): RetryClock => ({ deadline: Date.now() + 5 * 60_000 });

export interface ScanPageRequest {
  readonly table: string;
  readonly segment: number;
  readonly totalSegments: number;
  readonly startKey?: SdkItem;
  /** Items per page (Scan `Limit`). */
  readonly pageSize: number;
}

export interface ScanPage {
  readonly items: SdkItem[];
  /** Where the next page starts; undefined at the end of the segment. */
  readonly lastKey?: SdkItem;
}

export async function scanPage(client: DynamoDBClient, r: ScanPageRequest): Promise<ScanPage> {
  const res = await withRetry(
    () =>
      client.send(
        new ScanCommand({
          TableName: r.table,
          Segment: r.segment,
          TotalSegments: r.totalSegments,
          ExclusiveStartKey: r.startKey,
          Limit: r.pageSize,
          ConsistentRead: true,
        }),
      ),
    OPS_RETRY,
    opsClock(),
  );
  return { items: res.Items ?? [], ...(res.LastEvaluatedKey ? { lastKey: res.LastEvaluatedKey } : {}) };
}

/** A strongly consistent read of one item (undefined: none). */
export async function getItem(
  client: DynamoDBClient,
  table: string,
  key: SdkItem,
): Promise<SdkItem | undefined> {
  const res = await withRetry(
    () => client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })),
    OPS_RETRY,
    opsClock(),
  );
  return res.Item;
}

/** BatchGetItem's limit per request. */
const BATCH_KEYS = 100;

/**
 * Strongly consistent reads of many keys, 100 per request, unprocessed keys retried: the items found,
 * in no particular order.
 */
export async function getItems(
  client: DynamoDBClient,
  table: string,
  keys: readonly SdkItem[],
): Promise<SdkItem[]> {
  const found: SdkItem[] = [];
  for (let i = 0; i < keys.length; i += BATCH_KEYS) {
    let pending: SdkItem[] = keys.slice(i, i + BATCH_KEYS);
    for (let round = 1; pending.length; round += 1) {
      const res = await withRetry(
        () =>
          client.send(
            new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
          ),
        OPS_RETRY,
        opsClock(),
      );
      found.push(...(res.Responses?.[table] ?? []));
      pending = (res.UnprocessedKeys?.[table]?.Keys as SdkItem[] | undefined) ?? [];
      // Unprocessed keys are DynamoDB shedding load: back off before asking again.
      if (pending.length) await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** round)));
    }
  }
  return found;
}
