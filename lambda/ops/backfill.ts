/**
 * Backfill: copies the items a region already holds to its peers (a new region, a table added to a
 * live mirror), through the replicator's own write path (`applyIntent`), so it obeys every guard the
 * replicator does: it never overwrites a newer item and never brings back a deleted one, and it is
 * safe while live replication runs.
 *
 * - One-way: every item is sent with the order key 40 zeros, below every real sequence number: it only
 *   fills items a replica lacks (or overwrites a stray local write without `_ddbm_ord`), and the insert
 *   check against the replica's tombstone undoes a key deleted meanwhile. Items a replica already holds,
 *   even stale ones, are left alone: `verify --repair` fixes those.
 * - Multi-active: every item is sent with the order key the replicator gives it (`heldState`).
 *
 * A parallel Scan, one worker per segment, checkpointed after every page (and at the exact item where
 * it stops), so a run that is stopped resumes where it was. Takes its clients as parameters.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKFILL_ORD, type ReplicatorSettings } from '../contract';
import { applyIntent, type Outcome } from '../core/apply';
import { canonicalImage, type Image } from '../core/attributes';
import type { WriteIntent } from '../core/intents';
import { readLocalTombstone, stampLocal } from '../core/origin';
import { describeError, realSleep } from '../core/retry';
import { replicatedPut, stampGuard } from '../replicator/decide';
import {
  checkResumable,
  freshCheckpoint,
  type BackfillCheckpoint,
  type CheckpointStore,
  type SegmentCheckpoint,
} from './checkpoint';
import { heldState } from './held';
import { scanPage, toImage, toSdkItem } from './scan';

export type BackfillPlan =
  | { readonly kind: 'put'; readonly intent: WriteIntent }
  /** Multi-active: the region's tombstone covers the item (a life being deleted): nothing to send. */
  | { readonly kind: 'deleted' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'need-tombstone' };

/** What to send for one item of the `from` region (`settings.region`). Pure. */
export function planBackfill(
  item: Image,
  settings: ReplicatorSettings,
  tombstone?: Parameters<typeof heldState>[1],
): BackfillPlan {
  const key = keyOf(item, settings);
  if (settings.mode === 'one-way')
    return { kind: 'put', intent: replicatedPut(item, key, settings, BACKFILL_ORD) };
  const held = heldState(item, tombstone, settings, settings.region);
  switch (held.kind) {
    case 'item':
      return { kind: 'put', intent: replicatedPut(held.image, key, settings, held.ord, held.version) };
    case 'malformed':
    case 'need-tombstone':
      return held;
    default:
      return { kind: 'deleted' };
  }
}

export function keyOf(item: Image, settings: Pick<ReplicatorSettings, 'partitionKey' | 'sortKey'>): Image {
  const names = [settings.partitionKey, ...(settings.sortKey ? [settings.sortKey] : [])];
  return Object.fromEntries(names.map((n) => [n, item[n]]));
}

/** Outcomes per item and target. */
export interface OutcomeCounts {
  /** Applied. */
  written: number;
  /** The target holds this state or a newer one (stale), or a concurrent write that won. */
  skippedNewer: number;
  /** Deleted: the target's tombstone undid it, or the source's tombstone covers it. */
  skippedDeleted: number;
  /** Still waiting, after every try, for the target region to order its own save of the item (failed too). */
  deferred: number;
  failed: number;
}

export interface BackfillCounts extends OutcomeCounts {
  /** Items read and handled by this run. */
  scanned: number;
  /** Scan pages read by this run. */
  pages: number;
}

export interface BackfillFailure {
  readonly key: string;
  readonly target?: string;
  readonly reason: string;
}

export interface BackfillProgress {
  /** This run's figures. */
  readonly counts: Readonly<BackfillCounts>;
  /** Items earlier runs handled (the checkpoint resumed). */
  readonly itemsBefore: number;
  readonly segmentsDone: number;
}

