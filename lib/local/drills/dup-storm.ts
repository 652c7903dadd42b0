import { prng } from '../workload';
import { seconds } from './figures';
import type { DrillSession, Scenario } from './session';

/**
 * Every stream batch delivered two or three times in a row for `--for` (an event source option:
 * at-least-once delivery, on demand). The replicators' conditional writes must make every duplicate a
 * no-op: the audit of every region's stream checks that no write ever came back over a newer one.
 */
export const dupStormScenario: Scenario = {
  name: 'dup-storm',
  plan: (s) =>
    `every stream batch delivered two or three times for ${s.settings.forSeconds}s from +${s.settings.leadSeconds}s`,
  windowSeconds: (settings) => settings.forSeconds,
  inject: async (s) => {
    const random = prng(s.seed * 31 + 7);
    for (const { source } of s.handles.streamSources) source.setDeliveries(() => (random() < 0.5 ? 2 : 3));
    s.log('duplicate storm on: every batch delivered two or three times');
    await s.wait(s.settings.forSeconds * 1000);
    for (const { source } of s.handles.streamSources) source.setDeliveries(undefined);
    s.log(
      `duplicate storm off after ${seconds(Date.now() - s.window!.start)}: ${duplicates(s)} duplicate deliveries`,
    );
  },
  status: (s) => `${duplicates(s)} duplicate deliveries`,
  conclude: (s) => ({
    fields: { duplicates: String(duplicates(s)) },
    problems: duplicates(s) === 0 ? ['no batch was delivered twice: the storm met no traffic'] : [],
  }),
};

function duplicates(s: DrillSession): number {
  return s.handles.streamSources.reduce((n, x) => n + x.source.counters.duplicateDeliveries, 0);
}
