/**
 * Repair: writes the winning state of each divergent key to the regions that differ, through the
 * replicator's write path (`applyIntent`) and its guards, so a repair racing live replication never
 * beats a newer write.
 *
 * - Multi-active: the state with the highest order key across regions wins (`heldState`: a live
 *   item, or the delete a region's tombstone records where it lacks the item). Sent as the
 *   replicator would send it: a put with that order key, or a delete with the tombstone's. Items
 *   that share the highest order key with different data (an edit that kept the version) cannot
 *   replace each other under it: the greatest content wins, and is written everywhere with the same
 *   generation and version and the origin followed by `+` (`raisedOrd`), which sorts after every copy
 *   and before the key's next save.
 * - One-way: the source is the truth. Its state (or a delete where the source lacks the item) is
 *   written with the order key the replica holds (item or tombstone, else 40 zeros) plus `+`: that
 *   sorts just after what the replica holds and before any later sequence number, so live
 *   replication still wins over a repair. Each replica gets its own key, so replicas that share one
 *   are repaired alike.
 *
 * Every region's tombstone is read before its item: an order key judged from a tombstone older than
 * the item can only understate the item (`heldState`), never overstate it. A multi-active item no
 * replicator stamped is waited for, then stamped where no record will (`orderedHoldings`).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BACKFILL_ORD,
  contentText,
  keyText,
  type CompareTable,
  type MultiActiveSettings,
  type ReplicatorSettings,
} from '../contract';
import { applyIntent, type Outcome } from '../core/apply';
import type { Image } from '../core/attributes';
import type { TombstoneState, WriteIntent } from '../core/intents';
import { itemOrder } from '../core/item-order';
import { formatOrd, parseOrd } from '../core/order';
import { readLocalTombstone, stampLocal } from '../core/origin';
import { describeError, realSleep } from '../core/retry';
import { replicatedPut, stampGuard } from '../replicator/decide';
import { heldState, type HeldState } from './held';
import { getItem, toImage, toSdkItem, type SdkItem } from './scan';

/** What one region holds for a key. */
export interface Holding {
  readonly region: string;
  readonly item?: Image;
  readonly tombstone: TombstoneState | null;
}

export interface RepairWrite {
  /** Where the write goes. */
  readonly region: string;
  /** The region whose state wins (one-way: the source). */
  readonly from: string;
  readonly intent: WriteIntent;
}

export type RepairPlan = { readonly writes: readonly RepairWrite[] } | { readonly skip: string };

/** The writes that bring every region to the winning state of one key. Pure. */
export function planRepair(
  table: CompareTable,
  settings: Readonly<Record<string, ReplicatorSettings>>,
  key: Image,
  holdings: readonly Holding[],
): RepairPlan {
  return table.mode === 'one-way'
    ? planOneWay(table, settings, key, holdings)
    : planMultiActive(table, settings, key, holdings);
}

const contentOf = (table: CompareTable, h: Holding) => (h.item ? contentText(h.item, table) : null);

function planOneWay(
  table: CompareTable,
  settings: Readonly<Record<string, ReplicatorSettings>>,
  key: Image,
  holdings: readonly Holding[],
): RepairPlan {
  const [source, ...replicas] = holdings;
  const truth = contentOf(table, source);
  const writes = replicas
    .filter((h) => contentOf(table, h) !== truth)
    .map((h): RepairWrite => {
      const held = [h.item?._ddbm_ord?.S, h.tombstone?.ord, BACKFILL_ORD].filter((o): o is string => !!o);
      const ord = `${held.reduce((a, b) => (b > a ? b : a))}+`;
      const intent: WriteIntent = source.item
        ? replicatedPut(source.item, key, settings[source.region], ord)
        : { op: 'delete', key, ord, origin: source.region };
      return { region: h.region, from: source.region, intent };
    });
  return { writes };
}

