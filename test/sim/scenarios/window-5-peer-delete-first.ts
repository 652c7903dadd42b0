import type { Scenario } from './scenario';

/**
 * Window 5: a and b each save and delete k, and b's delete is recorded at a before a's replicator
 * records a's own delete. a's replicator decided its REMOVE on a tombstone read that b's delete had
 * not reached yet; its own tombstone write then loses to b's (which orders later), so a's tombstone
 * holds neither a life marker nor a local position. Re-delivered later (Lambda re-delivers freely),
 * a's INSERT reads that tombstone as "written before the record" and starts generation 1.
 */
export const peerDeleteRecordedFirst: Scenario = {
  name: 'peer-delete-recorded-first',
  window: 5,
  description: "b's delete reaches a between a's decision on its own REMOVE and its tombstone write",
  options: {
    program: [
      { region: 'a', kind: 'save', key: 'k' },
      { region: 'a', kind: 'delete', key: 'k' },
      { region: 'b', kind: 'save', key: 'k' },
      { region: 'b', kind: 'delete', key: 'k' },
    ],
  },
  script: [
    { step: 'app:a#1' },
    { step: 'app:a#2' },
    { step: 'app:b#1' },
    { step: 'app:b#2' },
    { step: 'es:a@1' },
    { runUntil: /→ a UpdateItem tombstones k SET #ord/ },
    { step: 'es:b@1' },
  ],
  before:
    "idempotence: re-delivering a's stream gives a0's INSERT generation 1; a0 comes back at b until the replayed REMOVE deletes it again, and both tombstones change",
};
