import { Match, Template } from 'aws-cdk-lib/assertions';
import { expectTemplate } from '../constructs/template-helpers';
import { buildApp } from '../../lib/app';
import { exampleModel, geolocationRouting, oneWayTable, testApp } from '../support/model-fixtures';

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

  test('describes each regional stack by its tables and whether they replicate from there', () => {
    expect([...regionStacks.values()].map((s) => Template.fromStack(s).toJSON().Description)).toEqual([
      'ddb-mirror us-east-1: Stories (one-way, replicates from here), Sessions (multi-active, replicates from here)',
      'ddb-mirror eu-west-1: Stories (one-way), Sessions (multi-active, replicates from here)',
      'ddb-mirror ap-southeast-2: Stories (one-way), Sessions (multi-active, replicates from here)',
    ]);
    expect(Template.fromStack(routingStack!).toJSON().Description).toBe(
      'ddb-mirror routing: app.example.com (latency) across us-east-1, eu-west-1, ap-southeast-2',
    );
  });

  test('tags the resources of every stack with the stack prefix, and regional ones with their region', () => {
    // GIVEN the eu-west-1 stack and the routing stack
    const regional = Template.fromStack(regionStacks.get('eu-west-1')!);
    const routing = Template.fromStack(routingStack!);
    const prefix = { Key: 'ddb-mirror:stack-prefix', Value: 'DdbMirror' };
    const region = { Key: 'ddb-mirror:region', Value: 'eu-west-1' };

    // THEN tables, queues and functions carry both tags; health checks the prefix
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::Lambda::Function']) {
      expectTemplate(regional).allResourcesProperties(type, { Tags: Match.arrayWith([region, prefix]) });
    }
    expectTemplate(routing).allResourcesProperties('AWS::Route53::HealthCheck', {
      HealthCheckTags: Match.arrayWith([prefix]),
    });
  });

  test("wires each replicator to its own table's stream and to the peer regions' tables by ARN", () => {
    // GIVEN the eu-west-1 stack, whose Sessions replicator writes to us-east-1 and ap-southeast-2
    const template = Template.fromStack(regionStacks.get('eu-west-1')!);
    const peerTable = (r: string) => ({
      'Fn::Join': ['', [`arn:aws:dynamodb:${r}:`, { Ref: 'AWS::AccountId' }, ':table/Sessions']],
    });

    // THEN
    expectTemplate(template).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SessionsTable'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
    });
    expectTemplate(template).hasResourceProperties('AWS::IAM::Role', {
      Policies: Match.arrayWith([
        Match.objectLike({
          PolicyName: 'Replication',
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({
                Sid: 'WritePeerTables',
                Resource: Match.arrayWith([peerTable('ap-southeast-2'), peerTable('us-east-1')]),
              }),
            ]),
          }),
        }),
      ]),
    });
  });

  test("a last-writer-wins replicator may read a peer's copy (it reads before it writes), a version one may not", () => {
    // GIVEN the example with Sessions under last-writer-wins
    const base = exampleModel();
    const lww = {
      ...base,
      tables: base.tables.map((t) =>
        t.mode === 'multi-active' ? { ...t, conflicts: 'last-writer-wins' as const } : t,
      ),
    };
    const writePeers = (stacks: ReturnType<typeof build>['regionStacks']) =>
      Object.values(Template.fromStack(stacks.get('eu-west-1')!).findResources('AWS::IAM::Role'))
        .flatMap(
          (r) =>
            (r.Properties.Policies ?? []) as {
              PolicyDocument: { Statement: { Sid?: string; Action: string[] }[] };
            }[],
        )
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((st) => st.Sid === 'WritePeerTables')
        .map((st) => [...st.Action].sort());

    // THEN every role that writes peers' copies (replicator, parked consumer) may read them under
    // last-writer-wins, and none may under the version contract
    const lwwActions = writePeers(build(lww).regionStacks);
    expect(lwwActions.length).toBeGreaterThan(0);
    expect(lwwActions.every((a) => a.includes('dynamodb:GetItem'))).toBe(true);
    const versionActions = writePeers(regionStacks);
    expect(versionActions.length).toBe(lwwActions.length);
    expect(versionActions.some((a) => a.includes('dynamodb:GetItem'))).toBe(false);
  });

  test('puts both tables and their tombstone tables in every region', () => {
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

  test('replicates the one-way table only from its source region and the multi-active table from every region', () => {
    expect(
      Object.fromEntries([...regionStacks].map(([region, s]) => [region, [...s.replicators.keys()]])),
    ).toEqual({
      'us-east-1': ['Stories', 'Sessions'],
      'eu-west-1': ['Sessions'],
      'ap-southeast-2': ['Sessions'],
    });
    // replicator + parked consumer per replicated table, plus a divergence sampler per sampled table
    // and an export backfill function per table with exportBackfill
    expect(
      [...regionStacks.values()].map(
        (s) => Object.keys(Template.fromStack(s).findResources('AWS::Lambda::Function')).length,
      ),
    ).toEqual([8, 4, 4]);
  });

  test('gives each region with a replicator a dashboard and alarms', () => {
    for (const stack of regionStacks.values()) {
      const template = Template.fromStack(stack);
      expectTemplate(template).resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      expectTemplate(template).hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: stack.stackName,
      });
      expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThanOrEqual(8);
    }
  });

  test('health-checks and routes every region in the routing stack', () => {
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
    // GIVEN / WHEN an app without routing and one with geolocation routing
    const none = build(exampleModel({ routing: undefined }));
    const geo = build(exampleModel({ routing: geolocationRouting() })).routingStack!;

    // THEN
    expect(none.routingStack).toBeUndefined();
    expectTemplate(Template.fromStack(geo)).hasResourceProperties('AWS::Route53::RecordSet', {
      GeoLocation: { CountryCode: '*' },
    });
  });

  test('gives a region holding only a one-way replica its tables but no replicator or monitoring', () => {
    // GIVEN only the one-way table, replicated from us-east-1
    const model = exampleModel({ tables: [exampleModel().tables[0]] });

    // WHEN
    const stack = build(model).regionStacks.get('eu-west-1')!;

    // THEN
    expect(stack.replicators.size).toBe(0);
    expect(stack.monitoring).toBeUndefined();
    expectTemplate(Template.fromStack(stack)).resourceCountIs('AWS::Lambda::Function', 0);
    expectTemplate(Template.fromStack(stack)).resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  test('rejects a table in a region that is not configured, naming its place in the config', () => {
    // GIVEN a replica region the model does not declare
    const model = exampleModel({ tables: [oneWayTable({ source: 'us-east-1', replicas: ['sa-east-1'] })] });

    // WHEN / THEN
    expect(() => build(model)).toThrow(
      'Invalid model: tables[0].replicas[0]: region "sa-east-1" is not declared under regions (declared: us-east-1, eu-west-1, ap-southeast-2)',
    );
  });
});
