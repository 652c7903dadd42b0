import { constructResources, expectTemplate, logicalId } from './template-helpers';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { RegionModel, RoutingModel } from '../../lib/config/model';
import { Routing } from '../../lib/constructs/routing';
import {
  EXAMPLE_REGIONS,
  geolocationRouting,
  latencyRouting,
  region,
  testApp,
} from '../support/model-fixtures';

function synth(
  routing: RoutingModel,
  regions: readonly RegionModel[] = EXAMPLE_REGIONS.map((r) => region(r)),
) {
  const stack = new Stack(testApp(), 'Routing', { env: { region: 'us-east-1' } });
  const construct = new Routing(stack, 'Routing', { routing, regions });
  return { template: Template.fromStack(stack), construct };
}

describe('Routing', () => {
  test('synthesizes latency routing across the three example regions as in its snapshot', () => {
    // GIVEN / WHEN
    const { template, construct } = synth(latencyRouting());

    // THEN
    expect(constructResources(template, construct)).toMatchSnapshot();
  });

  test('synthesizes geolocation routing by continent and country, with a default region, as in its snapshot', () => {
    // GIVEN / WHEN
    const { template, construct } = synth(geolocationRouting());

    // THEN
    expect(constructResources(template, construct)).toMatchSnapshot();
  });

  test('creates one HTTPS health check per region against its endpoint, named after the record and region', () => {
    // GIVEN / WHEN
    const { template } = synth(latencyRouting());

    // THEN
    expectTemplate(template).resourceCountIs('AWS::Route53::HealthCheck', 3);
    for (const r of EXAMPLE_REGIONS) {
      expectTemplate(template).hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: {
          Type: 'HTTPS',
          FullyQualifiedDomainName: `app.${r}.example.com`,
          Port: 443,
          ResourcePath: '/health',
          RequestInterval: 30,
          FailureThreshold: 3,
          EnableSNI: true,
        },
        HealthCheckTags: [{ Key: 'Name', Value: `app.example.com ${r}` }],
      });
    }
  });

  test('routes by latency with one CNAME per region, each with its Region, SetIdentifier and health check', () => {
    // GIVEN / WHEN
    const { template, construct } = synth(latencyRouting());

    // THEN
    expectTemplate(template).resourceCountIs('AWS::Route53::RecordSet', 3);
    for (const r of EXAMPLE_REGIONS) {
      expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
        HostedZoneId: 'Z0123456789EXAMPLE',
        Name: 'app.example.com.',
        Type: 'CNAME',
        TTL: '60',
        ResourceRecords: [`app.${r}.example.com`],
        SetIdentifier: r,
        Region: r,
        HealthCheckId: { Ref: logicalId(construct.healthChecks.get(r)!) },
      });
    }
  });

  test('routes by geolocation with one record per location of each region plus a default record for the default region', () => {
    // GIVEN / WHEN
    const { template } = synth(geolocationRouting());

    // THEN
    expectTemplate(template).resourceCountIs('AWS::Route53::RecordSet', 7);
    expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
      SetIdentifier: 'eu-west-1-EU',
      GeoLocation: { ContinentCode: 'EU' },
      ResourceRecords: ['app.eu-west-1.example.com'],
      HealthCheckId: Match.anyValue(),
    });
    expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
      SetIdentifier: 'ap-southeast-2-JP',
      GeoLocation: { CountryCode: 'JP' },
      ResourceRecords: ['app.ap-southeast-2.example.com'],
    });
    expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
      SetIdentifier: 'default-us-east-1',
      GeoLocation: { CountryCode: '*' },
      ResourceRecords: ['app.us-east-1.example.com'],
      HealthCheckId: Match.anyValue(),
    });
    expectTemplate(template).resourcePropertiesCountIs(
      'AWS::Route53::RecordSet',
      { Region: Match.anyValue() },
      0,
    );
  });

  test('routes a US state by its subdivision code', () => {
    // GIVEN California served from us-west-2, everything else from us-east-1
    const routing = latencyRouting({
      policy: {
        type: 'geolocation',
        locations: { 'us-west-2': [{ country: 'US', subdivision: 'CA' }] },
        defaultRegion: 'us-east-1',
      },
    });

    // WHEN
    const { template } = synth(routing, [region('us-east-1'), region('us-west-2')]);

    // THEN
    expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
      SetIdentifier: 'us-west-2-US-CA',
      GeoLocation: { CountryCode: 'US', SubdivisionCode: 'CA' },
      ResourceRecords: ['app.us-west-2.example.com'],
    });
  });

  test('points alias endpoints at A records with the target zone and EvaluateTargetHealth, health-checked on the DNS name', () => {
    // GIVEN load balancer endpoints probed over TCP
    const regions = EXAMPLE_REGIONS.map((r) =>
      region(r, {
        endpoint: { kind: 'alias', dnsName: `alb.${r}.elb.amazonaws.com`, hostedZoneId: 'ZALB' },
        healthCheck: {
          protocol: 'TCP',
          port: 443,
          path: '/health',
          intervalSeconds: 10,
          failureThreshold: 2,
        },
      }),
    );

    // WHEN
    const { template } = synth(latencyRouting(), regions);

    // THEN
    expectTemplate(template).hasResourceProperties('AWS::Route53::RecordSet', {
      Type: 'A',
      AliasTarget: {
        DNSName: 'alb.eu-west-1.elb.amazonaws.com',
        HostedZoneId: 'ZALB',
        EvaluateTargetHealth: true,
      },
      TTL: Match.absent(),
      Region: 'eu-west-1',
    });
    expectTemplate(template).hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'TCP',
        FullyQualifiedDomainName: 'alb.eu-west-1.elb.amazonaws.com',
        RequestInterval: 10,
        FailureThreshold: 2,
        ResourcePath: Match.absent(),
      },
    });
  });

  test('rejects mixed endpoint kinds and undeclared geolocation regions with the config rules, naming the path and each value', () => {
    // GIVEN a CNAME and an alias endpoint, and locations for a region that is not among them
    const regions = [
      region('us-east-1'),
      region('eu-west-1', { endpoint: { kind: 'alias', dnsName: 'x.elb.amazonaws.com', hostedZoneId: 'Z' } }),
    ];

    // WHEN / THEN
    expect(() => synth(geolocationRouting(), regions)).toThrow(
      'Routing/Routing: invalid routing for app.example.com: ' +
        'regions: endpoints mix CNAME targets (us-east-1) and alias targets (eu-west-1); the routed records of one name must all be CNAME or all alias; ' +
        'routing.policy.locations.ap-southeast-2: region "ap-southeast-2" is not declared under regions (declared: us-east-1, eu-west-1)',
    );
  });

  test('rejects an undeclared default region and regions that would receive no traffic', () => {
    // GIVEN geolocation routing that sends nothing anywhere but to an unknown default
    const routing = latencyRouting({
      policy: { type: 'geolocation', locations: {}, defaultRegion: 'sa-east-1' },
    });

    // WHEN / THEN
    expect(() => synth(routing)).toThrow(
      'routing.policy.defaultRegion: region "sa-east-1" is not declared under regions (declared: us-east-1, eu-west-1, ap-southeast-2); ' +
        'routing.policy.locations: region "us-east-1" serves no location and is not the defaultRegion, so it would receive no traffic',
    );
  });

  test('rejects a routed name outside its zone and an empty region list', () => {
    // WHEN / THEN
    expect(() => synth(latencyRouting({ recordName: 'app.example.org' }), [])).toThrow(
      'Routing/Routing: invalid routing for app.example.org: regions: at least one region is required, got none; ' +
        'routing.recordName: "app.example.org" is not inside the zone "example.com" (zoneName)',
    );
  });
});
