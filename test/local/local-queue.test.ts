import type { SQSEvent } from 'aws-lambda';
import { LocalQueue, LocalQueues, md5, SqsEventSource } from '../../lib/local/local-queue';
import { parseMappingProperties } from '../../lib/local/mapping-settings';

const ARN = 'arn:aws:sqs:eu-west-1:123456789012:parked';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:parked-dlq';

function queues(maxReceiveCount = 2) {
  const clock = { now: 1_000_000 };
  const dlq = new LocalQueue({ arn: DLQ_ARN, clock: () => clock.now });
  const queue = new LocalQueue({
    arn: ARN,
    visibilityTimeoutSeconds: 30,
    redrive: { deadLetterQueue: dlq, maxReceiveCount },
    clock: () => clock.now,
  });
  return { queue, dlq, clock };
}

describe('LocalQueue', () => {
  test('hides a received message for the visibility timeout, then delivers it again with a new handle', () => {
    // GIVEN a sent message that was received once
    const { queue, clock } = queues();
    const { messageId, md5OfBody } = queue.send('hello');
    expect(md5OfBody).toBe(md5('hello'));
    const [first] = queue.receive();
    // WHEN no one deletes it before the timeout
    expect(queue.receive()).toEqual([]);
    clock.now += 30_001;
    const [again] = queue.receive();
    // THEN it comes back (at least once), with its receive count and a new receipt handle
    expect(again).toMatchObject({ messageId, body: 'hello', receiveCount: 2 });
    expect(again.receiptHandle).not.toBe(first.receiptHandle);
    // AND the stale handle deletes nothing, the fresh one does
    expect(queue.delete(first.receiptHandle)).toBe(false);
    expect(queue.delete(again.receiptHandle)).toBe(true);
    expect(queue.size).toBe(0);
  });

  test('moves a message to the dead-letter queue when a receive would pass maxReceiveCount', () => {
    // GIVEN a queue with maxReceiveCount 2 and a message no one deletes
    const { queue, dlq, clock } = queues(2);
    queue.send('poison');
    // WHEN it is received twice and the visibility timeout passes again
    expect(queue.receive()).toHaveLength(1);
    clock.now += 31_000;
    expect(queue.receive()).toHaveLength(1);
    clock.now += 31_000;
    // THEN the third receive finds it in the dead-letter queue instead
    expect(queue.receive()).toEqual([]);
    expect(dlq.peek()).toEqual(['poison']);
    expect(queue.counters.redriven).toBe(1);
  });

  test('honours DelaySeconds and receives at most ten messages', () => {
    // GIVEN a delayed message and twelve others
    const { queue, clock } = queues();
    queue.send('later', { delaySeconds: 5 });
    for (let i = 0; i < 12; i++) queue.send(`m${i}`);
    // WHEN received now and after the delay THEN ten at most, and the delayed one only later
    expect(queue.receive({ maxMessages: 50 }).map((m) => m.body)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `m${i}`),
    );
    clock.now += 5000;
    expect(queue.receive({ maxMessages: 10 }).map((m) => m.body)).toEqual(['later', 'm10', 'm11']);
  });

  test('a changed visibility timeout applies to the next receives', () => {
    // GIVEN a 30 s queue whose timeout is shortened to 0.5 s (what a drill does to wait less)
    const { queue, clock } = queues();
    queue.setVisibilityTimeout(0.5);
    queue.send('parked');
    expect(queue.receive()).toHaveLength(1);
    // WHEN 0.5 s pass THEN the message is visible again
    clock.now += 501;
    expect(queue.receive()).toHaveLength(1);
    expect(queue.visibilityTimeoutSeconds).toBe(0.5);
    expect(() => queue.setVisibilityTimeout(-1)).toThrow('at least 0 seconds, got -1');
  });

  test('a registry finds queues by ARN and names the known ones when one is missing', () => {
    // GIVEN a registry with one queue
    const registry = new LocalQueues();
    const { queue } = queues();
    registry.add(queue);
    // WHEN queues are looked up THEN the known one is found and a missing one named with the known ones
    expect(registry.get(ARN)).toBe(queue);
    expect(() => registry.require('arn:aws:sqs:eu-west-1:123456789012:nope')).toThrow(
      `No local queue arn:aws:sqs:eu-west-1:123456789012:nope; known: ${ARN}`,
    );
    expect(() => new LocalQueue({ arn: 'arn:aws:sns:eu-west-1:1:t' })).toThrow('Not an SQS queue ARN');
  });
});

