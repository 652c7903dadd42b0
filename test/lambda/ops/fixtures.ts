import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { CompareTable } from '../../../lambda/contract';
import { formatOrd } from '../../../lambda/core/order';
import type { BackfillCheckpoint, CheckpointStore } from '../../../lambda/ops/checkpoint';
import { prng } from '../../../lib/local/workload';
import { client } from '../../support/dynamo';
import type { MirrorHarness, ReplicatorFactory } from '../../support/mirror-harness';
import { realReplicator } from '../replicator/real-replicator';

/**
 * Operations on a live mirror: the real replicator on the harness, for a table that already held
 * items in one region before it was mirrored. Until `joined.value` is true its replicators send to no
 * peer (they were not deployed yet: their regions' tables do not exist).
 */
export function lateReplicator(joined: { value: boolean }): ReplicatorFactory {
  return (ctx) =>
    realReplicator({
      ...ctx,
      settingsFor: (region) => {
        const s = ctx.settingsFor(region);
        return joined.value ? s : { ...s, peers: [] };
      },
    });
}

/** The comparison's view of the harness table (one-way: the source first). */
export function compareTable(h: MirrorHarness): CompareTable {
  const source = h.ctx.source;
  return {
    name: h.ctx.table,
    mode: h.ctx.mode,
    regions: source ? [source, ...h.regions.filter((r) => r !== source)] : h.regions,
    keyNames: ['pk'],
    excludeAttributes: h.ctx.excludeAttributes,
  };
}

export function clientsFor(regions: readonly string[]): Record<string, DynamoDBClient> {
  return Object.fromEntries(regions.map((r) => [r, client(r)]));
}

/** A checkpoint kept in memory, with every save recorded. */
export function memoryCheckpoint(): CheckpointStore & { current?: BackfillCheckpoint; saves: number } {
  const store = {
    current: undefined as BackfillCheckpoint | undefined,
    saves: 0,
    load: () => store.current,
    save: (c: BackfillCheckpoint) => {
      store.current = JSON.parse(JSON.stringify(c));
      store.saves += 1;
    },
    clear: () => {
      store.current = undefined;
    },
  };
  return store;
}

/** Writes `count` items `${prefix}${i}` (version 1) straight into `region`, 25 per BatchWriteItem. */
export async function seed(
  h: MirrorHarness,
  region: string,
  prefix: string,
  count: number,
): Promise<string[]> {
  const keys = Array.from({ length: count }, (_v, i) => `${prefix}${i}`);
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += 25) batches.push(keys.slice(i, i + 25));
  for (let i = 0; i < batches.length; i += 8)
    await Promise.all(
      batches.slice(i, i + 8).map((batch) =>
        client(region).send(
          new BatchWriteItemCommand({
            RequestItems: {
              [h.ctx.table]: batch.map((k) => ({
                PutRequest: {
                  Item: { pk: { S: k }, [h.ctx.versionAttribute]: { N: '1' }, data: { S: `seed-${k}` } },
                },
              })),
            },
          }),
        ),
      ),
    );
  return keys;
}

export interface LiveOps {
  /** Keys whose only live operation was a delete. */
  readonly deleted: string[];
  operations: number;
}

/**
 * The application writing while an operation runs: saves of existing and new keys in `writers`, and
 * one delete of each key of `toDelete` (in the first writer, which holds them), every region's replicator pumped
 * between rounds, until `until` resolves.
 */
export async function runLiveOps(
  h: MirrorHarness,
  o: {
    readonly writers: readonly string[];
    readonly keys: readonly string[];
    readonly toDelete: readonly string[];
    readonly until: Promise<unknown>;
    readonly seed: number;
  },
): Promise<LiveOps> {
  const rnd = prng(o.seed);
  const pick = <T>(l: readonly T[]) => l[Math.floor(rnd() * l.length)];
  const live: LiveOps = { deleted: [], operations: 0 };
  const pendingDeletes = [...o.toDelete];
  let finished = false;
  void o.until.finally(() => (finished = true));
  for (let round = 0; !finished || round < 3; round += 1) {
    const ops = Array.from({ length: 6 }, (_v, i) => {
      const region = pick(o.writers);
      if (i < 2 && pendingDeletes.length) {
        // Deleted where the key lives: elsewhere it may not have arrived yet, and a delete of nothing is nothing.
        const key = pendingDeletes.pop()!;
        live.deleted.push(key);
        return h.remove(o.writers[0], key);
      }
      const key = rnd() < 0.8 ? pick(o.keys) : `new${round}x${i}`;
      return h.save(region, key, `live-${round}-${i}`);
    });
    await Promise.all(ops);
    live.operations += ops.length;
    await h.pumpConcurrently(h.regions);
  }
  return live;
}

/** The harness table's item `key` (partition key `pk`) in `region`, read strongly consistent. */
export async function item(h: MirrorHarness, region: string, key: string) {
  return (
    await client(region).send(
      new GetItemCommand({ TableName: h.ctx.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    )
  ).Item;
}

/** An application's whole-item PutItem into the harness table in `region`. */
export const put = (h: MirrorHarness, region: string, it: Record<string, AttributeValue>) =>
  client(region).send(new PutItemCommand({ TableName: h.ctx.table, Item: it }));

/** Last writer wins: the order key backfill and repair stamp a never-stamped item of `origin` with. */
export const clock0 = (origin: string) => formatOrd({ gen: 0, version: '0', origin, deleted: false });
