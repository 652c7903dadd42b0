/**
 * Capacity units as DynamoDB bills them, measured from outside the code under test: a client
 * middleware asks every request for `ReturnConsumedCapacity: TOTAL` and adds up what the engine
 * reports (docs/platform.md#writes-and-billing). A request whose condition fails is billed too, but
 * its error carries no units: it is counted at the documented rate, one write unit per single write
 * and two per transaction action (items here are under 1 KB).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Units {
  read: number;
  write: number;
}

const READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand']);

type Consumed = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };

/** Adds every unit `client` consumes from now on to `units`. */
export function meter(client: DynamoDBClient, units: Units): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const read = READS.has(context.commandName ?? '');
      try {
        const result = await next(args);
        const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
        for (const c of consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed]) {
          if (read) units.read += c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
          else units.write += c.WriteCapacityUnits ?? c.CapacityUnits ?? 0;
        }
        return result;
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'ConditionalCheckFailedException') units.write += 1;
        if (name === 'TransactionCanceledException')
          units.write += 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 1);
        throw e;
      }
    },
    { step: 'initialize', name: 'benchCapacityMeter' },
  );
}
