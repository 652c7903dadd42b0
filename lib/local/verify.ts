import { AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { tableRegions, type TableModel } from '../config/model';
import {
  canonical,
  compareItems,
  normalise,
  type CompareTable,
  type DivergentKey as ContractDivergentKey,
  type TableComparison,
} from '../../lambda/contract';

/**
 * The local mirror's divergence check: scans every region of every mirrored table and lists the keys
 * whose normalised items differ. The comparison itself (what is left out, how keys are classified)
 * is the contract's `compare.ts`, shared with `ddb-mirror verify`.
 */

export { canonical, normalise };

export type DivergentKey = ContractDivergentKey<Record<string, AttributeValue>>;
export type TableVerification = TableComparison<Record<string, AttributeValue>>;

export interface VerifyResult {
  readonly tables: readonly TableVerification[];
  readonly divergentKeys: number;
  readonly durationMs: number;
}

export type ItemsByRegion = Readonly<Record<string, readonly Record<string, AttributeValue>[]>>;

/** The comparison's view of a configured table: regions in reference order (source first). */
export function compareTableOf(table: TableModel): CompareTable {
  return {
    name: table.name,
    mode: table.mode,
    regions: tableRegions(table),
    keyNames: [table.key.partitionKey.name, ...(table.key.sortKey ? [table.key.sortKey.name] : [])],
    excludeAttributes: table.excludeAttributes,
  };
}

/** Pure comparison of scanned items; `tableRegions` gives the reference order (source first). */
export function compareRegions(table: TableModel, byRegion: ItemsByRegion): TableVerification {
  return compareItems(compareTableOf(table), byRegion);
}

export async function scanTable(
  client: DynamoDBClient,
  table: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const res = await client.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return items;
}

export async function verifyMirror(
  tables: readonly TableModel[],
  clientFor: (region: string) => DynamoDBClient,
): Promise<VerifyResult> {
  const started = Date.now();
  const results: TableVerification[] = [];
  for (const table of tables) {
    const byRegion: Record<string, Record<string, AttributeValue>[]> = {};
    await Promise.all(
      tableRegions(table).map(async (r) => (byRegion[r] = await scanTable(clientFor(r), table.name))),
    );
    results.push(compareRegions(table, byRegion));
  }
  return {
    tables: results,
    divergentKeys: results.reduce((n, t) => n + t.divergent.length, 0),
    durationMs: Date.now() - started,
  };
}

/** One line per divergent key, for terminals and logs. */
export function describeDivergence(d: DivergentKey): string {
  const state = (r: string) => {
    const item = d.states[r];
    return item ? canonical(item).slice(0, 160) : 'absent';
  };
  return `${d.table} ${d.key}: ${d.differing.map((r) => `${r}=${state(r)}`).join('  ')}`;
}
