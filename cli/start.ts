/**
 * `ddb-mirror start` (what `npm start` runs): synthesize the CDK app (or read `--assembly DIR`), run
 * every region on DynamoDB Local with the real replicator bundles, drive the demo workload, verify and
 * report.
 */
import { rmSync } from 'fs';
import { join, relative } from 'path';
import { describeTables, keepLines, resultLines } from '../lib/local/cli-text';
import type { RunResult } from '../lib/local/mirror';
import { type Command, type CommandIo, numberOption, stringOption, UsageError } from './command';
import { type DrillArgs, drillArgs, DRILL_OPTIONS } from './drill-options';

export const startCommand: Command = {
  name: 'start',
  summary: 'run every region on DynamoDB Local with the real replicators, drive a demo workload, verify',
  description:
    'Runs every configured region on DynamoDB Local with the real replicator bundles, drives a demo\n' +
    'workload, verifies that all regions hold the same items and writes .ddb-mirror/report.{json,html}.\n' +
    'With --drill, rehearses a failure on it instead (one mirror session per drill) and prints a verdict line\n' +
    'per drill: drill=NAME lost=… diverged=… recovered_in=… max_lag=….\n' +
    'Exit code: 0 when every region holds the same items (with --drill: nothing lost or diverged in any\n' +
    'drill and every drill passed its own checks), 1 otherwise.',
  options: {
    config: { type: 'string', value: 'PATH', description: 'config file (default: mirror.config.yaml)' },
    assembly: {
      type: 'string',
      value: 'DIR',
      description: 'use a cloud assembly already synthesized from that config (e.g. cdk.out)',
    },
    endpoint: {
      type: 'string',
      value: 'URL',
      description: 'use a running DynamoDB Local instead of starting one',
    },
    port: {
      type: 'string',
      value: 'N',
      description: 'port for the DynamoDB Local started here (default: a free port)',
    },
    rate: { type: 'string', value: 'N', description: 'workload operations per second (default: 20)' },
    duration: { type: 'string', value: 'S', description: 'workload duration in seconds (default: 15)' },
    seed: { type: 'string', value: 'N', description: 'workload seed (default: 1)' },
    'conflict-rate': {
      type: 'string',
      value: 'R',
      description:
        'share of multi-active operations that save one item in two regions at once\n(default: 0.15; 0 for none)',
    },
    latency: {
      type: 'string',
      value: 'MS',
      description:
        'added to every call a replicator makes to another region, as a cross-region\nround trip would (default: 0)',
    },
    keep: { type: 'boolean', description: 'keep everything running after the demo, until Ctrl-C' },
    adopt: {
      type: 'boolean',
      description:
        'start from existing tables: each table (in its first region, unless the config\nnames existing regions) is created with items before the mirror starts, then\nadopted, backfilled and verified',
    },
    ...DRILL_OPTIONS,
  },
  run: (values, io) => start(startArgs(values), io),
};

export interface StartArgs {
  readonly config: string;
  readonly assembly?: string;
  readonly endpoint?: string;
  readonly port?: number;
  readonly rate?: number;
  readonly duration?: number;
  readonly seed?: number;
  readonly conflictRate?: number;
  readonly latency?: number;
  readonly keep: boolean;
  /** `--adopt`: the tables exist (with items) before the mirror starts (lib/local/adoption.ts). */
  readonly adopt: boolean;
  /** Set when `--drill` was given. */
  readonly drill?: DrillArgs;
}

