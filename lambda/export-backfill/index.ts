/**
 * Export backfill entry (a Distributed Map item of the backfill state machine invokes it): wiring only.
 * The logic is in apply-file.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { Readable } from 'node:stream';
import { decodeExportBackfillSettings, SETTINGS_ENV } from '../contract';
import { meterClient, newMeter, TokenBucket } from '../ops/capacity';
import { backfillExportFile, type ExportFileResult, type ExportFileTask } from './apply-file';

const settings = decodeExportBackfillSettings(process.env[SETTINGS_ENV]);
const logger = new Logger();
const targets = settings.peers.map((p) => p.region);
// `region` only: AWS_ENDPOINT_URL_DYNAMODB can point every client at DynamoDB Local.
const clients = Object.fromEntries(
  [settings.region, ...targets].map((r) => [r, new DynamoDBClient({ region: r })]),
);
// This invocation's share of the table's write budget, at each target (docs/platform.md#export-backfill).
for (const t of targets)
  meterClient(clients[t], newMeter(), {
    write: new TokenBucket(settings.exportBackfill.writeUnitsPerSecond),
  });
const s3 = new S3Client({ region: settings.region });

/** Time kept back from the invocation's budget for the items in flight and the answer. */
const RESERVE_MS = 60_000;

/** A target stayed unavailable before any line was handled: Step Functions retries the invocation. */
class TargetUnavailable extends Error {
  override readonly name = 'TargetUnavailable';
}

async function read(bucket: string, key: string): Promise<Readable> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body as Readable;
}

export const handler = async (task: ExportFileTask, context: Context): Promise<ExportFileResult> => {
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
  const result = await backfillExportFile({
    settings,
    clients,
    task: { bucket: task.bucket, key: task.key, startLine: task.startLine ?? 0 },
    read,
    deadline,
    itemsInFlight: settings.exportBackfill.itemsInFlight,
  });
  logger.info('export file', { ...result, failures: result.failures.slice(0, 10) });
  if (result.error && result.nextLine === result.startLine)
    throw new TargetUnavailable(`${result.error.region}: ${result.error.message}`);
  return result;
};
