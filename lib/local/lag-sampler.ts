import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { sleep, WRITE_ID, WriteSample } from './workload';

export interface LagObservation {
  readonly table: string;
  /** The write's id: one write has an observation per target. */
  readonly writeId: string;
  readonly origin: string;
  readonly target: string;
  /** ms from the write's acknowledgement to the item being visible in the target. */
  readonly lagMs: number;
  /** When it became visible (epoch ms). */
  readonly at: number;
}

/**
 * Measures replication lag by sampling: looks for a write's id in each target until it shows up,
 * is superseded by a newer write to the same key, or times out.
 */
export class LagSampler {
  private readonly pending: { sample: WriteSample; target: string; key: string }[] = [];
  private readonly latestWrite = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  private seen = 0;
  readonly observations: LagObservation[] = [];
  timedOut = 0;

  constructor(
    private readonly options: {
      readonly clientFor: (region: string) => DynamoDBClient;
      /** Sample one write in `every`. @default 2 */
      readonly every?: number;
      /** @default 100 */
      readonly maxPending?: number;
      /** @default 30000 */
      readonly timeoutMs?: number;
      /** Between probe rounds; a round waits for the previous one, so lag is measured to about this. @default 100 */
      readonly intervalMs?: number;
      readonly onObservation?: (o: LagObservation) => void;
    },
  ) {}

  track(sample: WriteSample): void {
    const itemKey = `${sample.table}|${JSON.stringify(sample.key)}`;
    this.latestWrite.set(itemKey, sample.writeId);
    this.seen += 1;
    if (this.seen % (this.options.every ?? 2) !== 0) return;
    if (this.pending.length >= (this.options.maxPending ?? 100)) return;
    for (const target of sample.targets) this.pending.push({ sample, target, key: itemKey });
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 100);
  }

  get outstanding(): number {
    return this.pending.length;
  }

  /** Stops polling; with `settle`, first waits (bounded) for what is still pending. */
  async stop(settleMs = 0): Promise<void> {
    const deadline = Date.now() + settleMs;
    while (this.pending.length && Date.now() < deadline) await sleep(100);
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await sleep(20);
  }

  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      const batch = [...this.pending];
      await Promise.all(
        batch.map(async (p) => {
          const drop = () => void this.pending.splice(this.pending.indexOf(p), 1);
          if (this.latestWrite.get(p.key) !== p.sample.writeId) return drop();
          if (now - p.sample.writtenAt > (this.options.timeoutMs ?? 30000)) {
            this.timedOut += 1;
            return drop();
          }
          try {
            const res = await this.options.clientFor(p.target).send(
              new GetItemCommand({
                TableName: p.sample.table,
                Key: p.sample.key,
                ConsistentRead: true,
                ProjectionExpression: '#w',
                ExpressionAttributeNames: { '#w': WRITE_ID },
              }),
            );
            if (res.Item?.[WRITE_ID]?.S === p.sample.writeId) {
              const at = Date.now();
              const o = {
                table: p.sample.table,
                writeId: p.sample.writeId,
                origin: p.sample.origin,
                target: p.target,
                lagMs: at - p.sample.writtenAt,
                at,
              };
              this.observations.push(o);
              this.options.onObservation?.(o);
              drop();
            }
            return undefined;
          } catch {
            // A failed probe is retried on the next tick; the probe is not what is being measured.
            return undefined;
          }
        }),
      );
    } finally {
      this.busy = false;
    }
  }
}
