/**
 * The queue, stream and metric calls of the operations engines go through {@link AwsCaller}: throttling
 * is backed off and counted (the report says how often, per action), and a call the operator can fix
 * (denied, credentials, endpoint) becomes an {@link OpsError} worded by `explainAwsError` (errors.ts).
 * Other errors pass through unchanged. (The DynamoDB data path of backfill and verify is paced and
 * metered by capacity.ts instead, and its throttles retried by the SDK and the write path.)
 */
import { backoffDelay, realSleep } from '../core/retry';
import { awsErrorKind, explainAwsError, isThrottle, OpsError } from './errors';

/** The IAM action a call needs and the resource it is made on, for messages. */
export interface CallTarget {
  readonly action: string;
  readonly resource: string;
}

export interface AwsCallerOptions {
  /** Back-offs after throttling before giving up. @default 8 */
  readonly throttleRetries?: number;
  /** First back-off, doubling with full jitter. @default 200 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Told about every back-off (the CLI prints one line per throttled action). */
  readonly onThrottle?: (target: CallTarget, attempt: number, delayMs: number) => void;
}

export class AwsCaller {
  /** Back-offs after throttling, by IAM action. */
  readonly throttled: Record<string, number> = {};

  constructor(private readonly options: AwsCallerOptions = {}) {}

  async call<T>(target: CallTarget, fn: () => Promise<T>): Promise<T> {
    const retries = this.options.throttleRetries ?? 8;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn();
      } catch (e) {
        if (!isThrottle(e) || attempt > retries) throw describeCallError(e, target);
        const delay = backoffDelay(
          attempt,
          { maxAttempts: retries, baseDelayMs: this.options.baseDelayMs ?? 200, maxDelayMs: 20_000 },
          this.options.random ?? Math.random,
        );
        this.throttled[target.action] = (this.throttled[target.action] ?? 0) + 1;
        this.options.onThrottle?.(target, attempt, delay);
        await (this.options.sleep ?? realSleep)(delay);
      }
    }
  }
}

/**
 * The error to raise for a failed call: an {@link OpsError} explaining it when the operator can act on
 * it (denied, credentials, endpoint, throttling); anything else (a missing resource, a condition) passes
 * through unchanged, for the engine to handle.
 */
export function describeCallError(e: unknown, target: CallTarget): unknown {
  const kind = awsErrorKind(e);
  return kind && kind !== 'not-found' ? new OpsError(explainAwsError(e, target)) : e;
}
