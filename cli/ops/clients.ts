/**
 * The clients of the operations commands, from one factory: one client per service and region, with
 * credentials from the standard chain (`--profile` picks a profile of it, for every region or for
 * one), or pointed at one endpoint for every region (`--endpoint`, a kept local mirror), where the
 * local mirror's `local/local` credentials stand in when none are set. Also the checks that the other end answers before any work
 * starts: a control endpoint's `GET /status`, and every region's table (DescribeTable).
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tombstoneTableName } from '../../lambda/contract';
import { meterClient, newMeter, TokenBucket, type CapacityMeter } from '../../lambda/ops/capacity';
import { explainAwsError, OpsError, type ErrorPlace } from '../../lambda/ops/errors';
import { profileFor, type Connection } from './options';

/** DynamoDB Local keeps one database per access key; the local mirror's is `local`. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface ClientConfig {
  readonly region: string;
  readonly endpoint?: string;
  readonly profile?: string;
  readonly credentials?: typeof LOCAL_CREDENTIALS;
}

/** The config of every AWS client a command makes: `region` only, plus the endpoint or profile asked for. */
export function clientConfig(c: Connection, region: string, env = process.env): ClientConfig {
  const profile = profileFor(c, region);
  const local = c.endpoint !== undefined && profile === undefined && !env.AWS_ACCESS_KEY_ID;
  return {
    region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    ...(profile ? { profile } : {}),
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
}

/** The DynamoDB endpoint a region's client talks to, for messages. */
export function endpointOf(c: Connection, region: string, env = process.env): string {
  return (
    c.endpoint ??
    env.AWS_ENDPOINT_URL_DYNAMODB ??
    env.AWS_ENDPOINT_URL ??
    `https://dynamodb.${region}.amazonaws.com`
  );
}

export interface RegionClients {
  readonly clients: Readonly<Record<string, DynamoDBClient>>;
  readonly meters: Readonly<Record<string, CapacityMeter>>;
  endpointOf(region: string): string;
  /** The named profile a region's client uses, if any (for messages). */
  profileOf(region: string): string | undefined;
}

/** One metered (and, with limits, paced) DynamoDB client per region, for the commands that scan. */
export function regionClients(
  regions: readonly string[],
  c: Connection,
  limits: { readonly readUnits?: number; readonly writeUnits?: number } = {},
): RegionClients {
  const clients: Record<string, DynamoDBClient> = {};
  const meters: Record<string, CapacityMeter> = {};
  for (const region of regions) {
    clients[region] = new DynamoDBClient(clientConfig(c, region));
    meters[region] = newMeter();
    meterClient(clients[region], meters[region], {
      ...(limits.readUnits ? { read: new TokenBucket(limits.readUnits) } : {}),
      ...(limits.writeUnits ? { write: new TokenBucket(limits.writeUnits) } : {}),
    });
  }
  return {
    clients,
    meters,
    endpointOf: (region) => endpointOf(c, region),
    profileOf: (region) => profileFor(c, region),
  };
}

/** Where a region's call went, for {@link explainAwsError}: the region, its endpoint, the table, its profile. */
export function errorPlace(rc: RegionClients, region: string, table: string): ErrorPlace {
  const profile = rc.profileOf(region);
  return { region, endpoint: rc.endpointOf(region), table, ...(profile ? { profile } : {}) };
}

/**
 * Before any work: every region's table and tombstone table answers (DescribeTable, 15 s each).
 * Returns the table's approximate item count per region; throws one error naming every problem.
 */
export async function preflight(
  rc: RegionClients,
  table: string,
  regions: readonly string[],
  c: Connection,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // The same problem in several regions (one endpoint that does not answer) is told once.
  const problems = new Map<string, string[]>();
  await Promise.all(
    regions.flatMap((region) =>
      [table, tombstoneTableName(table)].map(async (name) => {
        try {
          const res = await rc.clients[region].send(new DescribeTableCommand({ TableName: name }), {
            abortSignal: AbortSignal.timeout(15_000),
          });
          if (name === table) counts[region] = res.Table?.ItemCount ?? 0;
        } catch (e) {
          const text = explainAwsError(e, { ...errorPlace(rc, region, name), region: REGION });
          const list = problems.get(text) ?? [];
          if (!list.includes(region)) list.push(region);
          problems.set(text, list);
        }
      }),
    ),
  );
  if (problems.size) throw new OpsError(preflightLines(problems, regions, c).join('\n'));
  return counts;
}

const REGION = '\u0000region\u0000';

/** Each problem once, with the regions it happened in (in the table's order). */
function preflightLines(
  problems: Map<string, string[]>,
  regions: readonly string[],
  c: Connection,
): string[] {
  const lines = [...problems].map(([text, rs]) =>
    text.split(REGION).join(regions.filter((r) => rs.includes(r)).join(', ')),
  );
  if (c.endpoint && lines.some((p) => p.includes('not found')))
    lines.push(
      '(DynamoDB Local keeps one database per access key and region: the local mirror uses the key "local")',
    );
  return lines.sort();
}

/** `GET /status` of a control endpoint; an OpsError naming the endpoint when it does not answer as one. */
export async function fetchStatus(endpoint: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${endpoint}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const { cause } = e as { cause?: { code?: string; message?: string } };
    const reason = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new OpsError(
      `--endpoint ${endpoint} does not answer (${reason}); start one with npm start -- --keep`,
    );
  }
  if (!res.ok)
    throw new OpsError(
      `--endpoint ${endpoint} is not a ddb-mirror control endpoint (GET /status answered ${res.status}); pass the URL npm start -- --keep prints for --endpoint`,
    );
  return res.json();
}
