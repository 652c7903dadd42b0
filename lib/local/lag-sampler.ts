import { AttributeValue, BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
interface Pending {
  readonly sample: WriteSample;
  readonly target: string;
  readonly key: string;
}

export class LagSampler {
  private readonly pending: Pending[] = [];
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

  /**
   * One probe round: every pending sample still worth looking for, read in one consistent
   * BatchGetItem per target region and table (up to 100 keys each): the probes stay a small share of
   * what the engine serves, whatever the backlog.
   */
  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      const live = this.pending.filter((p) => {
        if (this.latestWrite.get(p.key) !== p.sample.writeId) return false;
        if (now - p.sample.writtenAt > (this.options.timeoutMs ?? 30000)) {
          this.timedOut += 1;
          return false;
        }
        return true;
      });
      this.pending.splice(0, this.pending.length, ...live);
      const groups = new Map<string, Pending[]>();
      for (const p of live) {
        const id = `${p.target}\u0000${p.sample.table}`;
        groups.set(id, [...(groups.get(id) ?? []), p]);
      }
      await Promise.all([...groups.values()].map((g) => this.probe(g.slice(0, 100))));
    } finally {
      this.busy = false;
    }
  }

  private async probe(group: Pending[]): Promise<void> {
    const { target, sample } = group[0];
    let items: Record<string, AttributeValue>[];
    try {
      const res = await this.options.clientFor(target).send(
        new BatchGetItemCommand({
          RequestItems: {
            [sample.table]: {
              // One key may be pending for two writes (the newer supersedes): ask once.
              Keys: [...new Map(group.map((p) => [p.key, p.sample.key])).values()],
              ConsistentRead: true,
            },
          },
        }),
      );
      items = res.Responses?.[sample.table] ?? [];
    } catch {
      // A failed probe is retried on the next round; the probe is not what is being measured.
      return;
    }
    const seen = new Set(items.map((item) => item[WRITE_ID]?.S));
    const at = Date.now();
    for (const p of group) {
      if (!seen.has(p.sample.writeId)) continue;
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
      this.pending.splice(this.pending.indexOf(p), 1);
    }
  }
}
