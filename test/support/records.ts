/**
 * Record factories: DynamoDB stream records in the exact Lambda shape, and replicator settings.
 * Use these instead of copy-pasted events.
 */
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { MultiActiveSettings, OneWaySettings } from '../../lambda/contract';

export type Image = Record<string, AttributeValue>;

let seqCounter = 0;
/** A fresh 21-digit sequence number, increasing per call. */
export function nextSequenceNumber(): string {
  seqCounter += 1;
  return (100000000000000000000n + BigInt(seqCounter) * 100n).toString();
}

export interface RecordOptions {
  readonly sequenceNumber?: string;
  readonly eventID?: string;
  /** Epoch seconds. */
  readonly approximateCreationDateTime?: number;
  readonly region?: string;
  readonly streamViewType?: string;
  /** A TTL expiry: `userIdentity` of the DynamoDB service. */
  readonly ttl?: boolean;
}

export function streamRecord(
  eventName: string,
  keys: Image | undefined,
  images: { readonly newImage?: Image; readonly oldImage?: Image },
  options: RecordOptions = {},
): DynamoDBRecord {
  const sequenceNumber = options.sequenceNumber ?? nextSequenceNumber();
  return {
    eventID: options.eventID ?? `ev-${sequenceNumber}`,
    eventName: eventName as DynamoDBRecord['eventName'],
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: options.region ?? 'eu-west-1',
    eventSourceARN: `arn:aws:dynamodb:${options.region ?? 'eu-west-1'}:123456789012:table/Orders/stream/2024-01-01T00:00:00.000`,
    dynamodb: {
      ApproximateCreationDateTime: options.approximateCreationDateTime ?? Math.floor(Date.now() / 1000),
      ...(keys ? { Keys: keys } : {}),
      ...(images.newImage ? { NewImage: images.newImage } : {}),
      ...(images.oldImage ? { OldImage: images.oldImage } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: 100,
      StreamViewType: (options.streamViewType ?? 'NEW_AND_OLD_IMAGES') as 'NEW_AND_OLD_IMAGES',
    },
    ...(options.ttl ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  };
}

export const insertRecord = (keys: Image, newImage: Image, options?: RecordOptions): DynamoDBRecord =>
  streamRecord('INSERT', keys, { newImage: { ...newImage, ...keys } }, options);

export const modifyRecord = (
  keys: Image,
  oldImage: Image,
  newImage: Image,
  options?: RecordOptions,
): DynamoDBRecord =>
  streamRecord(
    'MODIFY',
    keys,
    { oldImage: { ...oldImage, ...keys }, newImage: { ...newImage, ...keys } },
    options,
  );

export const removeRecord = (keys: Image, oldImage: Image, options?: RecordOptions): DynamoDBRecord =>
  streamRecord('REMOVE', keys, { oldImage: { ...oldImage, ...keys } }, options);

export function streamEvent(records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

/** Multi-active settings for table `Orders` (key `pk`) in `eu-west-1` with peer `us-east-1`. */
export function multiActiveSettings(overrides: Partial<MultiActiveSettings> = {}): MultiActiveSettings {
  return {
    table: 'Orders',
    tombstoneTable: 'Orders-ddbm-tombstones',
    region: 'eu-west-1',
    mode: 'multi-active',
    partitionKey: 'pk',
    versionAttribute: 'version',
    peers: [
      {
        region: 'us-east-1',
        parkingQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/park-us-east-1',
      },
    ],
    tombstoneTtlSeconds: 30 * 86400,
    excludeAttributes: [],
    maxConcurrency: 4,
    maxAttempts: 3,
    baseDelayMs: 10,
    ...overrides,
  };
}

/** One-way settings: source `eu-west-1`, replica `us-east-1`. */
export function oneWaySettings(overrides: Partial<OneWaySettings> = {}): OneWaySettings {
  const { versionAttribute: _unused, ...base } = multiActiveSettings();
  return { ...base, mode: 'one-way', ...overrides };
}

/** Shorthands for attribute values. */
export const S = (s: string): AttributeValue => ({ S: s });
export const N = (n: number | string): AttributeValue => ({ N: String(n) });
