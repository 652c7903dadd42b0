/**
 * The `--drill` options of `ddb-mirror start`: the option specs, and their checks (every mistake is a
 * usage error naming the option and the value).
 */
import { DRILL_NAMES, DRILL_SUMMARIES, isDrillName, type DrillName } from '../lib/local/drills/catalog';
import type { DrillSettings } from '../lib/local/drills/session';
import { type OptionSpec, type ParsedValues, numberOption, stringOption, UsageError } from './command';

export const DRILL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  drill: {
    type: 'string',
    multiple: true,
    value: 'NAME',
    description:
      'run a failure drill instead of the plain demo (repeatable; all: every one in turn):\n' +
      DRILL_NAMES.map((n) => `  ${n.padEnd(13)}${DRILL_SUMMARIES[n]}`).join('\n'),
  },
  for: {
    type: 'string',
    value: 'DURATION',
    description: "how long a drill's fault lasts, e.g. 30s, 500ms, 2m (default: 30s)",
  },
  fraction: {
    type: 'string',
    value: 'R',
    description:
      "throttle drill: share of function requests that fail; lost-answer drill: share of the\nfunctions' writes applied and then failed (default: 0.2)",
  },
  region: {
    type: 'string',
    value: 'REGION',
    description: 'outage drills: the region taken down (default: the last one that is no one-way source)',
  },
  'stream-retention': {
    type: 'string',
    value: 'DURATION',
    description: 'outage-long drill: the stream retention modelled (default: half of --for, at least 8s)',
  },
  'visibility-scale': {
    type: 'string',
    value: 'F',
    description:
      "drills: multiplies every queue's visibility timeout, so parked records come back\nwithin the drill (default: 1/60, the parking queues' 360s → 6s)",
  },
};

export interface DrillArgs {
  readonly drills: readonly DrillName[];
  readonly settings: Partial<DrillSettings>;
}

/** The drills asked for and their settings; undefined when no `--drill` was given. */
export function drillArgs(values: ParsedValues): DrillArgs | undefined {
  const names = values.drill === undefined ? [] : ([] as string[]).concat(values.drill as string | string[]);
  const drills = parseDrills(names);
  if (!drills) {
    for (const o of ['for', 'fraction', 'region', 'stream-retention', 'visibility-scale'])
      if (values[o] !== undefined) throw new UsageError(`--${o} is a drill option: use it with --drill`);
    return undefined;
  }
  if (values.keep === true)
    throw new UsageError(
      "--keep cannot be combined with --drill: a drill measures loss against the demo workload's record of what it wrote, which your own traffic does not have",
    );
  if (values.duration !== undefined)
    throw new UsageError('--duration is set by a drill (10s before the fault, --for, 10s after): use --for');
  const forSeconds = durationOption(values, 'for');
  const fraction = numberOption(values, 'fraction', { min: 0.001, max: 1 });
  if (fraction !== undefined && !drills.some((d) => d === 'throttle' || d === 'lost-answer'))
    throw new UsageError(
      `--fraction is for --drill throttle or lost-answer, got --drill ${drills.join(', ')}`,
    );
  const retention = durationOption(values, 'stream-retention');
  if (retention !== undefined && !drills.includes('outage-long'))
    throw new UsageError(`--stream-retention is for --drill outage-long, got --drill ${drills.join(', ')}`);
  const region = stringOption(values, 'region');
  if (region !== undefined && !drills.some((d) => d.startsWith('outage')))
    throw new UsageError(`--region is for the outage drills, got --drill ${drills.join(', ')}`);
  return {
    drills,
    settings: {
      ...(forSeconds !== undefined ? { forSeconds } : {}),
      ...(fraction !== undefined ? { fraction } : {}),
      ...(retention !== undefined ? { streamRetentionSeconds: retention } : {}),
      ...(region !== undefined ? { region } : {}),
      ...visibilityScale(values),
    },
  };
}

function parseDrills(names: readonly string[]): DrillName[] | undefined {
  if (!names.length) return undefined;
  const out: DrillName[] = [];
  for (const name of names) {
    if (name === 'all') out.push(...DRILL_NAMES);
    else if (!isDrillName(name))
      throw new UsageError(
        `--drill needs one of ${[...DRILL_NAMES, 'all'].join(', ')}, got ${JSON.stringify(name)}`,
      );
    else out.push(name);
  }
  return [...new Set(out)];
}

/** `30s`, `500ms`, `2m` or a plain number of seconds, as seconds; at most an hour. */
export function durationOption(values: ParsedValues, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const m = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw) : null;
  const seconds = m
    ? Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm']
    : NaN;
  if (!(seconds > 0 && seconds <= 3600))
    throw new UsageError(
      `--${name} needs a duration from 1ms to 1h like 30s, 500ms or 2m, got ${JSON.stringify(raw)}`,
    );
  return seconds;
}

/** `--visibility-scale 0.05` or `1/20`. */
function visibilityScale(values: ParsedValues): { visibilityScale?: number } {
  const raw = values['visibility-scale'];
  if (raw === undefined) return {};
  const m = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?))?\s*$/.exec(raw) : null;
  const scale = m ? Number(m[1]) / Number(m[2] ?? 1) : NaN;
  if (!(scale > 0 && scale <= 1))
    throw new UsageError(
      `--visibility-scale needs a factor above 0 and at most 1, like 0.05 or 1/60, got ${JSON.stringify(raw)}`,
    );
  return { visibilityScale: scale };
}