/** Checks the options together; every mistake is a usage error naming the option and value. */
export function startArgs(values: Parameters<Command['run']>[0]): StartArgs {
  const endpoint = stringOption(values, 'endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint))
    throw new UsageError(
      `--endpoint needs a URL like http://127.0.0.1:8000, got ${JSON.stringify(endpoint)}`,
    );
  const port = numberOption(values, 'port', { integer: true, min: 1, max: 65535 });
  if (endpoint && port)
    throw new UsageError('--port is for the DynamoDB Local started here; with --endpoint it is not used');
  const adopt = values.adopt === true;
  if (adopt && values.assembly !== undefined)
    throw new UsageError(
      '--adopt synthesizes the app from the config it adopts with; it takes no --assembly',
    );
  if (adopt && values.drill !== undefined)
    throw new UsageError('--adopt runs the demo on existing tables; run --drill without it');
  return {
    config: stringOption(values, 'config') ?? 'mirror.config.yaml',
    assembly: stringOption(values, 'assembly'),
    endpoint,
    port,
    rate: numberOption(values, 'rate', { min: 0.1 }),
    duration: numberOption(values, 'duration', { min: 0.1 }),
    seed: numberOption(values, 'seed', { integer: true, min: 0 }),
    conflictRate: numberOption(values, 'conflict-rate', { min: 0, max: 0.65 }),
    latency: numberOption(values, 'latency', { integer: true, min: 0 }),
    keep: values.keep === true,
    adopt,
    drill: drillArgs(values),
  };
}

async function start(args: StartArgs, io: CommandIo): Promise<number> {
  // Loaded here, not above: `ddb-mirror start --help` needs none of the mirror (bin/ddb-mirror.ts).
  const [{ loadConfig }, { checkOneAccount, readAssembly }, { runLocalMirror }, { runDrillCommand }] =
    await Promise.all([
      import('../lib/config/load'),
      import('../lib/local/assembly'),
      import('../lib/local/mirror'),
      import('./drill'),
    ]);
  const out = io.out;
  const interrupt = onInterrupt(out);
  const adoption = args.adopt ? await import('../lib/local/adoption') : undefined;
  const config = adoption
    ? adoption.adoptionConfig(args.config, join('.ddb-mirror', 'adopt.config.yaml'))
    : { path: args.config, model: loadConfig(args.config) };
  const { model } = config;
  checkOneAccount(model, args.config);
  const { tables } = model;
  if (config.path !== args.config) out.write(`Adopting existing tables: ${config.path}\n`);
  const plan = readAssembly(args.assembly ?? (await synthesizeFrom(config.path, out)));
  for (const line of describeTables(tables)) out.write(`  ${line}\n`);
  if (args.drill) return runDrillCommand(args, args.drill, { plan, tables }, out, interrupt.signal);
  const result = await runLocalMirror({
    ...(adoption ? { hooks: adoption.adoptionHooks(plan, tables, { seeded: [], backfills: [] }) } : {}),
    plan,
    tables,
    endpoint: args.endpoint,
    port: args.port,
    workload: {
      ...(args.rate ? { rate: args.rate } : {}),
      ...(args.duration ? { durationSeconds: args.duration } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.conflictRate !== undefined ? { conflictRate: args.conflictRate } : {}),
    },
    ...(args.latency ? { crossRegionLatencyMs: args.latency } : {}),
    out,
    keep: args.keep,
    signal: interrupt.signal,
  });
  for (const line of resultLines(result)) out.write(`${line}\n`);
  if (result.stop) await keepRunning(result, plan.regions, tables[0]?.name, interrupt, out);
  if (interrupt.signal.aborted) return 130;
  return result.report.ok ? 0 : 1;
}

async function synthesizeFrom(configPath: string, out: NodeJS.WritableStream): Promise<string> {
  out.write(`Synthesizing the CDK app from ${configPath}…\n`);
  const t = Date.now();
  rmSync(join('.ddb-mirror', 'cdk.out'), { recursive: true, force: true });
  const { synthesize } = await import('../lib/local/synth');
  const dir = await synthesize({ configPath, outdir: join('.ddb-mirror', 'cdk.out') });
  out.write(`  synthesized in ${((Date.now() - t) / 1000).toFixed(1)}s → ${relative(process.cwd(), dir)}\n`);
  return dir;
}

interface Interrupt {
  readonly signal: AbortSignal;
  /** What a Ctrl-C stops once the run is over but kept (--keep). */
  stopKept?: () => Promise<void>;
}

/** The first Ctrl-C stops the run cleanly; a second one exits at once. */
function onInterrupt(out: NodeJS.WritableStream): Interrupt {
  const controller = new AbortController();
  const interrupt: Interrupt = { signal: controller.signal };
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(130);
    out.write(`\n${signal}: stopping every process…\n`);
    controller.abort();
    if (interrupt.stopKept) void interrupt.stopKept().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return interrupt;
}

/** --keep: everything stays up until Ctrl-C. */
async function keepRunning(
  result: RunResult,
  regions: readonly string[],
  table: string | undefined,
  interrupt: Interrupt,
  out: NodeJS.WritableStream,
): Promise<void> {
  interrupt.stopKept = result.stop;
  for (const line of keepLines(result.endpoint, regions, table, result.controlEndpoint))
    out.write(`${line}\n`);
  if (interrupt.signal.aborted) await result.stop?.();
  else await new Promise<never>(() => undefined);
}
