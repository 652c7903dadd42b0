/**
 * Errors as the AWS SDK v3 throws them for a DynamoDB 400: the SDK's own exception classes where it
 * has one (so `instanceof` and `name` both work), with `$fault: 'client'` and
 * `$metadata.httpStatusCode: 400`, which lambda/core/retry.ts reads to tell a client error from a
 * transient one.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  ResourceNotFoundException,
  TransactionCanceledException,
  type AttributeValue,
  type CancellationReason,
} from '@aws-sdk/client-dynamodb';

const metadata = () => ({ httpStatusCode: 400 });

export function validation(message: string): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: metadata(),
    message,
  });
}

export function conditionalCheckFailed(
  item?: Record<string, AttributeValue>,
): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    $metadata: metadata(),
    message: 'The conditional request failed',
    ...(item ? { Item: item } : {}),
  });
}

export function transactionCanceled(reasons: CancellationReason[]): TransactionCanceledException {
  const codes = reasons.map((r) => r.Code).join(', ');
  const message = `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`;
  return new TransactionCanceledException({
    $metadata: metadata(),
    message,
    Message: message,
    CancellationReasons: reasons,
  });
}

export function resourceNotFound(what = 'Requested resource not found'): ResourceNotFoundException {
  return new ResourceNotFoundException({ $metadata: metadata(), message: what });
}

/** A ValidationException raised while an update is evaluated against the item (not while it is parsed). */
export function isValidation(e: unknown): e is DynamoDBServiceException {
  return e instanceof DynamoDBServiceException && e.name === 'ValidationException';
}
