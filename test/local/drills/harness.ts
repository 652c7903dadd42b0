import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { TableModel } from '../../../lib/config/model';
import type { DrillName } from '../../../lib/local/drills/catalog';
import { runDrills } from '../../../lib/local/drills/run';
import type { DrillContext } from '../../../lib/local/drills/session';
import type { DrillVerdict } from '../../../lib/local/drills/verdict';
import type { LocalPlan } from '../../../lib/local/plan';

/** What every short drill in these suites shares: the synthesized plan, its tables and the run's context. */
export interface DrillSuite {
  plan: () => LocalPlan;
  tables: () => readonly TableModel[];
  context: DrillContext;
  /** Names the drill's output directory, so runs of different suites are told apart. */
  prefix: string;
}

/**
 * Runs one short drill on the test run's DynamoDB Local: 2 s of the seeded workload (20 writes/s),
 * a 4 s fault, 1 s more, then the drain. The drill's console output is kept in `output` (cleared
 * for each drill) so a test can read what the drill said.
 */
export function drillRunner(suite: DrillSuite, output: string[]) {
  return async function drill(
    name: DrillName,
    fraction?: number,
    context: DrillContext = suite.context,
    drainTimeoutMs = 60000,
  ): Promise<DrillVerdict> {
    output.length = 0;
    const result = await runDrills({
      plan: suite.plan(),
      tables: suite.tables(),
      drills: [name],
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      settings: { leadSeconds: 2, forSeconds: 4, tailSeconds: 1, ...(fraction ? { fraction } : {}) },
      workload: { seed: 5, rate: 20 },
      outDir: mkdtempSync(join(tmpdir(), `${suite.prefix}-${name}-`)),
      out: { write: (c: string) => output.push(c), isTTY: false },
      drainTimeoutMs,
      context,
    });
    expect(result.verdicts).toHaveLength(1);
    return result.verdicts[0];
  };
}

/** A drill's verdict line and its problems, so a failure shows why. */
export const summary = (v: DrillVerdict) => ({ line: v.line, problems: v.problems });
