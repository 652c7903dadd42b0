import type { TableModel } from '../config/model';

/** What `ddb-mirror start` prints around a run (bin/ddb-mirror.ts): plain text, one string per line. */

/** One line per table: how it is mirrored. */
export function describeTables(tables: readonly TableModel[]): string[] {
  return tables.map((t) =>
    t.mode === 'one-way'
      ? `${t.name}: one-way ${t.source} → ${t.replicas.join(', ')}`
      : `${t.name}: multi-active in ${t.regions.join(', ')}`,
  );
}
