#!/usr/bin/env -S npx tsx
/**
 * ddb-mirror CLI. `start` (the default): synthesize the CDK app (or read `--assembly DIR`), run every
 * region on DynamoDB Local with the real replicator bundles, drive the demo workload, verify and report.
 * Thin on purpose: the work is in lib/local/.
 */
import { rmSync } from 'fs';
import { join, relative } from 'path';
import { loadConfig } from '../lib/config/load';
import { readAssembly } from '../lib/local/assembly';
import { describeTables, keepLines, resultLines } from '../lib/local/cli-text';
import { EngineError } from '../lib/local/engine';
import { MirrorError, RunResult, runLocalMirror } from '../lib/local/mirror';
import { AssemblyError } from '../lib/local/plan';
import { synthesize } from '../lib/local/synth';

// The SDK is pinned through package-lock.json (docs/platform.md#node-and-sdk: releases after January 2027 need Node 22);
// its Node 20 notice is known and would only clutter the run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface StartArgs {
  readonly command: 'start';
  readonly config?: string;
  readonly assembly?: string;
  readonly endpoint?: string;
  readonly port?: number;
  readonly rate?: number;
  readonly duration?: number;
  readonly seed?: number;
  readonly conflictRate?: number;
  readonly latency?: number;
  readonly keep: boolean;
  readonly help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: ddb-mirror start [options]

Runs every configured region on DynamoDB Local with the real replicator bundles, drives a demo
workload, verifies that all regions hold the same items and writes .ddb-mirror/report.{json,html}.

Options:
  --config PATH     config file (default: mirror.config.yaml)
  --assembly DIR    use a cloud assembly already synthesized from that config (e.g. cdk.out)
  --endpoint URL    use a running DynamoDB Local instead of starting one
  --port N          port for the DynamoDB Local started here (default: a free port)
  --rate N          workload operations per second (default: 20)
  --duration S      workload duration in seconds (default: 15)
  --seed N          workload seed (default: 1)
  --conflict-rate R share of multi-active operations that save one item in two regions at
                    once (default: 0.15; 0 for none)
  --latency MS      added to every call a replicator makes to another region, as a
                    cross-region round trip would (default: 0)
  --keep            keep everything running after the demo, until Ctrl-C
  -h, --help        this text

Exit code: 0 when every region holds the same items, 1 otherwise.`;

export function parseArgs(argv: readonly string[]): StartArgs {
  const args = [...argv];
  let command = 'start';
  if (args[0] && !args[0].startsWith('-')) command = args.shift()!;
  if (command !== 'start') throw new UsageError(`Unknown command ${command}: the only command is start`);
  const out: { -readonly [K in keyof StartArgs]?: StartArgs[K] } = {
    command: 'start',
    keep: false,
    help: false,
  };
  const num = (flag: string, v: string | undefined, integer: boolean, min: number): number => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n)))
      throw new UsageError(
        `${flag} needs ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
      );
    return n;
  };
  const str = (flag: string, v: string | undefined): string => {
    if (!v || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  while (args.length) {
    const raw = args.shift()!;
    const [flag, inline] =
      raw.startsWith('--') && raw.includes('=')
        ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)]
        : [raw, undefined];
    const value = () => inline ?? args.shift();
    switch (flag) {
      case '--config':
        out.config = str(flag, value());
        break;
      case '--assembly':
        out.assembly = str(flag, value());
        break;
      case '--endpoint': {
        const v = str(flag, value());
        if (!/^https?:\/\/[^/]+/.test(v))
          throw new UsageError(`--endpoint needs a URL like http://127.0.0.1:8000, got ${JSON.stringify(v)}`);
        out.endpoint = v;
        break;
      }
      case '--port':
        out.port = num(flag, value(), true, 1);
        if (out.port > 65535) throw new UsageError(`--port needs a port number up to 65535, got ${out.port}`);
        break;
      case '--rate':
        out.rate = num(flag, value(), false, 0.1);
        break;
      case '--duration':
        out.duration = num(flag, value(), false, 0.1);
        break;
      case '--seed':
        out.seed = num(flag, value(), true, 0);
        break;
      case '--conflict-rate':
        out.conflictRate = num(flag, value(), false, 0);
        if (out.conflictRate > 0.65)
          throw new UsageError(`--conflict-rate needs a share from 0 to 0.65, got ${out.conflictRate}`);
        break;
      case '--latency':
        out.latency = num(flag, value(), true, 0);
        break;
      case '--keep':
        out.keep = true;
        break;
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        throw new UsageError(`Unknown option ${raw}`);
    }
  }
  if (out.endpoint && out.port)
    throw new UsageError('--port is for the DynamoDB Local started here; with --endpoint it is not used');
  return out as StartArgs;
}

/** The SDK's notice that its 2027 releases need Node 22 (docs/platform.md#node-and-sdk: pinned) says nothing about this run. */
function quietNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

async function main(argv: readonly string[]): Promise<number> {
  quietNodeVersionNotice();
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = process.stdout;
  const interrupt = onInterrupt(out);
  const configPath = args.config ?? 'mirror.config.yaml';
  const { tables } = loadConfig(configPath);
  const plan = readAssembly(args.assembly ?? (await synthesizeFrom(configPath, out)));
  for (const line of describeTables(tables)) out.write(`  ${line}\n`);
  const result = await runLocalMirror({
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
  for (const line of keepLines(result.endpoint, regions, table)) out.write(`${line}\n`);
  if (interrupt.signal.aborted) await result.stop?.();
  else await new Promise<never>(() => undefined);
}

const KNOWN = [UsageError, EngineError, AssemblyError, MirrorError];

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      // Mistakes the user can fix get one line; anything else keeps its stack for a bug report.
      const known = KNOWN.some((k) => e instanceof k) || e?.name === 'ConfigError';
      process.stderr.write(
        known ? `ddb-mirror: ${e.message}\n` : `ddb-mirror: unexpected error\n${e?.stack ?? e}\n`,
      );
      if (e instanceof UsageError) process.stderr.write(`Run ddb-mirror --help for the options.\n`);
      process.exit(known ? 1 : 2);
    },
  );
}
