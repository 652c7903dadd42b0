/**
 * What the application did and saw, as the oracles need it: every acknowledged application write,
 * and the happens-before relation between the writes of one key.
 *
 * Definitions (per key; the protocol orders the writes of one item, not across items):
 * - A **write** is an application save (UpdateItem `ADD version :one`, or a whole-item PutItem) or
 *   an application DeleteItem that removed an item. A DeleteItem that found nothing changed nothing
 *   and is not a write. Every save writes a data value no other write uses, so a data value names
 *   the save that produced it.
 * - Every application write asks for ALL_OLD, so it tells which state it was made on:
 *   1. **program order**: the previous write of the same key in the same region happened before it;
 *   2. **observed state**: a write made on an item holding data `d` happened after the save of `d`;
 *   3. **observed absence**: a save that created the item (ALL_OLD empty) was made on the region's
 *      absence. The last REMOVE of the key in that region's stream (commit order) says which state
 *      `d` the absence ended; the save happened after the save of `d` and after the **death** of `d`:
 *      every application delete whose ALL_OLD was `d`. Deletes of the same state are one logical
 *      event (the protocol gives them one order key), so all of them count. A region that removed
 *      an older state than the one a delete removed (it missed a save) links only to the save of
 *      what it removed: sound, at the cost of missing that delete.
 * - **happens-before** is the transitive closure of these edges. Nothing else is assumed: two
 *   writes not related by it are concurrent, and either may win.
 *
 * Soundness: every edge records something the writing region had observed when it wrote, so a
 * happens-before pair is never concurrent in reality; the oracles may miss a loss, never invent one.
 */

export type WriteKind = 'save' | 'put' | 'delete';

export interface AppWrite {
  readonly id: number;
  readonly region: string;
  /** Canonical key text. */
  readonly key: string;
  readonly kind: WriteKind;
  /** Saves: the unique data value written. */
  readonly data?: string;
  /** Saves: the version the item got (the item is compared in full at the end). */
  readonly version?: string;
  /** Deletes: the data value of the item removed. */
  readonly removed?: string;
  /** Direct predecessors and why, for failure reports. */
  readonly because: readonly { readonly id: number; readonly why: string }[];
  /** Every write that happened before this one (transitive). */
  readonly ancestors: ReadonlySet<number>;
  /** Scheduler step at which the application got its answer. */
  readonly step: number;
}

/** Why a region's copy of a key is absent: which state the last removal ended. */
interface Absence {
  readonly removed: string;
}

export class History {
  readonly writes: AppWrite[] = [];
  private readonly saveOf = new Map<string, number>();
  /** Data value → the application deletes that removed exactly that state. */
  private readonly deaths = new Map<string, Set<number>>();
  private readonly lastInRegion = new Map<string, number>();
  private readonly absence = new Map<string, Absence>();
  /** region|key → deletes applied and recorded there (for the per-step resurrection check). */
  private readonly applied = new Map<string, Set<number>>();
  private readonly forbidden = new Map<string, Map<string, number>>();

  /** The save that wrote `data`, if an application save did. */
  save(data: string): AppWrite | undefined {
    const id = this.saveOf.get(data);
    return id === undefined ? undefined : this.writes[id];
  }

  /** Writes of one key, in the order the application made them. */
  writesOf(key: string): AppWrite[] {
    return this.writes.filter((w) => w.key === key);
  }

  keys(): string[] {
    return [...new Set(this.writes.map((w) => w.key))].sort();
  }

  /** Whether `a` happened before `b`. */
  before(a: AppWrite, b: AppWrite): boolean {
    return b.ancestors.has(a.id);
  }

  /** Writes of `key` that happened after `w`. */
  successors(w: AppWrite): AppWrite[] {
    return this.writesOf(w.key).filter((x) => x.ancestors.has(w.id));
  }

  /**
   * An application save acknowledged in `region`. `old`: the data value ALL_OLD returned, or
   * undefined when the save created the item.
   */
  recordSave(
    region: string,
    key: string,
    kind: 'save' | 'put',
    data: string,
    version: string | undefined,
    old: string | undefined,
    step: number,
  ): AppWrite {
    const because = this.common(region, key, old);
    if (old === undefined) {
      const gone = this.absence.get(`${region}|${key}`);
      if (gone) {
        const s = this.saveOf.get(gone.removed);
        if (s !== undefined) because.push({ id: s, why: `created after ${gone.removed} was removed here` });
        for (const d of this.deaths.get(gone.removed) ?? [])
          because.push({ id: d, why: `created after the delete of ${gone.removed} reached ${region}` });
      }
    }
    const w = this.add({ region, key, kind, data, version, because, step });
    this.saveOf.set(data, w.id);
    return w;
  }

