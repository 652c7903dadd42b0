import type { DrillSession, DrillSettings, Scenario, ScenarioFindings } from './session';
import { describeCounts } from './faults';
import type { LagObservation } from '../lag-sampler';
import { maxLag, parkedFor, seconds } from './figures';

/**
 * A region is unreachable for `--for`, then back. Everything a region outage takes down goes down
 * together: every function's requests signed for the region are refused (503 and connection resets,
 * alternately, through the per-function proxies), the region's own event sources stop invoking (its
 * Lambda pollers are down with it; its stream is still there, and is read from where it stopped), and
 * the workload's writes there are refused (they are not acknowledged, so never counted as lost).
 *
 * `outage-long` models a stream retention shorter than the outage (the MaximumRecordAgeInSeconds of
 * every mapping on the streams that feed the dead region, from the fault on): records bound for the
 * dead region are parked, not kept in a stream, so nothing is lost. The region's own stream is a
 * different matter: what it had not replicated when it went down waits in its stream with the
 * retention a real stream has (24 hours on AWS), and a region down longer than that loses it, as any
 * stream-based replication would. So this variant sends the region's users elsewhere first and lets its
 * stream drain (bounded) before it cuts it; the peers' last writes into it wait there.
 */
export function outageScenario(long: boolean): Scenario {
  /** outage-long: the retention and outage length chosen at the fault (they depend on the lag then). */
  let chosen: LongOutage | undefined;
  return {
    name: long ? 'outage-long' : 'outage',
    plan: (s) => {
      const region = deadRegion(s);
      const what =
        `${region} unreachable for ${s.settings.forSeconds}s from +${s.settings.leadSeconds}s: every function's ` +
        `requests signed for it refused (503 / connection reset), its own event sources stopped, ` +
        `the workload's writes there refused; then back`;
      return long
        ? `${what}. Stream retention of the streams that feed it (their mappings' MaximumRecordAgeInSeconds) modelled as ${retention(s.settings)}s, ` +
            `or 3× the largest lag seen before the fault if more; the outage lasts at least twice the retention`
        : what;
    },
    // The long outage lasts at least twice the retention, and cuts only once the region's own stream
    // has drained (seconds on a busy machine): the workload runs that long, so the cut meets traffic.
    windowSeconds: (settings) =>
      long ? Math.max(settings.forSeconds, 2 * retention(settings)) : settings.forSeconds,
    inject: async (s) => {
      if (!long) return outage(s, s.settings.forSeconds);
      chosen = chooseLongOutage(s);
      return longOutage(s, chosen);
    },
    status: (s) => {
      const region = deadRegion(s);
      const t = seconds(Date.now() - s.window!.start);
      const of = chosen?.outageSeconds ?? s.settings.forSeconds;
      return `${region} down ${t}/${of}s · ${s.injector.total} requests refused · ${parkedFor(s, region)} records parked for it`;
    },
    conclude: (s) => findings(s, chosen),
  };
}

interface LongOutage {
  readonly retentionSeconds: number;
  readonly outageSeconds: number;
}

/**
 * The modelled retention must stay above the lag of the regions that still run, or they lose records
 * to it with no outage at all (true on AWS too: a stream read more than 24 h late loses records): so
 * `--stream-retention` (default half of `--for`), raised to 3× the largest lag seen so far when that is
 * more. The outage then lasts `--for`, or twice the retention when that is longer.
 */
export function chooseLongOutage(s: DrillSession): LongOutage {
  const lagSeconds = (maxLag(s) ?? 0) / 1000;
  const retentionSeconds = Math.max(retention(s.settings), Math.ceil(3 * lagSeconds));
  return { retentionSeconds, outageSeconds: Math.max(s.settings.forSeconds, 2 * retentionSeconds) };
}

/** The region taken down: `--region`, else the last one that is no one-way table's source. */
export function deadRegion(s: Pick<DrillSession, 'settings' | 'plan' | 'tables'>): string {
  if (s.settings.region) return s.settings.region;
  const sources = new Set(s.tables.flatMap((t) => (t.mode === 'one-way' ? [t.source] : [])));
  const candidates = s.plan.regions.filter((r) => !sources.has(r));
  const pool = candidates.length ? candidates : s.plan.regions;
  return pool[pool.length - 1];
}

/**
 * `--stream-retention`, else half of `--for` and at least 8 s: the streams that stay up must keep their
 * records longer than their own lag, which a loaded 2-core machine takes seconds to (a 2 s retention
 * in a short drill lost records with no outage involved).
 */
export function retention(settings: DrillSettings): number {
  return settings.streamRetentionSeconds ?? Math.max(8, settings.forSeconds / 2);
}

async function outage(s: DrillSession, outageSeconds: number): Promise<void> {
  const region = deadRegion(s);
  cut(s, region);
  await s.wait(outageSeconds * 1000);
  restore(s, region);
}