export interface BackfillOptions {
  /** The `from` region's replicator settings (its region, table, keys, mode, excluded attributes). */
  readonly settings: ReplicatorSettings;
  readonly targets: readonly string[];
  /** A client for the `from` region and each target. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly segments: number;
  /** @default 500 */
  readonly pageSize?: number;
  /** Items of one segment applied at once. @default 8 */
  readonly itemsInFlight?: number;
  readonly checkpoint: CheckpointStore;
  /** Ignore a saved checkpoint and start over. */
  readonly restart?: boolean;
  /** Stops at the next item; the checkpoint says where to resume. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: BackfillProgress) => void;
  /** First back-off before an item is tried again at an unavailable target. @default 1000 */
  readonly retryDelayMs?: number;
}

export interface BackfillResult {
  readonly table: string;
  readonly mode: ReplicatorSettings['mode'];
  readonly from: string;
  readonly targets: readonly string[];
  readonly counts: BackfillCounts;
  readonly perTarget: Readonly<Record<string, OutcomeCounts>>;
  /** Pages read by this run, per segment (0 for a segment a checkpoint had finished). */
  readonly pagesBySegment: readonly number[];
  /** A checkpoint was resumed. */
  readonly resumed: boolean;
  /** Segments a checkpoint had already finished (not scanned again). */
  readonly segmentsSkipped: number;
  readonly complete: boolean;
  readonly interrupted: boolean;
  /** What stopped the run (a target or region that failed past its retries). */
  readonly error?: { readonly region: string; readonly message: string };
  /** The first failures (at most 100). */
  readonly failures: readonly BackfillFailure[];
  readonly durationMs: number;
}

const MAX_FAILURES_KEPT = 100;
const ITEM_ATTEMPTS = 4;
/** Tries of a write whose target item waits for its own region's stamp, `retryDelayMs` apart. */
const WAIT_ATTEMPTS = 15;

/**
 * Items applied to the targets, and what came of them: what the Scan backfill (below) and the export
 * backfill (lambda/export-backfill) share. Create with {@link newApplyRun}, feed with {@link applyItems}.
 */
export interface ApplyRun {
  readonly settings: ReplicatorSettings;
  readonly targets: readonly string[];
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  /** Items applied at once. @default 8 */
  readonly itemsInFlight?: number;
  readonly retryDelayMs?: number;
  /** Stops launching items. */
  readonly signal?: AbortSignal;
  readonly counts: BackfillCounts;
  readonly perTarget: Record<string, OutcomeCounts>;
  /** The first failures (at most 100). */
  readonly failures: BackfillFailure[];
  /** What stopped the run: a target that stayed unavailable, or the source region. */
  error?: { region: string; message: string };
}

export type ApplyOptions = Pick<
  BackfillOptions,
  'settings' | 'targets' | 'clients' | 'itemsInFlight' | 'retryDelayMs' | 'signal'
>;

export function newApplyRun(o: ApplyOptions): ApplyRun {
  return {
    settings: o.settings,
    targets: o.targets,
    clients: o.clients,
    ...(o.itemsInFlight !== undefined ? { itemsInFlight: o.itemsInFlight } : {}),
    ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    counts: { scanned: 0, pages: 0, ...zero() },
    perTarget: Object.fromEntries(o.targets.map((t) => [t, zero()])),
    failures: [],
  };
}

interface Run extends ApplyRun {
  readonly o: BackfillOptions;
  readonly pagesBySegment: number[];
  readonly segments: SegmentCheckpoint[];
  readonly itemsBefore: number;
  checkpoint: BackfillCheckpoint;
  saving: Promise<void>;
}

const zero = (): OutcomeCounts => ({
  written: 0,
  skippedNewer: 0,
  skippedDeleted: 0,
  deferred: 0,
  failed: 0,
});

