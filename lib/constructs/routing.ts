import { Duration, Tags } from 'aws-cdk-lib';
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
 *
 * Built from the L2 `HealthCheck`, `CnameRecord` and `ARecord`, which express everything used here
 * (latency `region`, `geoLocation`, `setIdentifier`, `healthCheck`, alias targets with
 * EvaluateTargetHealth). They write the record name fully qualified (`app.example.com.`), which Route 53
 * treats as the same name.
 */
export class Routing extends Construct {
  /** The hosted zone, imported by id and name (no lookup). */
  public readonly hostedZone: route53.IHostedZone;
  /** Health check per region name. */
  public readonly healthChecks: ReadonlyMap<string, route53.HealthCheck>;
  /** Every record set created. */
  public readonly recordSets: readonly route53.RecordSet[];

  constructor(scope: Construct, id: string, props: RoutingProps) {
    super(scope, id);
    this.validateProps(props);
    this.hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.routing.hostedZoneId,
      zoneName: props.routing.zoneName,
    });
    this.healthChecks = new Map(props.regions.map((r) => [r.name, this.createHealthCheck(props.routing, r)]));
    this.recordSets =
      props.routing.policy.type === 'latency'
        ? this.createLatencyRecords(props)
        : this.createGeolocationRecords(props, props.routing.policy);
  }

  /** Probes the region's endpoint; tagged `Name: <record> <region>` for the Route 53 console. */
  private createHealthCheck(routing: RoutingModel, region: RegionModel): route53.HealthCheck {
    const hc = region.healthCheck;
    const healthCheck = new route53.HealthCheck(this, `HealthCheck-${region.name}`, {
      type: route53.HealthCheckType[hc.protocol],
      fqdn: endpointHost(region),
      port: hc.port,
      resourcePath: hc.protocol === 'TCP' ? undefined : hc.path,
      // SNI for HTTPS is the L2's default.
      requestInterval: Duration.seconds(hc.intervalSeconds),
      failureThreshold: hc.failureThreshold,
    });
    Tags.of(healthCheck).add('Name', `${routing.recordName} ${region.name}`);
    return healthCheck;
  }

  /** One record per region, answered where the latency to its region is lowest. */
  private createLatencyRecords(props: RoutingProps): route53.RecordSet[] {
    return props.regions.map((region) =>
      this.createRecord(`Latency-${region.name}`, props.routing, region, region.name, {
        region: region.name,
      }),
    );
  }

  /** One record per location a region serves, and the default record `*` for the default region. */
  private createGeolocationRecords(
    props: RoutingProps,
    policy: Extract<RoutingModel['policy'], { type: 'geolocation' }>,
  ): route53.RecordSet[] {
    const records = props.regions.flatMap((region) =>
      (policy.locations[region.name] ?? []).map((location) => {
        const code = locationCode(location);
        return this.createRecord(
          `Geo-${region.name}-${code}`,
          props.routing,
          region,
          `${region.name}-${code}`,
          {
            geoLocation: toGeoLocation(location),
          },
        );
      }),
    );
    const fallback = props.regions.find((r) => r.name === policy.defaultRegion)!;
    records.push(
      this.createRecord('Geo-default', props.routing, fallback, `default-${fallback.name}`, {
        geoLocation: route53.GeoLocation.default(),
      }),
    );
    return records;
  }

  /** A CNAME to the region's hostname, or an A alias to its load balancer, behind its health check. */
  private createRecord(
    recordId: string,
    routing: RoutingModel,
    region: RegionModel,
    setIdentifier: string,
    policy: Pick<route53.RecordSetOptions, 'region' | 'geoLocation'>,
  ): route53.RecordSet {
    const options: route53.RecordSetOptions = {
      zone: this.hostedZone,
      recordName: routing.recordName,
      setIdentifier,
      healthCheck: this.healthChecks.get(region.name),
      ...policy,
    };
    const endpoint = region.endpoint;
    if (endpoint.kind === 'cname')
      return new route53.CnameRecord(this, recordId, {
        ...options,
        domainName: endpoint.hostname,
        ttl: Duration.seconds(routing.ttlSeconds),
      });
    const aliasTarget: route53.IAliasRecordTarget = {
      bind: () => ({
        dnsName: endpoint.dnsName,
        hostedZoneId: endpoint.hostedZoneId,
        evaluateTargetHealth: true,
      }),
    };
    return new route53.ARecord(this, recordId, {
      ...options,
      target: route53.RecordTarget.fromAlias(aliasTarget),
    });
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

function toGeoLocation(l: GeoLocationModel): route53.GeoLocation {
  if ('continent' in l) return route53.GeoLocation.continent(l.continent as route53.Continent);
  return l.subdivision
    ? route53.GeoLocation.subdivision(l.subdivision, l.country)
    : route53.GeoLocation.country(l.country);
}
