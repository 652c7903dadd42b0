import { join } from 'path';
import { parseCommand, UsageError } from '../../cli/command';
import { planArgs, planCommand, planLines } from '../../cli/plan';
import type { PreflightReport, PreflightRow } from '../../lib/ops/preflight';

/** How the plan is asked for (its options) and how it prints a report. */

const REPO_CONFIG = join(__dirname, '..', '..', 'mirror.config.yaml');

function row(overrides: Partial<PreflightRow> = {}): PreflightRow {
  return {
    table: 'Stories',
    region: 'us-east-1',
    intent: 'adopt',
    exists: true,
    keyMatches: true,
    billing: { mode: 'PAY_PER_REQUEST' },
    stream: 'NEW_AND_OLD_IMAGES',
    readers: { others: [], mirror: 1, total: 1 },
    pointInTimeRecovery: true,
    itemCount: 1200,
    sizeBytes: 3_400_000,
    verdict: 'ready',
    ...overrides,
  };
}

function report(overrides: Partial<PreflightReport> = {}): PreflightReport {
  return {
    ready: true,
    rows: [row()],
    blockers: [],
    warnings: [],
    changes: [],
    sampleReadUnits: 0,
    ...overrides,
  };
}

describe('plan options', () => {
  test('every table by default; --table, --sample and --max-write-units as given', async () => {
    const all = await planArgs(parseCommand(planCommand, ['--config', REPO_CONFIG]), process.cwd());
    const some = await planArgs(
      parseCommand(planCommand, [
        '--config',
        REPO_CONFIG,
        '--table',
        'Sessions',
        '--sample',
        '25',
        '--max-write-units',
        '500',
      ]),
      process.cwd(),
    );
    expect([all.tables, all.sampleSize, all.maxWriteUnits]).toEqual([undefined, 100, undefined]);
    expect([some.tables, some.sampleSize, some.maxWriteUnits]).toEqual([['Sessions'], 25, 500]);
  });

  test('every mistake is told at once, each naming the option and the value', async () => {
    const values = parseCommand(planCommand, [
      '--config',
      REPO_CONFIG,
      '--table',
      'Nope',
      '--sample',
      '0',
      '--max-write-units',
      'fast',
    ]);
    await expect(planArgs(values, process.cwd())).rejects.toThrow(UsageError);
    await expect(planArgs(values, process.cwd())).rejects.toThrow(
      [
        '--max-write-units needs a number ≥ 1, got "fast"',
        '--sample needs an integer from 1 to 1000, got "0"',
        `--table "Nope" is not in ${REPO_CONFIG}; its tables: Stories, Sessions`,
      ].join('\n'),
    );
  });
});

