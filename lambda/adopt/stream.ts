/**
 * What to do with an adopted table, from its DescribeTable answer: use it as it is, enable its stream,
 * wait for it, or refuse the deploy with the reason and the way out. Pure.
 */
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { REQUIRED_STREAM_VIEW, type AdoptedTableProperties } from './contract';

export type TableDecision =
  /** Nothing to change. `streamArn` is the NEW_AND_OLD_IMAGES stream, when the table needs one. */
  | { readonly kind: 'ready'; readonly tableArn: string; readonly streamArn?: string }
  /** The table needs a stream and has none: enable NEW_AND_OLD_IMAGES. */
  | { readonly kind: 'enable' }
  /** The table is changing (a status other than ACTIVE): ask again shortly. */
  | { readonly kind: 'wait'; readonly status: string }
  /** The deploy must fail: `message` says why and what to do. */
  | { readonly kind: 'refuse'; readonly message: string };

/** Statuses a table does not leave by itself: waiting would not help. */
const STUCK = ['DELETING', 'INACCESSIBLE_ENCRYPTION_CREDENTIALS', 'ARCHIVING', 'ARCHIVED'];

/**
 * @param table the DescribeTable answer; undefined when the table does not exist.
 * @param region where the table was looked for (named in the messages).
 */
export function decideTable(
  props: AdoptedTableProperties,
  region: string,
  table: TableDescription | undefined,
): TableDecision {
  const name = props.TableName;
  if (!table)
    return refuse(
      `table ${name} does not exist in ${region}. The config lists ${region} under the table's existing ` +
        `regions, so the mirror expects the table there and never creates it: create it, or remove ${region} ` +
        'from existing so that the stack creates the table',
    );
  const status = table.TableStatus ?? 'UNKNOWN';
  if (STUCK.includes(status))
    return refuse(
      `table ${name} in ${region} is ${status}: the mirror can adopt only a table that is ACTIVE`,
    );
  const actual = keyText(table);
  const wanted = keyText({
    KeySchema: props.KeySchema.map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
    AttributeDefinitions: props.KeySchema.map(({ AttributeName, AttributeType }) => ({
      AttributeName,
      AttributeType,
    })),
  });
  if (actual !== wanted)
    return refuse(
      `table ${name} in ${region} has the key ${actual}, the config says ${wanted}: the mirror writes ` +
        "every region by the configured key; correct the table's partitionKey and sortKey in the config",
    );
  const tableArn = table.TableArn ?? '';
  if (props.Stream === 'NONE') return { kind: 'ready', tableArn };
  const stream = table.StreamSpecification;
  if (stream?.StreamEnabled) {
    if (stream.StreamViewType === REQUIRED_STREAM_VIEW && table.LatestStreamArn)
      return { kind: 'ready', tableArn, streamArn: table.LatestStreamArn };
    return refuse(otherViewMessage(name, region, stream.StreamViewType ?? 'unknown'));
  }
  // A disabled stream still shows as LatestStreamArn: only StreamSpecification tells whether it is on.
  if (status !== 'ACTIVE') return { kind: 'wait', status };
  return { kind: 'enable' };
}

/**
 * A stream's view type cannot be changed while it is enabled: it takes disabling it and enabling a new
 * stream, whose new ARN cuts off every reader of the old one (docs/platform.md#adoption).
 */
function otherViewMessage(name: string, region: string, view: string): string {
  return (
    `table ${name} in ${region} already has a stream with view type ${view}, and the replicator needs ` +
    `${REQUIRED_STREAM_VIEW}. The mirror will not replace it: a stream's view type cannot be changed in ` +
    'place, and disabling it for a new stream would cut off the readers of this one. Either move those ' +
    `readers off it, disable the stream, enable one with ${REQUIRED_STREAM_VIEW} (give it to the readers ` +
    'again: DynamoDB Streams serves at most two readers per shard, the replicator being one) and deploy ' +
    'again; or leave this table alone, mirror a new table under another name (the stack creates it with ' +
    'the stream it needs) and copy the items into it'
  );
}

/** `userId (S) + sessionId (S)`, from a table's key schema and attribute definitions. */
function keyText(table: Pick<TableDescription, 'KeySchema' | 'AttributeDefinitions'>): string {
  const typeOf = (name: string | undefined) =>
    table.AttributeDefinitions?.find((d) => d.AttributeName === name)?.AttributeType ?? '?';
  const part = (keyType: 'HASH' | 'RANGE') => {
    const element = table.KeySchema?.find((k) => k.KeyType === keyType);
    return element ? `${element.AttributeName} (${typeOf(element.AttributeName)})` : undefined;
  };
  return [part('HASH') ?? 'none', part('RANGE')].filter((p) => p !== undefined).join(' + ');
}

const refuse = (message: string): TableDecision => ({ kind: 'refuse', message });
