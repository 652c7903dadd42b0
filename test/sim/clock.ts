/**
 * Simulated time. Every clock the code under test reads (the retry deadline, the event source's and
 * the queues' clocks, the engine's, tombstone expiries) reads this one; it moves only when the
 * scheduler says so (a back-off sleep wakes, or the world idles until the next timer).
 *
 * Code that reads `Date` or `Math.random` directly (the replicator stamps parked messages with
 * `new Date()`, for instance) is given simulated time while a run is in progress, and a read of
 * `Math.random` is recorded as a violation: a run must be a function of its choices alone.
 */

/** 2025-01-01T00:00:00Z: any fixed epoch would do; a realistic one keeps expiry arithmetic realistic. */
export const SIM_EPOCH_MS = 1_735_689_600_000;

export class SimClock {
  private ms: number;

  constructor(start = SIM_EPOCH_MS) {
    this.ms = start;
  }

  now(): number {
    return this.ms;
  }

  /** Moves to `at` if that is later (a sleep that wakes after others advanced time wakes at once). */
  advanceTo(at: number): void {
    if (at > this.ms) this.ms = at;
  }

  /** Milliseconds since the start of the run (for traces). */
  elapsed(): number {
    return this.ms - SIM_EPOCH_MS;
  }
}

const RealDate = Date;
const realRandom = Math.random;

/** The clock of the run in progress (runs are sequential; a nested install is a bug). */
let active: SimClock | undefined;

/**
 * One class for every run, reading the run in progress through `active`. A class per run would
 * close over its world, and Jest's global proxy keeps every value ever assigned to a global until
 * the test file ends: a bounded profile of 60,000 runs kept 60,000 worlds and ran out of memory.
 */
class SimDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(active ? active.now() : RealDate.now());
    else super(...(args as [string | number | Date]));
  }
  static now(): number {
    return active ? active.now() : RealDate.now();
  }
}

/**
 * Replaces the global `Date` (no-argument construction and `Date.now`) with the simulated clock and
 * makes `Math.random` report its callers, until the returned function is called.
 */
export function installSimulatedGlobals(clock: SimClock, onRandom: (stack: string) => void): () => void {
  if (active) throw new Error('simulated globals are installed already: runs must not overlap');
  active = clock;
  (globalThis as { Date: DateConstructor }).Date = SimDate as DateConstructor;
  let fallback = 0x9e3779b9;
  Math.random = () => {
    onRandom(new Error('Math.random').stack ?? 'Math.random');
    // A deterministic answer keeps the run going so the violation can be reported with its trace.
    fallback = (Math.imul(fallback, 1664525) + 1013904223) >>> 0;
    return fallback / 4294967296;
  };
  return () => {
    (globalThis as { Date: DateConstructor }).Date = RealDate;
    Math.random = realRandom;
    active = undefined;
  };
}
