/** `ddb-mirror start --drill NAME`: runs the failure drills and prints their verdict lines. */
import { relative } from 'path';
import type { TableModel } from '../lib/config/model';
import { runDrills } from '../lib/local/drills/run';
import type { LocalPlan } from '../lib/local/plan';
import { backfillCommand } from './backfill';
import { parseCommand, UsageError } from './command';
import type { DrillArgs } from './drill-options';
import type { StartArgs } from './start';

export async function runDrillCommand(
  args: StartArgs,
  drill: DrillArgs,
  mirror: { readonly plan: LocalPlan; readonly tables: readonly TableModel[] },
  out: NodeJS.WritableStream & { isTTY?: boolean },
  signal: AbortSignal,
): Promise<number> {
  const region = drill.settings.region;
  if (region !== undefined && !mirror.plan.regions.includes(region))
    throw new UsageError(
      `--region needs one of ${mirror.plan.regions.join(', ')}, got ${JSON.stringify(region)}`,
    );
  if (args.assembly && drill.drills.includes('region-added'))
    throw new UsageError(
      `--drill region-added synthesizes the config again with a region added: run it from --config, not --assembly ${args.assembly}`,
    );
  const result = await runDrills({
    plan: mirror.plan,
    tables: mirror.tables,
    drills: drill.drills,
    settings: drill.settings,
    ...(args.endpoint ? { endpoint: args.endpoint } : {}),
    ...(args.port ? { port: args.port } : {}),
    workload: {
      ...(args.rate ? { rate: args.rate } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.conflictRate !== undefined ? { conflictRate: args.conflictRate } : {}),
    },
    ...(args.latency ? { crossRegionLatencyMs: args.latency } : {}),
    out,
    signal,
    context: {
      ...(args.assembly ? {} : { configPath: args.config }),
      cwd: process.cwd(),
      backfill: (argv, io) => backfillCommand.run(parseCommand(backfillCommand, argv), io),
    },
  });
  out.write('\nVerdicts:\n');
  for (const v of result.verdicts) out.write(`${v.line}\n`);
  out.write(
    `${result.ok ? '✔ every drill passed' : '✘ a drill failed'}; report: ${relative(process.cwd(), result.files.html)} and ${relative(process.cwd(), result.files.json)}\n`,
  );
  if (signal.aborted) return 130;
  return result.ok ? 0 : 1;
}
