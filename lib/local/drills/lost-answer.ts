import { WRITE_OPERATIONS } from '../aws-proxy';
import { describeCounts } from './faults';
import { seconds } from './figures';
import type { Scenario, ScenarioFindings } from './session';
import { batchRetries, percent } from './throttle';

/**
 * A share (`--fraction`) of every DynamoDB write the functions make, in every region, for `--for`, is
 * applied by the engine and then fails at the function: HTTP 500 InternalServerError and a cut
 * connection, alternately. DynamoDB can do both after a write committed (its request router answering
 * 500, a timeout or a lost connection), and the SDK retries them: the retry, and the replicator's own,
 * meet the write's earlier effect. Nothing may be lost or diverge.
 */
export function lostAnswerScenario(): Scenario {
  let writes = 0;
  let counting = false;
  return {
    name: 'lost-answer',
    plan: (s) =>
      `${percent(s.settings.fraction)} of the functions' DynamoDB writes in every region are applied and then fail for ` +
      `${s.settings.forSeconds}s from +${s.settings.leadSeconds}s: HTTP 500 InternalServerError and a cut connection, alternately`,
    windowSeconds: (settings) => settings.forSeconds,
    prepare: (s) =>
      s.injector.observe((call) => {
        if (counting && WRITE_OPERATIONS.has(call.operation)) writes += 1;
      }),
    inject: async (s) => {
      counting = true;
      s.injector.setLostAnswers(s.settings.fraction);
      s.log(
        `lost answers on: ${percent(s.settings.fraction)} of function writes are applied, then fail (500 or cut connection)`,
      );
      await s.wait(s.settings.forSeconds * 1000);
      s.injector.setLostAnswers(undefined);
      counting = false;
      s.log(
        `lost answers off after ${seconds(Date.now() - s.window!.start)}: ${s.injector.total} of ${writes} function writes applied with their answer lost (${describeCounts(s.injector.counts)}); ${batchRetries(s)} batch retries by the event sources`,
      );
    },
    status: (s) =>
      `${s.injector.total} of ${writes} writes lost their answer · ${batchRetries(s)} batch retries`,
    conclude: (s): ScenarioFindings => {
      const modes = Object.values(s.injector.counts);
      const sum = (mode: 'lost-answer' | 'lost-answer-reset') =>
        modes.reduce((n, m) => n + (m[mode] ?? 0), 0);
      const parked = s.handles.stats.figures().reduce((n, p) => n + p.parked, 0);
      return {
        fields: {
          fraction: String(s.settings.fraction),
          writes: String(writes),
          lost_answers: String(s.injector.total),
          as_500: String(sum('lost-answer')),
          as_reset: String(sum('lost-answer-reset')),
          batch_retries: String(batchRetries(s)),
          parked: String(parked),
        },
        problems:
          s.injector.total === 0 ? ['no applied write lost its answer: the fault met no traffic'] : [],
        details: { faults: s.injector.counts, faultsText: describeCounts(s.injector.counts), writes },
      };
    },
  };
}
