import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { BACKFILL_ORD, RESERVED } from '../../../lambda/contract';
import { tableRegions, type TableModel } from '../../config/model';
import { StreamReader } from '../stream-reader';
import { canonical, scanTable } from '../verify';
import { WRITE_ID } from '../workload';
import type { FinalStates } from './ledger';

/** What a drill reads back once the mirror has drained: every region's items, and every stream. */

function keyOf(table: TableModel, item: Record<string, AttributeValue>): string {
  const names = [table.key.partitionKey.name, ...(table.key.sortKey ? [table.key.sortKey.name] : [])];
  return canonical(Object.fromEntries(names.map((k) => [k, item[k]])));
}

/** Every region's items of every table, as canonical key → `WRITE_ID` ('' when the item has none). */
export async function readFinalStates(
  tables: readonly TableModel[],
  clientFor: (region: string) => DynamoDBClient,
): Promise<FinalStates> {
  const out = new Map<string, Map<string, Map<string, string>>>();
  for (const table of tables) {
    const byRegion = new Map<string, Map<string, string>>();
    out.set(table.name, byRegion);
    for (const region of tableRegions(table)) {
      const items = await scanTable(clientFor(region), table.name);
      byRegion.set(region, new Map(items.map((i) => [keyOf(table, i), i[WRITE_ID]?.S ?? ''])));
    }
  }
  return out;
}

/** A write that came back over a different one it had already given way to (must never happen). */
export interface Reapplication {
  readonly table: string;
  readonly region: string;
  readonly key: string;
  readonly writeId: string;
  /** The write it replaced the second time. */
  readonly over: string;
  /** The key's records in that region's stream, in order, so a reader can judge. */
  readonly history: readonly StreamStep[];
}

/** One record of a key's stream history: what the item held after it, and its order attributes. */
export interface StreamStep {
  readonly event: string;
  readonly writeId: string | null;
  readonly version?: string;
  readonly ord?: string;
  readonly stampedVersion?: string;
  readonly deferred?: string;
}

const optional = (name: string, value: string | undefined) => (value === undefined ? {} : { [name]: value });

function step(r: DynamoDBRecord, table: TableModel): StreamStep {
  const image = (r.dynamodb?.NewImage ?? {}) as Record<string, AttributeValue>;
  const version = table.mode === 'multi-active' ? image[table.versionAttribute]?.N : undefined;
  return {
    event: r.eventName ?? '?',
    writeId: image[WRITE_ID]?.S ?? null,
    ...(version !== undefined ? { version } : {}),
    ...optional('ord', image[RESERVED.order]?.S),
    ...optional('stampedVersion', image[RESERVED.stampedVersion]?.N),
  };
}

export interface StreamAudit {
  readonly records: number;
  /** A write applied again over a newer one: a duplicate or replay that changed an item. */
  readonly reapplied: readonly Reapplication[];
  /**
   * Writes that entered an item again after it had been deleted in that region: a duplicate meeting
   * a newer tombstone (undone at once, docs/replication.md "Why an insert needs no transaction"), or
   * stale writes landing in the gap between an application's delete and its region's tombstone, which
   * the tombstone's look removes or a newer write replaces. The item shows old data meanwhile. Not a
   * failure by itself: the final-state check fails on one that stays.
   */
  readonly reinserted: number;
  /**
   * Last writer wins: a local save that a peer's earlier-ordered save replaced before it was stamped,
   * written back by its own region (docs/replication.md, "Last writer wins"): the item steps back for a
   * moment, and every state still orders after the one before it. Counted, not a failure.
   */
  readonly writtenBack: number;
  /** Every key's records, by `historyKey(table, region, key)`: what a diverged key is explained with. */
  readonly histories: ReadonlyMap<string, readonly StreamStep[]>;
}

export const historyKey = (table: string, region: string, key: string) =>
  `${table}\u0000${region}\u0000${key}`;

/**
 * Reads every region's stream of every table from the start and follows each item's `WRITE_ID`: a
 * write may enter an item once; entering it again after the item held another write means a
 * duplicate or replayed record overwrote something newer, with a different result than the first time.
 */
export async function auditStreams(
  streams: readonly { readonly table: TableModel; readonly region: string; readonly streamArn: string }[],
  streamsClientFor: (region: string) => DynamoDBStreamsClient,
): Promise<StreamAudit> {
  const audits: StreamAudit[] = [];
  for (const { table, region, streamArn } of streams) {
    const all = await readWholeStream(
      new StreamReader({ region, streamArn, client: streamsClientFor(region) }),
    );
    audits.push(auditRecords(table, region, all));
  }
  return {
    records: audits.reduce((n, a) => n + a.records, 0),
    reapplied: audits.flatMap((a) => a.reapplied),
    writtenBack: audits.reduce((n, a) => n + a.writtenBack, 0),
    reinserted: audits.reduce((n, a) => n + a.reinserted, 0),
    histories: new Map(audits.flatMap((a) => [...a.histories])),
  };
}

/** The audit of one region's stream of one table, records in stream order (pure). */
export function auditRecords(table: TableModel, region: string, all: readonly DynamoDBRecord[]): StreamAudit {
  let reinserted = 0;
  let writtenBack = 0;
  const lww = table.mode === 'multi-active' && table.conflicts === 'last-writer-wins';
  const reapplied: Reapplication[] = [];
  const held = new Map<string, KeyState>();
  for (const r of all) {
    const key = keyOf(table, (r.dynamodb?.Keys ?? {}) as Record<string, AttributeValue>);
    const next = (r.dynamodb?.NewImage?.[WRITE_ID] as AttributeValue | undefined)?.S ?? null;
    const state = held.get(key) ?? { current: null, seen: new Set<string>(), steps: [] };
    held.set(key, state);
    state.steps.push(step(r, table));
    if (next === state.current) continue;
    if (next === null) state.afterDelete = true;
    else if (state.seen.has(next)) {
      // After a delete here, stale writes can land until this region's tombstone is written (the
      // gap, docs/replication.md): counted, and left to the final-state check, which fails on one
      // that stays. Over a live item, a write entering again is a duplicate that won: reported.
      const steps = state.steps;
      const [before, now] = [steps[steps.length - 2]?.ord, steps[steps.length - 1].ord];
      if (state.afterDelete) reinserted++;
      else if (lww && before !== undefined && now !== undefined && now > before) writtenBack++;
      else
        reapplied.push({
          table: table.name,
          region,
          key,
          writeId: next,
          over: state.current!,
          history: state.steps,
        });
    }
    // A one-way backfill's copy carries the lowest order key, so an older live record still in
    // flight replaces it and the live copy of the same write comes after: not a re-entry.
    if (next !== null && state.steps[state.steps.length - 1].ord !== BACKFILL_ORD) state.seen.add(next);
    state.current = next;
  }
  const histories = new Map(
    [...held].map(([key, state]) => [historyKey(table.name, region, key), state.steps]),
  );
  return { records: all.length, reapplied, reinserted, writtenBack, histories };
}

interface KeyState {
  /** The write the item holds (null: absent). */
  current: string | null;
  seen: Set<string>;
  steps: StreamStep[];
  /** The item was deleted in this stream before: from here on a re-entry may be the delete gap's. */
  afterDelete?: boolean;
}

/** Polls until two polls in a row bring nothing. */
async function readWholeStream(reader: StreamReader): Promise<DynamoDBRecord[]> {
  const all: DynamoDBRecord[] = [];
  for (let empty = 0; empty < 2;) {
    const got = await reader.pollRecords();
    all.push(...got);
    empty = got.length ? 0 : empty + 1;
  }
  return all;
}
