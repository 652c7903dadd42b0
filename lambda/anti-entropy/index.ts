/**
 * Anti-entropy entry (the `verify --deployed` state machine invokes it): wiring only; the steps are in
 * steps.ts. One bundle, deployed as up to three functions whose roles differ (settings `role`): `hash`
 * reads its own table and writes its own bucket, `compare` reads every region's hashes and items,
 * `repair` writes through the replicator's guards. Each refuses the tasks of the others.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import type { Readable } from 'node:stream';
import { SETTINGS_ENV } from '../contract';
import { decodeAntiEntropySettings, type AntiEntropyRole } from '../contract/anti-entropy';
import { planProblems } from './plan';
import { S3Store } from './s3-store';
import {
  compareStep,
  hashExportStep,
  hashSegmentStep,
  reduceStep,
  repairStep,
  summariseStep,
  type Task,
} from './steps';

const settings = decodeAntiEntropySettings(process.env[SETTINGS_ENV]);
const part = settings.antiEntropy;
const table = { ...part.table };
const logger = new Logger();
const recheck = { rounds: part.recheckRounds, intervalMs: part.recheckIntervalSeconds * 1000 };

// `region` only: AWS_ENDPOINT_URL_DYNAMODB can point every client at DynamoDB Local.
const dynamo = new Map<string, DynamoDBClient>();
const dynamoOf = (region: string) =>
  dynamo.get(region) ?? dynamo.set(region, new DynamoDBClient({ region })).get(region)!;
const s3 = new Map<string, S3Client>();
const s3Of = (region: string) => s3.get(region) ?? s3.set(region, new S3Client({ region })).get(region)!;
const storeOf = (region: string) => new S3Store(s3Of(region), part.buckets[region]);
const clientsOf = () => Object.fromEntries(table.regions.map((r) => [r, dynamoOf(r)]));

const TASKS: Record<AntiEntropyRole, readonly Task['task'][]> = {
  hash: ['hash-segment', 'hash-export', 'reduce'],
  compare: ['compare', 'summarise'],
  repair: ['repair'],
};

/** Time kept back from the invocation's budget to write what a segment's pages gave. */
const RESERVE_MS = 60_000;

export const handler = async (task: Task, context: Context): Promise<unknown> => {
  if (!TASKS[part.role].includes(task.task))
    throw new Error(`the ${part.role} function does not run ${JSON.stringify(task.task)} tasks`);
  if ('plan' in task) {
    const problems = planProblems(task.plan);
    if (problems.length) throw new Error(`invalid plan: ${problems.join('; ')}`);
  }
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - RESERVE_MS);
  const own = storeOf(settings.region);
  let result: unknown;
  switch (task.task) {
    case 'hash-segment':
      result = await hashSegmentStep(
        { client: dynamoOf(settings.region), store: own, table, deadline },
        task,
      );
      break;
    case 'hash-export':
      result = await hashExportStep(
        {
          store: own,
          table,
          read: async (bucket, key) =>
            (await s3Of(settings.region).send(new GetObjectCommand({ Bucket: bucket, Key: key })))
              .Body as Readable,
        },
        task,
      );
      break;
    case 'reduce':
      result = await reduceStep(own, task);
      break;
    case 'compare':
      result = await compareStep(
        {
          stores: Object.fromEntries(table.regions.map((r) => [r, storeOf(r)])),
          clients: clientsOf(),
          table,
          home: settings.region,
          recheck,
        },
        task,
      );
      break;
    case 'summarise':
      result = await summariseStep(own, task);
      break;
    case 'repair':
      result = await repairStep(
        { store: own, clients: clientsOf(), table, replicators: part.replicators!, recheck },
        task,
      );
      break;
  }
  logger.info('anti-entropy step', { task: task.task, result });
  return result;
};
