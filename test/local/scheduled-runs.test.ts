import type { LocalPlan, PlanSchedule } from '../../lib/local/plan';
import { describeScheduledRun, runSchedulesOnce, scheduledEvent } from '../../lib/local/scheduled-runs';

const schedule = (over: Partial<PlanSchedule> = {}): PlanSchedule => ({
  region: 'us-east-1',
  stack: 'DdbMirror-us-east-1',
  logicalId: 'StoriesSamplerSchedule',
  expression: 'rate(15 minutes)',
  enabled: true,
  functionNames: ['stories-sampler'],
  ...over,
});

const plan = (schedules: PlanSchedule[]): LocalPlan => ({
  assemblyDir: '/tmp/cdk.out',
  account: '000000000000',
  regions: ['us-east-1'],
  stacks: [],
  tables: [],
  queues: [],
  functions: [],
  mappings: [],
  schedules,
});

describe('runSchedulesOnce', () => {
  test("invokes each enabled schedule's functions once with EventBridge's scheduled event, and records failures", async () => {
    // GIVEN an enabled schedule with two targets, a disabled one, and a target that fails
    const p = plan([
      schedule({ functionNames: ['a', 'b'] }),
      schedule({ logicalId: 'Off', enabled: false, functionNames: ['c'] }),
    ]);
    const calls: [string, unknown][] = [];
    const at = new Date('2026-12-02T04:00:00.123Z');
    // WHEN they run once
    const runs = await runSchedulesOnce(
      p,
      async (name, event) => {
        calls.push([name, event]);
        if (name === 'b') throw new Error('boom');
        return { table: 'Stories', region: 'us-east-1', live: 3, scanned: 7, compared: 10, divergent: 0 };
      },
      () => at,
    );
    // THEN only the enabled schedule's functions ran, each with the scheduled event
    expect(calls.map(([n]) => n)).toEqual(['a', 'b']);
    expect(calls[0][1]).toEqual(scheduledEvent(p.schedules[0], '000000000000', at));
    expect(calls[0][1]).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-12-02T04:00:00Z',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/DdbMirror-us-east-1-StoriesSamplerSchedule'],
    });
    // AND each run is described: a sampler's findings, or the failure
    expect(runs.map(describeScheduledRun)).toEqual([
      '✓ divergence sampler Stories in us-east-1: 10 keys compared across the regions (3 from live writes, 7 from a scan segment): 0 divergent',
      '✘ scheduled b (rate(15 minutes)) failed: boom',
    ]);
  });

  test('marks a sampler run that found divergent keys', () => {
    const run = {
      rule: 'R',
      region: 'eu-west-1',
      expression: 'rate(5 minutes)',
      functionName: 'f',
      result: { table: 'Sessions', region: 'eu-west-1', live: 0, scanned: 4, compared: 4, divergent: 2 },
    };
    expect(describeScheduledRun(run)).toMatch(
      /^✘ divergence sampler Sessions in eu-west-1: .*: 2 divergent$/,
    );
  });
});
