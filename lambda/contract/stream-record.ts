/**
 * Stream records as both sides read them: the local event source (lib/local) and `replay`
 * (lambda/ops) read the Streams API and hand the replicator what Lambda would. Type-only imports:
 * nothing of the SDK is loaded.
 */
import type { _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';

/** Sequence numbers are numeric strings of 21–40 digits (docs/platform.md#streams): by length, then text. */
export function compareSequence(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A Streams API record in the shape Lambda hands the replicator (`awsRegion` is the stream's region). */
export function toLambdaRecord(r: StreamsRecord, region: string, streamArn: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  return {
    eventID: r.eventID,
    eventName: r.eventName as DynamoDBRecord['eventName'],
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    ...(r.userIdentity
      ? { userIdentity: { type: r.userIdentity.Type, principalId: r.userIdentity.PrincipalId } }
      : {}),
    dynamodb: {
      ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
      Keys: d.Keys as never,
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as never,
    },
  };
}
