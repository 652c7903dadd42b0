import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describeError } from './error-text';
import { AwsProxy } from './aws-proxy';
import type { PolicyDocument } from './iam-check';
import type { LocalPlan, PlanTable } from './plan';

/**
 * Shows that a read-only replica refuses an application's write, as the table's resource-based policy
 * makes it do in AWS (docs/replication.md, "Read-only replicas"): an application role, allowed by its
 * own policy to write every table of the config, puts an item through a proxy that evaluates both
 * policies the way IAM does. The write must be refused with AccessDenied before it reaches the engine.
 */

/** The application's role: any role of the account that is not a replicator's. */
export const APPLICATION_ROLE = 'ddb-mirror-demo-application';

export interface ReadOnlyProbe {
  readonly table: string;
  readonly region: string;
  /** True when the write was refused with AccessDenied (what read-only means). */
  readonly refused: boolean;
  /** The error the application's SDK raised, or what went wrong. */
  readonly message: string;
}

/** One probe per table that has a resource-based policy (a read-only replica). */
export async function probeReadOnlyReplicas(
  plan: LocalPlan,
  dynamoEndpoint: string,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<ReadOnlyProbe[]> {
  const replicas = plan.tables.filter((t) => t.resourcePolicy);
  const probes: ReadOnlyProbe[] = [];
  for (const table of replicas) probes.push(await probe(plan, table, dynamoEndpoint, credentials));
  return probes;
}

async function probe(
  plan: LocalPlan,
  table: PlanTable,
  dynamoEndpoint: string,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<ReadOnlyProbe> {
  const proxy = await AwsProxy.start({
    functionName: APPLICATION_ROLE,
    region: table.region,
    account: plan.account,
    dynamoEndpoint,
    policies: [applicationPolicy(plan)],
    principalArn: `arn:aws:iam::${plan.account}:role/${APPLICATION_ROLE}`,
    resourcePolicies: new Map([[table.arn, table.resourcePolicy!]]),
  });
  const client = new DynamoDBClient({
    region: table.region,
    endpoint: proxy.endpoint,
    credentials,
    maxAttempts: 1,
  });
  const where = { table: table.name, region: table.region };
  try {
    await client.send(new PutItemCommand({ TableName: table.name, Item: probeItem(table) }));
    return { ...where, refused: false, message: 'the write was accepted' };
  } catch (e) {
    const refused = (e as { name?: string }).name === 'AccessDeniedException';
    return { ...where, refused, message: describeError(e) };
  } finally {
    client.destroy();
    await proxy.stop();
  }
}

/** What an application is typically granted: writing and reading every table of the config. */
function applicationPolicy(plan: LocalPlan): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem'],
        Resource: plan.tables.map((t) => t.arn),
      },
    ],
  };
}

function probeItem(table: PlanTable): Record<string, AttributeValue> {
  const value = (type: string): AttributeValue =>
    type === 'N' ? { N: '0' } : type === 'B' ? { B: new Uint8Array([0]) } : { S: 'read-only-probe' };
  const { partitionKey, sortKey } = table.key;
  return {
    [partitionKey.name]: value(partitionKey.type),
    ...(sortKey ? { [sortKey.name]: value(sortKey.type) } : {}),
  };
}
