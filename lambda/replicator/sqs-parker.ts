import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ParkedMessage } from '../core/intents';
import type { PeerSettings } from '../contract';
import type { Parker } from './process';

/**
 * Parks a record on the target's parking queue (in this region; settings.peers[].parkingQueueUrl).
 *
 * The SQS client is loaded on the first park, not at cold start: parking is the fault path, and the
 * bundle leaves `@aws-sdk/client-sqs` to the Lambda runtime's SDK (lib/constructs/defaults.ts,
 * BUNDLING), which keeps the hot path's bundle and start-up small.
 */
export class SqsParker implements Parker {
  private readonly queues: Map<string, string>;
  private client?: Promise<{ sqs: SQSClient; send: typeof import('@aws-sdk/client-sqs').SendMessageCommand }>;

  constructor(
    private readonly region: string,
    peers: readonly PeerSettings[],
  ) {
    this.queues = new Map(peers.map((p) => [p.region, p.parkingQueueUrl]));
  }

  async park(
    targetRegion: string,
    message: ParkedMessage,
    options?: { readonly delaySeconds?: number },
  ): Promise<void> {
    const url = this.queues.get(targetRegion);
    if (!url) throw new Error(`no parking queue for region ${targetRegion}`);
    this.client ??= import('@aws-sdk/client-sqs').then((m) => ({
      // `region` only: the standard endpoint variables can point it elsewhere, like every client here.
      sqs: new m.SQSClient({ region: this.region }),
      send: m.SendMessageCommand,
    }));
    const { sqs, send } = await this.client;
    await sqs.send(
      new send({
        QueueUrl: url,
        MessageBody: JSON.stringify(message),
        ...(options?.delaySeconds ? { DelaySeconds: options.delaySeconds } : {}),
      }),
    );
  }
}
