import type { Scenario } from './scenario';

/**
 * Window 6: a deferral rides on one stream record. a and b save k concurrently; b's save meets a's
 * unordered item and is deferred on it, to be decided by a's replicator when it reads the record the
 * deferral wrote. That record's batch fails, the event source gives up on it, and nobody replays it
 * (the stream trimmed it): b's write is never decided at a.
 */
export const deferralRecordSkipped: Scenario = {
  name: 'deferral-record-skipped',
  window: 6,
  description: 'the record carrying a deferral is discarded and never replayed',
  options: {
    maximumRetryAttempts: 0,
    replayDiscarded: false,
    program: [
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'b', kind: 'save', key: 'k' },
    ],
  },
  script: [
    { step: 'app:a#1' },
    { step: 'app:b#1' },
    { step: 'es:b@1' },
    { finish: 'es:b' },
    { step: 'es:a@1', split: true },
    { finish: 'es:a' },
    { step: 'es:a@2' },
    { step: /→ a GetItem tombstones k/, fault: 'crash-after' },
  ],
  before: "convergence: a keeps a0, b keeps b1 (b's write deferred on a's item is never decided)",
};