export async function runBackfill(o: BackfillOptions): Promise<BackfillResult> {
  const started = Date.now();
  const wanted = {
    table: o.settings.table,
    from: o.settings.region,
    targets: o.targets,
    segments: o.segments,
  };
  const saved = o.restart ? undefined : await o.checkpoint.load();
  if (saved) checkResumable(saved, wanted);
  const checkpoint = saved ?? freshCheckpoint(wanted.table, wanted.from, o.targets, o.segments);
  const run: Run = {
    ...newApplyRun(o),
    o,
    pagesBySegment: checkpoint.segments.map(() => 0),
    segments: [...checkpoint.segments],
    itemsBefore: checkpoint.segments.reduce((n, s) => n + s.scanned, 0),
    checkpoint,
    saving: Promise.resolve(),
  };
  const skipped = run.segments.filter((s) => s.done).length;
  await Promise.all(run.segments.map((_s, i) => runSegment(run, i)));
  await run.saving;
  const complete = run.segments.every((s) => s.done);
  if (complete) await o.checkpoint.clear();
  return {
    table: wanted.table,
    mode: o.settings.mode,
    from: wanted.from,
    targets: o.targets,
    counts: run.counts,
    perTarget: run.perTarget,
    pagesBySegment: run.pagesBySegment,
    resumed: !!saved,
    segmentsSkipped: skipped,
    complete,
    interrupted: !complete && !run.error && !!o.signal?.aborted,
    ...(run.error ? { error: run.error } : {}),
    failures: run.failures,
    durationMs: Date.now() - started,
  };
}

const stopped = (run: ApplyRun) => !!run.error || !!run.signal?.aborted;

/** One segment, page after page, from its checkpoint; saves where it is after every page. */
async function runSegment(run: Run, segment: number): Promise<void> {
  const { settings } = run.o;
  const from = settings.region;
  while (!run.segments[segment].done && !stopped(run)) {
    const state = run.segments[segment];
    let page;
    try {
      page = await scanPage(run.o.clients[from], {
        table: settings.table,
        segment,
        totalSegments: run.segments.length,
        ...(state.lastKey ? { startKey: toSdkItem(state.lastKey) } : {}),
        pageSize: run.o.pageSize ?? 500,
      });
    } catch (e) {
      run.error ??= { region: from, message: describeError(e) };
      return;
    }
    run.counts.pages += 1;
    run.pagesBySegment[segment] += 1;
    const done = await applyItems(run, page.items.map(toImage));
    // Stopped inside the page: resume right after the last item applied (any key is a valid start).
    const whole = done === page.items.length;
    const lastKey = whole
      ? page.lastKey && toImage(page.lastKey)
      : done > 0
        ? keyOf(toImage(page.items[done - 1]), settings)
        : state.lastKey;
    run.segments[segment] = {
      done: whole && !page.lastKey,
      ...(lastKey ? { lastKey } : {}),
      pages: state.pages + 1,
      scanned: state.scanned + done,
    };
    await save(run);
    run.o.onProgress?.({
      counts: run.counts,
      itemsBefore: run.itemsBefore,
      segmentsDone: run.segments.filter((s) => s.done).length,
    });
  }
}

/** Saves the checkpoint; one save at a time, in order. */
function save(run: Run): Promise<void> {
  const snapshot: BackfillCheckpoint = { ...run.checkpoint, segments: [...run.segments] };
  run.saving = run.saving.then(() => run.o.checkpoint.save(snapshot));
  return run.saving;
}

/**
 * Applies items (a Scan page, or lines of an export file), `itemsInFlight` at a time, launched in
 * order; stops launching when the run stops. Returns how many items from the start are done: a
 * checkpoint may move past exactly those.
 */
export async function applyItems(run: ApplyRun, items: readonly Image[]): Promise<number> {
  let next = 0;
  let firstFailed = items.length;
  const worker = async () => {
    while (next < items.length && !stopped(run)) {
      const i = next++;
      if (!(await backfillItem(run, items[i]))) firstFailed = Math.min(firstFailed, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.itemsInFlight ?? 8, items.length) }, worker));
  return Math.min(next, firstFailed);
}

/** Plans and applies one item at every target; false when a target stayed unavailable (the run stops). */
async function backfillItem(run: ApplyRun, item: Image): Promise<boolean> {
  const { settings, targets } = run;
  run.counts.scanned += 1;
  const plan = await planItem(run, item);
  const key = canonicalImage(keyOf(item, settings));
  if (plan.kind !== 'put') {
    const field = plan.kind === 'deleted' ? 'skippedDeleted' : 'failed';
    for (const t of targets) count(run, t, field);
    if (plan.kind === 'malformed') fail(run, { key, reason: plan.reason });
    return true;
  }
  const outcomes = await Promise.all(targets.map((t) => applyTo(run, t, plan.intent)));
  let ok = true;
  outcomes.forEach((outcome, i) => {
    const target = targets[i];
    count(run, target, outcomeField(outcome));
    if (outcome.status === 'deferred') {
      ok = false;
      fail(run, { key, target, reason: `${target} has still not ordered its own save of the item` });
      return;
    }
    if (outcome.status !== 'unavailable') return;
    ok = false;
    fail(run, { key, target, reason: outcome.error });
    run.error ??= { region: target, message: outcome.error };
  });
  return ok;
}

