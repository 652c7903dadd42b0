/**
 * Replicator entry: wiring only: module-scope clients and telemetry, then one call. The logic is in process.ts / decide.ts / apply.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { decodeSettings, SETTINGS_ENV } from '../contract';
import { dynamoClients } from '../core/peer-clients';
import { PowertoolsTelemetry } from '../core/powertools-telemetry';
import { processBatch } from './process';
import { SqsParker } from './sqs-parker';

const settings = decodeSettings(process.env[SETTINGS_ENV]);
// Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by
// the construct: the dashboard and alarms query exactly those dimensions.
const logger = new Logger();
const metrics = new Metrics();
const telemetry = new PowertoolsTelemetry(logger, metrics);

// `region` only: AWS_ENDPOINT_URL_DYNAMODB can point every client at DynamoDB Local. A peer in another
// account is written with the credentials of the writer role it offers.
const clients = dynamoClients([{ region: settings.region }, ...settings.peers], {
  region: settings.region,
  sessionName: `ddbm-replicator-${settings.region}`,
});
const parker = new SqsParker(settings.region, settings.peers);

/** Time kept back from the invocation's budget for parking and reporting. */
const RESERVE_MS = 5_000;

export const handler = async (
  event: DynamoDBStreamEvent,
  context: Context,
): Promise<DynamoDBBatchResponse> => {
  const remaining = context.getRemainingTimeInMillis();
  const deadline = Date.now() + Math.max(remaining - Math.min(RESERVE_MS, remaining / 5), 0);
  try {
    return await processBatch(event, { settings, clients, parker, telemetry, deadline });
  } finally {
    telemetry.flush();
  }
};
