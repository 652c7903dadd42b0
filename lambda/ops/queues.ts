/**
 * The SQS side of the operations commands: find a queue by the name CloudFormation generated, read its
 * depth, lease its messages, and give back (or delete) exactly the ones handled.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsCaller } from './aws-call';
import { OpsError } from './errors';

export interface QueueRef {
  readonly name: string;
  readonly url: string;
  /** `arn:aws:sqs:REGION:ACCOUNT:NAME`, for messages (from the URL). */
  readonly arn: string;
}

/** The URLs of the region's queues whose names start with `prefix` (every page of ListQueues). */
export async function listQueueUrls(
  sqs: SQSClient,
  caller: AwsCaller,
  region: string,
  prefix: string,
): Promise<string[]> {
  const urls: string[] = [];
  let token: string | undefined;
  do {
    const page = await caller.call({ action: 'sqs:ListQueues', resource: `arn:aws:sqs:${region}:*:*` }, () =>
      sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: token })),
    );
    urls.push(...(page.QueueUrls ?? []));
    token = page.NextToken;
  } while (token);
  return urls;
}

/**
 * The queue among `urls` whose name `score` rates highest (0: not it). Throws naming what was looked
 * for when none matches, or when two match equally well.
 */
export function pickQueue(
  urls: readonly string[],
  spec: {
    readonly region: string;
    readonly prefix: string;
    readonly what: string;
    readonly score: (name: string) => number;
  },
): QueueRef {
  const scored = urls
    .map((url) => ({ url, name: nameOf(url) }))
    .map((q) => ({ ...q, score: spec.score(q.name) }))
    .filter((q) => q.score > 0)
    .sort((a, b) => b.score - a.score);
  if (!scored.length)
    throw new OpsError(
      `no ${spec.what} in ${spec.region}: no queue named ${spec.prefix}… matches (is the stack deployed with this account and region?)`,
    );
  if (scored.length > 1 && scored[1].score === scored[0].score)
    throw new OpsError(
      `${spec.what} in ${spec.region} is ambiguous: ${scored.map((q) => q.name).join(', ')}`,
    );
  return queueRef(scored[0].url, spec.region);
}

export function queueRef(url: string, region: string): QueueRef {
  const [account, name] = new URL(url).pathname.split('/').filter(Boolean).slice(-2);
  return { url, name, arn: `arn:aws:sqs:${region}:${account}:${name}` };
}

function nameOf(url: string): string {
  return new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
}

export interface QueueCounts {
  readonly visible: number;
  readonly inFlight: number;
}

export async function queueCounts(sqs: SQSClient, caller: AwsCaller, q: QueueRef): Promise<QueueCounts> {
  const res = await caller.call({ action: 'sqs:GetQueueAttributes', resource: q.arn }, () =>
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: q.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export interface LeasedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** Epoch ms. */
  readonly sentAt?: number;
  readonly receiveCount?: number;
}

/**
 * Receives up to `max` messages, each hidden for `leaseSeconds` so no message comes twice in one pass
 * (and the parked-record consumer does not take it meanwhile). Long polls of one second: a short poll
 * may answer empty while a standard queue still holds messages.
 */
export async function leaseMessages(
  sqs: SQSClient,
  caller: AwsCaller,
  q: QueueRef,
  options: { readonly max: number; readonly leaseSeconds: number },
): Promise<LeasedMessage[]> {
  const out: LeasedMessage[] = [];
  while (out.length < options.max) {
    const res = await caller.call({ action: 'sqs:ReceiveMessage', resource: q.arn }, () =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: q.url,
          MaxNumberOfMessages: Math.min(10, options.max - out.length),
          VisibilityTimeout: options.leaseSeconds,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        }),
      ),
    );
    const got = res.Messages ?? [];
    if (!got.length) break;
    for (const m of got)
      out.push({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        ...(m.Attributes?.SentTimestamp ? { sentAt: Number(m.Attributes.SentTimestamp) } : {}),
        ...(m.Attributes?.ApproximateReceiveCount
          ? { receiveCount: Number(m.Attributes.ApproximateReceiveCount) }
          : {}),
      });
  }
  return out;
}

/** Makes a leased message visible again at once (it was not handled). */
export async function release(
  sqs: SQSClient,
  caller: AwsCaller,
  q: QueueRef,
  m: LeasedMessage,
): Promise<void> {
  await caller.call({ action: 'sqs:ChangeMessageVisibility', resource: q.arn }, () =>
    sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: q.url,
        ReceiptHandle: m.receiptHandle,
        VisibilityTimeout: 0,
      }),
    ),
  );
}

export async function remove(
  sqs: SQSClient,
  caller: AwsCaller,
  q: QueueRef,
  m: LeasedMessage,
): Promise<void> {
  await caller.call({ action: 'sqs:DeleteMessage', resource: q.arn }, () =>
    sqs.send(new DeleteMessageCommand({ QueueUrl: q.url, ReceiptHandle: m.receiptHandle })),
  );
}

/**
 * Deletes a handled message; undefined when done, else why not (its lease ran out and someone else
 * received it: it will be handled again, and the guards make that harmless). Permission and credential
 * problems still throw: they stop the run.
 */
export async function tryRemove(
  sqs: SQSClient,
  caller: AwsCaller,
  q: QueueRef,
  m: LeasedMessage,
): Promise<string | undefined> {
  try {
    await remove(sqs, caller, q, m);
    return undefined;
  } catch (e) {
    if (e instanceof OpsError) throw e;
    return `not deleted: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

export async function sendBody(sqs: SQSClient, caller: AwsCaller, q: QueueRef, body: string): Promise<void> {
  await caller.call({ action: 'sqs:SendMessage', resource: q.arn }, () =>
    sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: body })),
  );
}
