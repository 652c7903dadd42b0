/**
 * Exponential back-off with full jitter, bounded by attempts and by the invocation's time budget.
 * Clock, sleep and randomness are injected so tests run instantly and deterministically.
 */

export interface RetryClock {
  /** Epoch ms after which no new attempt may start (the invocation's budget minus a reserve). */
  readonly deadline: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1). */
  readonly random?: () => number;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  /** @default 10_000 */
  readonly maxDelayMs?: number;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base·2^(n−1))). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const cap = policy.maxDelayMs ?? 10_000;
  const exp = Math.min(cap, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}

/**
 * Whether another attempt may follow attempt `attempt` after sleeping `delay` ms.
 */
export function mayRetry(attempt: number, delay: number, policy: RetryPolicy, clock: RetryClock): boolean {
  const now = (clock.now ?? Date.now)();
  return attempt < Math.max(1, policy.maxAttempts) && now + delay < clock.deadline;
}

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const TRANSIENT_CANCELLATION_CODES = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);
/** Codes of a request that never got an answer (connection refused, DNS, reset, timeout). */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: { Code?: string }[];
}

/** Throttling, 5xx, transaction conflicts and network failures are worth retrying; the rest fail fast. */
export function isTransient(error: unknown): boolean {
  const e = (error ?? {}) as SdkLikeError;
  if (e.name === 'TransactionCanceledException')
    return (e.CancellationReasons ?? []).some((r) => TRANSIENT_CANCELLATION_CODES.has(r.Code ?? ''));
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP response at all: the request never reached the service (connection refused, DNS, reset).
  return (
    e.name !== 'ValidationException' &&
    e.name !== 'AccessDeniedException' &&
    e.name !== 'ResourceNotFoundException'
  );
}

export function describeError(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string };
  return `${e?.name ?? 'Error'}${e?.code ? ` (${e.code})` : ''}: ${e?.message ?? String(error)}`;
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error, or the attempts/time run out
 * (then the last error is thrown).
 */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy, clock: RetryClock): Promise<T> {
  const sleep = clock.sleep ?? realSleep;
  const random = clock.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (e) {
      const delay = backoffDelay(attempt, policy, random);
      if (!isTransient(e) || !mayRetry(attempt, delay, policy, clock)) throw e;
      await sleep(delay);
    }
  }
}