function planMultiActive(
  table: CompareTable,
  settings: Readonly<Record<string, ReplicatorSettings>>,
  key: Image,
  holdings: readonly Holding[],
): RepairPlan {
  const states = holdings.map((h) =>
    heldState(h.item, h.tombstone, settings[h.region] as MultiActiveSettings, h.region),
  );
  const bad = states.flatMap((s, i) =>
    s.kind === 'malformed' ? [`${holdings[i].region}: ${s.reason}`] : [],
  );
  if (bad.length) return { skip: `the replicator cannot order it (${bad.join('; ')})` };
  const ordered = states
    .map((s, i) => ({ s, i }))
    .filter((x) => x.s.kind === 'item' || x.s.kind === 'deleted');
  if (!ordered.length) return { skip: 'no region holds an item or a delete of it' };
  const top = ordered.reduce((a, b) => (ordOf(b.s) > ordOf(a.s) ? b : a));
  const tied = ordered.flatMap(({ s, i }) =>
    s.kind === 'item' && s.ord === ordOf(top.s) ? [{ i, s, content: contentText(s.image, table) }] : [],
  );
  if (new Set(tied.map((x) => x.content)).size > 1) {
    // The greatest content, so every run and every order of the regions picks the same copy.
    const best = tied.reduce((a, b) => (b.content > a.content ? b : a));
    const from = holdings[best.i].region;
    const intent = replicatedPut(best.s.image, key, settings[from], raisedOrd(best.s.ord), best.s.version);
    // Every region, the winner's own included, so that all hold the one order key.
    return { writes: holdings.map((h) => ({ region: h.region, from, intent })) };
  }
  const winner = top.s as Extract<HeldState, { kind: 'item' | 'deleted' }>;
  const from = holdings[top.i].region;
  if (winner.kind === 'item') {
    const truth = contentText(winner.image, table);
    const intent = replicatedPut(winner.image, key, settings[from], winner.ord, winner.version);
    const writes = holdings
      .filter((h) => contentOf(table, h) !== truth)
      .map((h) => ({ region: h.region, from, intent }));
    return { writes };
  }
  const intent: WriteIntent = {
    op: 'delete',
    key,
    ord: winner.ord,
    origin: winner.origin ?? from,
    ...(winner.version !== undefined ? { version: winner.version } : {}),
  };
  return { writes: holdings.filter((h) => h.item).map((h) => ({ region: h.region, from, intent })) };
}

const ordOf = (s: HeldState) => (s.kind === 'item' || s.kind === 'deleted' ? s.ord : '');

/**
 * An order key just above `ord` (a save's) and below the key's next write: the same generation and
 * version, the origin followed by `+`. `+` sorts after the `#` that ends every origin, so the key
 * orders after `ord` and after any other origin's save of that version that sorts before it; the next
 * save (version + 1), a delete of the repaired state (`d` = 1 after the same origin) and the next
 * generation all order after it. `parseOrd` reads the suffix as part of the origin.
 */
export function raisedOrd(ord: string): string {
  const parsed = parseOrd(ord);
  if (!parsed || parsed.deleted) throw new Error(`not the order key of a save: ${JSON.stringify(ord)}`);
  return formatOrd({ ...parsed, origin: `${parsed.origin}+` });
}

export interface RepairOptions {
  readonly table: CompareTable;
  /** Each region's replicator settings: a write is applied with those of the region whose state wins. */
  readonly settings: Readonly<Record<string, ReplicatorSettings>>;
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly keys: readonly SdkItem[];
  /** Keys repaired at once. @default 8 */
  readonly keysInFlight?: number;
  /** Stops before the next key. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (keysDone: number) => void;
  /**
   * Pause between reads of a key while a region's item waits for its replicator's stamp, and between
   * tries of a write that meets such an item. @default 1000
   */
  readonly waitDelayMs?: number;
}

export interface RepairChange {
  readonly key: string;
  readonly region: string;
  readonly op: WriteIntent['op'];
  /** The region whose state won (one-way: the source). */
  readonly from: string;
  readonly outcome: Outcome['status'];
  readonly error?: string;
}

export interface RepairReport {
  readonly keys: number;
  /** Keys looked at (all of them unless interrupted). */
  readonly keysDone: number;
  readonly writes: readonly RepairChange[];
  readonly counts: Readonly<Record<Outcome['status'], number>>;
  readonly skipped: readonly { readonly key: string; readonly reason: string }[];
  readonly interrupted: boolean;
}

export async function repairKeys(o: RepairOptions): Promise<RepairReport> {
  const writes: RepairChange[] = [];
  const skipped: { key: string; reason: string }[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < o.keys.length && !o.signal?.aborted) {
      const keyItem = o.keys[next++];
      const key = keyText(keyItem, o.table.keyNames);
      try {
        const result = await repairKey(o, toImage(keyItem));
        if ('skip' in result) skipped.push({ key, reason: result.skip });
        else writes.push(...result.map((c) => ({ key, ...c })));
      } catch (e) {
        skipped.push({ key, reason: `reading it failed: ${describeError(e)}` });
      }
      o.onProgress?.((done += 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.keysInFlight ?? 8, o.keys.length) }, worker));
  const counts = { applied: 0, stale: 0, 'conflict-lost': 0, deferred: 0, unavailable: 0 };
  for (const w of writes) counts[w.outcome] += 1;
  return { keys: o.keys.length, keysDone: done, writes, counts, skipped, interrupted: done < o.keys.length };
}

