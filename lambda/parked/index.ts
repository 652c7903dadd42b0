/**
 * Parked-record consumer entry: wiring only. Reads the same DDBM_SETTINGS as the replicator.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoClients } from '../core/peer-clients';
import { PowertoolsTelemetry } from '../core/powertools-telemetry';
import { decodeSettings, SETTINGS_ENV } from '../contract';
import { consumeParked } from './consumer';

const settings = decodeSettings(process.env[SETTINGS_ENV]);
// Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE, set by
// the construct: the dashboard and alarms query exactly those dimensions.
const logger = new Logger();
const metrics = new Metrics();
const telemetry = new PowertoolsTelemetry(logger, metrics);
// `region` only: AWS_ENDPOINT_URL_DYNAMODB can point every client at DynamoDB Local. A peer in another
// account is written with the credentials of the writer role it offers.
const clients = dynamoClients(settings.peers, {
  region: settings.region,
  sessionName: `ddbm-parked-${settings.region}`,
});

const RESERVE_MS = 5_000;

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const remaining = context.getRemainingTimeInMillis();
  const deadline = Date.now() + Math.max(remaining - Math.min(RESERVE_MS, remaining / 5), 0);
  try {
    return await consumeParked(event, { settings, clients, telemetry, deadline });
  } finally {
    telemetry.flush();
  }
};
