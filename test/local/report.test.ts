import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { LocalPlan } from '../../lib/local/plan';
import { buildReport, percentiles, StatsCollector, writeReport } from '../../lib/local/report';
import { MirrorView, renderPairs } from '../../lib/local/view';
import { multiActiveTable } from '../support/model-fixtures';

const plan: LocalPlan = {
  assemblyDir: '/tmp/cdk.out',
  account: '000000000000',
  regions: ['us-east-1', 'eu-west-1'],
  stacks: [],
  tables: [],
  queues: [],
  functions: [],
  mappings: [],
  schedules: [],
};
const tables = [multiActiveTable({ regions: ['us-east-1', 'eu-west-1'] })];

const emf = (metrics: Record<string, number | number[]>, dims: Record<string, string>) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'DdbMirror',
          Dimensions: [Object.keys(dims)],
          Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    ...dims,
    ...metrics,
  });

describe('StatsCollector', () => {
  test('counts EMF metric lines per table and source → target pair', () => {
    // GIVEN a collector for one multi-active table in two regions
    const stats = new StatsCollector();
    stats.declarePairs(tables);
    // WHEN a log line, two metric lines of the us-east-1 replicator and a lag sample come in
    expect(stats.ingestLine('{"level":"INFO","message":"hello"}', { source: 'us-east-1' })).toBe(false);
    expect(
      stats.ingestLine(
        emf(
          { RecordsApplied: 3, ConflictsLost: 1, ReplicationLatency: [100, 300] },
          { service: 'ddb-mirror', table: 'Sessions', targetRegion: 'eu-west-1' },
        ),
        { source: 'us-east-1' },
      ),
    ).toBe(true);
    stats.ingestLine(
      emf(
        { RecordsApplied: 2, RecordsParked: 1, RecordsSkippedStale: 4, Errors: 2 },
        { service: 'ddb-mirror', table: 'Sessions', targetRegion: 'eu-west-1' },
      ),
      { source: 'us-east-1' },
    );
    stats.addLag({
      table: 'Sessions',
      writeId: 'w',
      origin: 'eu-west-1',
      target: 'us-east-1',
      lagMs: 250,
      at: Date.now(),
    });
    // THEN each metric lands in its pair's column, and the lag in the other pair
    const figures = stats.figures();
    expect(figures).toHaveLength(2);
    const forward = figures.find((f) => f.source === 'us-east-1')!;
    expect(forward).toMatchObject({
      applied: 5,
      conflictsLost: 1,
      parked: 1,
      staleSkipped: 4,
      errors: 2,
      metricLatency: { count: 2, p50: 100, p99: 300 },
    });
    expect(figures.find((f) => f.source === 'eu-west-1')!.observedLag.p50).toBe(250);
  });

  test('computes nearest-rank percentiles', () => {
    expect(percentiles([])).toEqual({ count: 0 });
    const p = percentiles(Array.from({ length: 100 }, (_v, i) => i + 1));
    expect(p).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
});

describe('report files', () => {
  test('writes report.json and a self-contained report.html with an SVG lag chart', () => {
    // GIVEN two lag samples of one pair
    const stats = new StatsCollector();
    stats.declarePairs(tables);
    const now = Date.now();
    stats.addLag({
      table: 'Sessions',
      writeId: 'w',
      origin: 'us-east-1',
      target: 'eu-west-1',
      lagMs: 120,
      at: now,
    });
    stats.addLag({
      table: 'Sessions',
      writeId: 'w',
      origin: 'us-east-1',
      target: 'eu-west-1',
      lagMs: 80,
      at: now + 500,
    });
    // WHEN the report is built and written
    const report = buildReport({
      plan,
      tables,
      stats,
      startedAt: now - 1000,
      seed: 9,
      options: { rate: 20 },
      timings: { workloadMs: 1000 },
      verification: { tables: [], divergentKeys: 0, durationMs: 5 },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ddbm-report-'));
    const files = writeReport(report, dir);
    // THEN both files exist, the JSON holds the figures and the HTML draws the lag without scripts
    expect(existsSync(files.json) && existsSync(files.html)).toBe(true);
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    expect(json).toMatchObject({ seed: 9, divergentKeys: 0, ok: true });
    expect(json.pairs).toHaveLength(2);
    expect(json.config.tables).toEqual([
      { name: 'Sessions', mode: 'multi-active', regions: ['us-east-1', 'eu-west-1'], excludeAttributes: [] },
    ]);
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('<polyline');
    expect(html).not.toMatch(/<script|src="http/);
  });
});

describe('terminal view', () => {
  test('prints plain lines without ANSI codes when the stream is not a TTY', () => {
    // GIVEN a view on a stream that is not a terminal
    const chunks: string[] = [];
    const stats = new StatsCollector();
    stats.declarePairs(tables);
    const view = new MirrorView({ write: (c: string) => chunks.push(c), isTTY: false }, () =>
      stats.figures(),
    );
    // WHEN a phase, a message and the final figures are shown
    view.setPhase('workload');
    view.log('hello');
    view.stop();
    // THEN they are plain text
    const text = chunks.join('');
    expect(text).toContain('workload');
    expect(text).toContain('us-east-1 → eu-west-1');
    expect(text).not.toContain('\x1b[');
  });

  test('renders one row per pair with aligned columns', () => {
    const stats = new StatsCollector();
    stats.declarePairs(tables);
    const lines = renderPairs(stats.figures());
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^table\s+source → target\s+applied/);
  });
});
