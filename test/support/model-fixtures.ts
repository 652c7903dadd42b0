/**
 * MirrorModel builders for infrastructure tests, independent of the YAML loader.
 * `exampleModel()` is the article's example: Stories one-way us-east-1 → eu-west-1, ap-southeast-2;
 * Sessions multi-active across the three; latency routing for app.example.com.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import type {
  MirrorModel,
  MultiActiveTableModel,
  OneWayTableModel,
  RegionModel,
  RoutingModel,
} from '../../lib/config/model';

export const EXAMPLE_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

const TABLE_DEFAULTS = {
  excludeAttributes: [],
  billing: { mode: 'PAY_PER_REQUEST' },
  pointInTimeRecovery: true,
  deletionProtection: true,
  removalPolicy: 'RETAIN',
  tombstoneTtlDays: 30,
  replication: { parallelizationFactor: 4, batchSize: 100, itemsInFlight: 25 },
  existing: [],
} as const;

export function region(name: string, overrides: Partial<RegionModel> = {}): RegionModel {
  return {
    name,
    endpoint: { kind: 'cname', hostname: `app.${name}.example.com` },
    healthCheck: { protocol: 'HTTPS', port: 443, path: '/health', intervalSeconds: 30, failureThreshold: 3 },
    ...overrides,
  };
}

export function oneWayTable(overrides: Partial<OneWayTableModel> = {}): OneWayTableModel {
  return {
    ...TABLE_DEFAULTS,
    name: 'Stories',
    mode: 'one-way',
    key: { partitionKey: { name: 'storyId', type: 'S' } },
    source: 'us-east-1',
    replicas: ['eu-west-1', 'ap-southeast-2'],
    readOnlyReplicas: { enforced: true, writers: [] },
    ...overrides,
  };
}

export function multiActiveTable(overrides: Partial<MultiActiveTableModel> = {}): MultiActiveTableModel {
  return {
    ...TABLE_DEFAULTS,
    name: 'Sessions',
    mode: 'multi-active',
    key: { partitionKey: { name: 'userId', type: 'S' }, sortKey: { name: 'sessionId', type: 'S' } },
    ttl: { attribute: 'expiresAt', replicateDeletes: false },
    regions: [...EXAMPLE_REGIONS],
    conflicts: 'version',
    versionAttribute: 'version',
    ...overrides,
  };
}

export function latencyRouting(overrides: Partial<RoutingModel> = {}): RoutingModel {
  return {
    hostedZoneId: 'Z0123456789EXAMPLE',
    zoneName: 'example.com',
    recordName: 'app.example.com',
    ttlSeconds: 60,
    policy: { type: 'latency' },
    ...overrides,
  };
}

export function geolocationRouting(overrides: Partial<RoutingModel> = {}): RoutingModel {
  return latencyRouting({
    policy: {
      type: 'geolocation',
      locations: {
        'us-east-1': [{ continent: 'NA' }, { continent: 'SA' }],
        'eu-west-1': [{ continent: 'EU' }, { continent: 'AF' }],
        'ap-southeast-2': [{ continent: 'OC' }, { country: 'JP' }],
      },
      defaultRegion: 'us-east-1',
    },
    ...overrides,
  });
}

/** The example config's divergence sampling (the defaults). */
const SAMPLING = { everyMinutes: 15, sampleSize: 50, listenSeconds: 20 } as const;
/** The example config's export backfill (the defaults). */
const EXPORT_BACKFILL = { maxConcurrency: 10, writeUnitsPerSecond: 1000 } as const;

export function exampleModel(overrides: Partial<MirrorModel> = {}): MirrorModel {
  return {
    stackPrefix: 'DdbMirror',
    regions: EXAMPLE_REGIONS.map((r) => region(r)),
    tables: [
      oneWayTable({ divergenceSampling: SAMPLING, exportBackfill: EXPORT_BACKFILL }),
      multiActiveTable({ divergenceSampling: SAMPLING, exportBackfill: EXPORT_BACKFILL }),
    ],
    routing: latencyRouting(),
    ...overrides,
  };
}

/** cdk.json's context, so tests synthesize with the feature flags the CLI uses. */
export function cdkJsonContext(): Record<string, unknown> {
  const file = path.join(__dirname, '..', '..', 'cdk.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/**
 * An App with cdk.json's context. `bundle: false` skips NodejsFunction bundling (docs/platform.md#cdk-and-nag: the
 * `aws:cdk:bundling-stacks` context) for tests that do not look at the asset.
 */
export function testApp(options: { bundle?: boolean } = {}): App {
  return new App({
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
}
