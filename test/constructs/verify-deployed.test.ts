import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { SETTINGS_ENV } from '../../lambda/contract';
import { decodeAntiEntropySettings } from '../../lambda/contract/anti-entropy';
import type { TableModel } from '../../lib/config/model';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { replicatorRoleName } from '../../lib/constructs/replicator-roles';
import {
  verifyBucketName,
  VerifyDeployed,
  verifyStateMachineName,
} from '../../lib/constructs/verify-deployed';
import { DEFAULT_RECHECK } from '../../lambda/ops/verify';
import { buildApp } from '../../lib/app';
import { exampleModel, multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { expectTemplate, logicalId, resourcesFor, roleStatements } from './template-helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const validateAsl = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const ACCOUNT = '123456789012';
const antiEntropy = { maxConcurrency: 6 };

function deployed(region: string, table: TableModel = oneWayTable({ antiEntropy }), bundle = false) {
  const app = testApp({ bundle });
  const stack = new Stack(app, `S${region.replace(/-/g, '')}`, { env: { region, account: ACCOUNT } });
  const mirrored = new MirroredTable(stack, table.name, { table });
  const verify = new VerifyDeployed(stack, 'Verify', { mirroredTable: mirrored });
  return { app, stack, mirrored, verify, template: Template.fromStack(stack) };
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
      'AWS::AccountId': ACCOUNT,
    };
    return pseudo[String(v.Ref)] ?? `placeholder-${String(v.Ref).toLowerCase()}`;
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return `arn:aws:lambda:${region}:${ACCOUNT}:function:${id}-${attr}`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

type States = Record<string, Record<string, unknown>>;

function definitionOf(template: Template, region: string): { StartAt: string; States: States } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return JSON.parse(render(machine.Properties.DefinitionString, region));
}

const processor = (state: Record<string, unknown>) =>
  (state.ItemProcessor as { StartAt: string; States: States }).States;

function findings(scope: Stack | ReturnType<typeof testApp>): string[] {
  type Violation = { ruleName: string; violatingResources: { constructPath: string }[] };
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    (pack.validateScope(scope).violations as Violation[]).map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    ),
  );
}

