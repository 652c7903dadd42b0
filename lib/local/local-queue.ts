import { createHash, randomUUID } from 'crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MappingSettings, parseMappingProperties } from './mapping-settings';

/** An SQS message attribute as the JSON protocol carries it. */
export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export interface LocalQueueOptions {
  /** `arn:aws:sqs:REGION:ACCOUNT:NAME` */
  readonly arn: string;
  /** @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Move a message to `deadLetterQueue` when a receive would take it past `maxReceiveCount`. @default - none */
  readonly redrive?: { readonly deadLetterQueue: LocalQueue; readonly maxReceiveCount: number };
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
}

export interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly receiveCount: number;
  readonly sentTimestamp: number;
  readonly firstReceiveTimestamp: number;
  readonly messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
}

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly sentTimestamp: number;
  readonly messageAttributes: Record<string, MessageAttributeValue>;
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  receiptHandle?: string;
}

/**
 * An in-memory standard SQS queue: at-least-once (a message whose visibility timeout runs out is delivered
 * again, with a new receipt handle), redrive to a dead-letter queue after `maxReceiveCount` receives.
 * Only the latest receipt handle of a message deletes it, so a consumer that outlived the visibility timeout
 * cannot delete a message that someone else now holds.
 */
export class LocalQueue {
  readonly arn: string;
  readonly name: string;
  readonly region: string;
  readonly account: string;
  /** Since creation; `sent` includes messages moved in by redrive, `redriven` counts those moved out. */
  readonly counters = { sent: 0, received: 0, deleted: 0, redriven: 0 };
  private readonly messages: StoredMessage[] = [];
  private readonly clock: () => number;
  private visibilityTimeout: number;

  constructor(private readonly options: LocalQueueOptions) {
    const parts = options.arn.split(':');
    if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs')
      throw new Error(`Not an SQS queue ARN: ${options.arn}`);
    this.arn = options.arn;
    this.region = parts[3];
    this.account = parts[4];
    this.name = parts[5];
    this.clock = options.clock ?? Date.now;
    this.visibilityTimeout = options.visibilityTimeoutSeconds ?? 30;
  }

  get visibilityTimeoutSeconds(): number {
    return this.visibilityTimeout;
  }

  /** Changes the queue's default visibility timeout for later receives (SetQueueAttributes does the same). */
  setVisibilityTimeout(seconds: number): void {
    if (!(seconds >= 0)) throw new Error(`A visibility timeout must be at least 0 seconds, got ${seconds}`);
    this.visibilityTimeout = seconds;
  }

  /** Messages that can be received now. */
  get visibleCount(): number {
    const now = this.clock();
    return this.messages.filter((m) => m.visibleAt <= now).length;
  }

  /** Messages received and not yet deleted or visible again. */
  get inFlightCount(): number {
    const now = this.clock();
    return this.messages.filter((m) => m.visibleAt > now && m.receiveCount > 0).length;
  }

  /** Every message held, visible or not. */
  get size(): number {
    return this.messages.length;
  }

  /** When the oldest message held was sent (epoch ms), or undefined when the queue is empty. */
  get oldestSentTimestamp(): number | undefined {
    return this.messages.reduce<number | undefined>(
      (t, m) => Math.min(t ?? m.sentTimestamp, m.sentTimestamp),
      undefined,
    );
  }

  send(
    body: string,
    options: {
      readonly delaySeconds?: number;
      readonly messageAttributes?: Record<string, MessageAttributeValue>;
    } = {},
  ): { messageId: string; md5OfBody: string } {
    const now = this.clock();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      sentTimestamp: now,
      messageAttributes: { ...(options.messageAttributes ?? {}) },
      visibleAt: now + (options.delaySeconds ?? 0) * 1000,
      receiveCount: 0,
    };
    this.messages.push(message);
    this.counters.sent++;
    return { messageId: message.messageId, md5OfBody: message.md5OfBody };
  }

  /** Up to `maxMessages` (1–10) visible messages, hidden for the visibility timeout. */
  receive(
    options: { readonly maxMessages?: number; readonly visibilityTimeoutSeconds?: number } = {},
  ): ReceivedMessage[] {
    const max = Math.min(Math.max(options.maxMessages ?? 1, 1), 10);
    const timeout = options.visibilityTimeoutSeconds ?? this.visibilityTimeoutSeconds;
    const now = this.clock();
    const out: ReceivedMessage[] = [];
    for (let i = 0; i < this.messages.length && out.length < max;) {
      const m = this.messages[i];
      if (m.visibleAt > now) {
        i++;
        continue;
      }
      const redrive = this.options.redrive;
      if (redrive && m.receiveCount >= redrive.maxReceiveCount) {
        this.messages.splice(i, 1);
        redrive.deadLetterQueue.accept(m);
        this.counters.redriven++;
        continue;
      }
      m.receiveCount++;
      m.firstReceiveTimestamp ??= now;
      m.visibleAt = now + timeout * 1000;
      m.receiptHandle = `${m.messageId}#${randomUUID()}`;
      this.counters.received++;
      out.push({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        md5OfBody: m.md5OfBody,
        receiveCount: m.receiveCount,
        sentTimestamp: m.sentTimestamp,
        firstReceiveTimestamp: m.firstReceiveTimestamp,
        messageAttributes: m.messageAttributes,
      });
      i++;
    }
    return out;
  }

  /** False when the handle is unknown or stale (the message was received again since). */
  delete(receiptHandle: string): boolean {
    const i = this.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (i < 0) return false;
    this.messages.splice(i, 1);
    this.counters.deleted++;
    return true;
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    m.visibleAt = this.clock() + visibilityTimeoutSeconds * 1000;
    return true;
  }

  /** Bodies of all messages held, oldest first (for tests and the UI; does not receive). */
  peek(): string[] {
    return this.messages.map((m) => m.body);
  }

  /** A redriven message keeps its id, body and receive count (SQS keeps them; the count restarts only on a redrive back). */
  private accept(m: StoredMessage): void {
    this.messages.push({ ...m, visibleAt: this.clock(), receiptHandle: undefined });
    this.counters.sent++;
  }
}

