/**
 * The rules that relate one part of a mirror to another (regions a table names, routing against the
 * regions), each implemented once, as a pure function over the model's shape. Callers:
 * - config validation (`schema.ts`), on a file that may be partly invalid: it passes what it could read,
 *   with missing or mistyped values left out (`undefined`), and a rule whose inputs are missing is skipped;
 * - `buildApp` and the `Routing` construct, on a model built in code.
 *
 * Every message names the offending value; the path says where it is in the config file.
 */
import { QUEUE_DEFAULTS } from '../constructs/defaults';
import { tableRegions, type MirrorModel } from './model';

/** `us-east-1`, `ap-southeast-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`. */
export const REGION_NAME_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/**
 * Countries whose subdivisions Route 53 geolocation accepts (the United States and Ukraine); aws-cdk-lib's
 * `GeoLocation.subdivision` refuses any other country at synth.
 */
const SUBDIVISION_COUNTRIES = ['US', 'UA'];

/** Where a value is in the config file, e.g. `['tables', 1, 'replicas', 0]`. */
export type ProblemPath = readonly (string | number)[];

export interface Problem {
  readonly path: ProblemPath;
  readonly message: string;
}

/** `['tables', 1, 'replicas', 0]` → `tables[1].replicas[0]`; keys that are not plain names are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** `path: message; path: message` for one error message. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path.length ? `${formatPath(p.path)}: ${p.message}` : p.message)).join('; ');
}

/** Every cross-field problem of a model built in code (the config loader has checked these already). */
export function modelProblems(model: MirrorModel): Problem[] {
  const declared = new Set(model.regions.map((r) => r.name));
  return [
    ...regionListProblems(model.regions.map((r) => r.name)),
    ...accountProblems(model.regions, model.account),
    ...model.tables.flatMap((t, i) => within(['tables', i], tableRegionProblems(t, declared))),
    ...model.tables.flatMap((t, i) => within(['tables', i], tombstoneTtlProblems(t.tombstoneTtlDays))),
    ...model.tables.flatMap((t, i) => within(['tables', i], existingProblems(tableRegions(t), t.existing))),
    ...(model.routing ? routingProblems(model.routing, model.regions) : []),
    ...(model.notifications?.kind === 'topic'
      ? notificationProblems(
          model.notifications.arnTemplate,
          model.regions.map((r) => r.name),
        )
      : []),
  ];
}

/**
 * An existing topic for the alarms: a CloudWatch alarm can notify only a topic in its own region, so an
 * ARN naming one region fits a mirror in that region alone; with more, `${region}` stands for each.
 */
export function notificationProblems(arn: string, regions: readonly string[]): Problem[] {
  const named = /^arn:[^:]+:sns:([^:]+):/.exec(arn)?.[1];
  if (named === undefined || named === '${region}') return [];
  if (regions.length === 1 && regions[0] === named) return [];
  return [
    {
      path: ['notifications', 'snsTopicArn'],
      message: `"${arn}" is a topic in ${named}, but alarms in ${regions.filter((r) => r !== named).join(', ')} can only notify a topic in their own region: write \${region} in place of ${named}`,
    },
  ];
}

/** The declared regions: at least one, each named like an AWS region. */
export function regionListProblems(names: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  if (names.length === 0)
    problems.push({ path: ['regions'], message: 'at least one region is required, got none' });
  for (const name of names) {
    if (!REGION_NAME_PATTERN.test(name))
      problems.push({
        path: ['regions', name],
        message: `"${name}" is not an AWS region name (lower case, like us-east-1 or ap-southeast-2)`,
      });
  }
  return problems;
}

/** A declared region's account as the file names it; undefined when it names none (or got it wrong). */
export interface RegionAccountFacts {
  readonly name: string;
  readonly account?: string;
}

/**
 * Once one region names an account, every region needs one (its own, or the top-level `account` as
 * the default): synth decides which peers are in another account, and an account left to
 * `CDK_DEFAULT_ACCOUNT` is only known when someone deploys.
 */
export function accountProblems(
  regions: readonly RegionAccountFacts[],
  defaultAccount: string | undefined,
): Problem[] {
  const named = regions.filter((r) => r.account !== undefined);
  if (named.length === 0 || defaultAccount !== undefined) return [];
  const examples = named.map((r) => `${r.name} names ${r.account}`).join(', ');
  return regions
    .filter((r) => r.account === undefined)
    .map((r) => ({
      path: ['regions', r.name, 'account'],
      message:
        `required: ${examples}, and once one region names an account every region needs one ` +
        '(its own, or the top-level account as the default) so synth knows which peers are in another account',
    }));
}

// ---------------------------------------------------------------------------------------------------------
// tables

/** The region fields of a table; a value the file got wrong is `undefined`. */
export type TableRegionFacts =
  | { readonly mode: 'one-way'; readonly source?: string; readonly replicas: readonly (string | undefined)[] }
  | { readonly mode: 'multi-active'; readonly regions: readonly (string | undefined)[] };

