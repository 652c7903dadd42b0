import { tableRegions, type TableModel } from '../../config/model';
import { canonical } from '../verify';
import type { OperationOutcome, PlannedOp } from '../workload';
import { RegionUnreachableError } from './faults';

/**
 * The workload's record of its writes, which "lost" is measured against.
 *
 * Definition. A key is **lost** when, after every stream and parking queue has drained, some region of
 * its table holds a state of it that is not a *candidate*: for each region that wrote the key, its last
 * acknowledged write there (a save: the item carrying that write's `WRITE_ID`; a delete: no item), plus
 * any write there whose request overlapped that last one in time. Within one region DynamoDB applies an
 * item's writes one after another, so an earlier acknowledged write of the same region can only be the
 * final state if something went wrong (a stale or duplicate record won). Writes made at about the same
 * time in different regions are resolved by the documented conflict rules (docs/replication.md), which
 * pick one of the regions' last writes: every one of those is a candidate. A one-way table is written in
 * its source only, so its single candidate is exactly the last acknowledged write.
 *
 * So an older write that came back, a save missing from a region, and a deleted item that reappeared
 * are lost; a conflict lost by the rules is not. A write whose outcome the workload does not know (the
 * request failed in a way that might still have applied it) is a candidate too; a write refused before
 * it was sent (a region down in a drill) is not a write at all.
 */

/** One workload operation, as the ledger keeps it. */
export interface Entry {
  readonly region: string;
  readonly writeId: string;
  /** The state it leaves: its `WRITE_ID`, or null for a delete. */
  readonly state: string | null;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly acknowledged: boolean;
}

export interface LostKey {
  readonly table: string;
  readonly key: string;
  readonly region: string;
  /** The `WRITE_ID` found, or null when the item is absent. */
  readonly found: string | null;
  readonly candidates: readonly (string | null)[];
  /** Every write the workload made of the key, in the order they started, so a reader can judge. */
  readonly writes: readonly Entry[];
}

export interface LedgerVerdict {
  /** Keys the workload wrote (and that were checked in every region of their table). */
  readonly keysChecked: number;
  /** Distinct table keys lost in at least one region. */
  readonly lostKeys: number;
  readonly lost: readonly LostKey[];
  /** Items present in a region that the workload never wrote (the drill's own poison is listed apart). */
  readonly unexpected: readonly { readonly table: string; readonly key: string; readonly region: string }[];
}

/** Final states: table → region → canonical key → its `WRITE_ID` (or '' when the item has none). */
export type FinalStates = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>;

export class WriteLedger {
  private readonly entries = new Map<string, Map<string, Entry[]>>();
  acknowledged = 0;
  refused = 0;
  unknown = 0;

  record(op: PlannedOp, outcome: OperationOutcome): void {
    if (!outcome.acknowledged && outcome.error instanceof RegionUnreachableError) {
      this.refused++;
      return;
    }
    if (outcome.acknowledged) this.acknowledged++;
    else this.unknown++;
    const byKey = this.entries.get(op.table) ?? new Map<string, Entry[]>();
    this.entries.set(op.table, byKey);
    const key = canonical(op.key);
    const list = byKey.get(key) ?? [];
    byKey.set(key, list);
    list.push({
      region: op.region,
      writeId: op.writeId,
      state: op.kind === 'delete' ? null : op.writeId,
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      acknowledged: outcome.acknowledged,
    });
  }

  /** Every write the workload made of the key, in the order they started. */
  writesOf(table: string, key: string): readonly Entry[] {
    return [...(this.entries.get(table)?.get(key) ?? [])].sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The states a key may legitimately end in (see the definition above). */
  candidates(table: string, key: string): Set<string | null> {
    const list = this.entries.get(table)?.get(key) ?? [];
    const out = new Set<string | null>();
    const acked = list.filter((e) => e.acknowledged);
    if (!acked.length) out.add(null);
    for (const region of new Set(acked.map((e) => e.region))) {
      const mine = acked.filter((e) => e.region === region);
      const last = mine.reduce((a, b) => (b.endedAt > a.endedAt ? b : a));
      for (const e of mine)
        if (e === last || (e.startedAt <= last.endedAt && e.endedAt >= last.startedAt)) out.add(e.state);
    }
    for (const e of list) if (!e.acknowledged) out.add(e.state);
    return out;
  }

  /** Compares the final states with the candidates; `ignore` are keys the drill wrote itself. */
  verdict(tables: readonly TableModel[], finals: FinalStates, ignore: ReadonlySet<string> = new Set()) {
    const lost: LostKey[] = [];
    const unexpected: LedgerVerdict['unexpected'][number][] = [];
    let keysChecked = 0;
    for (const table of tables) {
      const written = this.entries.get(table.name) ?? new Map<string, Entry[]>();
      keysChecked += written.size;
      for (const region of tableRegions(table)) {
        const held = finals.get(table.name)?.get(region) ?? new Map<string, string>();
        for (const key of written.keys()) {
          const found = held.get(key) ?? null;
          const candidates = this.candidates(table.name, key);
          if (!candidates.has(found))
            lost.push({
              table: table.name,
              key,
              region,
              found,
              candidates: [...candidates],
              writes: this.writesOf(table.name, key),
            });
        }
        for (const key of held.keys())
          if (!written.has(key) && !ignore.has(`${table.name} ${key}`))
            unexpected.push({ table: table.name, key, region });
      }
    }
    const lostKeys = new Set(lost.map((l) => `${l.table} ${l.key}`)).size;
    return { keysChecked, lostKeys, lost, unexpected } satisfies LedgerVerdict;
  }
}
