/**
 * `ddb-mirror plan`, the reading: for every table and region of the config, what lib/ops/preflight.ts
 * decides from. Only reads: DescribeTable, ListTagsOfResource, DescribeContinuousBackups, one Scan page
 * (eventually consistent) and Lambda's ListEventSourceMappings. Its clients are parameters.
 *
 * DescribeTable failing for another reason than a missing table stops the plan (an `OpsError` naming the
 * permission or endpoint); the other reads only inform a check, so a failure there is kept as `unread`
 * with its reason and the report warns about it.
 */
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  ListTagsOfResourceCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import {
  ListEventSourceMappingsCommand,
  type ListEventSourceMappingsCommandOutput,
} from '@aws-sdk/client-lambda';
import { tombstoneTableName } from '../../lambda/contract';
import { AwsCaller } from '../../lambda/ops/aws-call';
import { awsErrorKind, errorName, explainAwsError, OpsError } from '../../lambda/ops/errors';
import {
  tableRegions,
  type KeySchema,
  type KeyType,
  type MirrorModel,
  type TableModel,
} from '../config/model';
import type { ReplicatorDeployment } from './deployment';
import {
  DEFAULT_SAMPLE_SIZE,
  regionStackName,
  versionContract,
  type Billing,
  type Read,
  type RegionFacts,
  type StreamConsumer,
  type TableFacts,
  type VersionSample,
} from './preflight';

/** What ListEventSourceMappings is called on: a LambdaClient, or a stand-in. */
export interface LambdaLike {
  send(command: ListEventSourceMappingsCommand): Promise<ListEventSourceMappingsCommandOutput>;
}

/** The readers of a table's stream in a region. */
export type ConsumerReader = (
  table: TableModel,
  region: string,
  streamArn: string,
) => Promise<Read<readonly StreamConsumer[]>>;

export interface GatherSources {
  readonly dynamo: (region: string) => DynamoDBClient;
  readonly consumers: ConsumerReader;
  /**
   * How the stack that manages a table is told: by its `aws:cloudformation:stack-name` tag (AWS), or
   * `local-mirror`: a kept local mirror created every table of its stacks itself (DynamoDB Local keeps
   * no tags).
   */
  readonly owners: 'tags' | 'local-mirror';
}

export interface GatherOptions {
  /** Only these tables. @default every table of the model */
  readonly tables?: readonly string[];
  /** Items sampled per region for the version contract. @default DEFAULT_SAMPLE_SIZE */
  readonly sampleSize?: number;
  readonly caller?: AwsCaller;
}

/** Reads every table × region of the model (in parallel): the facts of {@link preflightReport}. */
export async function gatherPreflight(
  model: MirrorModel,
  sources: GatherSources,
  options: GatherOptions = {},
): Promise<RegionFacts[]> {
  const caller = options.caller ?? new AwsCaller();
  const tables = model.tables.filter((t) => !options.tables || options.tables.includes(t.name));
  return Promise.all(
    tables.flatMap((table) =>
      tableRegions(table).map((region) =>
        regionFacts(model, table, region, sources, caller, options.sampleSize ?? DEFAULT_SAMPLE_SIZE),
      ),
    ),
  );
}

async function regionFacts(
  model: MirrorModel,
  table: TableModel,
  region: string,
  sources: GatherSources,
  caller: AwsCaller,
  sampleSize: number,
): Promise<RegionFacts> {
  const dynamo = sources.dynamo(region);
  const stack = regionStackName(model, region);
  const owner = async (arn: string): Promise<Read<string | null>> =>
    sources.owners === 'local-mirror' ? stack : stackTag(dynamo, caller, region, arn);
  const [described, tombstones] = await Promise.all([
    describe(dynamo, caller, region, table.name),
    describe(dynamo, caller, region, tombstoneTableName(table.name)),
  ]);
  const tombstoneFacts = {
    found: !!tombstones,
    ...(tombstones ? { owner: await owner(tombstones.TableArn ?? '') } : {}),
  };
  if (!described) return { table: table.name, region, tombstones: tombstoneFacts };
  const found = tableFacts(described);
  const contract = versionContract(table);
  const [tableOwner, pitr, consumers, sample] = await Promise.all([
    owner(found.arn),
    pointInTimeRecovery(dynamo, caller, region, table.name),
    found.stream ? sources.consumers(table, region, found.stream.arn) : undefined,
    contract ? versionSample(dynamo, caller, region, table, contract, sampleSize) : undefined,
  ]);
  return {
    table: table.name,
    region,
    found,
    owner: tableOwner,
    tombstones: tombstoneFacts,
    pitr,
    ...(consumers !== undefined ? { consumers } : {}),
    ...(sample !== undefined ? { sample } : {}),
  };
}

