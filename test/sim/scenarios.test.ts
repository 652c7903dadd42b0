import { SCENARIOS, runScenario } from './scenarios';

/**
 * Each named scenario opens a window the protocol before its redesign had (commit aadfb1f fails
 * every one of them: see each scenario's `before`). Against the tree's replicator every oracle must
 * hold. A script the current code no longer follows (it makes other calls) still runs to the end
 * and is judged; the log says where it left the script.
 */
describe('named scenarios', () => {
  it.each(SCENARIOS.map((s) => [`window ${s.window}: ${s.name}`, s] as const))(
    '%s: every oracle holds',
    async (_name, scenario) => {
      const { run, followed, stuck } = await runScenario(scenario);
      if (!followed)
        console.log(`${scenario.name}: the script was not followed to its end${stuck ? `: ${stuck}` : ''}`);
      const failures = run.failures.map((f) => `${f.oracle}: ${f.message}`);
      expect({ failures, trace: failures.length ? run.trace.format() : '' }).toEqual({
        failures: [],
        trace: '',
      });
    },
  );
});
