import { ALARM_DEFAULTS } from '../../../lib/constructs/defaults';
import { HEALTHY_LAG_BOUND_MS, retention } from '../../../lib/local/drills/outage';
import { DRILL_DEFAULTS } from '../../../lib/local/drills/session';

describe('outage drills: their bounds', () => {
  test("the healthy pairs' lag bound is the replicators' IteratorAge alarm threshold", () => {
    expect(HEALTHY_LAG_BOUND_MS).toBe(ALARM_DEFAULTS.iteratorAgeThreshold.toMilliseconds());
  });

  test('the modelled retention is --stream-retention, else half of --for and at least 8 s', () => {
    expect(retention({ ...DRILL_DEFAULTS, streamRetentionSeconds: 3 })).toBe(3);
    expect(retention({ ...DRILL_DEFAULTS, forSeconds: 30 })).toBe(15);
    expect(retention({ ...DRILL_DEFAULTS, forSeconds: 4 })).toBe(8);
  });
});
