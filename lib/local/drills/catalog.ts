/**
 * The failure drills `ddb-mirror start --drill NAME` runs, by name. Each one runs on its own local mirror
 * session (fresh tables, the real bundles, the demo workload) so one drill's leftovers never count
 * against the next one.
 */

export const DRILL_NAMES = [
  'outage',
  'outage-long',
  'throttle',
  'poison',
  'crash',
  'dup-storm',
  'region-added',
] as const;

export type DrillName = (typeof DRILL_NAMES)[number];

export const DRILL_SUMMARIES: Readonly<Record<DrillName, string>> = {
  outage: 'one region unreachable for --for, then back: records bound for it park, then drain',
  'outage-long':
    'the same outage, longer than a stream retention modelled for the drill: parking holds the records',
  throttle: 'throttling and 500s on --fraction of every function request: retries and back-off',
  poison: 'an item the targets cannot take (over 400 KB once replicated): parked with its identity',
  crash: 'replicator processes killed in the middle of a batch: the retry resumes at the right record',
  'dup-storm': 'every batch delivered two or three times: duplicates change nothing',
  'region-added': 'a region added to a running mirror, then backfilled (not available yet)',
};

/**
 * Drills that cannot run yet, and why. NOTE region-added: the backfill and verify commands it needs are
 * here (cli/backfill.ts, lambda/ops/verify.ts); what is missing is a local mirror that takes a new
 * region while it runs (create that region's tables, replace the replicators whose peers changed,
 * start the new event sources, keep the existing tables and stream positions). Once `runLocalMirror`
 * can do that, this drill becomes a scenario in lib/local/drills/ like the others: re-synth with the
 * region added, apply it, backfill each table into it, then verify 0 divergent.
 */
export const UNAVAILABLE: Readonly<Partial<Record<DrillName, string>>> = {
  'region-added':
    'not available yet: the local mirror cannot take a new region while it runs (the backfill command it would use is there)',
};

/** The drills `--drill all` runs: every available one, in catalog order. */
export const ALL_AVAILABLE: readonly DrillName[] = DRILL_NAMES.filter((n) => !UNAVAILABLE[n]);

export function isDrillName(name: string): name is DrillName {
  return (DRILL_NAMES as readonly string[]).includes(name);
}
