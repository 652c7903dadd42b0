import { join, resolve } from 'path';
import type { TableModel } from '../../config/model';
import { startEngine, type Engine } from '../engine';
import { runLocalMirror } from '../mirror';
import type { LocalPlan } from '../plan';
import type { ViewStream } from '../view';
import { WORKLOAD_DEFAULTS, type WorkloadOptions } from '../workload';
import type { DrillName } from './catalog';
import { crashScenario } from './crash';
import { dupStormScenario } from './dup-storm';
import { lostAnswerScenario } from './lost-answer';
import { outageScenario } from './outage';
import { poisonScenario } from './poison';
import { drillSection, writeDrillsReport, type DrillSection } from './report';
import { regionAddedScenario } from './region-added';
import {
  DRILL_DEFAULTS,
  DrillSession,
  type DrillContext,
  type DrillSettings,
  type Scenario,
} from './session';
import { throttleScenario } from './throttle';
import { concludeDrill, type DrillVerdict } from './verdict';

export interface DrillRunOptions {
  readonly plan: LocalPlan;
  readonly tables: readonly TableModel[];
  /** Run in turn, each on its own mirror session (fresh tables, functions and event sources). */
  readonly drills: readonly DrillName[];
  readonly settings?: Partial<DrillSettings>;
  /** A running DynamoDB Local; otherwise one is started for all the drills and stopped after. */
  readonly endpoint?: string;
  readonly port?: number;
  /** The demo workload's rate, seed and conflict rate; its duration is the drill's (lead + fault + tail). */
  readonly workload?: Partial<Omit<WorkloadOptions, 'durationSeconds'>>;
  readonly crossRegionLatencyMs?: number;
  /** Combined report here, each drill's own run under `drills/NAME/`. @default '.ddb-mirror' */
  readonly outDir?: string;
  readonly out?: ViewStream;
  readonly signal?: AbortSignal;
  /** Per drill, after the fault and the catch-up. @default 60000 */
  readonly drainTimeoutMs?: number;
  /** The config file, its directory, and the backfill command (region-added). */
  readonly context?: DrillContext;
}

export interface DrillsResult {
  readonly verdicts: readonly DrillVerdict[];
  readonly files: { readonly json: string; readonly html: string };
  /** Every drill passed: nothing lost, nothing diverged, and each one's own checks held. */
  readonly ok: boolean;
}

export function scenarioFor(name: DrillName): Scenario {
  switch (name) {
    case 'outage':
      return outageScenario(false);
    case 'outage-long':
      return outageScenario(true);
    case 'throttle':
      return throttleScenario;
    case 'lost-answer':
      return lostAnswerScenario();
    case 'poison':
      return poisonScenario();
    case 'crash':
      return crashScenario();
    case 'dup-storm':
      return dupStormScenario;
    case 'region-added':
      return regionAddedScenario();
  }
}

/** Runs the drills in turn and writes the combined report; each verdict line is printed as it comes. */
export async function runDrills(options: DrillRunOptions): Promise<DrillsResult> {
  const outDir = resolve(options.outDir ?? '.ddb-mirror');
  const startedAt = Date.now();
  const engine = await startEngine({ endpoint: options.endpoint, port: options.port });
  const verdicts: DrillVerdict[] = [];
  const sections: DrillSection[] = [];
  try {
    for (const [i, name] of options.drills.entries()) {
      if (options.signal?.aborted) break;
      const { verdict, section } = await runOne(
        name,
        `${i + 1}/${options.drills.length}`,
        engine,
        outDir,
        options,
      );
      verdicts.push(verdict);
      sections.push(section);
    }
  } finally {
    await engine.stop();
  }
  const ok = verdicts.length === options.drills.length && verdicts.every((v) => v.ok);
  const files = writeDrillsReport({ startedAt, ok, sections }, outDir);
  return { verdicts, files, ok };
}

async function runOne(
  name: DrillName,
  position: string,
  engine: Engine,
  outDir: string,
  options: DrillRunOptions,
): Promise<{ verdict: DrillVerdict; section: DrillSection }> {
  const settings: DrillSettings = { ...DRILL_DEFAULTS, ...(options.settings ?? {}) };
  const scenario = scenarioFor(name);
  const seed = options.workload?.seed ?? WORKLOAD_DEFAULTS.seed;
  const session = new DrillSession(
    scenario,
    settings,
    options.plan,
    options.tables,
    seed,
    options.signal,
    options.context,
  );
  const out = options.out;
  const durationSeconds = settings.leadSeconds + scenario.windowSeconds(settings) + settings.tailSeconds;
  out?.write(`\nDrill ${name} (${position}): ${scenario.plan(session)}\n`);
  try {
    const result = await runLocalMirror({
      plan: options.plan,
      tables: options.tables,
      endpoint: engine.endpoint,
      workload: { ...(options.workload ?? {}), durationSeconds },
      outDir: join(outDir, 'drills', name),
      ...(out ? { out } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.crossRegionLatencyMs ? { crossRegionLatencyMs: options.crossRegionLatencyMs } : {}),
      ...(options.drainTimeoutMs ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
      // Every write is sampled, and no sample gives up before the drill's recovery bound.
      lagSampling: {
        every: 1,
        maxPending: 20000,
        timeoutMs: durationSeconds * 1000 + settings.recoveryTimeoutMs,
      },
      hooks: session.hooks(),
      // The divergence samplers read every region: a drill that takes one down would fail them by
      // design, and their reads weigh on the lag the drill measures. The drill's own audit replaces them.
      runSchedules: false,
    });
    const verdict = await concludeDrill(session, result);
    out?.write(`${verdict.line}\n`);
    for (const p of verdict.problems) out?.write(`  ✘ ${p}\n`);
    return { verdict, section: drillSection(session, verdict, result) };
  } finally {
    session.close();
  }
}