async function longOutage(s: DrillSession, chosen: LongOutage): Promise<void> {
  const region = deadRegion(s);
  const ttl = chosen.retentionSeconds;
  // The streams that feed the dead region get the short retention: what they hold for it must
  // survive in parking. Its own streams keep theirs: records written there just before the cut (the
  // peers' last writes into it) wait in its stream while it is down, as they would on AWS.
  for (const x of s.handles.streamSources) if (x.region !== region) x.source.setMaximumRecordAge(ttl);
  s.log(
    `stream retention of the streams that feed ${region} now modelled as ${ttl}s (largest lag so far ${seconds(maxLag(s) ?? 0)}): records older than that are discarded, as an expired stream would; the outage will last ${chosen.outageSeconds}s`,
  );
  s.injector.failOverApplication(region);
  s.log(
    `${region}'s users sent elsewhere: the workload's writes there are refused; waiting for its stream to drain`,
  );
  await drained(s, region);
  await outage(s, chosen.outageSeconds);
}

/**
 * Until the region's own stream sources have nothing pending twice in a row, a second apart (bounded by
 * the recovery timeout): what they still held when cut would expire in its stream, a loss this drill
 * is not about (on AWS too, a region's unreplicated writes wait in its stream while it is down).
 */
async function drained(s: DrillSession, region: string): Promise<void> {
  const own = s.handles.streamSources.filter((x) => x.region === region);
  const deadline = Date.now() + s.settings.recoveryTimeoutMs;
  for (let quiet = 0; quiet < 2 && Date.now() < deadline && !s.aborted;) {
    quiet = own.some((x) => x.source.pending > 0) ? 0 : quiet + 1;
    await s.wait(quiet ? 1000 : 250);
  }
  s.log(`${region}'s own streams drained`);
}

function cut(s: DrillSession, region: string): void {
  s.injector.takeDown(region);
  for (const x of s.handles.streamSources) if (x.region === region) x.source.pause();
  for (const x of s.handles.queueSources) if (x.region === region) x.source.pause();
  s.log(
    `${region} down: requests signed for it refused (503 / connection reset), its event sources stopped, the workload's writes there refused`,
  );
}

function restore(s: DrillSession, region: string): void {
  s.injector.bringUp(region);
  for (const x of s.handles.streamSources) if (x.region === region) x.source.resume();
  for (const x of s.handles.queueSources) if (x.region === region) x.source.resume();
  s.log(
    `${region} back after ${seconds(Date.now() - s.window!.start)}: ${s.injector.total} requests refused, ${parkedFor(s, region)} records parked for it, ${s.ledger.refused} workload writes refused`,
  );
}

/**
 * The normal bound of the healthy pairs' lag: the replicators' IteratorAge alarm threshold
 * (ALARM_DEFAULTS in lib/constructs/defaults.ts; a test keeps the two equal). Above it, a real outage
 * of one region would page for the regions that stayed up.
 */
export const HEALTHY_LAG_BOUND_MS = 60_000;

function findings(s: DrillSession, long: LongOutage | undefined): ScenarioFindings {
  const region = deadRegion(s);
  const { start, end } = s.window ?? { start: 0, end: 0 };
  const others = (o: LagObservation) => o.origin !== region && o.target !== region;
  const baseline = maxLag(s, others, s.startedAt, start);
  const healthy = maxLag(s, others, start, end ?? start);
  const discarded = s.handles.streamSources.reduce((n, x) => n + x.source.counters.recordsDiscarded, 0);
  const problems = [
    ...(discarded
      ? [`${discarded} stream records were discarded (their batches went to the on-failure queue)`]
      : []),
    // An outage that met no request proves nothing (on a loaded machine, replication may not have
    // reached the dead region yet when it went down).
    ...(s.injector.total === 0 ? [`no request to ${region} was refused: the outage met no traffic`] : []),
    ...(healthy !== undefined && healthy > HEALTHY_LAG_BOUND_MS
      ? [
          `the regions that stayed up lagged ${seconds(healthy)} during the outage, over the normal bound of ${seconds(HEALTHY_LAG_BOUND_MS)} (the IteratorAge alarm threshold)`,
        ]
      : []),
  ];
  return {
    fields: {
      region,
      ...(long ? { retention: `${long.retentionSeconds}s`, outage: `${long.outageSeconds}s` } : {}),
      baseline_lag: baseline === undefined ? '–' : seconds(baseline),
      healthy_lag: healthy === undefined ? '–' : seconds(healthy),
      healthy_bound: seconds(HEALTHY_LAG_BOUND_MS),
      refused: String(s.injector.total),
      parked: String(parkedFor(s, region)),
      refused_writes: String(s.ledger.refused),
      discarded: String(discarded),
    },
    problems,
    details: { faults: s.injector.counts, faultsText: describeCounts(s.injector.counts) },
  };
}