describe('plan output', () => {
  test('one aligned row per table and region, then the estimates, the notes and the verdict', () => {
    const lines = planLines(
      report({
        rows: [
          row({
            backfill: {
              targets: ['eu-west-1', 'ap-southeast-2'],
              itemCount: 1200,
              averageItemBytes: 2833,
              unitsPerItem: 3,
              writeUnits: 7200,
              rate: { writeUnitsPerSecond: 1000, from: 'exportBackfill' },
              seconds: 3.6,
            },
          }),
          { table: 'Stories', region: 'eu-west-1', intent: 'create', exists: false, verdict: 'ready' },
        ],
      }),
      'Plan for mirror.config.yaml against AWS',
    );
    expect(lines).toEqual([
      'Plan for mirror.config.yaml against AWS',
      'table    region     intent             key  billing    stream              readers  PITR  items     size',
      'Stories  us-east-1  adopt              ok   on-demand  NEW_AND_OLD_IMAGES  0+1        on  1,200  3.40 MB',
      'Stories  eu-west-1  create (no table)  –    –          –                   –           –      –        –',
      '',
      '  Stories us-east-1: backfill from here: 7,200 write units to 2 targets (1,200 items of 2,833 bytes on average, 3 per item), 4s at 1,000/s (exportBackfill)',
      '',
      'Items and sizes are DescribeTable’s, which DynamoDB updates about every six hours.',
      'Readers: other readers of the stream + the mirror’s, at most 2 per shard; only Lambda event source mappings are seen.',
      'Backfill: one write unit per started KB of the average item, per target; the targets are written at once, each at the rate.',
      'Ready: nothing blocks a deploy or a backfill.',
    ]);
  });

  test('a backfill shorter than a second says so, and one without a rate says it is unpaced', () => {
    const estimate = {
      targets: ['eu-west-1'],
      itemCount: 14,
      averageItemBytes: 131,
      unitsPerItem: 1,
      writeUnits: 14,
    };
    const lines = planLines(
      report({
        rows: [
          row({
            backfill: {
              ...estimate,
              rate: { writeUnitsPerSecond: 1000, from: 'exportBackfill' },
              seconds: 0.014,
            },
          }),
          row({ region: 'eu-west-1', backfill: estimate }),
        ],
      }),
      'Plan',
    );
    expect(lines.filter((l) => l.includes('backfill from here'))).toEqual([
      '  Stories us-east-1: backfill from here: 14 write units to 1 target (14 items of 131 bytes on average, 1 per item), under 1s at 1,000/s (exportBackfill)',
      '  Stories eu-west-1: backfill from here: 14 write units to 1 target (14 items of 131 bytes on average, 1 per item), unpaced (give backfill --max-write-units to pace it)',
    ]);
  });

  test('what the deploy changes on adopted tables is listed before any blocker, and changes nothing of the verdict', () => {
    const lines = planLines(
      report({
        changes: [{ table: 'Stories', region: 'us-east-1', change: 'no stream: the deploy enables one' }],
      }),
      'Plan',
    );
    expect(lines.slice(lines.indexOf('What the deploy changes on adopted tables (1):'))).toEqual(
      expect.arrayContaining([
        'What the deploy changes on adopted tables (1):',
        '  Stories us-east-1: no stream: the deploy enables one',
      ]),
    );
    expect(lines[lines.length - 1]).toBe('Ready: nothing blocks a deploy or a backfill.');
  });

  test('blockers and warnings are listed with their fixes, and the verdict counts the blockers', () => {
    const lines = planLines(
      report({
        ready: false,
        rows: [
          row({
            billing: { mode: 'PROVISIONED', readCapacity: 10, writeCapacity: 5 },
            readers: { others: ['a', 'b'], mirror: 1, total: 3 },
            verdict: 'blocked',
          }),
          row({ region: 'eu-west-1', readers: { others: [], mirror: 1 }, verdict: 'warning' }),
        ],
        blockers: [
          {
            table: 'Stories',
            region: 'us-east-1',
            check: 'stream-readers',
            message: 'too many',
            fix: 'move a',
          },
          { table: 'Stories', region: 'us-east-1', check: 'key-schema', message: 'differs', fix: 'match it' },
        ],
        warnings: [
          { table: 'Stories', region: 'eu-west-1', check: 'unread', message: 'denied', fix: 'look' },
        ],
      }),
      'Plan',
    );
    expect(lines[2]).toContain(' provisioned 10r/5w ');
    expect(lines[2]).toContain(' 2+1 (too many) ');
    expect(lines[3]).toContain(' ?+1 ');
    expect(lines.slice(lines.indexOf('Blockers (2):'))).toEqual([
      'Blockers (2):',
      '  Stories us-east-1 [stream-readers]: too many',
      '    fix: move a',
      '  Stories us-east-1 [key-schema]: differs',
      '    fix: match it',
      '',
      'Warnings (1):',
      '  Stories eu-west-1 [unread]: denied',
      '    fix: look',
      '',
      'Items and sizes are DescribeTable’s, which DynamoDB updates about every six hours.',
      'Readers: other readers of the stream + the mirror’s, at most 2 per shard; only Lambda event source mappings are seen.',
      'Not ready: 2 blockers.',
    ]);
  });
});