/**
 * The regions one table names: each declared (when `declared` is known), none twice, the one-way source
 * not also a replica. Paths are relative to the table.
 */
export function tableRegionProblems(
  table: TableRegionFacts,
  declared: ReadonlySet<string> | undefined,
): Problem[] {
  const refs: { path: ProblemPath; region: string }[] = [];
  const add = (path: ProblemPath, region: string | undefined) => {
    if (region !== undefined) refs.push({ path, region });
  };
  if (table.mode === 'one-way') {
    add(['source'], table.source);
    table.replicas.forEach((r, j) => add(['replicas', j], r));
  } else {
    table.regions.forEach((r, j) => add(['regions', j], r));
  }

  const problems: Problem[] = [];
  const firstSeen = new Map<string, ProblemPath>();
  for (const { path, region } of refs) {
    if (declared && !declared.has(region)) problems.push({ path, message: notDeclared(region, declared) });
    const first = firstSeen.get(region);
    if (first === undefined) firstSeen.set(region, path);
    else if (first[0] === 'source')
      problems.push({ path, message: `source region "${region}" is also listed as a replica` });
    else problems.push({ path, message: `region "${region}" is listed twice` });
  }
  return problems;
}

/**
 * The regions where a table already exists (`existing`, a list): each one of the table's regions, none
 * twice. `regions` are the table's regions as the file names them (`undefined` where it got one wrong,
 * and then a region outside the others is not reported: the mistyped one may be it). Paths are relative
 * to the table.
 */
export function existingProblems(
  regions: readonly (string | undefined)[],
  existing: readonly (string | undefined)[],
): Problem[] {
  const known = regions.filter((r): r is string => r !== undefined);
  const complete = known.length === regions.length;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  existing.forEach((region, j) => {
    if (region === undefined) return;
    const path = ['existing', j];
    if (seen.has(region)) problems.push({ path, message: `region "${region}" is listed twice` });
    else if (complete && !known.includes(region))
      problems.push({
        path,
        message: `region "${region}" is not one of the table's regions (${known.join(', ')}); list only regions where the table is mirrored`,
      });
    seen.add(region);
  });
  return problems;
}

/**
 * Days a replicated write can wait on SQS before it is applied: on its parking queue, then on that queue's
 * DLQ (lib/constructs/replicator.ts gives both `QUEUE_DEFAULTS.retentionPeriod`). Counted as a sum although
 * SQS keeps a message's first enqueue time when it moves to a standard queue's DLQ, so the figure also
 * holds for a DLQ whose retention is reset (docs/platform.md#parking).
 */
export const DELAYED_WRITE_DAYS = {
  parkingQueue: QUEUE_DEFAULTS.retentionPeriod.toDays(),
  parkingDlq: QUEUE_DEFAULTS.retentionPeriod.toDays(),
} as const;

/** The least `tombstoneTtlDays`: a tombstone must outlive every write that can still arrive after its delete. */
export const MIN_TOMBSTONE_TTL_DAYS = DELAYED_WRITE_DAYS.parkingQueue + DELAYED_WRITE_DAYS.parkingDlq + 1;

/** The message for a tombstone lifetime that a parked write can outlive; the value is shown as given. */
export function tombstoneTtlMessage(days: unknown): string {
  const { parkingQueue, parkingDlq } = DELAYED_WRITE_DAYS;
  return (
    `must exceed ${parkingQueue + parkingDlq} days, got ${JSON.stringify(days)}: a parked write can wait ` +
    `${parkingQueue} days on its parking queue and ${parkingDlq} more on the parking DLQ, and one that ` +
    "arrives after its key's tombstone expired brings the deleted item back"
  );
}

/** A table's `tombstoneTtlDays` (undefined: the file got it wrong and the structure said so). */
export function tombstoneTtlProblems(days: number | undefined): Problem[] {
  if (days === undefined || (Number.isInteger(days) && days >= MIN_TOMBSTONE_TTL_DAYS)) return [];
  return [{ path: ['tombstoneTtlDays'], message: tombstoneTtlMessage(days) }];
}

// ---------------------------------------------------------------------------------------------------------
// routing

/** A declared region as routing sees it: its name and the kind of its endpoint, when readable. */
export interface RegionFacts {
  readonly name: string;
  readonly endpoint?: { readonly kind: 'cname'; readonly hostname?: string } | { readonly kind: 'alias' };
}

/** A geolocation, as the model writes it. */
export type LocationFacts =
  { readonly continent: string } | { readonly country: string; readonly subdivision?: string };

/** The routing section; a value the file got wrong is `undefined`. */
export interface RoutingFacts {
  readonly zoneName?: string;
  readonly recordName?: string;
  readonly policy?:
    | { readonly type: 'latency' }
    | {
        readonly type: 'geolocation';
        readonly defaultRegion?: string;
        readonly locations: Readonly<Record<string, readonly (LocationFacts | undefined)[]>>;
      };
}