/** The queues of a local run, by ARN. */
export class LocalQueues {
  private readonly byArn = new Map<string, LocalQueue>();

  add(queue: LocalQueue): LocalQueue {
    if (this.byArn.has(queue.arn)) throw new Error(`Queue ${queue.arn} exists already`);
    this.byArn.set(queue.arn, queue);
    return queue;
  }

  get(arn: string): LocalQueue | undefined {
    return this.byArn.get(arn);
  }

  /** Throws naming the ARN when there is no such queue. */
  require(arn: string): LocalQueue {
    const q = this.byArn.get(arn);
    if (!q) throw new Error(`No local queue ${arn}; known: ${[...this.byArn.keys()].join(', ') || 'none'}`);
    return q;
  }

  all(): LocalQueue[] {
    return [...this.byArn.values()];
  }
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export type SqsInvoke = (event: SQSEvent) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  readonly queue: LocalQueue;
  readonly invoke: SqsInvoke;
  /** The mapping's settings (`parseMappingProperties(..., 'queue')`). @default - Lambda's defaults for a queue */
  readonly settings?: MappingSettings;
  readonly onEvent?: (notice: SqsEventSourceNotice) => void;
  /** @default 250 */
  readonly pollIntervalMs?: number;
}

export type SqsEventSourceNotice =
  | { readonly type: 'invoke'; readonly messages: number }
  | { readonly type: 'function-error'; readonly error: unknown }
  | { readonly type: 'partial-failure'; readonly failed: number };

/**
 * Emulates the Lambda event source mapping on an SQS queue: receive a batch, invoke, delete what
 * succeeded. A function error leaves the whole batch to come back after the visibility timeout (and to be
 * redriven after `maxReceiveCount`). With `ReportBatchItemFailures`, only the listed messages stay; an empty
 * or unknown `itemIdentifier` fails the whole batch, as on Lambda.
 */
export class SqsEventSource {
  readonly counters = { batches: 0, messagesDelivered: 0, functionErrors: 0, partialFailures: 0, deleted: 0 };
  private running = false;
  private paused = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  private readonly settings: MappingSettings;

  constructor(private readonly options: SqsEventSourceOptions) {
    this.settings = options.settings ?? parseMappingProperties({}, 'queue');
  }

  /** One receive (up to BatchSize, in receives of 10) and at most one invocation. Returns the batch size. */
  async pollOnce(): Promise<number> {
    if (!this.settings.enabled || this.paused) return 0;
    const size = this.settings.batchSize;
    const queue = this.options.queue;
    const messages: ReceivedMessage[] = [];
    while (messages.length < size) {
      const got = queue.receive({ maxMessages: Math.min(10, size - messages.length) });
      if (!got.length) break;
      messages.push(...got);
    }
    if (!messages.length) return 0;
    this.counters.batches++;
    this.counters.messagesDelivered += messages.length;
    this.options.onEvent?.({ type: 'invoke', messages: messages.length });
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, queue)) };
    let response: SQSBatchResponse | void;
    try {
      response = await this.options.invoke(event);
    } catch (error) {
      this.counters.functionErrors++;
      this.options.onEvent?.({ type: 'function-error', error });
      return messages.length;
    }
    const keep = this.failedIds(messages, response);
    if (keep === 'all') {
      this.counters.partialFailures++;
      this.options.onEvent?.({ type: 'partial-failure', failed: messages.length });
      return messages.length;
    }
    if (keep.size) {
      this.counters.partialFailures++;
      this.options.onEvent?.({ type: 'partial-failure', failed: keep.size });
    }
    for (const m of messages) {
      if (!keep.has(m.messageId) && queue.delete(m.receiptHandle)) this.counters.deleted++;
    }
    return messages.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const n = await this.pollOnce().catch(() => 0);
        if (n > 0) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollIntervalMs ?? 250);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Receives nothing until `resume()` (a batch in flight finishes): its region's Lambda pollers are down. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  private failedIds(messages: ReceivedMessage[], response: unknown): Set<string> | 'all' {
    if (!this.settings.reportBatchItemFailures || response === undefined || response === null)
      return new Set();
    if (typeof response !== 'object') return 'all';
    const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
    if (failures === undefined || failures === null) return new Set();
    if (!Array.isArray(failures)) return 'all';
    const ids = new Set(messages.map((m) => m.messageId));
    const keep = new Set<string>();
    for (const f of failures) {
      const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      if (typeof id !== 'string' || !ids.has(id)) return 'all';
      keep.add(id);
    }
    return keep;
  }
}

export function toSqsRecord(m: ReceivedMessage, queue: LocalQueue): SQSRecord {
  return {
    messageId: m.messageId,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentTimestamp),
      SenderId: 'AROALOCALLOCALLOCAL:local',
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.messageAttributes).map(([k, v]) => [
        k,
        {
          dataType: v.DataType,
          ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
          ...(v.BinaryValue !== undefined ? { binaryValue: v.BinaryValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: queue.region,
  };
}