describe('VerifyDeployed where the table is written (one-way source)', () => {
  const { verify, mirrored, template, stack } = deployed('us-east-1');
  const definition = definitionOf(template, 'us-east-1');
  const states = definition.States;

  test('synthesizes a definition an Amazon States Language validator accepts', () => {
    const result = validateAsl(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  test('chooses by phase: compare here, hash from the export (PITR on) or by Scan segments', () => {
    expect(definition.StartAt).toBe('Phase?');
    expect(states['Phase?'].Choices).toEqual([
      { Variable: '$.phase', StringEquals: 'compare', Next: 'ComparePartitions' },
      {
        And: [
          { Variable: '$.phase', StringEquals: 'hash' },
          { Variable: '$.source', StringEquals: 'export' },
        ],
        Next: 'StartExport',
      },
      { Variable: '$.phase', StringEquals: 'hash', Next: 'HashSegments' },
    ]);
    expect(states['Phase?'].Default).toBe('UnknownPhase');
  });

  test('hashes each Scan segment in a Distributed Map, resuming a segment until the function says it is done', () => {
    expect(states.HashSegments).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.segments',
      MaxConcurrency: 6,
      ResultPath: null,
      ItemSelector: { task: 'hash-segment', 'segment.$': '$$.Map.Item.Value', 'plan.$': '$.plan' },
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
      Next: 'ReducePartitions',
    });
    // No failure tolerated: a segment that fails fails the run, which the CLI reports.
    expect(states.HashSegments.ToleratedFailurePercentage).toBeUndefined();
    const loop = processor(states.HashSegments);
    expect(loop['SegmentDone?'].Choices).toEqual([
      { Variable: '$.done', BooleanEquals: true, Next: 'SegmentHashed' },
    ]);
    expect(loop['SegmentDone?'].Default).toBe('HashSegment');
    expect(states.ReducePartitions).toMatchObject({ ItemsPath: '$.partitions', Next: 'Hashed' });
  });

  test('hashes every data file of a fresh export, which reads no capacity', () => {
    expect(states.StartExport).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:exportTableToPointInTime',
      Parameters: { ExportFormat: 'DYNAMODB_JSON' },
    });
    expect(states['ExportDone?'].Choices).toEqual([
      expect.objectContaining({ StringEquals: 'COMPLETED', Next: 'DataPrefix' }),
      expect.objectContaining({ StringEquals: 'FAILED', Next: 'ExportFailed' }),
    ]);
    expect(states.HashFiles).toMatchObject({
      ItemReader: {
        Resource: 'arn:aws:states:::s3:listObjectsV2',
        Parameters: { 'Prefix.$': '$.data.prefix' },
      },
      ItemSelector: { task: 'hash-export', 'key.$': '$$.Map.Item.Value.Key' },
      Next: 'ReducePartitions',
    });
  });

  test('compares every partition, repairs only when asked, and ends with the summary', () => {
    expect(states.ComparePartitions).toMatchObject({ ItemsPath: '$.partitions', Next: 'Summarise' });
    const child = processor(states.ComparePartitions);
    expect(child.ComparePartition.Parameters).toMatchObject({
      task: 'compare',
      'partition.$': '$.partition',
    });
    expect(child['Repair?'].Choices).toEqual([
      { Variable: '$.repair', BooleanEquals: true, Next: 'RepairPartition' },
    ]);
    expect(child['Repair?'].Default).toBe('PartitionCompared');
    expect(states.Summarise).toMatchObject({
      Parameters: { task: 'summarise' },
      Next: 'Compared',
    });
  });

  test('gives each function its role in the settings and the run buckets it needs', () => {
    const settingsOf = (fn: Parameters<typeof logicalId>[0]) =>
      decodeAntiEntropySettings(
        render(
          template.findResources('AWS::Lambda::Function')[logicalId(fn)].Properties.Environment.Variables[
            SETTINGS_ENV
          ],
          'us-east-1',
        ),
      );
    const compare = settingsOf(verify.compareFunction!);
    expect(compare.antiEntropy).toMatchObject({
      role: 'compare',
      table: { name: 'Stories', mode: 'one-way', regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] },
      buckets: {
        'eu-west-1': verifyBucketName('Stories', 'eu-west-1', ACCOUNT),
        'ap-southeast-2': verifyBucketName('Stories', 'ap-southeast-2', ACCOUNT),
      },
    });
    expect(settingsOf(verify.hashFunction).antiEntropy.role).toBe('hash');
    // verify's own re-read rule, kept equal to the CLI's
    expect(compare.antiEntropy).toMatchObject({
      recheckRounds: DEFAULT_RECHECK.rounds,
      recheckIntervalSeconds: DEFAULT_RECHECK.intervalMs / 1000,
    });
    expect(Object.keys(settingsOf(verify.repairFunction!).antiEntropy.replicators ?? {})).toEqual([
      'us-east-1',
      'eu-west-1',
      'ap-southeast-2',
    ]);
  });

  test('least privilege: hash scans its own table, compare only reads, repair writes only the replicas', () => {
    const hash = roleStatements(template, logicalId(verify.hashRole));
    expect(resourcesFor(hash, 'dynamodb:Scan')).toEqual([`<${logicalId(mirrored.table)}.Arn>`]);
    expect(resourcesFor(hash, 'dynamodb:PutItem')).toEqual([]);
    const compare = roleStatements(template, logicalId(verify.compareRole!));
    expect(resourcesFor(compare, 'dynamodb:BatchGetItem')).toHaveLength(3);
    expect(resourcesFor(compare, 's3:GetObject').sort()).toEqual(
      ['ap-southeast-2', 'eu-west-1', 'us-east-1'].map(
        (r) => `arn:aws:s3:::${verifyBucketName('Stories', r, ACCOUNT)}/runs/*`,
      ),
    );
    for (const write of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'])
      expect(resourcesFor(compare, write)).toEqual([]);
    const repair = roleStatements(template, logicalId(verify.repairRole!));
    expect(resourcesFor(repair, 'dynamodb:PutItem').sort()).toEqual([
      `arn:aws:dynamodb:ap-southeast-2:${ACCOUNT}:table/Stories`,
      `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/Stories`,
    ]);
    expectTemplate(template).hasResourceProperties('AWS::IAM::Role', {
      RoleName: replicatorRoleName('Stories', 'us-east-1', 'repair'),
    });
  });

  test('names the state machine and keeps the run files in a private, encrypted bucket where they expire', () => {
    expectTemplate(template).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: verifyStateMachineName('Stories', 'us-east-1'),
      TracingConfiguration: { Enabled: true },
    });
    expect(verifyStateMachineName('Stories', 'us-east-1')).toBe('ddbm-Stories-us-east-1-verify');
    expectTemplate(template).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: verifyBucketName('Stories', 'us-east-1', ACCOUNT),
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })] },
    });
  });

  test('is clean under cdk-nag (AwsSolutions and Serverless)', () => {
    expect(findings(stack)).toEqual([]);
  });
});

