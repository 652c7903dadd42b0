import type { TemplateStack } from './intrinsics';
import { AssemblyError, PlanFunction, PlanSchedule } from './plan';
import type { AssemblyResources } from './resources';

/**
 * An `AWS::Events::Rule` with a `ScheduleExpression` (the divergence samplers' clock): its expression
 * and the functions it invokes. Rules that match events instead of a schedule are not read: nothing of
 * the app's sends such events.
 */
export function readSchedule(
  resources: AssemblyResources,
  stack: TemplateStack,
  id: string,
  functions: readonly PlanFunction[],
): PlanSchedule | undefined {
  const where = `Stack ${stack.name}, rule ${id}`;
  const p = resources.resolver.resolve(
    stack,
    resources.resolver.resource(stack, id).Properties ?? {},
    where,
  ) as { ScheduleExpression?: unknown; State?: unknown; Targets?: unknown };
  if (p.ScheduleExpression === undefined) return undefined;
  if (typeof p.ScheduleExpression !== 'string' || !/^(rate|cron)\(.+\)$/.test(p.ScheduleExpression))
    throw new AssemblyError(
      `${where}: ScheduleExpression must be rate(...) or cron(...), got ${JSON.stringify(p.ScheduleExpression)}`,
    );
  const targets = Array.isArray(p.Targets) ? (p.Targets as { Arn?: unknown }[]) : [];
  const functionNames = targets.map((t, i) => {
    const fn = functions.find((f) => f.arn === t.Arn);
    if (!fn)
      throw new AssemblyError(
        `${where}: Targets[${i}].Arn ${JSON.stringify(t.Arn)} is not a function of the assembly`,
      );
    return fn.name;
  });
  return {
    region: stack.region,
    stack: stack.name,
    logicalId: id,
    expression: p.ScheduleExpression,
    enabled: p.State === undefined || p.State === 'ENABLED',
    functionNames,
  };
}
