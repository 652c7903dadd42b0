import type { Scenario } from './scenario';

/**
 * Window 1: a replicated insert whose answer is lost, at a peer that already applied the key's
 * delete. The retry meets its own write, is judged stale, and the post-insert tombstone check (the
 * only thing that undoes a stale insert) never runs.
 *
 * a saves a0; b saves b1 and deletes it (b's delete orders after a0: same version, b > a). b's
 * replicator records the delete and sends it on (deferred at a, whose a0 it has not ordered yet);
 * then a's replicator puts a0 at b, where the key is gone: the put inserts, and its answer is lost.
 */
export const insertRetryMeetsItsOwnWrite: Scenario = {
  name: 'insert-retry-meets-its-own-write',
  window: 1,
  description: 'a lost answer of a replicated insert into a deleted key: the retry finds its own write',
  options: {
    program: [
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'b', kind: 'save', key: 'k' },
      { region: 'b', kind: 'delete', key: 'k' },
    ],
  },
  script: [
    { step: 'app:a#1' },
    { step: 'app:b#1' },
    { step: 'app:b#2' },
    { step: 'es:a@1' },
    { step: 'es:b@1' },
    { step: /→ b PutItem Items k =a0/, fault: 'lost' },
  ],
  before:
    'convergence: a ends absent, b keeps a0 (the retried put met its own insert, was judged stale, and the tombstone check never ran)',
};
