/**
 * Capacity for operations (backfill, verify, repair): what they consume, measured from DynamoDB's own
 * `ConsumedCapacity`, and a per-region limit in units per second, so that an operation on a live
 * table leaves room for the application and the replicators.
 *
 * Both hook into the client's middleware stack: every request the operation makes (its scans, and
 * every read and write `applyIntent` makes on its behalf) is metered and limited, without the write
 * path knowing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { realSleep } from '../core/retry';
import { isThrottle } from './errors';

export interface BucketClock {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

const REAL_CLOCK: BucketClock = { now: Date.now, sleep: realSleep };

/**
 * A token bucket in capacity units per second (burst: one second's worth). A request takes one unit
 * before it is sent; its real consumption, known only from the response, is settled afterwards and
 * may leave the bucket in debt, which the next requests wait out.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(
    readonly unitsPerSecond: number,
    private readonly clock: BucketClock = REAL_CLOCK,
  ) {
    if (!(unitsPerSecond > 0)) throw new Error(`a token bucket needs a positive rate, got ${unitsPerSecond}`);
    this.burst = Math.max(1, unitsPerSecond);
    this.tokens = this.burst;
    this.last = clock.now();
  }

  /** Waits until a unit is available and takes it. */
  async acquire(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.unitsPerSecond));
    }
  }

  /** Settles a request that took one unit and consumed `units` (less than one gives the rest back). */
  settle(units: number): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens - (units - 1));
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.unitsPerSecond) / 1000);
    this.last = now;
  }
}

/** What an operation consumed in one region. */
export interface CapacityMeter {
  readUnits: number;
  writeUnits: number;
  /** Requests DynamoDB throttled (each attempt counts; the SDK and the write path retry them). */
  throttles: number;
}

export const newMeter = (): CapacityMeter => ({ readUnits: 0, writeUnits: 0, throttles: 0 });

export interface CapacityLimits {
  readonly read?: TokenBucket;
  readonly write?: TokenBucket;
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'ScanCommand', 'QueryCommand']);
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

/** Meters (and, with limits, paces) every read and write `client` sends. Call once per client. */
export function meterClient(client: DynamoDBClient, meter: CapacityMeter, limits: CapacityLimits = {}): void {
  type Handler = (args: { input: object }) => Promise<{ output: { ConsumedCapacity?: unknown } }>;
  const stack = client.middlewareStack as unknown as {
    add(mw: (next: Handler, context: { commandName?: string }) => Handler, options: object): void;
  };
  stack.add(
    (next, context) => async (args) => {
      const kind = READS.has(context.commandName ?? '')
        ? 'read'
        : WRITES.has(context.commandName ?? '')
          ? 'write'
          : undefined;
      if (!kind) return next(args);
      const bucket = limits[kind];
      await bucket?.acquire();
      const account = (units: number) => {
        if (kind === 'read') meter.readUnits += units;
        else meter.writeUnits += units;
        bucket?.settle(units);
      };
      try {
        const result = await next({ ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } });
        account(consumedUnits(result.output.ConsumedCapacity));
        return result;
      } catch (e) {
        account(failedWriteUnits(e));
        throw e;
      }
    },
    { step: 'initialize', name: 'ddbMirrorCapacity' },
  );
  // Inside the SDK's retry middleware: sees every attempt, so every throttled one is counted.
  stack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (isThrottle(e)) meter.throttles += 1;
        throw e;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'ddbMirrorThrottles' },
  );
}

function consumedUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((n: number, c: { CapacityUnits?: number }) => n + (c?.CapacityUnits ?? 0), 0);
}

/**
 * A write whose condition failed is billed like the write (docs/platform.md#writes-and-billing) but
 * reports no consumption: one unit, two per action of a cancelled transaction (an estimate for items
 * under 1 KB). Throttled or failed requests are not billed.
 */
function failedWriteUnits(e: unknown): number {
  const err = e as { name?: string; CancellationReasons?: unknown[] };
  if (err?.name === 'ConditionalCheckFailedException') return 1;
  if (err?.name === 'TransactionCanceledException') return 2 * (err.CancellationReasons?.length ?? 1);
  return 0;
}
