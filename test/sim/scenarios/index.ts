/**
 * The named scenarios: each opens one window the protocol before its redesign (commit aadfb1f) was
 * suspected to have, found there by the simulator (each file says how, and what that code did):
 *
 * 1. a replicated insert whose answer is lost at a peer that already applied the key's delete;
 * 2. a save of the next life that cannot be ordered after the delete it follows (here: an
 *    application save between a stale insert's tombstone check and its undo);
 * 3. tombstones expiring per region at different times (a missing tombstone restarts generation 0);
 * 4. a range the event source gave up on, replayed after later records of its key;
 * 5. a peer's delete recorded before this region records its own delete of the same life;
 * 6. a deferral riding on one stream record that is skipped and never replayed.
 */
import type { Scenario } from './scenario';
import { insertRetryMeetsItsOwnWrite } from './window-1-insert-retry';
import { saveBetweenCheckAndUndo } from './window-2-save-before-undo';
import { expiredTombstoneRestartsGenerationZero } from './window-3-tombstone-expiry';
import { skippedRangeReplayedLate } from './window-4-skipped-range';
import { peerDeleteRecordedFirst } from './window-5-peer-delete-first';
import { deferralRecordSkipped } from './window-6-deferral-skipped';

export const SCENARIOS: readonly Scenario[] = [
  insertRetryMeetsItsOwnWrite,
  saveBetweenCheckAndUndo,
  expiredTombstoneRestartsGenerationZero,
  skippedRangeReplayedLate,
  peerDeleteRecordedFirst,
  deferralRecordSkipped,
];

export { runScenario, scenarioOptions, type Scenario, type ScenarioRun } from './scenario';
