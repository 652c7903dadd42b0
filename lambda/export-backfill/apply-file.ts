/**
 * The export backfill's work on one exported data file (docs/platform.md#export-backfill): a gzip file
 * of DynamoDB JSON lines, `{"Item": {...}}` each, read from a given line, every item applied to the
 * peers by the shared backfill code (lambda/ops/backfill.ts: the replicator's guards and order rules),
 * until the file ends or the time budget does. Takes the file's reader and the clients as parameters.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReplicatorSettings } from '../contract';
import type { Image } from '../core/attributes';
import {
  applyItems,
  newApplyRun,
  type ApplyRun,
  type BackfillCounts,
  type BackfillFailure,
  type OutcomeCounts,
} from '../ops/backfill';

/** One Distributed Map item: an export data file, and the line to start from (0 at first). */
export interface ExportFileTask {
  readonly bucket: string;
  readonly key: string;
  readonly startLine: number;
}

export interface ExportFileResult {
  readonly bucket: string;
  readonly key: string;
  /** Every line of the file is handled. */
  readonly done: boolean;
  /** The line the next invocation starts from (lines before it are handled). */
  readonly nextLine: number;
  readonly startLine: number;
  readonly counts: BackfillCounts;
  readonly perTarget: Readonly<Record<string, OutcomeCounts>>;
  /** Items that failed (counted in `counts.failed`; at most 100 listed). */
  readonly failures: readonly BackfillFailure[];
  /** What stopped this invocation before the end of the file, other than its time budget. */
  readonly error?: { readonly region: string; readonly message: string };
}

/** Opens an object of the export bucket: its raw (gzip) bytes. */
export type ObjectReader = (bucket: string, key: string) => Promise<Readable>;

export interface ExportFileOptions {
  /** The exported region's replicator settings; the targets are its peers. */
  readonly settings: ReplicatorSettings;
  /** A client for the exported region and each target. */
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly task: ExportFileTask;
  readonly read: ObjectReader;
  /** Epoch ms after which no further item is started. */
  readonly deadline: number;
  /** Items applied at once. @default 8 */
  readonly itemsInFlight?: number;
  /** Lines read before they are applied together. @default 200 */
  readonly batchLines?: number;
  readonly retryDelayMs?: number;
}

/** Applies the file's items from `task.startLine` until the end of the file or of the time budget. */
export async function backfillExportFile(o: ExportFileOptions): Promise<ExportFileResult> {
  const stop = new AbortController();
  // A budget already spent stops before the first line (a 0 ms timer could fire after a batch).
  if (o.deadline <= Date.now()) stop.abort();
  const timer = setTimeout(() => stop.abort(), Math.max(0, o.deadline - Date.now()));
  const run = newApplyRun({
    settings: o.settings,
    targets: o.settings.peers.map((p) => p.region),
    clients: o.clients,
    itemsInFlight: o.itemsInFlight ?? 8,
    ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
    signal: stop.signal,
  });
  try {
    const { done, nextLine } = await applyLines(run, o, stop.signal);
    return {
      bucket: o.task.bucket,
      key: o.task.key,
      done,
      nextLine,
      startLine: o.task.startLine,
      counts: run.counts,
      perTarget: run.perTarget,
      failures: run.failures,
      ...(run.error ? { error: run.error } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the file line by line and applies it in batches; where it got to. */
async function applyLines(
  run: ApplyRun,
  o: ExportFileOptions,
  signal: AbortSignal,
): Promise<{ done: boolean; nextLine: number }> {
  const input = (await o.read(o.task.bucket, o.task.key)).pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  const size = o.batchLines ?? 200;
  let line = 0;
  let handled = o.task.startLine;
  let batch: { line: number; item: Image }[] = [];
  const flush = async (): Promise<boolean> => {
    const items = batch;
    batch = [];
    const applied = await applyItems(
      run,
      items.map((b) => b.item),
    );
    // Lines before the first item not applied are handled (blank and malformed lines included).
    handled = applied < items.length ? items[applied].line : line;
    return applied === items.length && !run.error && !signal.aborted;
  };
  try {
    for await (const text of lines) {
      line += 1;
      if (line <= o.task.startLine) continue;
      const item = parseLine(run, text, line);
      // Stored with its 0-based index: the line to resume from when it is not applied.
      if (item) batch.push({ line: line - 1, item });
      if (batch.length >= size && !(await flush())) return { done: false, nextLine: handled };
      if (!batch.length) handled = line;
    }
    if (batch.length && !(await flush())) return { done: false, nextLine: handled };
    return { done: true, nextLine: line };
  } finally {
    lines.close();
    input.destroy();
  }
}

/** The item of one line; undefined for a blank line, or a malformed one (counted as a failure). */
function parseLine(run: ApplyRun, text: string, line: number): Image | undefined {
  if (!text.trim()) return undefined;
  try {
    const item = (JSON.parse(text) as { Item?: unknown }).Item;
    if (item && typeof item === 'object' && !Array.isArray(item)) return item as Image;
    throw new Error('no "Item" object');
  } catch (e) {
    run.counts.failed += 1;
    if (run.failures.length < 100)
      run.failures.push({ key: `line ${line}`, reason: `not an export line: ${(e as Error).message}` });
    return undefined;
  }
}
