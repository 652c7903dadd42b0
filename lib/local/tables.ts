import {
  AttributeDefinition,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  KeySchemaElement,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { PlanTable } from './plan';

/**
 * Creates the table as the template defines it, replacing any leftover of a previous run. Returns the
 * stream ARN the engine assigned, when the table has a stream.
 */
export async function createTable(client: DynamoDBClient, table: PlanTable): Promise<string | undefined> {
  const keySchema: KeySchemaElement[] = [{ AttributeName: table.key.partitionKey.name, KeyType: 'HASH' }];
  if (table.key.sortKey) keySchema.push({ AttributeName: table.key.sortKey.name, KeyType: 'RANGE' });
  const keyNames = new Set(keySchema.map((k) => k.AttributeName));
  const definitions: AttributeDefinition[] = table.attributeDefinitions
    .filter((d) => keyNames.has(d.name))
    .map((d) => ({ AttributeName: d.name, AttributeType: d.type }));
  await client.send(new DeleteTableCommand({ TableName: table.name })).catch((e) => {
    if (!(e instanceof ResourceNotFoundException) && (e as Error).name !== 'ResourceNotFoundException')
      throw e;
  });
  const res = await client.send(
    new CreateTableCommand({
      TableName: table.name,
      KeySchema: keySchema,
      AttributeDefinitions: definitions,
      ...(table.billingMode === 'PROVISIONED'
        ? { ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 } }
        : { BillingMode: 'PAY_PER_REQUEST' }),
      ...(table.streamViewType
        ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.streamViewType } }
        : {}),
    }),
  );
  if (table.ttlAttribute) {
    // DynamoDB Local accepts the setting but never expires items (docs/platform.md#dynamodb-local).
    await client
      .send(
        new UpdateTimeToLiveCommand({
          TableName: table.name,
          TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
        }),
      )
      .catch(() => undefined);
  }
  return res.TableDescription?.LatestStreamArn;
}
