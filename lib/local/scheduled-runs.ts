import type { SampleSummary } from '../../lambda/contract';
import { describeError } from './error-text';
import type { LocalPlan, PlanSchedule } from './plan';

/**
 * The local mirror's EventBridge: each enabled schedule of the assembly invokes its functions once,
 * with the event a scheduled rule sends, when the workload starts (a rate of minutes would not come
 * round in a demo run). The divergence samplers run this way: they watch the streams while the
 * workload writes, then compare the regions.
 */

export interface ScheduledRun {
  readonly rule: string;
  readonly region: string;
  readonly expression: string;
  readonly functionName: string;
  /** What the function returned (a sampler's summary). */
  readonly result?: unknown;
  /** The invocation failed. */
  readonly error?: string;
}

/** The event EventBridge sends for a scheduled rule. */
export function scheduledEvent(schedule: PlanSchedule, account: string, at: Date): Record<string, unknown> {
  return {
    version: '0',
    id: `${schedule.stack}-${schedule.logicalId}-${at.getTime()}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: schedule.region,
    resources: [`arn:aws:events:${schedule.region}:${account}:rule/${schedule.stack}-${schedule.logicalId}`],
    detail: {},
  };
}

/** Invokes every enabled schedule's functions once, all at the same time; never throws. */
export async function runSchedulesOnce(
  plan: LocalPlan,
  invoke: (functionName: string, event: unknown) => Promise<unknown>,
  now: () => Date = () => new Date(),
): Promise<ScheduledRun[]> {
  const runs = plan.schedules
    .filter((s) => s.enabled)
    .flatMap((s) =>
      s.functionNames.map(async (functionName): Promise<ScheduledRun> => {
        const base = { rule: s.logicalId, region: s.region, expression: s.expression, functionName };
        try {
          return { ...base, result: await invoke(functionName, scheduledEvent(s, plan.account, now())) };
        } catch (e) {
          return { ...base, error: describeError(e) };
        }
      }),
    );
  return Promise.all(runs);
}

/** A sampler's summary, when the function returned one. */
export function samplerSummary(run: ScheduledRun): SampleSummary | undefined {
  const r = run.result as Partial<SampleSummary> | undefined;
  return r && typeof r.compared === 'number' && typeof r.divergent === 'number'
    ? (r as SampleSummary)
    : undefined;
}

/** One line per run: `divergence sampler Stories in us-east-1: 50 keys compared (…): 0 divergent`. */
export function describeScheduledRun(run: ScheduledRun): string {
  if (run.error) return `✘ scheduled ${run.functionName} (${run.expression}) failed: ${run.error}`;
  const s = samplerSummary(run);
  if (!s) return `scheduled ${run.functionName} (${run.expression}) ran`;
  const mark = s.divergent ? '✘' : '✓';
  return (
    `${mark} divergence sampler ${s.table} in ${s.region}: ${s.compared} keys compared across the regions ` +
    `(${s.live} from live writes, ${s.scanned} from a scan segment): ${s.divergent} divergent`
  );
}
