import type { TableDescription } from '@aws-sdk/client-dynamodb';
import type { AdoptedTableProperties } from '../../../lambda/adopt/contract';
import { decideTable } from '../../../lambda/adopt/stream';

const ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/Stories';
const STREAM = `${ARN}/stream/2024-01-01T00:00:00.000`;

const props = (overrides: Partial<AdoptedTableProperties> = {}): AdoptedTableProperties => ({
  TableName: 'Stories',
  KeySchema: [{ AttributeName: 'storyId', KeyType: 'HASH', AttributeType: 'S' }],
  Stream: 'NEW_AND_OLD_IMAGES',
  ...overrides,
});

const table = (overrides: Partial<TableDescription> = {}): TableDescription => ({
  TableName: 'Stories',
  TableArn: ARN,
  TableStatus: 'ACTIVE',
  KeySchema: [{ AttributeName: 'storyId', KeyType: 'HASH' }],
  AttributeDefinitions: [{ AttributeName: 'storyId', AttributeType: 'S' }],
  ...overrides,
});

describe('decideTable: what to do with an adopted table', () => {
  test('uses a NEW_AND_OLD_IMAGES stream the table already has, changing nothing', () => {
    const described = table({
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      LatestStreamArn: STREAM,
    });
    expect(decideTable(props(), 'us-east-1', described)).toEqual({
      kind: 'ready',
      tableArn: ARN,
      streamArn: STREAM,
    });
  });

  test('enables the stream on a table without one', () => {
    expect(decideTable(props(), 'us-east-1', table())).toEqual({ kind: 'enable' });
  });

  test('reads a disabled stream as none, though DescribeTable still names its ARN', () => {
    const disabled = table({ LatestStreamArn: STREAM, StreamSpecification: undefined });
    expect(decideTable(props(), 'us-east-1', disabled)).toEqual({ kind: 'enable' });
  });

  test('waits for a table that is UPDATING before enabling its stream', () => {
    expect(decideTable(props(), 'us-east-1', table({ TableStatus: 'UPDATING' }))).toEqual({
      kind: 'wait',
      status: 'UPDATING',
    });
  });

  test.each(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE'] as const)(
    'refuses a table whose stream has view type %s, saying why and how to switch',
    (view) => {
      const described = table({
        StreamSpecification: { StreamEnabled: true, StreamViewType: view },
        LatestStreamArn: STREAM,
      });
      const decision = decideTable(props(), 'us-east-1', described);
      expect(decision.kind).toBe('refuse');
      const message = (decision as { message: string }).message;
      expect(message).toContain(`table Stories in us-east-1 already has a stream with view type ${view}`);
      expect(message).toContain('cannot be changed in place');
      expect(message).toContain('cut off the readers');
      expect(message).toMatch(/disable the stream, enable one with NEW_AND_OLD_IMAGES/);
      expect(message).toMatch(/mirror a new table under another name/);
    },
  );

  test('needs nothing of the stream where no replicator reads it', () => {
    const keysOnly = table({ StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' } });
    expect(decideTable(props({ Stream: 'NONE' }), 'eu-west-1', keysOnly)).toEqual({
      kind: 'ready',
      tableArn: ARN,
    });
    expect(decideTable(props({ Stream: 'NONE' }), 'eu-west-1', table())).toEqual({
      kind: 'ready',
      tableArn: ARN,
    });
  });

  test('refuses a table that does not exist, naming the region and the way out', () => {
    expect(decideTable(props(), 'eu-west-1', undefined)).toEqual({
      kind: 'refuse',
      message: expect.stringMatching(
        /^table Stories does not exist in eu-west-1\. .*create it, or remove eu-west-1 from existing/,
      ),
    });
  });

  test('refuses a table whose key differs from the configured one (name or type)', () => {
    const otherName = table({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    });
    expect(decideTable(props(), 'us-east-1', otherName)).toEqual({
      kind: 'refuse',
      message: expect.stringContaining('has the key id (S), the config says storyId (S)'),
    });
    const otherType = table({ AttributeDefinitions: [{ AttributeName: 'storyId', AttributeType: 'N' }] });
    expect(decideTable(props(), 'us-east-1', otherType)).toMatchObject({
      message: expect.stringContaining('has the key storyId (N), the config says storyId (S)'),
    });
    const withSort = table({
      KeySchema: [
        { AttributeName: 'storyId', KeyType: 'HASH' },
        { AttributeName: 'at', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'storyId', AttributeType: 'S' },
        { AttributeName: 'at', AttributeType: 'N' },
      ],
    });
    expect(decideTable(props(), 'us-east-1', withSort)).toMatchObject({
      message: expect.stringContaining('has the key storyId (S) + at (N), the config says storyId (S)'),
    });
  });

  test('refuses a table that is being deleted, rather than wait for it', () => {
    expect(decideTable(props(), 'us-east-1', table({ TableStatus: 'DELETING' }))).toEqual({
      kind: 'refuse',
      message: 'table Stories in us-east-1 is DELETING: the mirror can adopt only a table that is ACTIVE',
    });
  });
});
