/**
 * Where a backfill stands: per Scan segment, the key after which it resumes and whether it is done.
 * Plain JSON (keys in stream shape, binaries base64), so it can live in a local file (the CLI) or be
 * handed from one step of a state machine to the next.
 */
import type { Image } from '../core/attributes';

export interface SegmentCheckpoint {
  readonly done: boolean;
  /** The key of the last item applied: the segment resumes after it. Absent: from the start. */
  readonly lastKey?: Image;
  /** Pages read and items applied so far, over every run. */
  readonly pages: number;
  readonly scanned: number;
}

export interface BackfillCheckpoint {
  readonly version: 1;
  readonly table: string;
  readonly from: string;
  readonly targets: readonly string[];
  readonly segments: readonly SegmentCheckpoint[];
}

/** Keeps the checkpoint between runs. `save` is called after every page, one call at a time. */
export interface CheckpointStore {
  load(): BackfillCheckpoint | undefined | Promise<BackfillCheckpoint | undefined>;
  save(checkpoint: BackfillCheckpoint): void | Promise<void>;
  /** The backfill finished: nothing to resume. */
  clear(): void | Promise<void>;
}

/** A checkpoint written for another backfill than the one asked for: resuming it would skip work. */
export class CheckpointMismatch extends Error {}

export function freshCheckpoint(
  table: string,
  from: string,
  targets: readonly string[],
  segments: number,
): BackfillCheckpoint {
  const segment: SegmentCheckpoint = { done: false, pages: 0, scanned: 0 };
  return {
    version: 1,
    table,
    from,
    targets: [...targets],
    segments: Array.from({ length: segments }, () => segment),
  };
}

/** Throws `CheckpointMismatch` naming every difference between the checkpoint and the backfill asked for. */
export function checkResumable(
  checkpoint: BackfillCheckpoint,
  wanted: { table: string; from: string; targets: readonly string[]; segments: number },
): void {
  const problems: string[] = [];
  if (checkpoint.version !== 1)
    problems.push(`it has format version ${JSON.stringify(checkpoint.version)}, not 1`);
  if (checkpoint.table !== wanted.table)
    problems.push(`it is for table ${checkpoint.table}, not ${wanted.table}`);
  if (checkpoint.from !== wanted.from) problems.push(`it copies from ${checkpoint.from}, not ${wanted.from}`);
  const sorted = (l: readonly string[]) => [...l].sort().join(',');
  if (sorted(checkpoint.targets ?? []) !== sorted(wanted.targets))
    problems.push(`it copies to ${(checkpoint.targets ?? []).join(',')}, not ${wanted.targets.join(',')}`);
  if (checkpoint.segments?.length !== wanted.segments)
    problems.push(`it was written with ${checkpoint.segments?.length} segments, not ${wanted.segments}`);
  if (problems.length) throw new CheckpointMismatch(problems.join('; '));
}
