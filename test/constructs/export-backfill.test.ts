import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { decodeExportBackfillSettings, SETTINGS_ENV } from '../../lambda/contract';
import { ExportBackfill, exportBackfillStateMachineName } from '../../lib/constructs/export-backfill';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { replicatorRoleName } from '../../lib/constructs/replicator-roles';
import type { TableModel } from '../../lib/config/model';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { expectTemplate, flat, logicalId, resourcesFor, roleStatements } from './template-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const exportBackfill = { maxConcurrency: 8, writeUnitsPerSecond: 2000 };

function backfilled(region: string, table: TableModel = oneWayTable({ exportBackfill })) {
  const stack = new Stack(testApp(), `S${region.replace(/-/g, '')}`, {
    env: { region, account: '123456789012' },
  });
  const mirrored = new MirroredTable(stack, table.name, { table });
  const backfill = new ExportBackfill(stack, 'Backfill', { mirroredTable: mirrored });
  return { stack, mirrored, backfill, template: Template.fromStack(stack) };
}

/** A template value rendered as a string: pseudo parameters, Refs and GetAtts become placeholder values. */
function render(value: unknown, region: string): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => render(p, region)).join(sep);
  }
  if ('Ref' in v) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': region,
      'AWS::AccountId': '123456789012',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[String(v.Ref)] ?? `placeholder-${String(v.Ref).toLowerCase()}`;
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return `arn:aws:lambda:${region}:123456789012:function:${id}-${attr}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function definitionOf(template: Template, region: string): Record<string, unknown> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return JSON.parse(render(machine.Properties.DefinitionString, region)) as Record<string, unknown>;
}

describe('ExportBackfill', () => {
  const { backfill, mirrored, template } = backfilled('us-east-1');
  const definition = definitionOf(template, 'us-east-1');
  const states = definition.States as Record<string, Record<string, unknown>>;

  test('synthesizes a state machine definition that an Amazon States Language validator accepts', () => {
    const result = validateAsl(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('exports the table as DynamoDB JSON to its bucket, and waits until the export completes or fails', () => {
    expect(definition.StartAt).toBe('StartExport');
    expect(states.StartExport).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime',
      Parameters: { ExportFormat: 'DYNAMODB_JSON' },
      Next: 'WaitForExport',
    });
    expect(states['ExportDone?'].Choices).toEqual([
      expect.objectContaining({ StringEquals: 'COMPLETED', Next: 'DataPrefix' }),
      expect.objectContaining({ StringEquals: 'FAILED', Next: 'ExportFailed' }),
    ]);
    expect(states['ExportDone?'].Default).toBe('WaitForExport');
    expect(states.DataPrefix.Parameters).toEqual({
      'exportArn.$': '$.export.exportArn',
      'dataPrefix.$':
        "States.Format('AWSDynamoDB/{}/data/', States.ArrayGetItem(States.StringSplit($.export.exportArn, '/'), 3))",
    });
  });

  test('fans the data files out with a Distributed Map at the configured concurrency, every file tried', () => {
    const map = states.ApplyFiles;
    expect(map).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 8,
      ToleratedFailurePercentage: 100,
      ItemReader: {
        Resource: 'arn:aws:states:::s3:listObjectsV2',
        Parameters: { 'Prefix.$': '$.dataPrefix' },
      },
      ItemSelector: { 'key.$': '$$.Map.Item.Value.Key', startLine: 0 },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      Next: 'ReadResults',
    });
  });

  test('loops on one file from the line the function returns, and fails the file with its failed items', () => {
    const processor = (states.ApplyFiles.ItemProcessor as { States: Record<string, Record<string, unknown>> })
      .States;
    expect(processor['FileDone?'].Choices).toEqual([
      { Variable: '$.counts.failed', NumericGreaterThan: 0, Next: 'FileFailed' },
      { Variable: '$.done', BooleanEquals: true, Next: 'FileApplied' },
    ]);
    expect(processor['FileDone?'].Default).toBe('NextPart');
    expect(processor.NextPart).toMatchObject({
      Parameters: { 'startLine.$': '$.nextLine' },
      Next: 'ApplyFile',
    });
    expect(processor.FileFailed).toMatchObject({ Type: 'Fail', Error: 'ItemsFailed' });
    expect(processor.ApplyFile.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: expect.arrayContaining(['TargetUnavailable']), MaxAttempts: 6 }),
    ]);
  });

  test('gives the function its share of the write budget and the replicator settings of the exported region', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(backfill.function)];
    const settings = decodeExportBackfillSettings(
      JSON.stringify({
        ...JSON.parse(render(fn.Properties.Environment.Variables[SETTINGS_ENV], 'us-east-1')),
      }),
    );
    expect(settings).toMatchObject({
      table: 'Stories',
      mode: 'one-way',
      region: 'us-east-1',
      peers: [{ region: 'eu-west-1' }, { region: 'ap-southeast-2' }],
      exportBackfill: { writeUnitsPerSecond: 250, itemsInFlight: 16 },
    });
    expect(fn.Properties.Timeout).toBe(900);
  });

  test('names the state machine and the function role so the CLI and read-only replicas can find them', () => {
    expectTemplate(template).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: exportBackfillStateMachineName('Stories', 'us-east-1'),
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL' },
    });
    expect(exportBackfillStateMachineName('Stories', 'us-east-1')).toBe('ddbm-Stories-us-east-1-backfill');
    expectTemplate(template).hasResourceProperties('AWS::IAM::Role', {
      RoleName: replicatorRoleName('Stories', 'us-east-1', 'backfill'),
    });
  });

  test('keeps the exports in a private, encrypted, TLS-only bucket where they expire', () => {
    expectTemplate(template).hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })],
      },
    });
    const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('grants the function exactly the export files to read and the peers to write', () => {
    const statements = roleStatements(template, logicalId(backfill.role));
    const bucket = logicalId(backfill.bucket);
    expect(resourcesFor(statements, 's3:GetObject')).toEqual([`<${bucket}.Arn>/AWSDynamoDB/*`]);
    expect(resourcesFor(statements, 'dynamodb:PutItem').sort()).toEqual([
      'arn:aws:dynamodb:ap-southeast-2:123456789012:table/Stories',
      'arn:aws:dynamodb:eu-west-1:123456789012:table/Stories',
    ]);
    expect(resourcesFor(statements, 'dynamodb:Scan')).toEqual([]);
    // AND the state machine may export only this table
    const machine = roleStatements(template, logicalId(backfill.stateMachine.role));
    expect(resourcesFor(machine, 'dynamodb:ExportTableToPointInTime').map(flat)).toEqual([
      `<${logicalId(mirrored.table)}.Arn>`,
    ]);
  });

  test('a multi-active table is backfilled from any of its regions, reading its own items and tombstones', () => {
    const { backfill: ma, template: t } = backfilled('eu-west-1', multiActiveTable({ exportBackfill }));
    const statements = roleStatements(t, logicalId(ma.role));
    expect(resourcesFor(statements, 'dynamodb:GetItem').length).toBeGreaterThanOrEqual(2);
    expect(ma.settings.peers.map((p) => p.region)).toEqual(['us-east-1', 'ap-southeast-2']);
  });

  test('refuses a region where the table is not written, and a table without the setting or PITR, naming each', () => {
    expect(() => backfilled('eu-west-1')).toThrow(
      /region eu-west-1 is not a region where Stories is written/,
    );
    expect(() =>
      backfilled('us-east-1', oneWayTable({ exportBackfill, pointInTimeRecovery: false })),
    ).toThrow(/pointInTimeRecovery off: an export needs it/);
    expect(() => backfilled('us-east-1', oneWayTable())).toThrow(/has no exportBackfill configured/);
  });
});
