/**
 * The AWS errors an operation meets, said so that the person running it knows what to fix: which
 * permission (the IAM action and the resource), which table in which region, which endpoint does not
 * answer, which credentials were refused, what stayed throttled. One classification (by error name or
 * code, or by the text of an error already turned into a string) and one wording, for every operations
 * command. Pure.
 */
import { describeError, NETWORK_CODES } from '../core/retry';

/** A problem the operator can fix (permissions, credentials, endpoint, a missing table): printed as one line. */
export class OpsError extends Error {
  override readonly name = 'OpsError';
}

/** Where an error happened, as far as the caller knows: each part named in the message when given. */
export interface ErrorPlace {
  readonly region?: string;
  /** The endpoint the region's client talks to. */
  readonly endpoint?: string;
  readonly table?: string;
  /** The IAM action of the failed call, e.g. `sqs:ReceiveMessage`. */
  readonly action?: string;
  /** The resource it was made on (an ARN, a queue URL or a table name). */
  readonly resource?: string;
  /** The named profile the region's credentials come from (`--profile`), when one was given. */
  readonly profile?: string;
}

export type AwsErrorKind =
  'denied' | 'not-found' | 'credentials' | 'no-credentials' | 'network' | 'throttled';

const THROTTLING = [
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'TooManyRequestsException',
  // DynamoDB Streams GetRecords beyond the shard's read rate.
  'LimitExceededException',
];
const DENIED = [
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'KMS.AccessDeniedException',
];
const BAD_CREDENTIALS = [
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
];
const NETWORK = [...NETWORK_CODES];

/** By error name or code first; for text (an error already described), by the words in it. */
const KINDS: readonly [AwsErrorKind, readonly string[], RegExp][] = [
  ['denied', DENIED, /AccessDenied|not authorized to perform/],
  ['not-found', ['ResourceNotFoundException'], /ResourceNotFoundException/],
  ['credentials', BAD_CREDENTIALS, new RegExp(`${BAD_CREDENTIALS.join('|')}|security token`, 'i')],
  ['no-credentials', ['CredentialsProviderError'], /CredentialsProviderError|Could not load credentials/],
  ['network', NETWORK, new RegExp(`${NETWORK.join('|')}|socket hang up|TimeoutError|AbortError`)],
  ['throttled', THROTTLING, new RegExp(`${THROTTLING.join('|')}|ThrottlingError`)],
];

/** The name an AWS SDK error goes by (`Code` for the query protocols). */
export function errorName(e: unknown): string {
  if (!e || typeof e !== 'object') return '';
  const err = e as { name?: string; Code?: string; code?: string };
  return err.Code ?? err.name ?? err.code ?? '';
}

/** What kind of operator-facing problem `error` (an error, or its `describeError` text) is, if any. */
export function awsErrorKind(error: unknown): AwsErrorKind | undefined {
  if (typeof error === 'string') return KINDS.find(([, , text]) => text.test(error))?.[0];
  const e = error as { code?: string; cause?: { code?: string } } | undefined;
  const names = [errorName(error), e?.code, e?.cause?.code].filter((n): n is string => !!n);
  const byName = KINDS.find(([, list]) => names.some((n) => list.includes(n)))?.[0];
  if (byName) return byName;
  if (isThrottle(error)) return 'throttled';
  return KINDS.find(([, , text]) => text.test(describeError(error)))?.[0];
}

/**
 * A throttled request: by name, or a cancelled transaction one of whose actions was throttled. The
 * operations back off on these (the SDK's retries and {@link AwsCaller}) and count them.
 */
export function isThrottle(e: unknown): boolean {
  const err = e as { name?: string; CancellationReasons?: { Code?: string }[] } | undefined;
  if (THROTTLING.includes(errorName(e))) return true;
  return (
    err?.name === 'TransactionCanceledException' &&
    (err.CancellationReasons ?? []).some((r) => r.Code === 'ThrottlingError')
  );
}

/** One line: what went wrong, where, and what it needs. Takes an error or its `describeError` text. */
export function explainAwsError(error: unknown, place: ErrorPlace): string {
  const text = typeof error === 'string' ? error : describeError(error);
  const inRegion = place.region ? ` in ${place.region}` : '';
  const call = place.action ? `${place.action} on ${place.resource ?? '(unknown)'}: ` : '';
  switch (awsErrorKind(error)) {
    case 'denied':
      return deniedLine(text, place, inRegion, call);
    case 'not-found':
      if (place.table && !place.action)
        return `table ${place.table} not found${inRegion}${place.endpoint ? ` at ${place.endpoint}` : ''}`;
      return `not found${inRegion}: ${call}${text}`;
    case 'credentials':
      return `no valid AWS credentials${forRegion(place)}: ${call}${text}`;
    case 'no-credentials':
      return place.profile
        ? `no AWS credentials${forRegion(place)} from profile ${place.profile}: ${call}${text} (is the profile in the shared config or credentials file, and signed in?)`
        : `no AWS credentials${forRegion(place)}: ${call}${text} (use --profile NAME, --profile REGION=NAME for a region in another account, or the standard variables)`;
    case 'network':
      return `no ${serviceOf(place)} endpoint answers${endpointPhrase(place)}: ${call}${text}`;
    case 'throttled':
      return `still throttled after backing off${inRegion}: ${call}${text}`;
    default:
      return `${place.region ? `${place.region}: ` : ''}${call}${text}`;
  }
}

/** The action and resource from the denial message (IAM names them), else from the call. */
function deniedLine(text: string, place: ErrorPlace, inRegion: string, call: string): string {
  const denied = /not authorized to perform:?\s+(\S+?)\s+on resource:?\s+(\S+)/i.exec(text);
  if (denied) return `permission missing${inRegion}: ${denied[1]} on ${denied[2].replace(/[.,;]+$/, '')}`;
  if (place.action) return `permission missing${inRegion}: ${place.action} on ${place.resource} (${text})`;
  return `access denied${inRegion}: ${call}${text}`;
}

const forRegion = (place: ErrorPlace) => (place.region ? ` for ${place.region}` : '');

function endpointPhrase(place: ErrorPlace): string {
  const at = place.endpoint ? ` at ${place.endpoint}` : '';
  return `${at}${place.region ? ` (region ${place.region})` : ''}`;
}

const SERVICES: Readonly<Record<string, string>> = {
  dynamodb: 'DynamoDB',
  sqs: 'SQS',
  cloudwatch: 'CloudWatch',
};

/** The service of the call (by its action's prefix); DynamoDB for the data path, which names none. */
function serviceOf(place: ErrorPlace): string {
  if (!place.action) return 'DynamoDB';
  return SERVICES[place.action.split(':')[0]] ?? 'AWS';
}