/** DescribeTable; undefined when there is no such table. */
async function describe(
  dynamo: DynamoDBClient,
  caller: AwsCaller,
  region: string,
  name: string,
): Promise<TableDescription | undefined> {
  try {
    const res = await caller.call(
      { action: 'dynamodb:DescribeTable', resource: `${name} in ${region}` },
      () => dynamo.send(new DescribeTableCommand({ TableName: name })),
    );
    return res.Table;
  } catch (e) {
    if (awsErrorKind(e) === 'not-found') return undefined;
    throw e;
  }
}

/** The decision's view of a DescribeTable answer. */
export function tableFacts(t: TableDescription): TableFacts {
  const typeOf = (name: string) =>
    (t.AttributeDefinitions?.find((d) => d.AttributeName === name)?.AttributeType ?? '?') as KeyType;
  const attribute = (keyType: 'HASH' | 'RANGE') => {
    const name = t.KeySchema?.find((k) => k.KeyType === keyType)?.AttributeName;
    return name === undefined ? undefined : { name, type: typeOf(name) };
  };
  const sortKey = attribute('RANGE');
  const key: KeySchema = {
    partitionKey: attribute('HASH') ?? { name: '?', type: '?' as KeyType },
    ...(sortKey ? { sortKey } : {}),
  };
  // A table created provisioned and never switched has no BillingModeSummary.
  const billing: Billing =
    t.BillingModeSummary?.BillingMode === 'PAY_PER_REQUEST'
      ? { mode: 'PAY_PER_REQUEST' }
      : {
          mode: 'PROVISIONED',
          readCapacity: t.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
          writeCapacity: t.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
        };
  const stream =
    t.StreamSpecification?.StreamEnabled && t.LatestStreamArn
      ? { arn: t.LatestStreamArn, viewType: t.StreamSpecification.StreamViewType ?? '?' }
      : undefined;
  return {
    arn: t.TableArn ?? '',
    status: t.TableStatus ?? '?',
    key,
    billing,
    ...(stream ? { stream } : {}),
    itemCount: t.ItemCount ?? 0,
    sizeBytes: t.TableSizeBytes ?? 0,
  };
}

/** Why a read that only informs a check failed, in one line. */
function unread(e: unknown, action: string, region: string, resource: string): { unread: string } {
  // DynamoDB Local serves neither tags nor continuous backups.
  if (errorName(e) === 'UnknownOperationException')
    return { unread: `the endpoint does not serve ${action.split(':')[1]} (${(e as Error).message})` };
  if (e instanceof OpsError) return { unread: e.message };
  return { unread: explainAwsError(e, { region, action, resource }) };
}

/** The `aws:cloudformation:stack-name` tag CloudFormation puts on what it creates; null when untagged. */
async function stackTag(
  dynamo: DynamoDBClient,
  caller: AwsCaller,
  region: string,
  arn: string,
): Promise<Read<string | null>> {
  const action = 'dynamodb:ListTagsOfResource';
  try {
    let token: string | undefined;
    do {
      const res = await caller.call({ action, resource: arn }, () =>
        dynamo.send(new ListTagsOfResourceCommand({ ResourceArn: arn, NextToken: token })),
      );
      const tag = res.Tags?.find((t) => t.Key === 'aws:cloudformation:stack-name');
      if (tag) return tag.Value ?? null;
      token = res.NextToken;
    } while (token);
    return null;
  } catch (e) {
    return unread(e, action, region, arn);
  }
}

async function pointInTimeRecovery(
  dynamo: DynamoDBClient,
  caller: AwsCaller,
  region: string,
  name: string,
): Promise<Read<boolean>> {
  const action = 'dynamodb:DescribeContinuousBackups';
  try {
    const res = await caller.call({ action, resource: `${name} in ${region}` }, () =>
      dynamo.send(new DescribeContinuousBackupsCommand({ TableName: name })),
    );
    const status =
      res.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus;
    return status === 'ENABLED';
  } catch (e) {
    return unread(e, action, region, name);
  }
}

