import type { Scenario } from './scenario';

/**
 * Window 3: tombstones expire per region at different times, and a missing tombstone restarts
 * generation 0. a saves and deletes k; both regions record the delete; a's tombstone expires (TTL
 * runs per region), b's is still there. a saves k again: a finds no tombstone, orders the new life
 * as generation 0, and b's tombstone of generation 0 beats it there.
 */
export const expiredTombstoneRestartsGenerationZero: Scenario = {
  name: 'expired-tombstone-restarts-generation-zero',
  window: 3,
  description: "a's tombstone expires before b's; a's next life starts at generation 0 again",
  options: {
    budget: { preemptions: 1e6, failures: 0, ambiguous: 0, duplicates: 0, expiries: 1 },
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
    { drain: true },
    { step: 'ttl:a@k' },
    { step: 'app:a#3' },
  ],
  before: "convergence: a holds a2 at generation 0, b's generation-0 tombstone refuses it, b ends absent",
};
