/**
 * AWS errors an operation meets, said so that the person running it knows what to fix: which
 * permission (action and resource, from the AccessDenied message), which table in which region, which
 * endpoint does not answer. Pure.
 */
import { describeError } from '../core/retry';

export interface ErrorPlace {
  readonly region: string;
  /** The endpoint the region's client talks to. */
  readonly endpoint: string;
  readonly table?: string;
}

const NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|TimeoutError|AbortError/;
const CREDENTIALS =
  /UnrecognizedClientException|InvalidSignatureException|ExpiredToken|CredentialsProviderError|Could not load credentials|security token/i;
const THROTTLING = /ProvisionedThroughputExceeded|ThrottlingException|RequestLimitExceeded|ThrottlingError/;

/** One line: what went wrong, where, and what it needs. Takes an error or its `describeError` text. */
export function explainAwsError(error: unknown, place: ErrorPlace): string {
  const text = typeof error === 'string' ? error : describeError(error);
  const denied = /not authorized to perform:?\s+(\S+?)\s+on resource:?\s+(\S+)/i.exec(text);
  if (denied)
    return `permission missing in ${place.region}: ${denied[1]} on ${denied[2].replace(/[.,;]+$/, '')}`;
  if (/AccessDenied/.test(text)) return `access denied in ${place.region}: ${text}`;
  if (/ResourceNotFoundException/.test(text))
    return `table ${place.table ?? '(unknown)'} not found in ${place.region} at ${place.endpoint}`;
  if (CREDENTIALS.test(text)) return `no valid AWS credentials for ${place.region}: ${text}`;
  if (NETWORK.test(text))
    return `no DynamoDB endpoint answers at ${place.endpoint} (region ${place.region}): ${text}`;
  if (THROTTLING.test(text)) return `throttled in ${place.region} past every retry: ${text}`;
  return `${place.region}: ${text}`;
}
