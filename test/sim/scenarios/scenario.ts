/**
 * A named scenario: a fixed program and a script of steps (by label) that opens one hypothesised
 * window of the protocol, kept as a regression. Scripts name steps by what they do (`→ b PutItem
 * Items k =a0`), not by call numbers, so they still apply when the replicator makes other calls;
 * a step the current code never makes leaves the script `stuck` (reported, not a failure).
 */
import { ScriptChooser, type Directive } from '../chooser';
import { runWith, worldOptions } from '../explore';
import { EVEN_PROFILE, UNBOUNDED } from '../faults';
import type { RunResult, WorldOptions } from '../world';

export interface Scenario {
  readonly name: string;
  /** The window's number in the list of hypothesised windows (scenarios/index.ts). */
  readonly window: number;
  readonly description: string;
  readonly options: Partial<WorldOptions>;
  readonly script: readonly Directive[];
  /** What the protocol before its redesign (commit aadfb1f) did under this script. */
  readonly before: string;
}

export interface ScenarioRun {
  readonly run: RunResult;
  readonly followed: boolean;
  readonly stuck?: string;
}

/** Scripted runs may inject whatever the script says: no budget stands in the way. */
export function scenarioOptions(scenario: Scenario, overrides: Partial<WorldOptions> = {}): WorldOptions {
  return worldOptions({
    budget: {
      preemptions: UNBOUNDED,
      failures: UNBOUNDED,
      ambiguous: UNBOUNDED,
      duplicates: UNBOUNDED,
      // Tombstones expire only where a script says so.
      expiries: 0,
    },
    profile: EVEN_PROFILE,
    ...scenario.options,
    ...overrides,
  });
}

export async function runScenario(
  scenario: Scenario,
  overrides: Partial<WorldOptions> = {},
): Promise<ScenarioRun> {
  const chooser = new ScriptChooser(scenario.script);
  const run = await runWith(scenarioOptions(scenario, overrides), chooser);
  return { run, followed: chooser.followed, ...(chooser.stuck ? { stuck: chooser.stuck } : {}) };
}
