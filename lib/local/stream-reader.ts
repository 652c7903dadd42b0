import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { compareSequence, toLambdaRecord } from '../../lambda/contract';

export interface ShardBatch {
  readonly shardId: string;
  readonly records: DynamoDBRecord[];
}

export interface StreamReaderOptions {
  /** The region whose database holds the table (DynamoDB Local keeps one per signing region). */
  readonly region: string;
  readonly streamArn: string;
  /** @default - a client built with `region` only (AWS_ENDPOINT_URL_DYNAMODB_STREAMS points it) */
  readonly client?: DynamoDBStreamsClient;
  /** GetRecords limit per call. @default 1000 */
  readonly limit?: number;
}

interface ShardState {
  iterator?: string;
  lastSequence?: string;
  closed: boolean;
  parent?: string;
}

/**
 * Reads a table's stream the way the Lambda event source mapping does — from TRIM_HORIZON, each
 * shard in order, parents before children, following new shards — and hands back records in the
 * exact Lambda `DynamoDBRecord` shape.
 *
 * DynamoDB Local quirks handled (docs/platform.md#dynamodb-local): an iterator taken on an empty shard can later fail with
 * TrimmedDataAccessException; we then take a new one after the last sequence number seen (or from
 * TRIM_HORIZON) and drop records already delivered. `awsRegion` is reported as `ddblocal`: we put
 * the real region in, as Lambda would.
 */
/** How long a stream's shard list is trusted when no shard has closed. */
const SHARD_LIST_MAX_AGE_MS = 5_000;

export class StreamReader {
  private readonly client: DynamoDBStreamsClient;
  private readonly shards = new Map<string, ShardState>();
  /** When the shard list was last read (epoch ms); 0: read it on the next poll. */
  private shardsReadAt = 0;

  constructor(private readonly options: StreamReaderOptions) {
    this.client = options.client ?? new DynamoDBStreamsClient({ region: options.region });
  }

  get streamArn(): string {
    return this.options.streamArn;
  }

  /** New records since the previous poll, grouped by shard, parents first. */
  async poll(): Promise<ShardBatch[]> {
    // The shard list changes only when a shard closes or splits: read it again then, or every
    // SHARD_LIST_MAX_AGE_MS, not on every poll (4 polls a second per stream add up on one engine).
    if (Date.now() - this.shardsReadAt > SHARD_LIST_MAX_AGE_MS) await this.refreshShards();
    const out: ShardBatch[] = [];
    for (const [shardId, state] of this.shards) {
      if (state.closed) continue;
      if (state.parent && this.shards.has(state.parent) && !this.shards.get(state.parent)!.closed) continue;
      const records = await this.readShard(shardId, state);
      if (records.length) out.push({ shardId, records });
    }
    return out;
  }

  /** All new records in delivery order, flattened across shards. */
  async pollRecords(): Promise<DynamoDBRecord[]> {
    return (await this.poll()).flatMap((b) => b.records);
  }

  private async refreshShards(): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    do {
      const res = await this.client.send(
        new DescribeStreamCommand({
          StreamArn: this.options.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      const shards: Shard[] = res.StreamDescription?.Shards ?? [];
      for (const s of shards) {
        if (s.ShardId && !this.shards.has(s.ShardId))
          this.shards.set(s.ShardId, { closed: false, parent: s.ParentShardId });
      }
      exclusiveStartShardId = res.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    this.shardsReadAt = Date.now();
  }

  private async readShard(shardId: string, state: ShardState): Promise<DynamoDBRecord[]> {
    const out: DynamoDBRecord[] = [];
    for (let page = 0; page < 100; page++) {
      if (!state.iterator) state.iterator = await this.iterator(shardId, state.lastSequence);
      let res;
      try {
        res = await this.client.send(
          new GetRecordsCommand({ ShardIterator: state.iterator, Limit: this.options.limit ?? 1000 }),
        );
      } catch (e) {
        const name = (e as Error).name;
        if (name === 'TrimmedDataAccessException' || name === 'ExpiredIteratorException') {
          state.iterator = undefined;
          if (page > 0) return out;
          state.iterator = await this.iterator(shardId, state.lastSequence);
          continue;
        }
        throw e;
      }
      const fresh = (res.Records ?? []).filter(
        (r) => !state.lastSequence || compareSequence(r.dynamodb!.SequenceNumber!, state.lastSequence) > 0,
      );
      for (const r of fresh) out.push(toLambdaRecord(r, this.options.region, this.options.streamArn));
      if (fresh.length) state.lastSequence = fresh[fresh.length - 1].dynamodb!.SequenceNumber!;
      state.iterator = res.NextShardIterator;
      if (!res.NextShardIterator) {
        state.closed = true;
        this.shardsReadAt = 0; // a closed shard has children to find
        return out;
      }
      if (!res.Records?.length) return out;
    }
    return out;
  }

  private async iterator(shardId: string, after?: string): Promise<string> {
    const res = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ShardIteratorType: after ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON',
        SequenceNumber: after,
      }),
    );
    return res.ShardIterator!;
  }
}
