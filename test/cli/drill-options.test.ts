import { parseCommand, UsageError } from '../../cli/command';
import { startArgs, startCommand } from '../../cli/start';
import { main } from '../../bin/ddb-mirror';
import { DRILL_NAMES } from '../../lib/local/drills/catalog';

const args = (argv: string[]) => startArgs(parseCommand(startCommand, argv));

describe('start --drill options', () => {
  test('collects repeated drills, expands all to every drill, and reads durations and factors', () => {
    // GIVEN drills named twice and with all WHEN parsed THEN each drill comes once, in catalog order for all
    expect(
      args(['--drill', 'outage', '--drill', 'throttle', '--for', '4s', '--fraction', '0.5']).drill,
    ).toEqual({
      drills: ['outage', 'throttle'],
      settings: { forSeconds: 4, fraction: 0.5 },
    });
    const all = args(['--drill', 'all', '--for', '500ms', '--visibility-scale', '1/20']).drill;
    expect(all?.drills).toEqual(DRILL_NAMES);
    expect(all?.drills).toContain('region-added');
    expect(all?.drills).toContain('lost-answer');
    expect(args(['--drill', 'lost-answer', '--fraction', '0.15']).drill?.settings).toEqual({
      fraction: 0.15,
    });
    expect(all?.settings).toEqual({ forSeconds: 0.5, visibilityScale: 0.05 });
    expect(
      args(['--drill', 'outage-long', '--for', '2m', '--stream-retention', '45']).drill?.settings,
    ).toEqual({
      forSeconds: 120,
      streamRetentionSeconds: 45,
    });
    expect(args([]).drill).toBeUndefined();
  });

  test.each([
    [
      ['--drill', 'flood'],
      '--drill needs one of outage, outage-long, throttle, lost-answer, poison, crash, dup-storm, region-added, all, got "flood"',
    ],
    [
      ['--drill', 'outage', '--for', 'ten'],
      '--for needs a duration from 1ms to 1h like 30s, 500ms or 2m, got "ten"',
    ],
    [
      ['--drill', 'outage', '--for', '0s'],
      '--for needs a duration from 1ms to 1h like 30s, 500ms or 2m, got "0s"',
    ],
    [['--drill', 'throttle', '--fraction', '1.5'], '--fraction needs a number from 0.001 to 1, got "1.5"'],
    [
      ['--drill', 'outage', '--fraction', '0.5'],
      '--fraction is for --drill throttle or lost-answer, got --drill outage',
    ],
    [['--drill', 'crash', '--region', 'eu-west-1'], '--region is for the outage drills, got --drill crash'],
    [
      ['--drill', 'outage', '--stream-retention', '5s'],
      '--stream-retention is for --drill outage-long, got --drill outage',
    ],
    [
      ['--drill', 'dup-storm', '--visibility-scale', '2'],
      '--visibility-scale needs a factor above 0 and at most 1, like 0.05 or 1/60, got "2"',
    ],
    [['--for', '5s'], '--for is a drill option: use it with --drill'],
    [
      ['--drill', 'outage', '--duration', '5'],
      '--duration is set by a drill (10s before the fault, --for, 10s after): use --for',
    ],
  ])('refuses %j naming the option and the value', (argv, message) => {
    expect(() => args(argv)).toThrow(new UsageError(message));
  });

  test("refuses --keep with a drill: loss is measured against the demo workload's own record", () => {
    expect(() => args(['--drill', 'outage', '--keep'])).toThrow(/--keep cannot be combined with --drill/);
  });

  test('start --help lists the drills and their options', async () => {
    const written: string[] = [];
    const io = { out: { write: (s: string) => written.push(s) } as never, err: process.stderr, cwd: '.' };
    expect(await main(['start', '--help'], io)).toBe(0);
    const help = written.join('');
    for (const text of [
      '--drill NAME',
      'dup-storm',
      'region-added',
      '--for DURATION',
      '--visibility-scale F',
    ])
      expect(help).toContain(text);
  });
});
