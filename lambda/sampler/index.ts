/**
 * Divergence sampler entry (a scheduled rule invokes it): wiring only. The logic is in sample.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context } from 'aws-lambda';
import { decodeSamplerSettings, SETTINGS_ENV, type SampleSummary } from '../contract';
import { dynamoClients } from '../core/peer-clients';
import { PowertoolsTelemetry } from '../core/powertools-telemetry';
import { sampleOnce } from './sample';

const settings = decodeSamplerSettings(process.env[SETTINGS_ENV]);
const logger = new Logger();
const metrics = new Metrics();
const telemetry = new PowertoolsTelemetry(logger, metrics);
// `region` only: AWS_ENDPOINT_URL_DYNAMODB(_STREAMS) can point every client at DynamoDB Local. A copy in
// another account is read with the credentials of the reader role it offers.
const clients = dynamoClients(
  settings.regions.map((region) => ({
    region,
    roleArn: settings.peerRoles?.find((p) => p.region === region)?.roleArn,
  })),
  { region: settings.region, sessionName: `ddbm-sampler-${settings.region}` },
);
const streams = new DynamoDBStreamsClient({ region: settings.region });

/** Time kept back from the invocation's budget for the re-reads and reporting. */
const RESERVE_MS = 10_000;

export const handler = async (_event: unknown, context: Context): Promise<SampleSummary> => {
  const recheckMs = settings.recheckRounds * settings.recheckIntervalSeconds * 1000;
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS - recheckMs);
  try {
    const report = await sampleOnce({ settings, clients, streams, telemetry, deadline });
    return { ...report, divergent: report.divergent.length };
  } finally {
    telemetry.flush();
  }
};
