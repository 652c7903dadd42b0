/**
 * Re-reads one shard's records between two sequence numbers (an on-failure record's batch): what
 * `replay` hands to the replicator again. The stream keeps records for 24 hours
 * (docs/platform.md#streams); a range older than that is reported as unrecoverable, with the reason.
 */
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { compareSequence, toLambdaRecord } from '../contract';
import type { AwsCaller } from './aws-call';
import { errorName } from './errors';

export interface ShardRange {
  readonly streamArn: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
}

export type RangeRead =
  /** `complete`: the end sequence number was reached; otherwise the shard gave nothing more. */
  | { readonly status: 'read'; readonly records: DynamoDBRecord[]; readonly complete: boolean }
  | { readonly status: 'unrecoverable'; readonly reason: string };

/** Consecutive empty pages of an open shard after which the range counts as read as far as it goes. */
const MAX_EMPTY_PAGES = 3;

export const RETENTION_HOURS = 24;

export async function readShardRange(
  streams: DynamoDBStreamsClient,
  caller: AwsCaller,
  range: ShardRange,
  region: string,
): Promise<RangeRead> {
  const target = { action: 'dynamodb:GetShardIterator', resource: range.streamArn };
  let iterator: string | undefined;
  try {
    const res = await caller.call(target, () =>
      streams.send(
        new GetShardIteratorCommand({
          StreamArn: range.streamArn,
          ShardId: range.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: range.startSequenceNumber,
        }),
      ),
    );
    iterator = res.ShardIterator;
  } catch (e) {
    const gone = await unreadable(streams, caller, range, e);
    if (gone) return { status: 'unrecoverable', reason: gone };
    throw e;
  }
  const records: DynamoDBRecord[] = [];
  let empty = 0;
  while (iterator) {
    let page;
    try {
      page = await caller.call({ action: 'dynamodb:GetRecords', resource: range.streamArn }, () =>
        streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 })),
      );
    } catch (e) {
      if (errorName(e) === 'TrimmedDataAccessException')
        return { status: 'unrecoverable', reason: trimmed('GetRecords') };
      throw e;
    }
    for (const r of page.Records ?? []) {
      const seq = r.dynamodb?.SequenceNumber ?? '';
      if (compareSequence(seq, range.endSequenceNumber) > 0)
        return { status: 'read', records, complete: true };
      records.push(toLambdaRecord(r, region, range.streamArn));
      if (seq === range.endSequenceNumber) return { status: 'read', records, complete: true };
    }
    empty = page.Records?.length ? 0 : empty + 1;
    if (empty >= MAX_EMPTY_PAGES) break;
    iterator = page.NextShardIterator;
  }
  return { status: 'read', records, complete: false };
}

/** Why the range cannot be read any more, or undefined when the error says something else. */
async function unreadable(
  streams: DynamoDBStreamsClient,
  caller: AwsCaller,
  range: ShardRange,
  e: unknown,
): Promise<string | undefined> {
  const name = errorName(e);
  if (name === 'TrimmedDataAccessException') return trimmed('GetShardIterator');
  if (name !== 'ResourceNotFoundException') return undefined;
  // The shard or the whole stream: a stream that still exists no longer lists shards past retention.
  try {
    await caller.call({ action: 'dynamodb:DescribeStream', resource: range.streamArn }, () =>
      streams.send(new DescribeStreamCommand({ StreamArn: range.streamArn, Limit: 1 })),
    );
  } catch (described) {
    if (errorName(described) === 'ResourceNotFoundException')
      return `the stream ${range.streamArn} no longer exists (table deleted or its stream disabled)`;
    throw described;
  }
  return `trimmed: shard ${range.shardId} is no longer in the stream (records are kept ${RETENTION_HOURS} hours)`;
}

function trimmed(call: string): string {
  return `trimmed: ${call} answered TrimmedDataAccessException (the records are older than the stream's ${RETENTION_HOURS}-hour retention)`;
}
