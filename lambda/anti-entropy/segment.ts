/**
 * The hash step where the data lives: one segment of a parallel Scan (or, deployed, one export file)
 * turned into entries, then into part files by partition. Eventually consistent reads, at half the read
 * units of verify's strongly consistent Scan: a copy read stale only makes its bucket differ, and every
 * key that differs is read again strongly consistent before it counts (docs/replication.md,
 * "Anti-entropy by range hashes").
 */
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inSample, keyText, type CompareTable } from '../contract';
import { withRetry } from '../core/retry';
import { OPS_RETRY } from '../ops/scan';
import { entryOf, itemSize, type Entry } from './hash';
import type { HashPlan } from './plan';
import type { ObjectStore } from './store';
import { runPaths } from './store';
import { byPartition, encodePart } from './tree';

type SdkItem = Record<string, AttributeValue>;

export interface SegmentHashing {
  readonly entries: Entry[];
  /** Items read (sampled or not). */
  readonly scanned: number;
  /** DynamoDB's size of the items read. */
  readonly itemBytes: number;
  /** Where the segment resumes; undefined when it is done. */
  readonly lastKey?: SdkItem;
  readonly pages: number;
}

export interface SegmentOptions {
  readonly client: DynamoDBClient;
  readonly table: Pick<CompareTable, 'name' | 'keyNames' | 'excludeAttributes'>;
  readonly segment: number;
  readonly totalSegments: number;
  readonly startKey?: SdkItem;
  readonly pageSize: number;
  /** Fraction (0, 1] of the keys hashed, by key hash (verify's --sample). @default 1 */
  readonly sample?: number;
  /** Stops after the page that passes this epoch ms (a function's budget). */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  readonly onPage?: (items: number) => void;
}

/** Scans one segment from `startKey`, page after page, until it ends, the deadline passes or a stop. */
export async function hashSegment(o: SegmentOptions): Promise<SegmentHashing> {
  const entries: Entry[] = [];
  let scanned = 0;
  let itemBytes = 0;
  let pages = 0;
  let startKey = o.startKey;
  do {
    // At least one page per call, so a resumed segment always moves on.
    if (o.signal?.aborted || (pages > 0 && o.deadline !== undefined && Date.now() > o.deadline)) break;
    const res = await withRetry(
      () =>
        o.client.send(
          new ScanCommand({
            TableName: o.table.name,
            Segment: o.segment,
            TotalSegments: o.totalSegments,
            ExclusiveStartKey: startKey,
            Limit: o.pageSize,
            ConsistentRead: false,
          }),
        ),
      OPS_RETRY,
      { deadline: Date.now() + 5 * 60_000 },
    );
    pages += 1;
    for (const item of res.Items ?? []) {
      scanned += 1;
      itemBytes += itemSize(item);
      if (o.sample === undefined || inSample(keyText(item, o.table.keyNames), o.sample))
        entries.push(entryOf(item, o.table));
    }
    o.onPage?.(res.Items?.length ?? 0);
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return { entries, scanned, itemBytes, pages, ...(startKey ? { lastKey: startKey } : {}) };
}

/** Writes entries as part files of run `runId`, one per partition they fall in; returns how many. */
export async function writeParts(
  store: ObjectStore,
  runId: string,
  plan: HashPlan,
  worker: string,
  entries: readonly Entry[],
): Promise<number> {
  const parts = byPartition(plan, entries);
  const written = parts.map((list, p) =>
    list.length ? store.put(runPaths.part(runId, p, worker), encodePart(list)) : null,
  );
  await Promise.all(written);
  return written.filter(Boolean).length;
}
