import type { LagObservation } from '../lag-sampler';
import type { DrillSession } from './session';

/** Small readings of a running drill, shared by the scenarios. */

/** `12.3s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * The largest observed lag of the writes acknowledged between `from` and `to` (epoch ms; the whole
 * run when omitted) that `filter` keeps; undefined when none was observed.
 */
export function maxLag(
  s: DrillSession,
  filter: (o: LagObservation) => boolean = () => true,
  from = 0,
  to = Infinity,
): number | undefined {
  let max: number | undefined;
  for (const o of s.handles.stats.lagSeries) {
    const written = o.at - o.lagMs;
    if (written < from || written > to || !filter(o)) continue;
    if (max === undefined || o.lagMs > max) max = o.lagMs;
  }
  return max;
}

/** Records parked so far for `target`, over every table and source (the replicators' own metric). */
export function parkedFor(s: DrillSession, target: string): number {
  return s.handles.stats
    .figures()
    .filter((p) => p.target === target)
    .reduce((n, p) => n + p.parked, 0);
}