async function repairKey(
  o: RepairOptions,
  key: Image,
): Promise<Omit<RepairChange, 'key'>[] | { skip: string }> {
  const holdings = await orderedHoldings(o, key);
  const plan = planRepair(o.table, o.settings, key, holdings);
  if ('skip' in plan) return plan;
  return Promise.all(
    plan.writes.map(async (w) => {
      const outcome = await applyWithRetry(
        o.clients[w.region],
        o.settings[w.from],
        w.region,
        w.intent,
        o.waitDelayMs ?? WAIT_DELAY_MS,
      );
      return {
        region: w.region,
        op: w.intent.op,
        from: w.from,
        outcome: outcome.status,
        ...(outcome.status === 'unavailable' ? { error: outcome.error } : {}),
      };
    }),
  );
}

/**
 * Every region's holding once each item carries an order key. An item without one is a save its
 * region's replicator stamps within about a second (invariant 4: only its region orders it), so the
 * key is read again for a while first: the save is then judged at the order its record gives it (under
 * last writer wins, its clock, not 0). An item still unordered after that has no record coming (it
 * predates the mirror, or its records were lost): it is stamped in its region at the order `heldState`
 * judged it by, as backfill stamps one, if it still holds that data. Left unordered, a write of the
 * winner over it would wait for ever, and as the winner it would keep its peers' later writes waiting.
 */
async function orderedHoldings(o: RepairOptions, key: Image): Promise<Holding[]> {
  const read = () => Promise.all(o.table.regions.map((r) => readHolding(o, r, key)));
  let holdings = await read();
  for (let waits = 0; waits < WAIT_ATTEMPTS && unordered(o, holdings).length; waits += 1) {
    await realSleep(o.waitDelayMs ?? WAIT_DELAY_MS);
    holdings = await read();
  }
  // A stamp that met another state (a save or delete since) is judged again from what the item holds.
  for (let round = 1; round <= 3 && unordered(o, holdings).length; round += 1) {
    await Promise.all(
      unordered(o, holdings).map(({ region, item, held }) => {
        const settings = o.settings[region] as MultiActiveSettings;
        const same = stampGuard(item, key, settings);
        const stamp = {
          key,
          ord: held.ord,
          version: held.version,
          ...(Object.keys(same).length ? { same } : {}),
        };
        return stampLocal(o.clients[region], settings, stamp, { deadline: Date.now() + 60_000 });
      }),
    );
    holdings = await read();
  }
  return holdings;
}

/** Multi-active: the regions whose item has no order key, with the state `heldState` judges it to hold. */
function unordered(o: RepairOptions, holdings: readonly Holding[]) {
  if (o.table.mode !== 'multi-active') return [];
  return holdings.flatMap(({ region, item, tombstone }) => {
    const settings = o.settings[region] as MultiActiveSettings;
    if (!item || itemOrder(item, settings.versionAttribute, region)?.kind !== 'unordered') return [];
    const held = heldState(item, tombstone, settings, region);
    return held.kind === 'item' ? [{ region, item, held }] : [];
  });
}

/** The region's tombstone, then its item (in that order: see the module comment). */
async function readHolding(o: RepairOptions, region: string, key: Image): Promise<Holding> {
  const settings = o.settings[region];
  const tombstone = await readLocalTombstone(o.clients[region], settings, key, {
    deadline: Date.now() + 60_000,
  });
  const item = await getItem(o.clients[region], settings.table, toSdkItem(key));
  return { region, tombstone, ...(item ? { item: toImage(item) } : {}) };
}

/** A write meeting an item its region has not stamped yet is tried again this often, this far apart. */
const WAIT_ATTEMPTS = 15;
const WAIT_DELAY_MS = 1000;

async function applyWithRetry(
  client: DynamoDBClient,
  settings: ReplicatorSettings,
  target: string,
  intent: WriteIntent,
  waitDelayMs: number,
): Promise<Outcome> {
  for (let attempt = 1, waits = 0; ;) {
    const outcome = await applyIntent(client, settings, target, intent, { deadline: Date.now() + 60_000 });
    // The target's item waits for its own region's stamp (about a second): try again, never drop it.
    if (outcome.status === 'deferred' && waits < WAIT_ATTEMPTS) {
      waits += 1;
      await realSleep(waitDelayMs);
      continue;
    }
    if (outcome.status !== 'unavailable' || !outcome.retryable || attempt >= 3) return outcome;
    await realSleep(1000 * attempt);
    attempt += 1;
  }
}
