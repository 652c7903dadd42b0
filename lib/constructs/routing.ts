import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import type { GeoLocationModel, RegionModel, RoutingModel } from '../config/model';
import { formatProblems, regionListProblems, routingProblems } from '../config/rules';

export interface RoutingProps {
  /** Hosted zone, record name and routing policy. */
  readonly routing: RoutingModel;
  /**
   * Regions that serve users, each with its endpoint and health check.
   *
   * Note: every endpoint must be of one kind (all `cname` or all `alias`): Route 53 does not allow a
   * CNAME next to other records of the same name.
   */
  readonly regions: readonly RegionModel[];
}

/**
 * Routes `recordName` to the healthy regions: one Route 53 health check per region, and latency
 * records (one per region) or geolocation records (one per location, plus a default record `*`).
 * The hosted zone is imported by id and name: no lookup, so synth works without credentials.
 */
export class Routing extends Construct {
  public readonly hostedZone: route53.IHostedZone;
  /** Health check per region name. */
  public readonly healthChecks: ReadonlyMap<string, route53.CfnHealthCheck>;
  /** Every record set created. */
  public readonly recordSets: readonly route53.CfnRecordSet[];

  constructor(scope: Construct, id: string, props: RoutingProps) {
    super(scope, id);
    this.validateProps(props);
    const { routing } = props;
    this.hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: routing.hostedZoneId,
      zoneName: routing.zoneName,
    });

    const healthChecks = new Map<string, route53.CfnHealthCheck>();
    for (const region of props.regions) {
      const hc = region.healthCheck;
      healthChecks.set(
        region.name,
        new route53.CfnHealthCheck(this, `HealthCheck-${region.name}`, {
          healthCheckConfig: {
            type: hc.protocol,
            fullyQualifiedDomainName: endpointHost(region),
            port: hc.port,
            ...(hc.protocol === 'TCP' ? {} : { resourcePath: hc.path }),
            ...(hc.protocol === 'HTTPS' ? { enableSni: true } : {}),
            requestInterval: hc.intervalSeconds,
            failureThreshold: hc.failureThreshold,
          },
          healthCheckTags: [{ key: 'Name', value: `${routing.recordName} ${region.name}` }],
        }),
      );
    }
    this.healthChecks = healthChecks;

    const records: route53.CfnRecordSet[] = [];
    const record = (
      recordId: string,
      region: RegionModel,
      setIdentifier: string,
      policy: Pick<route53.CfnRecordSetProps, 'region' | 'geoLocation'>,
    ) => {
      const target: Partial<route53.CfnRecordSetProps> =
        region.endpoint.kind === 'cname'
          ? { type: 'CNAME', ttl: String(routing.ttlSeconds), resourceRecords: [region.endpoint.hostname] }
          : {
              type: 'A',
              aliasTarget: {
                dnsName: region.endpoint.dnsName,
                hostedZoneId: region.endpoint.hostedZoneId,
                evaluateTargetHealth: true,
              },
            };
      records.push(
        new route53.CfnRecordSet(this, recordId, {
          hostedZoneId: this.hostedZone.hostedZoneId,
          name: routing.recordName,
          type: target.type!,
          ...target,
          setIdentifier,
          healthCheckId: healthChecks.get(region.name)!.attrHealthCheckId,
          ...policy,
        }),
      );
    };

    const policy = routing.policy;
    if (policy.type === 'latency') {
      for (const region of props.regions)
        record(`Latency-${region.name}`, region, region.name, { region: region.name });
    } else {
      for (const region of props.regions) {
        for (const location of policy.locations[region.name] ?? []) {
          const code = locationCode(location);
          record(`Geo-${region.name}-${code}`, region, `${region.name}-${code}`, {
            geoLocation: toGeoLocation(location),
          });
        }
      }
      const fallback = props.regions.find((r) => r.name === policy.defaultRegion)!;
      record('Geo-default', fallback, `default-${fallback.name}`, { geoLocation: { countryCode: '*' } });
    }
    this.recordSets = records;
  }

  /** The config's routing rules (one implementation, `lib/config/rules.ts`), every problem in one error. */
  private validateProps(props: RoutingProps): void {
    const problems = [
      ...regionListProblems(props.regions.map((r) => r.name)),
      ...routingProblems(props.routing, props.regions),
    ];
    if (problems.length > 0)
      throw new Error(
        `${this.node.path}: invalid routing for ${props.routing.recordName}: ${formatProblems(problems)}`,
      );
  }
}

function endpointHost(region: RegionModel): string {
  return region.endpoint.kind === 'cname' ? region.endpoint.hostname : region.endpoint.dnsName;
}

function locationCode(l: GeoLocationModel): string {
  if ('continent' in l) return l.continent;
  return l.subdivision ? `${l.country}-${l.subdivision}` : l.country;
}

function toGeoLocation(l: GeoLocationModel): route53.CfnRecordSet.GeoLocationProperty {
  if ('continent' in l) return { continentCode: l.continent };
  return { countryCode: l.country, ...(l.subdivision ? { subdivisionCode: l.subdivision } : {}) };
}
