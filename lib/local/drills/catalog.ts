/**
 * The failure drills `ddb-mirror start --drill NAME` runs, by name. Each one runs on its own local mirror
 * session (fresh tables, the real bundles, the demo workload) so one drill's leftovers never count
 * against the next one.
 */

export const DRILL_NAMES = [
  'outage',
  'outage-long',
  'throttle',
  'lost-answer',
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
  'lost-answer':
    "--fraction of the functions' writes applied, then failed (500 or cut connection): the retries meet their own effect",
  poison: 'an item the targets cannot take (over 400 KB once replicated): parked with its identity',
  crash: 'replicator processes killed in the middle of a batch: the retry resumes at the right record',
  'dup-storm': 'every batch delivered two or three times: duplicates change nothing',
  'region-added':
    'a region added to the config of a running mirror (synthesized again and applied), then backfilled with ddb-mirror backfill',
};

export function isDrillName(name: string): name is DrillName {
  return (DRILL_NAMES as readonly string[]).includes(name);
}
