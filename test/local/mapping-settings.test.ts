import { parseMappingProperties } from '../../lib/local/mapping-settings';

describe('parseMappingProperties', () => {
  test('rejects out-of-range and unsupported properties, naming each', () => {
    expect(() =>
      parseMappingProperties({
        BatchSize: 0,
        MaximumRetryAttempts: 10001,
        ParallelizationFactor: 11,
        FunctionResponseTypes: ['Nope'],
      }),
    ).toThrow(
      /BatchSize must be an integer from 1 to 10000, got 0.*MaximumRetryAttempts must be an integer from -1 to 10000, got 10001.*ParallelizationFactor must be an integer from 1 to 10, got 11.*FunctionResponseTypes has unknown values \["Nope"\]/,
    );
  });

  test("applies Lambda's defaults, which differ between streams and queues", () => {
    expect(parseMappingProperties({})).toEqual({
      batchSize: 100,
      startingPosition: 'TRIM_HORIZON',
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeInSeconds: -1,
      maximumBatchingWindowInSeconds: 0,
      parallelizationFactor: 1,
      reportBatchItemFailures: false,
      enabled: true,
    });
    expect(parseMappingProperties({}, 'queue').batchSize).toBe(10);
  });

  test('reads the template spelling of a synthesized stream mapping', () => {
    // GIVEN the properties CDK writes for the replicator's stream mapping (intrinsics resolved)
    const properties = {
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:eu-west-1:000000000000:failed' } },
      EventSourceArn: 'arn:aws:dynamodb:eu-west-1:000000000000:table/Sessions/stream/x',
      FunctionName: 'replicator',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRecordAgeInSeconds: 86400,
      MaximumRetryAttempts: 10,
      StartingPosition: 'LATEST',
      ParallelizationFactor: 4,
    };
    // WHEN parsed THEN every setting the emulator uses is there
    expect(parseMappingProperties(properties)).toEqual({
      batchSize: 100,
      startingPosition: 'LATEST',
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 10,
      maximumRecordAgeInSeconds: 86400,
      maximumBatchingWindowInSeconds: 0,
      parallelizationFactor: 4,
      reportBatchItemFailures: true,
      onFailureDestination: 'arn:aws:sqs:eu-west-1:000000000000:failed',
      enabled: true,
    });
  });

  test('checks a queue mapping for its batch size only', () => {
    expect(() => parseMappingProperties({ BatchSize: 20000 }, 'queue')).toThrow(
      'Invalid event source mapping: BatchSize must be an integer from 1 to 10000, got 20000',
    );
    expect(parseMappingProperties({ ParallelizationFactor: 2 }, 'queue').batchSize).toBe(10);
  });
});
