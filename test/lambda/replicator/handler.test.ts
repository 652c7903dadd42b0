import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { FUNCTION_DEFAULTS } from '../../../lib/constructs/defaults';
import { encodeSettings, SETTINGS_ENV } from '../../../lambda/contract';
import { multiActiveSettings, S, streamEvent, streamRecord } from '../../support/records';

type Handler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

describe('replicator handler wiring', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  test('publishes metrics under the service name the dashboard and alarms query, and fails a malformed record', async () => {
    // GIVEN the environment the Replicator construct deploys
    process.env[SETTINGS_ENV] = encodeSettings(multiActiveSettings({ table: 'Sessions' }));
    process.env.POWERTOOLS_SERVICE_NAME = FUNCTION_DEFAULTS.serviceName;
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'DdbMirror';
    const written: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let handler: Handler | undefined;
    // A fresh module: the handler reads its settings and builds its clients at cold start.
    await jest.isolateModulesAsync(async () => {
      handler = (await import('../../../lambda/replicator/index')).handler as Handler;
    });

    // WHEN a batch holds a record with the article's event name (streams never send DELETE)
    const record = streamRecord('DELETE', { sessionId: S('s1') }, { oldImage: { sessionId: S('s1') } });
    const res = await handler!(streamEvent([record]), {
      getRemainingTimeInMillis: () => 30_000,
    } as Context);

    // THEN the record is reported, not acknowledged, and its metric carries the deployed service name
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb!.SequenceNumber }]);
    const emf = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const malformed = emf.find((doc) => doc.MalformedRecords !== undefined);
    expect(malformed).toMatchObject({
      service: FUNCTION_DEFAULTS.serviceName,
      table: 'Sessions',
      MalformedRecords: 1,
      _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'DdbMirror' })] },
    });
  });
});
