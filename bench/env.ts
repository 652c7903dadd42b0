/**
 * What every benchmark section shares: one DynamoDB Local, a client per region (built with `region`
 * only, so they reach the engine through AWS_ENDPOINT_URL_DYNAMODB), fresh mirror tables per
 * measurement and replicator settings for a table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tombstoneTableName, type ReplicatorSettings } from '../lambda/contract';
import { startEngine, type Engine } from '../lib/local/engine';
import { prng } from '../lib/local/workload';
import type { KeySpec, MirrorTables } from '../test/support/dynamo';

export const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

export interface BenchEnv {
  readonly engine: Engine;
  readonly regions: readonly string[];
  readonly key: KeySpec;
  readonly clients: Record<string, DynamoDBClient>;
  createMirrorTables(options: {
    regions: readonly string[];
    key: KeySpec;
    streamRegions?: readonly string[];
  }): Promise<MirrorTables>;
  createTable(region: string, name: string, key: KeySpec, options: { withStream: boolean }): Promise<unknown>;
  uniqueName(prefix: string): string;
  settingsFor(table: string, mode: ReplicatorSettings['mode'], region: string): ReplicatorSettings;
  /** A fresh seeded random source (the same sequence in every run). */
  random(): () => number;
}

export async function startBenchEnv(): Promise<BenchEnv> {
  const engine = await startEngine();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = engine.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Imported after the endpoint is set: the helpers build clients with `region` only.
  const { client, createMirrorTables, createTable, uniqueName } = await import('../test/support/dynamo');
  const regions = [...REGIONS];
  return {
    engine,
    regions,
    key: { partitionKey: { name: 'pk', type: 'S' } },
    clients: Object.fromEntries(regions.map((r) => [r, client(r)])),
    createMirrorTables,
    createTable,
    uniqueName,
    settingsFor: (table, mode, region) => {
      const common = {
        table,
        tombstoneTable: tombstoneTableName(table),
        region,
        partitionKey: 'pk',
        peers: regions
          .filter((r) => r !== region)
          .map((r) => ({ region: r, parkingQueueUrl: `local://${r}` })),
        tombstoneTtlSeconds: 86400,
        excludeAttributes: [],
        maxConcurrency: 10,
        maxAttempts: 5,
        baseDelayMs: 50,
      };
      return mode === 'multi-active' ? { ...common, mode, versionAttribute: 'version' } : { ...common, mode };
    },
    random: () => prng(7),
  };
}
