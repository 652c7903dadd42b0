/**
 * Adopt function entry (CloudFormation invokes it for the adoption custom resources): wiring only. The
 * logic is in handle.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { responseOf, sendResponse, type CustomResourceRequest, type Outcome } from './cfn';
import { decodeAdoptSettings } from './contract';
import { handleRequest } from './handle';

const settings = decodeAdoptSettings(process.env.DDBM_SETTINGS);
const logger = new Logger();
// `region` only: AWS_ENDPOINT_URL_DYNAMODB can point the client at DynamoDB Local.
const client = new DynamoDBClient({ region: settings.region });

/** Kept back from the invocation's budget to send the response. */
const RESERVE_MS = 15_000;

export const handler = async (request: CustomResourceRequest, context: Context): Promise<Outcome> => {
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
  logger.info('request', {
    requestType: request.RequestType,
    resourceType: request.ResourceType,
    logicalResourceId: request.LogicalResourceId,
  });
  const outcome = await handleRequest(request, {
    settings,
    client,
    deadline,
    log: (message, fields) => logger.info(message, fields ?? {}),
  });
  if (outcome.status === 'FAILED') logger.error('failed', { reason: outcome.reason });
  await sendResponse(request.ResponseURL, responseOf(request, outcome));
  return outcome;
};
