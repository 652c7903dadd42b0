import type { DrillSession, DrillSettings, Scenario, ScenarioFindings } from './session';
import { describeCounts } from './faults';
import { maxLag, parkedFor, seconds } from './figures';

/**
 * A region is unreachable for `--for`, then back. Everything a region outage takes down goes down
 * together: every function's requests signed for the region are refused (503 and connection resets,
 * alternately, through the per-function proxies), the region's own event sources stop invoking (its
 * Lambda pollers are down with it; its stream is still there, and is read from where it stopped), and
 * the workload's writes there are refused (they are not acknowledged, so never counted as lost).
 *
 * `outage-long` models a stream retention shorter than the outage (every mapping's
 * MaximumRecordAgeInSeconds, from the fault on): records bound for the dead region are parked, not
 * kept in a stream, so nothing is lost. The region's own stream is a different matter: what it had not
 * replicated when it went down stays in its stream and expires with it, as it would on AWS. So this
 * variant sends the region's users elsewhere first, lets its stream drain (bounded), then cuts it.
 */
export function outageScenario(long: boolean): Scenario {
  return {
    name: long ? 'outage-long' : 'outage',
    plan: (s) => {
      const region = deadRegion(s);
      const what =
        `${region} unreachable for ${s.settings.forSeconds}s from +${s.settings.leadSeconds}s: every function's ` +
        `requests signed for it refused (503 / connection reset), its own event sources stopped, ` +
        `the workload's writes there refused; then back`;
      return long
        ? `${what}. Stream retention modelled as ${retention(s.settings)}s (MaximumRecordAgeInSeconds of every mapping), shorter than the outage`
        : what;
    },
    windowSeconds: (settings) => settings.forSeconds,
    inject: (s) => (long ? longOutage(s) : outage(s)),
    status: (s) => {
      const region = deadRegion(s);
      const t = seconds(Date.now() - s.window!.start);
      return `${region} down ${t}/${s.settings.forSeconds}s · ${s.injector.total} requests refused · ${parkedFor(s, region)} records parked for it`;
    },
    conclude: (s) => findings(s, long),
  };
}

/** The region taken down: `--region`, else the last one that is no one-way table's source. */
export function deadRegion(s: Pick<DrillSession, 'settings' | 'plan' | 'tables'>): string {
  if (s.settings.region) return s.settings.region;
  const sources = new Set(s.tables.flatMap((t) => (t.mode === 'one-way' ? [t.source] : [])));
  const candidates = s.plan.regions.filter((r) => !sources.has(r));
  const pool = candidates.length ? candidates : s.plan.regions;
  return pool[pool.length - 1];
}

export function retention(settings: DrillSettings): number {
  return settings.streamRetentionSeconds ?? Math.max(1, settings.forSeconds / 2);
}

async function outage(s: DrillSession): Promise<void> {
  const region = deadRegion(s);
  cut(s, region);
  await s.wait(s.settings.forSeconds * 1000);
  restore(s, region);
}

async function longOutage(s: DrillSession): Promise<void> {
  const region = deadRegion(s);
  const ttl = retention(s.settings);
  for (const { source } of s.handles.streamSources) source.setMaximumRecordAge(ttl);
  s.log(
    `stream retention now modelled as ${ttl}s: records older than that are discarded, as an expired stream would`,
  );
  s.injector.failOverApplication(region);
  s.log(
    `${region}'s users sent elsewhere: the workload's writes there are refused; waiting for its stream to drain`,
  );
  const own = s.handles.streamSources.filter((x) => x.region === region);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && own.some((x) => x.source.pending > 0)) await s.wait(100);
  cut(s, region);
  await s.wait(s.settings.forSeconds * 1000);
  restore(s, region);
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

function findings(s: DrillSession, long: boolean): ScenarioFindings {
  const region = deadRegion(s);
  const { start, end } = s.window ?? { start: 0, end: 0 };
  const healthy = maxLag(s, (o) => o.origin !== region && o.target !== region, start, end ?? start);
  const discarded = s.handles.streamSources.reduce((n, x) => n + x.source.counters.recordsDiscarded, 0);
  return {
    fields: {
      region,
      ...(long ? { retention: `${retention(s.settings)}s` } : {}),
      healthy_lag: healthy === undefined ? '–' : seconds(healthy),
      parked: String(parkedFor(s, region)),
      refused_writes: String(s.ledger.refused),
      discarded: String(discarded),
    },
    problems: discarded
      ? [`${discarded} stream records were discarded (their batches went to the on-failure queue)`]
      : [],
    details: { faults: s.injector.counts, faultsText: describeCounts(s.injector.counts) },
  };
}