  /** An application DeleteItem that removed the item holding `old` in `region`. */
  recordDelete(region: string, key: string, old: string, step: number): AppWrite {
    const because = this.common(region, key, old);
    const w = this.add({ region, key, kind: 'delete', removed: old, because, step });
    let set = this.deaths.get(old);
    if (!set) this.deaths.set(old, (set = new Set()));
    set.add(w.id);
    return w;
  }

  /**
   * The item of `key` in `region` was removed (a REMOVE in that region's stream, by the application
   * or by a replicator). `removed`: the data value of its old image.
   */
  noteRemoval(region: string, key: string, removed: string | undefined): void {
    if (removed !== undefined) this.absence.set(`${region}|${key}`, { removed });
  }

  /**
   * A delete is applied and recorded in `region`: from now on no save that happened before it may
   * show up there. Application deletes count once their region's replicator has acknowledged their
   * REMOVE; a replicator's removal of a state counts for every delete of that state.
   */
  markApplied(region: string, key: string, deleteId: number): void {
    const at = `${region}|${key}`;
    let set = this.applied.get(at);
    if (!set) this.applied.set(at, (set = new Set()));
    if (set.has(deleteId)) return;
    set.add(deleteId);
    let bad = this.forbidden.get(at);
    if (!bad) this.forbidden.set(at, (bad = new Map()));
    for (const a of this.writes[deleteId].ancestors) {
      const data = this.writes[a].data;
      if (data !== undefined && !bad.has(data)) bad.set(data, deleteId);
    }
  }

  /** Deletes of exactly the state holding `data`. */
  deathsOf(data: string): number[] {
    return [...(this.deaths.get(data) ?? [])];
  }

  /** The delete that forbids `data` in `region`, if one does (a save before an applied delete). */
  forbids(region: string, key: string, data: string): AppWrite | undefined {
    const id = this.forbidden.get(`${region}|${key}`)?.get(data);
    return id === undefined ? undefined : this.writes[id];
  }

  /** Writes of `key` after which nothing happened: the states a final outcome may show. */
  maximal(key: string): AppWrite[] {
    const ws = this.writesOf(key);
    return ws.filter((w) => !ws.some((x) => x.ancestors.has(w.id)));
  }

  /** A compact, order-preserving summary for state hashing: the writes and what they observed. */
  summary(): string {
    const ws = this.writes.map(
      (w) => `${w.region}${w.kind[0]}${w.data ?? w.removed}<${w.because.map((b) => b.id).join(',')}`,
    );
    const ab = [...this.absence.entries()].map(([k, v]) => `${k}=${v.removed}`).sort();
    const ap = [...this.applied.entries()].map(([k, v]) => `${k}=${[...v].sort().join(',')}`).sort();
    return `${ws.join(';')}|${ab.join(';')}|${ap.join(';')}`;
  }

  describe(w: AppWrite): string {
    const what = w.kind === 'delete' ? `delete of ${w.removed}` : `${w.kind} ${w.data} (v${w.version})`;
    return `#${w.id} ${w.region} ${what} at step ${w.step}`;
  }

  private common(region: string, key: string, old: string | undefined) {
    const because: { id: number; why: string }[] = [];
    const prev = this.lastInRegion.get(`${region}|${key}`);
    if (prev !== undefined) because.push({ id: prev, why: `earlier in ${region}` });
    if (old !== undefined) {
      const s = this.saveOf.get(old);
      if (s !== undefined) because.push({ id: s, why: `made on ${old}` });
    }
    return because;
  }

  private add(w: Omit<AppWrite, 'id' | 'ancestors'>): AppWrite {
    const id = this.writes.length;
    const ancestors = new Set<number>();
    for (const b of w.because) {
      ancestors.add(b.id);
      for (const a of this.writes[b.id].ancestors) ancestors.add(a);
    }
    const write: AppWrite = { ...w, id, ancestors };
    this.writes.push(write);
    this.lastInRegion.set(`${w.region}|${w.key}`, id);
    return write;
  }
}
