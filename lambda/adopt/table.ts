/**
 * Adopting one table: DescribeTable, decide (stream.ts), UpdateTable when the stream must be enabled,
 * and DescribeTable again until the table is ACTIVE with its stream. Thin I/O around the decision.
 */
import {
  DescribeTableCommand,
  UpdateTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { REQUIRED_STREAM_VIEW, type AdoptedTableProperties } from './contract';
import { decideTable } from './stream';

/** The deploy must fail, for the reason in the message (shown by CloudFormation as the resource's status reason). */
export class AdoptError extends Error {
  override readonly name = 'AdoptError';
}

export interface AdoptOptions {
  readonly region: string;
  /** Epoch ms by which the answer must be known; a table still changing then fails the request. */
  readonly deadline: number;
  /** @default 2000 */
  readonly pollMs?: number;
  /** @default real time */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A line for the function's log. @default - none */
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface AdoptResult {
  readonly tableArn: string;
  /** The NEW_AND_OLD_IMAGES stream; undefined when the table needs none. */
  readonly streamArn?: string;
  /** This call enabled the stream (the table had none). */
  readonly enabledStream: boolean;
}

/** Checks the table and enables its stream when it needs one and has none. @throws {AdoptError} */
export async function adoptTable(
  client: DynamoDBClient,
  props: AdoptedTableProperties,
  o: AdoptOptions,
): Promise<AdoptResult> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const pollMs = o.pollMs ?? 2000;
  let enabledStream = false;
  for (;;) {
    const decision = decideTable(props, o.region, await describe(client, props.TableName));
    switch (decision.kind) {
      case 'ready':
        return {
          tableArn: decision.tableArn,
          ...(decision.streamArn ? { streamArn: decision.streamArn } : {}),
          enabledStream,
        };
      case 'refuse':
        throw new AdoptError(decision.message);
      case 'enable':
        if (await enableStream(client, props.TableName)) {
          enabledStream = true;
          o.log?.(`enabled a ${REQUIRED_STREAM_VIEW} stream on ${props.TableName}`);
        }
        // The next DescribeTable tells whether the stream is there (ours, or one enabled meanwhile).
        continue;
      case 'wait':
        if (Date.now() + pollMs > o.deadline)
          throw new AdoptError(
            `table ${props.TableName} in ${o.region} is still ${decision.status}: deploy again once it is ACTIVE`,
          );
        o.log?.(`waiting for ${props.TableName}`, { status: decision.status });
        await sleep(pollMs);
    }
  }
}

async function describe(client: DynamoDBClient, table: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: table }))).Table;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/**
 * UpdateTable with the stream; false when someone enabled a stream first (DynamoDB refuses to enable a
 * second one) or the table is busy: the caller describes the table again and decides anew.
 */
async function enableStream(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(
      new UpdateTableCommand({
        TableName: table,
        StreamSpecification: { StreamEnabled: true, StreamViewType: REQUIRED_STREAM_VIEW },
      }),
    );
    return true;
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'ResourceInUseException') return false;
    if (name === 'ValidationException' && /already has an enabled stream/i.test((e as Error).message))
      return false;
    throw e;
  }
}
