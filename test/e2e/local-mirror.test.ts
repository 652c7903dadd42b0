import { existsSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '../../lib/config/load';
import { readAssembly } from '../../lib/local/assembly';
import { runLocalMirror, RunResult } from '../../lib/local/mirror';
import { synthesize } from '../../lib/local/synth';
import { runCli } from '../support/ops-fixture';

/**
 * The product's main job, end to end: the example config synthesized, every region on the test run's
 * DynamoDB Local, the real replicator bundles behind IAM-checking proxies, a short seeded workload.
 */
describe('local mirror session on the example config', () => {
  let result: RunResult;
  const lines: string[] = [];
  const configPath = join(__dirname, '..', '..', 'mirror.config.yaml');

  beforeAll(async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    if (!endpoint) throw new Error('jest global setup did not start DynamoDB Local');
    // GIVEN the example config, synthesized
    const dir = await synthesize({ configPath, cwd: join(__dirname, '..', '..') });
    // WHEN one session runs a short seeded workload on it. The plan's table names are fixed (Stories,
    // Sessions): the session replaces any earlier copies.
    result = await runLocalMirror({
      plan: readAssembly(dir),
      tables: loadConfig(configPath).tables,
      endpoint,
      workload: { seed: 11, rate: 20, durationSeconds: 5 },
      outDir: mkdtempSync(join(tmpdir(), 'ddbm-e2e-')),
      out: { write: (c: string) => lines.push(c), isTTY: false },
      drainTimeoutMs: 45000,
      // Kept, as `npm start -- --keep`, for the operations commands; stopped in the last test.
      keep: true,
    });
  }, 180000);
  afterAll(() => result?.stop?.());

  test('ends with every region holding the same items', () => {
    expect(result.report.verification?.tables.flatMap((t) => t.divergent)).toEqual([]);
    expect(result.report.divergentKeys).toBe(0);
    expect(result.ok).toBe(true);
  });

  test('replicated records on every source → target pair, with no IAM denial', () => {
    expect(result.denials.map((d) => d.message)).toEqual([]);
    expect(result.report.pairs.length).toBe(8);
    expect(
      // Applied at the target, or deferred there for the target region to decide (docs/replication.md).
      result.report.pairs
        .filter((p) => p.applied + p.deferred === 0)
        .map((p) => `${p.table} ${p.source}→${p.target}`),
    ).toEqual([]);
    expect(result.report.workload?.errors).toBe(0);
  });

  test("refuses an application's write to each read-only replica, and lets the replicators write", () => {
    // The one-way table's replicas carry a resource policy that denies every writer but the source's roles.
    expect(result.report.readOnlyProbes.map((p) => `${p.table}@${p.region} ${p.refused}`).sort()).toEqual([
      'Stories@ap-southeast-2 true',
      'Stories@eu-west-1 true',
    ]);
    for (const p of result.report.readOnlyProbes)
      expect(p.message).toMatch(/^AccessDeniedException: .*explicit deny in the resource-based policy/);
    expect(lines.join('')).toContain('✓ read-only replica Stories in eu-west-1 refused');
    // (the replicators wrote those same replicas: no denial, every pair applied, above)
  });

  test('runs each divergence sampler once while the workload writes: keys compared, none divergent', () => {
    const runs = result.report.scheduledRuns;
    expect(runs.map((r) => r.error)).toEqual(runs.map(() => undefined));
    const summaries = runs.map(
      (r) => r.result as { table: string; region: string; compared: number; divergent: number },
    );
    expect(summaries.map((s) => `${s.table}@${s.region}`).sort()).toEqual(
      ['Sessions@ap-southeast-2', 'Sessions@eu-west-1', 'Sessions@us-east-1', 'Stories@us-east-1'].sort(),
    );
    for (const s of summaries) {
      expect(s.compared).toBeGreaterThan(0);
      expect(s.divergent).toBe(0);
    }
    expect(lines.join('')).toMatch(/✓ divergence sampler Stories in us-east-1: \d+ keys compared/);
  });

  test('status prints every pair from the kept mirror’s live figures', async () => {
    // WHEN ddb-mirror status runs against the control endpoint the kept run serves
    const run = await runCli(['status', '--config', configPath, '--endpoint', result.controlEndpoint!]);
    const json = await runCli([
      'status',
      '--config',
      configPath,
      '--endpoint',
      result.controlEndpoint!,
      '--json',
    ]);
    // THEN one line per table and source → target pair, with what the run applied there
    expect(run.error).toBeUndefined();
    const rows = run.out.split('\n').filter((l) => /^(Stories|Sessions) /.test(l));
    expect(rows).toHaveLength(8);
    const pairs = JSON.parse(json.out).pairs as { table: string; applied: number; parkingDepth: number }[];
    expect(pairs.map((p) => p.table).sort()).toEqual([...Array(6).fill('Sessions'), 'Stories', 'Stories']);
    expect(pairs.reduce((n, p) => n + p.applied, 0)).toBe(
      result.report.pairs.reduce((n, p) => n + p.applied, 0),
    );
    expect(pairs.every((p) => p.parkingDepth === 0)).toBe(true);
  });

  test('writes the report files and, once stopped, leaves nothing running', async () => {
    expect(existsSync(result.files.json) && existsSync(result.files.html)).toBe(true);
    expect(lines.join('')).toContain('workload');
    // WHEN the kept run is stopped THEN its control endpoint answers no more
    await result.stop!();
    const after = await runCli(['status', '--config', configPath, '--endpoint', result.controlEndpoint!]);
    expect(after.error?.message).toMatch(/^--endpoint http:\/\/127\.0\.0\.1:\d+ does not answer/);
  });
});
