import type { Scenario } from './scenario';

/**
 * Window 4: a range the event source gave up on (retries exhausted, on-failure message) is replayed
 * later, after later records of its key. a saves, deletes and saves k again; the REMOVE's batch
 * fails and is discarded; the next life's INSERT is processed first (no tombstone yet: generation
 * 0, which b already holds, so nothing moves); the operator replays the REMOVE afterwards.
 */
export const skippedRangeReplayedLate: Scenario = {
  name: 'skipped-range-replayed-late',
  window: 4,
  description: "a's REMOVE is discarded, its next INSERT processed, then the REMOVE replayed",
  options: {
    maximumRetryAttempts: 0,
    program: [
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'a', kind: 'delete', key: 'k' },
      { region: 'a', kind: 'save', key: 'k' },
    ],
  },
  script: [
    { step: 'app:a#1' },
    { drain: true },
    { step: 'app:a#2' },
    { step: 'app:a#3' },
    { step: /^es:a@\d+ /, split: true },
    // The REMOVE's invocation dies at its first call; with no retries left the batch is discarded.
    { step: /^es:a#\d+\/1 /, fault: 'crash-after' },
    { step: /^es:a@\d+ / },
    { finish: 'es:a' },
  ],
  before:
    'convergence: a holds a2, b ends absent (the next life was sent at generation 0, which b already held; the late REMOVE then deleted it at b only)',
};
