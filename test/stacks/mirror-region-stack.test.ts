import { Template } from 'aws-cdk-lib/assertions';
import { expectTemplate } from '../constructs/template-helpers';
import { buildApp } from '../../lib/app';
import { exampleModel, geolocationRouting, testApp } from '../support/model-fixtures';

function build(model = exampleModel(), env: Record<string, string | undefined> = {}) {
  const app = testApp();
  return buildApp(app, model, { nag: false, env });
}

describe('regional and routing stacks of the example app', () => {
  const { regionStacks, routingStack } = build();

  test('names one stack per region plus the routing stack, each with an explicit region', () => {
    expect([...regionStacks.values()].map((s) => [s.stackName, s.region])).toEqual([
      ['DdbMirror-us-east-1', 'us-east-1'],
      ['DdbMirror-eu-west-1', 'eu-west-1'],
      ['DdbMirror-ap-southeast-2', 'ap-southeast-2'],
    ]);
    expect([routingStack?.stackName, routingStack?.region]).toEqual(['DdbMirror-Routing', 'us-east-1']);
  });

  test.each([...regionStacks.keys()])('snapshot of %s', (region) => {
    expect(Template.fromStack(regionStacks.get(region)!).toJSON()).toMatchSnapshot();
  });

  test('snapshot of the routing stack', () => {
    expect(Template.fromStack(routingStack!).toJSON()).toMatchSnapshot();
  });

  test('every region holds both tables and their tombstone tables', () => {
    for (const stack of regionStacks.values()) {
      const template = Template.fromStack(stack);
      const names = Object.values(template.findResources('AWS::DynamoDB::Table')).map(
        (t) => t.Properties.TableName,
      );
      expect(names.sort()).toEqual([
        'Sessions',
        'Sessions-ddbm-tombstones',
        'Stories',
        'Stories-ddbm-tombstones',
      ]);
    }
  });

  test('the one-way table replicates only from its source region; the multi-active table from every region', () => {
    expect(
      Object.fromEntries([...regionStacks].map(([region, s]) => [region, [...s.replicators.keys()]])),
    ).toEqual({
      'us-east-1': ['Stories', 'Sessions'],
      'eu-west-1': ['Sessions'],
      'ap-southeast-2': ['Sessions'],
    });
    // replicator + parked consumer per replicated table
    expect(
      [...regionStacks.values()].map(
        (s) => Object.keys(Template.fromStack(s).findResources('AWS::Lambda::Function')).length,
      ),
    ).toEqual([4, 2, 2]);
  });

  test('each region with a replicator has a dashboard and alarms', () => {
    for (const stack of regionStacks.values()) {
      const template = Template.fromStack(stack);
      expectTemplate(template).resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: stack.stackName,
      });
      expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(8);
    }
  });

  test('the routing stack health-checks and routes every region', () => {
    const template = Template.fromStack(routingStack!);
    expectTemplate(template).resourceCountIs('AWS::Route53::HealthCheck', 3);
    expectTemplate(template).resourceCountIs('AWS::Route53::RecordSet', 3);
  });
});

describe('buildApp', () => {
  test('uses the model account, else CDK_DEFAULT_ACCOUNT, else leaves the account environment-agnostic', () => {
    const account = (model = exampleModel(), env = {}) =>
      build(model, env).regionStacks.get('eu-west-1')!.account;
    expect(account(exampleModel({ account: '111111111111' }), { CDK_DEFAULT_ACCOUNT: '222222222222' })).toBe(
      '111111111111',
    );
    expect(account(exampleModel(), { CDK_DEFAULT_ACCOUNT: '222222222222' })).toBe('222222222222');
    expect(account()).toMatch(/^\$\{Token\[AWS\.AccountId/);
  });

  test('creates no routing stack without routing, and geolocation routing with a default record', () => {
    expect(build(exampleModel({ routing: undefined })).routingStack).toBeUndefined();
    const geo = build(exampleModel({ routing: geolocationRouting() })).routingStack!;
    expectTemplate(Template.fromStack(geo)).hasResourceProperties('AWS::Route53::RecordSet', {
      GeoLocation: { CountryCode: '*' },
    });
  });

  test('a region holding only a one-way replica gets tables but no replicator or monitoring', () => {
    const model = exampleModel({ tables: [exampleModel().tables[0]] });
    const stack = build(model).regionStacks.get('eu-west-1')!;
    expect(stack.replicators.size).toBe(0);
    expect(stack.monitoring).toBeUndefined();
    expectTemplate(Template.fromStack(stack)).resourceCountIs('AWS::Lambda::Function', 0);
    expectTemplate(Template.fromStack(stack)).resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  test('rejects a table in a region that is not configured', () => {
    const [stories] = exampleModel().tables;
    const model = exampleModel({
      tables: [{ ...stories, mode: 'one-way', source: 'us-east-1', replicas: ['sa-east-1'] }],
    });
    expect(() => build(model)).toThrow(
      'Invalid model: tables[0].replicas[0]: region "sa-east-1" is not declared under regions (declared: us-east-1, eu-west-1, ap-southeast-2)',
    );
  });
});