describe('VerifyDeployed elsewhere', () => {
  test('a one-way replica only hashes: no compare or repair function, no compare phase; its bundle builds', () => {
    // The real esbuild bundle of lambda/anti-entropy (a broken entry or import fails here)
    const { verify, template, stack, app } = deployed('eu-west-1', oneWayTable({ antiEntropy }), true);
    expect(() => app.synth()).not.toThrow();
    const definition = definitionOf(template, 'eu-west-1');
    expect(validateAsl(definition).isValid).toBe(true);
    expect(verify.compareFunction).toBeUndefined();
    expect(verify.repairFunction).toBeUndefined();
    expect(definition.States['Phase?'].Choices).not.toContainEqual(
      expect.objectContaining({ StringEquals: 'compare' }),
    );
    expect(findings(stack)).toEqual([]);
  });

  test('a multi-active region compares and may repair every region, its own included', () => {
    const { verify, template, stack } = deployed('eu-west-1', multiActiveTable({ antiEntropy }));
    const repair = roleStatements(template, logicalId(verify.repairRole!));
    expect(resourcesFor(repair, 'dynamodb:UpdateItem').length).toBeGreaterThanOrEqual(3);
    expect(resourcesFor(repair, 'dynamodb:PutItem')).toHaveLength(3);
    expect(findings(stack)).toEqual([]);
  });

  test('without point-in-time recovery, hashes by Scan segments only', () => {
    const { template } = deployed('us-east-1', oneWayTable({ antiEntropy, pointInTimeRecovery: false }));
    const definition = definitionOf(template, 'us-east-1');
    expect(definition.States.StartExport).toBeUndefined();
    expect(validateAsl(definition).isValid).toBe(true);
  });

  test('refuses a table without antiEntropy, naming it', () => {
    expect(() => deployed('us-east-1', oneWayTable())).toThrow(/table Stories has no antiEntropy configured/);
  });

  test('the regional stacks deploy it in every region of the table, and read-only replicas let its repair write', () => {
    const app = testApp();
    const model = exampleModel();
    const { regionStacks } = buildApp(
      app,
      { ...model, tables: [{ ...model.tables[0], antiEntropy }, model.tables[1]] },
      { env: {} },
    );
    expect([...regionStacks.values()].map((s) => [...s.verifiers.keys()])).toEqual([
      ['Stories'],
      ['Stories'],
      ['Stories'],
    ]);
    const replica = Template.fromStack(regionStacks.get('eu-west-1')!);
    const [table] = Object.values(
      replica.findResources('AWS::DynamoDB::Table', { Properties: { TableName: 'Stories' } }),
    );
    expect(JSON.stringify(table.Properties.ResourcePolicy)).toContain(
      replicatorRoleName('Stories', 'us-east-1', 'repair'),
    );
    expect(findings(app)).toEqual([]);
  });
});
