import { existsSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfig } from '../../lib/config/load';
import { readAssembly } from '../../lib/local/assembly';
import { runLocalMirror, RunResult } from '../../lib/local/mirror';
import { synthesize } from '../../lib/local/synth';

/**
 * The product's main job, end to end: the example config synthesized, every region on the test run's
 * DynamoDB Local, the real replicator bundles behind IAM-checking proxies, a short seeded workload.
 */
describe('local mirror session on the example config', () => {
  let result: RunResult;
  const lines: string[] = [];

  beforeAll(async () => {
    const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    if (!endpoint) throw new Error('jest global setup did not start DynamoDB Local');
    // GIVEN the example config, synthesized
    const configPath = join(__dirname, '..', '..', 'mirror.config.yaml');
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
    });
  }, 110000);

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

  test('writes the report files and leaves nothing running', () => {
    expect(existsSync(result.files.json) && existsSync(result.files.html)).toBe(true);
    expect(result.stop).toBeUndefined();
    expect(lines.join('')).toContain('workload');
  });
});