/**
 * Multi-active items its region has not ordered (written before the mirror, or not stamped yet) need
 * the region's tombstone (one read) for their generation, and are stamped in their region before they
 * are sent, as the replicator does (docs/replication.md, invariant 4): every later save there then
 * inherits that order key, and a peer's write meeting the item is judged, not kept waiting.
 */
async function planItem(run: ApplyRun, item: Image): Promise<BackfillPlan> {
  const { settings } = run;
  let current: Image | undefined = item;
  for (let round = 1; round <= 3 && current; round += 1) {
    const plan = planBackfill(current, settings);
    if (plan.kind !== 'need-tombstone' || settings.mode !== 'multi-active') return plan;
    const client = run.clients[settings.region];
    const key = keyOf(current, settings);
    const options = { deadline: Date.now() + 60_000 };
    try {
      const tombstone = await readLocalTombstone(client, settings, key, options);
      const planned = planBackfill(current, settings, tombstone);
      if (planned.kind !== 'put') return planned;
      const same = stampGuard(current, key, settings);
      const version = planned.intent.version!;
      const stamp = { key, ord: planned.intent.ord, version, ...(Object.keys(same).length ? { same } : {}) };
      const met = await stampLocal(client, settings, stamp, options);
      if (met.done) return planned;
      // The item changed since the scan (saved, stamped by its replicator, or deleted): plan it again.
      current = met.held;
    } catch (e) {
      return { kind: 'malformed', reason: `ordering it in ${settings.region}: ${describeError(e)}` };
    }
  }
  return current
    ? { kind: 'malformed', reason: 'the item kept changing while it was being ordered' }
    : { kind: 'deleted' };
}

/** `applyIntent`, tried again with back-off while the target is unavailable for a reason that may pass. */
async function applyTo(run: ApplyRun, target: string, intent: WriteIntent): Promise<Outcome> {
  const base = run.retryDelayMs ?? 1000;
  for (let attempt = 1, waits = 0; ;) {
    const outcome = await applyIntent(run.clients[target], run.settings, target, intent, {
      deadline: Date.now() + 60_000,
    });
    // The target's item waits for its own region's stamp (about a second): try again, never drop it.
    if (outcome.status === 'deferred' && waits < WAIT_ATTEMPTS) {
      waits += 1;
      await realSleep(base);
      continue;
    }
    if (outcome.status !== 'unavailable' || attempt >= ITEM_ATTEMPTS || !mayPass(outcome)) return outcome;
    await realSleep(Math.min(30_000, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    attempt += 1;
  }
}

/** Throttling, faults, and an item contended by concurrent writes pass; a denied permission does not. */
function mayPass(outcome: Extract<Outcome, { status: 'unavailable' }>): boolean {
  return outcome.retryable || /changed under each/.test(outcome.error);
}

function outcomeField(outcome: Outcome): keyof OutcomeCounts {
  switch (outcome.status) {
    case 'applied':
      return 'written';
    case 'stale':
      return outcome.holder.source === 'tombstone' ? 'skippedDeleted' : 'skippedNewer';
    case 'conflict-lost':
      return outcome.winner.source === 'tombstone' ? 'skippedDeleted' : 'skippedNewer';
    case 'deferred':
      return 'deferred';
    default:
      return 'failed';
  }
}

function count(run: ApplyRun, target: string, field: keyof OutcomeCounts): void {
  run.counts[field] += 1;
  run.perTarget[target][field] += 1;
}

function fail(run: ApplyRun, failure: BackfillFailure): void {
  if (run.failures.length < MAX_FAILURES_KEPT) run.failures.push(failure);
}