describe('SqsEventSource', () => {
  test('delivers the Lambda SQS event shape and deletes the batch on success', async () => {
    // GIVEN two messages and a function that succeeds
    const { queue } = queues();
    queue.send('a');
    queue.send('b');
    const events: SQSEvent[] = [];
    const source = new SqsEventSource({ queue, invoke: async (e) => void events.push(e) });
    // WHEN one batch is processed THEN it had Lambda's record shape and the queue is empty
    expect(await source.pollOnce()).toBe(2);
    expect(events[0].Records[0]).toMatchObject({
      body: 'a',
      md5OfBody: md5('a'),
      eventSource: 'aws:sqs',
      eventSourceARN: ARN,
      awsRegion: 'eu-west-1',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(queue.size).toBe(0);
  });

  test('with ReportBatchItemFailures keeps only the listed messages', async () => {
    // GIVEN three messages and a handler that reports the second as failed
    const { queue, clock } = queues(5);
    ['a', 'b', 'c'].forEach((b) => queue.send(b));
    const source = new SqsEventSource({
      queue,
      settings: parseMappingProperties({ FunctionResponseTypes: ['ReportBatchItemFailures'] }, 'queue'),
      invoke: async (e) => ({
        batchItemFailures: [{ itemIdentifier: e.Records.find((r) => r.body === 'b')!.messageId }],
      }),
    });
    // WHEN one batch is processed and the visibility timeout passes
    await source.pollOnce();
    clock.now += 31_000;
    // THEN only b is left, received a second time
    expect(queue.peek()).toEqual(['b']);
    expect(queue.receive()[0].receiveCount).toBe(2);
  });

  test('an unknown itemIdentifier or a function error keeps the whole batch, which ends in the DLQ', async () => {
    // GIVEN maxReceiveCount 2 and a function that first names an unknown message, then throws
    const { queue, dlq, clock } = queues(2);
    ['a', 'b'].forEach((b) => queue.send(b));
    let call = 0;
    const source = new SqsEventSource({
      queue,
      settings: parseMappingProperties({ FunctionResponseTypes: ['ReportBatchItemFailures'] }, 'queue'),
      invoke: async () => {
        call++;
        if (call === 1) return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] };
        throw new Error('boom');
      },
    });
    // WHEN batches are processed as the visibility timeout passes
    await source.pollOnce();
    // THEN nothing is deleted, and both messages end in the DLQ
    expect(queue.size).toBe(2);
    clock.now += 31_000;
    await source.pollOnce();
    clock.now += 31_000;
    expect(await source.pollOnce()).toBe(0);
    expect(dlq.peek().sort()).toEqual(['a', 'b']);
    expect(source.counters).toMatchObject({ batches: 2, functionErrors: 1, partialFailures: 1, deleted: 0 });
  });

  test('a paused source receives nothing until resumed', async () => {
    // GIVEN a message and a paused source
    const { queue } = queues();
    queue.send('m');
    const seen: string[] = [];
    const source = new SqsEventSource({
      queue,
      invoke: async (e: SQSEvent) => void seen.push(...e.Records.map((r) => r.body)),
      settings: parseMappingProperties({}, 'queue'),
    });
    source.pause();
    // WHEN polled while paused, then after resuming
    expect(await source.pollOnce()).toBe(0);
    expect(queue.visibleCount).toBe(1);
    source.resume();
    // THEN only the poll after resuming delivered the message
    expect(await source.pollOnce()).toBe(1);
    expect(seen).toEqual(['m']);
  });

  test('start() consumes on its own until stop()', async () => {
    // GIVEN a started source on an empty queue
    const queue = new LocalQueue({ arn: ARN });
    const seen: string[] = [];
    const source = new SqsEventSource({
      queue,
      pollIntervalMs: 10,
      invoke: async (e) => void seen.push(...e.Records.map((r) => r.body)),
    });
    source.start();
    // WHEN a message arrives THEN it is consumed without a poll by the test, and deleted
    queue.send('x');
    const deadline = Date.now() + 5000;
    while (!seen.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await source.stop();
    expect(seen).toEqual(['x']);
    expect(queue.size).toBe(0);
  });
});
