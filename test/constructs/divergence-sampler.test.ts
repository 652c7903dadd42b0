import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { decodeSamplerSettings, SETTINGS_ENV } from '../../lambda/contract';
import { DivergenceSampler } from '../../lib/constructs/divergence-sampler';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import type { TableModel } from '../../lib/config/model';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import { expectTemplate, flat, logicalId, roleStatements } from './template-helpers';

const divergenceSampling = { everyMinutes: 10, sampleSize: 40, listenSeconds: 30 };

function sampled(region: string, table: TableModel = oneWayTable({ divergenceSampling })) {
  const stack = new Stack(testApp(), `S${region.replace(/-/g, '')}`, { env: { region } });
  const mirrored = new MirroredTable(stack, table.name, { table });
  const sampler = new DivergenceSampler(stack, 'Sampler', { mirroredTable: mirrored });
  return { stack, mirrored, sampler, template: Template.fromStack(stack) };
}

describe('DivergenceSampler', () => {
  const { sampler, mirrored, template } = sampled('us-east-1');

  test('runs on the configured schedule, without EventBridge retries', () => {
    expectTemplate(template).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [logicalId(sampler.function), 'Arn'] },
          Id: 'Target0',
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  test('receives the comparison settings: the source first, the key, the excluded attributes, the sizes', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(sampler.function)];
    const settings = decodeSamplerSettings(fn.Properties.Environment.Variables[SETTINGS_ENV]);
    expect(settings).toEqual({
      kind: 'sampler',
      table: 'Stories',
      mode: 'one-way',
      region: 'us-east-1',
      regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
      keyNames: ['storyId'],
      excludeAttributes: [],
      sampleSize: 40,
      listenSeconds: 30,
      recheckRounds: 3,
      recheckIntervalSeconds: 10,
    });
    // Listening, three re-reads 10 s apart, and a minute for the reads themselves.
    expect(fn.Properties.Timeout).toBe(30 + 30 + 60);
  });

  test('may only read: its table, its stream and the peer copies, each by exact ARN', () => {
    const statements = roleStatements(template, logicalId(sampler.role)).filter((s) =>
      [s.Action].flat().some((a) => String(a).startsWith('dynamodb:')),
    );
    const grants = statements.flatMap((s) =>
      [s.Action].flat().flatMap((a) => [s.Resource].flat().map((r) => `${String(a)} ${flat(r)}`)),
    );
    expect(grants.sort()).toEqual(
      [
        `dynamodb:BatchGetItem <${logicalId(mirrored.table)}.Arn>`,
        'dynamodb:BatchGetItem arn:aws:dynamodb:ap-southeast-2:<AWS::AccountId>:table/Stories',
        'dynamodb:BatchGetItem arn:aws:dynamodb:eu-west-1:<AWS::AccountId>:table/Stories',
        `dynamodb:DescribeStream <${logicalId(mirrored.table)}.StreamArn>`,
        `dynamodb:DescribeTable <${logicalId(mirrored.table)}.Arn>`,
        `dynamodb:GetRecords <${logicalId(mirrored.table)}.StreamArn>`,
        `dynamodb:GetShardIterator <${logicalId(mirrored.table)}.StreamArn>`,
        `dynamodb:Scan <${logicalId(mirrored.table)}.Arn>`,
      ].sort(),
    );
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  test('multi-active: samples from any region of the table, comparing in the table order', () => {
    const { sampler: s } = sampled(
      'eu-west-1',
      multiActiveTable({ divergenceSampling, excludeAttributes: ['cache'] }),
    );
    expect(s.settings).toMatchObject({
      mode: 'multi-active',
      region: 'eu-west-1',
      regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
      keyNames: ['userId', 'sessionId'],
      excludeAttributes: ['cache'],
    });
  });

  test('names every problem: no sampling configured, a region the table is not written in', () => {
    expect(() => sampled('eu-west-1', oneWayTable())).toThrow(
      /Sampler: invalid DivergenceSampler props: table Stories has no divergenceSampling configured; region eu-west-1 is not a region where Stories is written \(us-east-1\)/,
    );
  });
});
