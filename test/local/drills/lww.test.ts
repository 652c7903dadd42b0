import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'path';
import { RESERVED } from '../../../lambda/contract';
import { loadConfig } from '../../../lib/config/load';
import type { TableModel } from '../../../lib/config/model';
import { readAssembly } from '../../../lib/local/assembly';
import type { DrillVerdict } from '../../../lib/local/drills/verdict';
import { LOCAL_CREDENTIALS } from '../../../lib/local/mirror';
import type { LocalPlan } from '../../../lib/local/plan';
import { synthesize } from '../../../lib/local/synth';
import { scanTable } from '../../../lib/local/verify';
import { WRITE_ID } from '../../../lib/local/workload';
import { drillRunner, summary } from './harness';

const TABLE = 'DrillLwwSessions';
const REGIONS = ['us-east-1', 'eu-west-1'];

/**
 * Failure drills on a last-writer-wins table: writers keep no version contract, so every save is
 * ordered by its region's replicator stamp (`_ddbm_ver`) and every replicated save reads its target
 * first. The drills that re-run the functions' writes against their own effect must still end with
 * nothing lost, nothing diverged and nothing re-applied over a newer write.
 */
describe('failure drills on a last-writer-wins table (short)', () => {
  let plan: LocalPlan;
  let tables: readonly TableModel[];
  const output: string[] = [];
  const configPath = join(__dirname, 'lww.config.yaml');
  const cwd = join(__dirname, '..', '..', '..');

  beforeAll(async () => {
    // GIVEN a two-region config with one multi-active table under conflicts: last-writer-wins
    plan = readAssembly(await synthesize({ configPath, cwd }));
    tables = loadConfig(configPath).tables;
    // The drills below mean nothing on a table under versions: refuse to run them on one.
    if (
      !tables.every(
        (t) => t.name === TABLE && t.mode === 'multi-active' && t.conflicts === 'last-writer-wins',
      )
    )
      throw new Error(`${configPath} must hold only ${TABLE}, multi-active under last-writer-wins`);
  }, 110000);

  const drill = drillRunner(
    { plan: () => plan, tables: () => tables, context: { configPath, cwd }, prefix: 'ddbm-drill-lww' },
    output,
  );

  /** Every region's items once the drill is over (the run leaves its tables in the engine). */
  async function finalItems() {
    const items = [];
    for (const region of REGIONS) {
      const client = new DynamoDBClient({
        region,
        endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
        credentials: LOCAL_CREDENTIALS,
      });
      try {
        items.push(...(await scanTable(client, TABLE)));
      } finally {
        client.destroy();
      }
    }
    return items;
  }

  /**
   * The drill really ran without a writer contract: no stream record of the table carries the
   * `version` attribute a version-contract writer would ADD, and every item left holds its replicator's
   * clock. Without this a config or workload regression could run the drill under versions and pass.
   */
  async function expectStampedWithoutVersions(v: DrillVerdict): Promise<void> {
    const steps = [...v.audit.histories.entries()]
      .filter(([k]) => k.startsWith(`${TABLE}\u0000`))
      .flatMap(([, s]) => s);
    expect(steps.length).toBeGreaterThan(0);
    // (the first few offenders only: a failure here would otherwise print thousands of records)
    expect(steps.filter((s) => s.version !== undefined).slice(0, 3)).toEqual([]);
    expect(steps.some((s) => s.stampedVersion !== undefined)).toBe(true);
    const items = await finalItems();
    expect(items.length).toBeGreaterThan(0);
    const unstamped = items.filter((i) => i[WRITE_ID] && !i[RESERVED.stampedVersion]?.N);
    expect(unstamped.slice(0, 3)).toEqual([]);
    expect(items.filter((i) => 'version' in i).slice(0, 3)).toEqual([]);
  }

  test('lost-answer: stamps and peer puts applied and then failed are retried against their own effect, nothing lost', async () => {
    // WHEN a fifth of the functions' writes (stamps and replicated saves) are applied and then fail
    // (a 500 or a cut connection) for 4 s
    const v = await drill('lost-answer', 0.2);
    // THEN both kinds of lost answer happened, on applied writes only, and everything converged with
    // no write re-applied over a newer one (a write-back over a replacing peer save is not one)
    expect(summary(v)).toEqual({
      line: expect.stringMatching(/^drill=lost-answer lost=0 diverged=0 /),
      problems: [],
    });
    expect(Number(v.fields.as_500)).toBeGreaterThan(0);
    expect(Number(v.fields.as_reset)).toBeGreaterThan(0);
    expect(Number(v.fields.lost_answers)).toBeLessThan(Number(v.fields.writes));
    expect(v.audit.reapplied).toEqual([]);
    await expectStampedWithoutVersions(v);
  }, 180000);

  test('dup-storm: batches delivered two or three times change nothing under last-writer-wins', async () => {
    // WHEN every batch is delivered two or three times for 4 s
    const v = await drill('dup-storm');
    // THEN duplicates were delivered, and none re-applied a write over a newer one: a duplicate stamp
    // knows its own `_ddbm_by`, a duplicate peer put loses to the order key it already wrote
    expect(summary(v)).toEqual({
      line: expect.stringMatching(/^drill=dup-storm lost=0 diverged=0 /),
      problems: [],
    });
    expect(Number(v.fields.duplicates)).toBeGreaterThan(0);
    expect(v.fields.reapplied).toBe('0');
    await expectStampedWithoutVersions(v);
  }, 180000);
});
