/**
 * One custom resource request to the adopt function, answered as an {@link Outcome}: the adopted table
 * (checked, its stream enabled when needed) or the read-only statement in its resource policy. Its
 * clients and clock come as parameters, so tests run it against DynamoDB Local or a stand-in.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import type { CustomResourceRequest, Outcome } from './cfn';
import {
  ADOPTED_TABLE_TYPE,
  adoptedTablePropertiesSchema,
  READ_ONLY_POLICY_TYPE,
  readOnlyPolicyPropertiesSchema,
  type AdoptedTableData,
  type AdoptSettings,
} from './contract';
import { putStatement, removeStatement } from './resource-policy';
import { adoptTable, type AdoptOptions } from './table';

export interface HandleOptions extends Omit<AdoptOptions, 'region'> {
  readonly settings: AdoptSettings;
  readonly client: Pick<DynamoDBClient, 'send'>;
}

export async function handleRequest(request: CustomResourceRequest, o: HandleOptions): Promise<Outcome> {
  const fallbackId = request.PhysicalResourceId ?? `${o.settings.table}-${request.LogicalResourceId}`;
  try {
    switch (request.ResourceType) {
      case ADOPTED_TABLE_TYPE:
        return await adoptedTable(request, o);
      case READ_ONLY_POLICY_TYPE:
        return await readOnlyPolicy(request, o);
      default:
        return failed(fallbackId, `the adopt function serves no resource type ${request.ResourceType}`);
    }
  } catch (e) {
    return failed(fallbackId, (e as Error).message);
  }
}

async function adoptedTable(request: CustomResourceRequest, o: HandleOptions): Promise<Outcome> {
  const props = parse(adoptedTablePropertiesSchema, request.ResourceProperties);
  const id = props.TableName;
  // On delete the table and its stream stay as they are: the stream may have readers of its own, and the
  // table was never the stack's to change.
  if (request.RequestType === 'Delete') return { status: 'SUCCESS', physicalResourceId: id };
  mustBeOwnTable(props.TableName, o.settings);
  const adopted = await adoptTable(o.client as DynamoDBClient, props, { ...o, region: o.settings.region });
  const data: AdoptedTableData = {
    TableArn: adopted.tableArn,
    StreamArn: adopted.streamArn ?? '',
    StreamEnabledHere: adopted.enabledStream ? 'true' : 'false',
  };
  return { status: 'SUCCESS', physicalResourceId: id, data: { ...data } };
}

async function readOnlyPolicy(request: CustomResourceRequest, o: HandleOptions): Promise<Outcome> {
  if (request.RequestType === 'Delete') {
    // After an update that moved the statement to another table, CloudFormation deletes the old one by
    // its physical id: the ARN of the table that still holds the statement.
    const arn = request.PhysicalResourceId?.startsWith('arn:')
      ? request.PhysicalResourceId
      : String(request.ResourceProperties.TableArn ?? '');
    if (!arn.startsWith('arn:'))
      return { status: 'SUCCESS', physicalResourceId: request.PhysicalResourceId ?? arn };
    const change = await removeStatement(o.client, arn);
    o.log?.('removed the read-only statement', { table: arn, change });
    return { status: 'SUCCESS', physicalResourceId: arn };
  }
  const props = parse(readOnlyPolicyPropertiesSchema, request.ResourceProperties);
  mustBeOwnTable(props.TableArn.replace(/^.*:table\//, ''), o.settings);
  const change = await putStatement(o.client, props.TableArn, props.Statement);
  o.log?.('put the read-only statement', { table: props.TableArn, change });
  return { status: 'SUCCESS', physicalResourceId: props.TableArn };
}

/** Its role allows this one table anyway; a request for another is a wiring mistake, named as such. */
function mustBeOwnTable(table: string, settings: AdoptSettings): void {
  if (table !== settings.table)
    throw new Error(`this adopt function serves table ${settings.table}, not ${table}`);
}

function parse<T>(schema: z.ZodMiniType<T>, value: unknown): T {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'properties'}: ${i.message}`);
  throw new Error(`invalid resource properties: ${problems.join('; ')}`);
}

const failed = (physicalResourceId: string, reason: string): Outcome => ({
  status: 'FAILED',
  physicalResourceId,
  reason,
});
