import type { SQSRecord } from 'aws-lambda';
import { processBatch } from '../../../lambda/replicator/process';
import { consumeParked } from '../../../lambda/parked/consumer';
import { CollectingTelemetry } from '../../../lambda/core/telemetry';
import type { ParkedMessage } from '../../../lambda/core/intents';
import type { HarnessContext, ReplicatorUnderTest } from '../../support/mirror-harness';

/**
 * ddb-mirror's replicator (lambda/replicator/process.ts) and parked-record consumer
 * (lambda/parked/consumer.ts) plugged into the mirror harness. Parked messages travel as the JSON
 * body SQS would carry, so the consumer parses exactly what the parker sent.
 */
export interface RealReplicator extends ReplicatorUnderTest {
  readonly telemetry: CollectingTelemetry;
}

/** The invocation budget a test invocation gets (Lambda's timeout stand-in). */
const BUDGET_MS = 30_000;

export function realReplicator(ctx: HarnessContext): RealReplicator {
  const telemetry = new CollectingTelemetry();
  const clients = Object.fromEntries(ctx.regions.map((r) => [r, ctx.clientFor(r)]));
  const parker = {
    park: async (target: string, message: ParkedMessage) => ctx.park(target, JSON.stringify(message)),
  };
  let messageId = 0;
  return {
    name: 'ddb-mirror',
    telemetry,
    replicate: (region, event) =>
      processBatch(event, {
        settings: ctx.settingsFor(region),
        clients,
        parker,
        telemetry,
        deadline: Date.now() + BUDGET_MS,
      }),
    consumeParked: async (_target, body) => {
      // The queue lives in the parking (origin) region and its consumer runs with that region's settings.
      const origin = (JSON.parse(body as string) as ParkedMessage).origin;
      messageId += 1;
      const record = { messageId: `m${messageId}`, body } as SQSRecord;
      const res = await consumeParked(
        { Records: [record] },
        {
          settings: ctx.settingsFor(origin),
          clients,
          telemetry,
          deadline: Date.now() + BUDGET_MS,
        },
      );
      if (res.batchItemFailures.length)
        throw new Error('parked message left on the queue (still not applicable)');
    },
  };
}
