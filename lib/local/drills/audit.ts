import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
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
}

export interface StreamAudit {
  readonly records: number;
  /** A write applied again over a newer one: a duplicate or replay that changed an item. */
  readonly reapplied: readonly Reapplication[];
  /**
   * A write applied again where its item had been deleted since, then undone: a duplicate meeting
   * a newer tombstone (docs/replication.md, "Why an insert needs no transaction"). Harmless when the
   * final states are right; counted to show the path was taken.
   */
  readonly reinserted: number;
}

/**
 * Reads every region's stream of every table from the start and follows each item's `WRITE_ID`: a
 * write may enter an item once; entering it again after the item held another write means a
 * duplicate or replayed record overwrote something newer, with a different result than the first time.
 */
export async function auditStreams(
  streams: readonly { readonly table: TableModel; readonly region: string; readonly streamArn: string }[],
  streamsClientFor: (region: string) => DynamoDBStreamsClient,
): Promise<StreamAudit> {
  let records = 0;
  let reinserted = 0;
  const reapplied: Reapplication[] = [];
  for (const { table, region, streamArn } of streams) {
    const all = await readWholeStream(
      new StreamReader({ region, streamArn, client: streamsClientFor(region) }),
    );
    records += all.length;
    const held = new Map<string, { current: string | null; seen: Set<string> }>();
    for (const r of all) {
      const key = keyOf(table, (r.dynamodb?.Keys ?? {}) as Record<string, AttributeValue>);
      const next = (r.dynamodb?.NewImage?.[WRITE_ID] as AttributeValue | undefined)?.S ?? null;
      const state = held.get(key) ?? { current: null, seen: new Set<string>() };
      held.set(key, state);
      if (next === state.current) continue;
      if (next !== null && state.seen.has(next)) {
        if (state.current === null) reinserted++;
        else reapplied.push({ table: table.name, region, key, writeId: next, over: state.current });
      }
      if (next !== null) state.seen.add(next);
      state.current = next;
    }
  }
  return { records, reapplied, reinserted };
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
