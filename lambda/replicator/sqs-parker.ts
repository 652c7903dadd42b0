import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ParkedMessage } from '../core/intents';
import type { PeerSettings } from '../contract';
import type { Parker } from './process';

/** Parks a record on the target's parking queue (in this region; settings.peers[].parkingQueueUrl). */
export class SqsParker implements Parker {
  private readonly queues: Map<string, string>;

  constructor(
    private readonly sqs: SQSClient,
    peers: readonly PeerSettings[],
  ) {
    this.queues = new Map(peers.map((p) => [p.region, p.parkingQueueUrl]));
  }

  async park(targetRegion: string, message: ParkedMessage): Promise<void> {
    const url = this.queues.get(targetRegion);
    if (!url) throw new Error(`no parking queue for region ${targetRegion}`);
    await this.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(message) }));
  }
}
