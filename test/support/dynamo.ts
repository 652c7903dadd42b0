import {
  CreateTableCommand,
  DynamoDBClient,
  KeySchemaElement,
  AttributeDefinition,
  AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { StreamReader } from '../../lib/local/stream-reader';
import { scanTable } from '../../lib/local/verify';
import { tombstoneTableName } from '../../lambda/contract';

/** Engine helpers for tests. Every client is built with `region` only: global setup set the endpoint. */

const clients = new Map<string, DynamoDBClient>();
export function client(region: string): DynamoDBClient {
  let c = clients.get(region);
  if (!c) clients.set(region, (c = new DynamoDBClient({ region })));
  return c;
}

let counter = 0;
/** Fresh table names per test: DynamoDB Local slows down as deleted stream tables pile up (docs/platform.md#dynamodb-local). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}x${Math.random().toString(36).slice(2, 7)}`;
}

export interface KeySpec {
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' | 'B' };
  readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' | 'B' };
}

export async function createTable(
  region: string,
  table: string,
  key: KeySpec,
  options: { withStream: boolean },
): Promise<string | undefined> {
  const keySchema: KeySchemaElement[] = [{ AttributeName: key.partitionKey.name, KeyType: 'HASH' }];
  const defs: AttributeDefinition[] = [
    { AttributeName: key.partitionKey.name, AttributeType: key.partitionKey.type },
  ];
  if (key.sortKey) {
    keySchema.push({ AttributeName: key.sortKey.name, KeyType: 'RANGE' });
    defs.push({ AttributeName: key.sortKey.name, AttributeType: key.sortKey.type });
  }
  const res = await client(region).send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: keySchema,
      AttributeDefinitions: defs,
      BillingMode: 'PAY_PER_REQUEST',
      ...(options.withStream
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }
        : {}),
    }),
  );
  return res.TableDescription?.LatestStreamArn;
}

export interface MirrorTables {
  readonly table: string;
  readonly tombstoneTable: string;
  /** Stream readers of the regions created with a stream. */
  readonly readers: Record<string, StreamReader>;
}

/** The app table (with a stream where asked) and its tombstone table in every region. */
export async function createMirrorTables(options: {
  readonly regions: readonly string[];
  readonly table?: string;
  readonly key: KeySpec;
  /** Regions whose stream is read (all by default). */
  readonly streamRegions?: readonly string[];
}): Promise<MirrorTables> {
  const table = options.table ?? uniqueName('T');
  const tombstoneTable = tombstoneTableName(table);
  const readers: Record<string, StreamReader> = {};
  for (const region of options.regions) {
    const withStream = (options.streamRegions ?? options.regions).includes(region);
    const arn = await createTable(region, table, options.key, { withStream });
    if (withStream && arn) readers[region] = new StreamReader({ region, streamArn: arn });
    await createTable(region, tombstoneTable, options.key, { withStream: false });
  }
  return { table, tombstoneTable, readers };
}

export function scanAll(region: string, table: string): Promise<Record<string, AttributeValue>[]> {
  return scanTable(client(region), table);
}
