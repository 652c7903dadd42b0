/**
 * The options of the operations commands (`status`, `backfill`, `verify`, `replay`, `drain`): one spec
 * per option, so every command's --help says the same thing, and their parsing. A mistake is collected
 * as a problem naming the option and the value, so that one usage error tells every problem at once.
 */
import { numberOption, stringOption, UsageError, type OptionSpec, type ParsedValues } from '../command';

export const OPS_OPTIONS = {
  table: { type: 'string', value: 'NAME', description: 'the table (default: the only table of the config)' },
  region: {
    type: 'string',
    value: 'REGION',
    description: "the replicator's region (default: the table's only replicator region, a one-way source)",
  },
  segments: { type: 'string', value: 'N', description: 'parallel Scan segments per region (default: 4)' },
  'page-size': { type: 'string', value: 'N', description: 'items per Scan page (default: 500)' },
  'max-read-units': {
    type: 'string',
    value: 'N',
    description: 'read capacity units per second per region (default: no limit)',
  },
  'max-write-units': {
    type: 'string',
    value: 'N',
    description: 'write capacity units per second per target region (default: no limit)',
  },
  config: { type: 'string', value: 'PATH', description: 'config file (default: mirror.config.yaml)' },
  endpoint: {
    type: 'string',
    value: 'URL',
    description:
      'a kept local mirror: the endpoint `npm start -- --keep` prints (default: AWS);\n' +
      'credentials default to local/local there',
  },
  profile: {
    type: 'string',
    value: 'NAME',
    multiple: true,
    description:
      'AWS profile (default: the standard credential chain); REGION=NAME: the profile for one\n' +
      "region, repeatable (a peer in another account, read with that account's credentials)",
  },
  json: { type: 'boolean', description: 'print a machine-readable summary (JSON) on stdout, nothing else' },
} as const satisfies Record<string, OptionSpec>;

/** The options every operations command takes, last in its --help. */
export const CONNECTION_OPTIONS = {
  config: OPS_OPTIONS.config,
  endpoint: OPS_OPTIONS.endpoint,
  profile: OPS_OPTIONS.profile,
  json: OPS_OPTIONS.json,
} as const satisfies Record<string, OptionSpec>;

/** Where the clients go: AWS (the standard chain, or a profile of it), or one endpoint for every region. */
export interface Connection {
  readonly endpoint?: string;
  /** The profile of every region without its own. */
  readonly profile?: string;
  /** Region → its own profile (`--profile REGION=NAME`): a peer in another account. */
  readonly profiles?: Readonly<Record<string, string>>;
}

/** The profile `region`'s clients use: its own, else the default one, else none (the standard chain). */
export function profileFor(c: Connection, region: string): string | undefined {
  return c.profiles?.[region] ?? c.profile;
}

/** Problems with `--profile REGION=NAME` naming a region the config does not have. */
export function profileRegionProblems(c: Connection, configRegions: readonly string[]): string[] {
  return Object.keys(c.profiles ?? {})
    .filter((r) => !configRegions.includes(r))
    .map(
      (r) =>
        `--profile ${r}=${c.profiles![r]}: ${JSON.stringify(r)} is not a region of the config; its regions: ${configRegions.join(', ')}`,
    );
}

const PROFILE_NAME = /^[\w+=,.@-]+$/;
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** `--profile` values: at most one default NAME and one REGION=NAME per region; every problem at once. */
export function profileOptions(
  values: ParsedValues,
  problems: string[],
): Pick<Connection, 'profile' | 'profiles'> {
  const raw = values.profile;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
  let profile: string | undefined;
  const profiles: Record<string, string> = {};
  for (const value of list) {
    const eq = value.indexOf('=');
    const [region, name] = eq < 0 ? [undefined, value] : [value.slice(0, eq), value.slice(eq + 1)];
    if (!PROFILE_NAME.test(name) || (region !== undefined && !REGION_NAME.test(region))) {
      problems.push(
        `--profile needs NAME or REGION=NAME (like eu-west-1=peer), got ${JSON.stringify(value)}`,
      );
      continue;
    }
    // The first one given stands; a different one later is a problem, the same one again is not.
    const first = region === undefined ? profile : profiles[region];
    if (first !== undefined) {
      if (first !== name)
        problems.push(
          region === undefined
            ? `--profile names two default profiles, ${first} and ${name}: give one, and REGION=NAME for the others`
            : `--profile names two profiles for ${region}: ${first} and ${name}`,
        );
    } else if (region === undefined) profile = name;
    else profiles[region] = name;
  }
  return {
    ...(profile !== undefined ? { profile } : {}),
    ...(Object.keys(profiles).length ? { profiles } : {}),
  };
}

/** What every operations command is given: the config, the connection, the table, --json. */
export interface OpsArgs extends Connection {
  readonly configPath: string;
  readonly table?: string;
  readonly json: boolean;
}

/** And what the commands that scan (backfill, verify) are given. */
export interface CommonArgs extends OpsArgs {
  readonly segments: number;
  readonly pageSize: number;
  readonly maxReadUnits?: number;
}

/** The options every command takes, each checked. */
export function opsArgs(values: ParsedValues, problems: string[]): OpsArgs {
  const endpoint = stringOption(values, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    problems.push(`--endpoint needs a URL like http://127.0.0.1:4566, got ${JSON.stringify(endpoint)}`);
  const profiles = profileOptions(values, problems);
  return {
    configPath: stringOption(values, 'config') ?? 'mirror.config.yaml',
    table: stringOption(values, 'table'),
    endpoint: endpoint?.replace(/\/$/, ''),
    ...profiles,
    json: values.json === true,
  };
}

/** The options of the commands that scan, each checked. */
export function commonArgs(values: ParsedValues, problems: string[]): CommonArgs {
  const number = (name: string, rules: Parameters<typeof numberOption>[2]) =>
    numberOrProblem(values, name, rules, problems);
  return {
    ...opsArgs(values, problems),
    segments: number('segments', { integer: true, min: 1, max: 1000 }) ?? 4,
    pageSize: number('page-size', { integer: true, min: 1, max: 10000 }) ?? 500,
    maxReadUnits: number('max-read-units', { min: 1 }),
  };
}

/** {@link numberOption}, with its usage error added to `problems` instead of thrown. */
export function numberOrProblem(
  values: ParsedValues,
  name: string,
  rules: Parameters<typeof numberOption>[2],
  problems: string[],
): number | undefined {
  return orProblem(() => numberOption(values, name, rules), problems);
}

/** `fn`'s result, or undefined with its usage error added to `problems` (so every problem is told at once). */
export function orProblem<T>(fn: () => T, problems: string[]): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    problems.push(e.message);
    return undefined;
  }
}

/** Throws one usage error listing every problem. */
export function throwProblems(problems: readonly string[]): void {
  if (problems.length) throw new UsageError(problems.join('\n'));
}

/** A region list option: comma-separated, repeatable. Undefined when absent. */
export function regionsOption(values: ParsedValues, name: string): string[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [String(raw)]).flatMap((v) => v.split(','));
  return [...new Set(list.map((r) => r.trim()).filter((r) => r))];
}

/** Arguments to repeat in a printed command line: the connection and config when not the defaults. */
export function connectionArgs(a: OpsArgs): string[] {
  return [
    ...(a.configPath !== 'mirror.config.yaml' ? ['--config', a.configPath] : []),
    ...(a.endpoint ? ['--endpoint', a.endpoint] : []),
    ...(a.profile ? ['--profile', a.profile] : []),
    ...Object.entries(a.profiles ?? {}).flatMap(([region, name]) => ['--profile', `${region}=${name}`]),
  ];
}
