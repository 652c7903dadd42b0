/**
 * Every AWS call of the operations engines goes through {@link AwsCaller}: throttling is backed off and
 * counted (the report says how often, per action), a denied call becomes an {@link OpsError} that names
 * the IAM action and the resource, rejected credentials and unreachable endpoints are named too. Other
 * errors pass through unchanged.
 */
import { backoffDelay, realSleep } from '../core/retry';

/** A problem the operator can fix (permissions, credentials, endpoint): printed as one line. */
export class OpsError extends Error {
  override readonly name = 'OpsError';
}

/** The IAM action a call needs and the resource it is made on, for messages. */
export interface CallTarget {
  readonly action: string;
  readonly resource: string;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'TooManyRequestsException',
  // DynamoDB Streams GetRecords beyond the shard's read rate.
  'LimitExceededException',
]);
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'KMS.AccessDeniedException',
]);
const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
]);
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

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
        const name = errorName(e);
        if (!THROTTLING.has(name) || attempt > retries) throw describeCallError(e, target);
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

/** The error to raise for a failed call: an OpsError when the operator can act on it. */
export function describeCallError(e: unknown, target: CallTarget): unknown {
  const name = errorName(e);
  const message = e instanceof Error ? e.message : String(e);
  const on = `${target.action} on ${target.resource}`;
  if (DENIED.has(name)) return new OpsError(`missing permission: ${on} was denied (${message})`);
  if (BAD_CREDENTIALS.has(name))
    return new OpsError(`the credentials were rejected calling ${on}: ${name}: ${message}`);
  if (name === 'CredentialsProviderError')
    return new OpsError(
      `no AWS credentials for ${on}: ${message} (use --profile NAME or the standard variables)`,
    );
  if (THROTTLING.has(name)) return new OpsError(`still throttled after backing off: ${on}: ${message}`);
  const code =
    (e as { code?: string; cause?: { code?: string } })?.code ??
    (e as { cause?: { code?: string } })?.cause?.code;
  if ((code && NETWORK.has(code)) || NETWORK.has(name))
    return new OpsError(`no answer calling ${on}: ${code ?? name}: ${message}`);
  return e;
}

export function errorName(e: unknown): string {
  if (!e || typeof e !== 'object') return '';
  const err = e as { name?: string; Code?: string; code?: string };
  return err.Code ?? err.name ?? err.code ?? '';
}