/**
 * One Scan page of `limit` items, eventually consistent (half the read units), projected to the key and
 * the version attribute: does every item carry a numeric version?
 */
export async function versionSample(
  dynamo: DynamoDBClient,
  caller: AwsCaller,
  region: string,
  table: TableModel,
  attribute: string,
  limit: number,
): Promise<Read<VersionSample>> {
  const keys = [table.key.partitionKey.name, ...(table.key.sortKey ? [table.key.sortKey.name] : [])];
  const names = Object.fromEntries([...keys, attribute].map((n, i) => [`#a${i}`, n]));
  const action = 'dynamodb:Scan';
  try {
    const res = await caller.call({ action, resource: `${table.name} in ${region}` }, () =>
      dynamo.send(
        new ScanCommand({
          TableName: table.name,
          Limit: limit,
          ConsistentRead: false,
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    const items = res.Items ?? [];
    const missing = items.filter((i) => i[attribute] === undefined);
    const notNumber = items.filter((i) => i[attribute] !== undefined && i[attribute].N === undefined);
    return {
      attribute,
      items: items.length,
      missing: missing.length,
      notNumber: notNumber.length,
      examples: [...missing, ...notNumber].slice(0, 3).map((i) => keyText(i, keys)),
      readUnits: res.ConsumedCapacity?.CapacityUnits ?? 0,
    };
  } catch (e) {
    return unread(e, action, region, table.name);
  }
}

/** `pk=a`, `pk=a,sk=3`. */
function keyText(item: Record<string, AttributeValue>, keys: readonly string[]): string {
  const value = (v?: AttributeValue) => v?.S ?? v?.N ?? (v?.B ? Buffer.from(v.B).toString('base64') : '?');
  return keys.map((k) => `${k}=${value(item[k])}`).join(',');
}

/**
 * The stream's Lambda event source mappings, each recognised as this mirror's replicator when the
 * function's name is the one CloudFormation generates for it (lib/ops/deployment.ts).
 */
export function lambdaConsumers(
  model: MirrorModel,
  lambda: (region: string) => LambdaLike,
  caller: AwsCaller = new AwsCaller(),
): ConsumerReader {
  let deployments: ReplicatorDeployment[] | undefined;
  return async (table, region, streamArn) => {
    const action = 'lambda:ListEventSourceMappings';
    const mappings = [];
    try {
      let marker: string | undefined;
      do {
        const res = await caller.call({ action, resource: streamArn }, () =>
          lambda(region).send(
            new ListEventSourceMappingsCommand({ EventSourceArn: streamArn, Marker: marker }),
          ),
        );
        mappings.push(...(res.EventSourceMappings ?? []));
        marker = res.NextMarker;
      } while (marker);
    } catch (e) {
      return unread(e, action, region, streamArn);
    }
    if (!mappings.length) return [];
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    const names = mappings.map((m) => m.FunctionArn?.split(':')[6] ?? m.FunctionArn ?? '?');
    // The CDK loads, and the stacks are built in memory (about a second), only for a name that could be
    // the mirror's.
    const { generatedNamePrefix, matchGeneratedName, replicatorDeployments } = await import('./deployment');
    const prefix = generatedNamePrefix(regionStackName(model, region));
    if (names.some((n) => n.startsWith(prefix))) deployments ??= replicatorDeployments(model);
    const own = deployments?.find((d) => d.table === table.name && d.region === region);
    return mappings.map((m, i): StreamConsumer => {
      const name = names[i];
      return {
        name,
        ...(m.UUID ? { uuid: m.UUID } : {}),
        state: m.State ?? '?',
        mirror: !!own && matchGeneratedName(name, own.stackName, own.replicatorFunction) > 0,
      };
    });
  };
}

/** A kept local mirror's stream readers: its own replicators, as its `GET /status` lists them. */
export function localMirrorConsumers(status: {
  readonly replicators: readonly { readonly table: string; readonly region: string }[];
}): ConsumerReader {
  return async (table, region) =>
    status.replicators
      .filter((r) => r.table === table.name && r.region === region)
      .map(() => ({ name: `${table.name} replicator (local mirror)`, state: 'Enabled', mirror: true }));
}
