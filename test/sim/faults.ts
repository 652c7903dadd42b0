/**
 * What can go wrong with one call, and how much of it a run may see.
 *
 * A DynamoDB or SQS call the code under test makes can:
 * - fail before it commits: a 500 the SDK would retry (lambda/core/retry.ts `isTransient`);
 * - commit and lose its answer: the write is applied, the caller gets the same 500 (DynamoDB can
 *   fail a request it applied; the retry then meets its own write);
 * - take its invocation down with it (a crash: the Lambda sandbox dies before or after the call
 *   commits; the invocation never answers and the event source sees a function error).
 *
 * Exhaustive exploration bounds each kind by a budget; swarm runs draw a profile per seed (some kinds
 * switched off, the rest at their own rate), which finds more than one fixed mix of faults.
 */
import type { Chooser } from './chooser';

export type CallFault = 'none' | 'fail' | 'lost' | 'crash-before' | 'crash-after';

/** How many of each disturbance a run may still inject (decremented as they happen). */
export interface Budget {
  /** Switching away from an actor that could have continued (CHESS's preemption bound). */
  preemptions: number;
  /** Calls that fail before they commit. */
  failures: number;
  /** Lost answers and crashes together: the ambiguous failures. */
  ambiguous: number;
  /** Batches delivered twice. */
  duplicates: number;
  /** Tombstones expired by TTL. */
  expiries: number;
}

export const UNBOUNDED = 1_000_000;

/** Rates of a swarm run: the probability of each disturbance where it can happen (0: never). */
export interface FaultProfile {
  readonly fail: number;
  readonly lost: number;
  readonly crash: number;
  readonly duplicate: number;
  readonly expiry: number;
  /** A stream poll that hands over only part of what is new (smaller batches). */
  readonly split: number;
}

export const NO_FAULTS: FaultProfile = { fail: 0, lost: 0, crash: 0, duplicate: 0, expiry: 0, split: 0 };

/** Weights for exhaustive runs: every option counts the same (only budgets limit them). */
export const EVEN_PROFILE: FaultProfile = {
  fail: 1,
  lost: 1,
  crash: 1,
  duplicate: 1,
  expiry: 1,
  split: 1,
};

const RATES = [0.02, 0.05, 0.15, 0.3];

/** Swarm testing: each kind is switched off with probability 1/3, otherwise given one of RATES. */
export function drawProfile(chooser: Chooser): FaultProfile {
  const rate = () => {
    const r = chooser.choose('profile', RATES.length + 2);
    return r < 2 ? 0 : RATES[r - 2];
  };
  return {
    fail: rate(),
    lost: rate(),
    crash: rate(),
    duplicate: rate(),
    expiry: rate(),
    split: rate(),
  };
}

export function describeProfile(p: FaultProfile): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/**
 * A call's fault is chosen in two parts, each only among outcomes that differ:
 * - before the call reaches the service: it fails (retryable), or the sandbox dies first. A crash
 *   before any call but the invocation's first has the effect of a crash right after the call before
 *   it (nothing but calls leaves the sandbox), so it is offered before the first call only;
 * - after the call ran: its answer is lost (only when it committed something: a lost answer of a
 *   read or of a refused condition is just a failure), or the sandbox dies with the answer.
 */
export function faultBefore(
  chooser: Chooser,
  budget: Budget,
  profile: FaultProfile,
  first: boolean,
): 'none' | 'fail' | 'crash-before' {
  const kinds: ('none' | 'fail' | 'crash-before')[] = ['none'];
  const weights: number[] = [1];
  if (budget.failures > 0 && profile.fail > 0) {
    kinds.push('fail');
    weights.push(profile.fail);
  }
  if (budget.ambiguous > 0 && first && profile.crash > 0) {
    kinds.push('crash-before');
    weights.push(profile.crash / 2);
  }
  return take(chooser, budget, kinds, weights);
}

export function faultAfter(
  chooser: Chooser,
  budget: Budget,
  profile: FaultProfile,
  call: { readonly committed: boolean; readonly first: boolean },
): 'none' | 'lost' | 'crash-after' {
  const kinds: ('none' | 'lost' | 'crash-after')[] = ['none'];
  const weights: number[] = [1];
  if (budget.ambiguous > 0 && call.committed && profile.lost > 0) {
    kinds.push('lost');
    weights.push(profile.lost);
  }
  if (budget.ambiguous > 0 && profile.crash > 0) {
    kinds.push('crash-after');
    weights.push(call.first ? profile.crash / 2 : profile.crash);
  }
  return take(chooser, budget, kinds, weights);
}

function take<K extends CallFault>(chooser: Chooser, budget: Budget, kinds: K[], weights: number[]): K {
  weights[0] = Math.max(0, 1 - weights.slice(1).reduce((a, b) => a + b, 0));
  const fault = kinds[chooser.choose('fault', kinds.length, { weights, labels: () => kinds })];
  if (fault === 'fail') budget.failures -= 1;
  else if (fault !== 'none') budget.ambiguous -= 1;
  return fault;
}

/** The error a 500 answer becomes in the SDK (retried by `isTransient`: name, status and fault). */
export function internalServerError(): Error {
  const e = new Error('We encountered an internal error. Please try again.') as Error & {
    $metadata: { httpStatusCode: number; attempts: number };
    $fault: 'server';
  };
  e.name = 'InternalServerError';
  e.$metadata = { httpStatusCode: 500, attempts: 1 };
  e.$fault = 'server';
  return e;
}

/** The rejection of an invocation whose sandbox died: Lambda reports it as a function error. */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}