/**
 * Routing against the declared regions: the record inside its zone, no CNAME at the apex or pointing at
 * itself, endpoints of one kind, and (geolocation) declared regions, each location claimed once, every
 * region reachable.
 */
export function routingProblems(routing: RoutingFacts, regions: readonly RegionFacts[]): Problem[] {
  const problems: Problem[] = [];
  const report = (path: ProblemPath, message: string) => problems.push({ path, message });
  const { zoneName: zone, recordName: record } = routing;
  const cnameRegions = regions.filter((r) => r.endpoint?.kind === 'cname').map((r) => r.name);
  const aliasRegions = regions.filter((r) => r.endpoint?.kind === 'alias').map((r) => r.name);

  if (zone !== undefined && record !== undefined) {
    const zoneKey = normalizeDns(zone);
    const recordKey = normalizeDns(record);
    if (recordKey !== zoneKey && !recordKey.endsWith(`.${zoneKey}`))
      report(['routing', 'recordName'], `"${record}" is not inside the zone "${zone}" (zoneName)`);
    if (recordKey === zoneKey && cnameRegions.length > 0)
      report(
        ['routing', 'recordName'],
        `"${record}" is the zone apex, where DNS allows no CNAME; regions ${cnameRegions.join(', ')} ` +
          'use a hostname endpoint: use alias endpoints or a subdomain',
      );
  }
  if (cnameRegions.length > 0 && aliasRegions.length > 0)
    report(
      ['regions'],
      `endpoints mix CNAME targets (${cnameRegions.join(', ')}) and alias targets (${aliasRegions.join(', ')}); ` +
        'the routed records of one name must all be CNAME or all alias',
    );
  for (const { name, endpoint } of regions) {
    const hostname = endpoint?.kind === 'cname' ? endpoint.hostname : undefined;
    if (hostname !== undefined && record !== undefined && normalizeDns(hostname) === normalizeDns(record))
      report(
        ['regions', name, 'endpoint', 'hostname'],
        `"${hostname}" is the routed record itself (a CNAME loop); use the region's own hostname`,
      );
  }
  if (routing.policy?.type === 'geolocation') {
    const declared = new Set(regions.map((r) => r.name));
    problems.push(...geolocationProblems(routing.policy, declared));
  }
  return problems;
}

function geolocationProblems(
  policy: Extract<RoutingFacts['policy'], { type: 'geolocation' }>,
  declared: ReadonlySet<string>,
): Problem[] {
  const at: ProblemPath = ['routing', 'policy'];
  const problems: Problem[] = [];
  const { defaultRegion, locations } = policy;
  if (defaultRegion !== undefined && !declared.has(defaultRegion))
    problems.push({ path: [...at, 'defaultRegion'], message: notDeclared(defaultRegion, declared) });

  const claimedBy = new Map<string, string>();
  for (const [regionName, list] of Object.entries(locations)) {
    if (!declared.has(regionName))
      problems.push({ path: [...at, 'locations', regionName], message: notDeclared(regionName, declared) });
    list.forEach((loc, j) => {
      if (loc === undefined) return;
      if ('country' in loc && loc.subdivision !== undefined && !SUBDIVISION_COUNTRIES.includes(loc.country))
        problems.push({
          path: [...at, 'locations', regionName, j, 'subdivision'],
          message: `Route 53 knows subdivisions of ${SUBDIVISION_COUNTRIES.join(' and ')} only, got ${loc.country}-${loc.subdivision}`,
        });
      const id = locationId(loc);
      const owner = claimedBy.get(id);
      if (owner === undefined) claimedBy.set(id, regionName);
      else
        problems.push({
          path: [...at, 'locations', regionName, j],
          message:
            owner === regionName
              ? `location ${id} is listed twice for region "${regionName}"`
              : `location ${id} is already claimed by region "${owner}"`,
        });
    });
  }

  for (const name of declared) {
    if (name !== defaultRegion && (locations[name] ?? []).length === 0)
      problems.push({
        path: [...at, 'locations'],
        message: `region "${name}" serves no location and is not the defaultRegion, so it would receive no traffic`,
      });
  }
  return problems;
}

/** A comparable name for a location, e.g. `continent EU`, `country US-CA`. */
function locationId(loc: LocationFacts): string {
  if ('continent' in loc) return `continent ${loc.continent}`;
  return `country ${loc.country}${loc.subdivision !== undefined ? `-${loc.subdivision}` : ''}`;
}

function notDeclared(region: string, declared: ReadonlySet<string>): string {
  return `region "${region}" is not declared under regions (declared: ${[...declared].join(', ') || 'none'})`;
}

const normalizeDns = (name: string) => name.toLowerCase().replace(/\.$/, '');

const within = (base: ProblemPath, problems: readonly Problem[]): Problem[] =>
  problems.map((p) => ({ path: [...base, ...p.path], message: p.message }));
