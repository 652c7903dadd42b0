import { describeCounts } from './faults';
import { seconds } from './figures';
import type { DrillSession, Scenario, ScenarioFindings } from './session';

/**
 * Throttling and server errors on a share (`--fraction`) of every DynamoDB request the functions make,
 * in every region, for `--for`: ProvisionedThroughputExceededException and HTTP 500, alternately, each
 * answered by the proxy before the request reaches the engine. The replicators' retries with back-off
 * (and, past them, parking and the event source's retries) must carry every record through.
 */
export const throttleScenario: Scenario = {
  name: 'throttle',
  plan: (s) =>
    `${percent(s.settings.fraction)} of every function's DynamoDB requests in every region fail for ` +
    `${s.settings.forSeconds}s from +${s.settings.leadSeconds}s: ProvisionedThroughputExceededException and HTTP 500, alternately`,
  windowSeconds: (settings) => settings.forSeconds,
  inject: async (s) => {
    s.injector.setThrottle(s.settings.fraction);
    s.log(`throttling on: ${percent(s.settings.fraction)} of function requests fail (throttled or 500)`);
    await s.wait(s.settings.forSeconds * 1000);
    s.injector.setThrottle(undefined);
    s.log(
      `throttling off after ${seconds(Date.now() - s.window!.start)}: ${s.injector.total} faults injected (${describeCounts(s.injector.counts)}); ${batchRetries(s)} batch retries by the event sources`,
    );
  },
  status: (s) => `${s.injector.total} faults injected · ${batchRetries(s)} batch retries`,
  conclude: (s): ScenarioFindings => {
    const modes = Object.values(s.injector.counts);
    const sum = (mode: 'throttle' | 'server-error') => modes.reduce((n, m) => n + (m[mode] ?? 0), 0);
    const parked = s.handles.stats.figures().reduce((n, p) => n + p.parked, 0);
    return {
      fields: {
        fraction: String(s.settings.fraction),
        throttled: String(sum('throttle')),
        server_errors: String(sum('server-error')),
        batch_retries: String(batchRetries(s)),
        parked: String(parked),
      },
      problems: s.injector.total === 0 ? ['no request was failed: the throttling met no traffic'] : [],
      details: { faults: s.injector.counts, faultsText: describeCounts(s.injector.counts) },
    };
  },
};

/** Batches the stream event sources delivered again after a failure, over the whole run. */
export function batchRetries(s: DrillSession): number {
  return s.handles.streamSources.reduce((n, x) => n + x.source.counters.retries, 0);
}

/** `20%`, `12.5%`. */
export function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
