import type { TemplateStack } from './intrinsics';
import { parseMappingProperties } from './mapping-settings';
import { AssemblyError, MappingSource, PlanFunction, PlanMapping, PlanQueue, PlanTable } from './plan';
import type { AssemblyResources } from './resources';

/** What a mapping can point at: the tables, queues and functions already read from the assembly. */
export interface MappingTargets {
  readonly tables: readonly PlanTable[];
  readonly queues: readonly PlanQueue[];
  readonly functions: readonly PlanFunction[];
}

/**
 * An `AWS::Lambda::EventSourceMapping`: its source (a table stream or a queue of the assembly), its
 * function, its on-failure queue, and its settings, parsed and checked here once.
 */
export function readMapping(
  resources: AssemblyResources,
  stack: TemplateStack,
  id: string,
  targets: MappingTargets,
): PlanMapping {
  const where = `Stack ${stack.name}, event source mapping ${id}`;
  const p = resources.resolver.resolve(
    stack,
    resources.resolver.resource(stack, id).Properties ?? {},
    where,
  ) as Record<string, unknown>;
  const source = mappingSource(p.EventSourceArn, targets, where);
  const settings = mappingSettings(p, source.kind, where);
  const onFailure = onFailureQueue(settings.onFailureDestination, targets.queues, where);
  return {
    region: stack.region,
    stack: stack.name,
    logicalId: id,
    functionName: mappedFunction(p.FunctionName, stack.region, targets.functions, where).name,
    source,
    ...settings,
    ...(onFailure ? { onFailure } : {}),
  };
}

function mappingSettings(p: Record<string, unknown>, kind: MappingSource['kind'], where: string) {
  try {
    return parseMappingProperties(p, kind);
  } catch (e) {
    throw new AssemblyError(`${where}: ${(e as Error).message}`);
  }
}

function mappingSource(arn: unknown, targets: MappingTargets, where: string): MappingSource {
  const table = targets.tables.find((t) => t.streamArn === arn);
  if (table) return { kind: 'stream', table };
  const queue = targets.queues.find((q) => q.arn === arn);
  if (queue) return { kind: 'queue', queue };
  throw new AssemblyError(
    `${where}: EventSourceArn ${JSON.stringify(arn)} is neither a table stream nor a queue of the assembly`,
  );
}

function mappedFunction(
  ref: unknown,
  region: string,
  functions: readonly PlanFunction[],
  where: string,
): PlanFunction {
  const fn = functions.find(
    (f) =>
      f.name === ref ||
      f.arn === ref ||
      (f.region === region && typeof ref === 'string' && ref.endsWith(`:function:${f.name}`)),
  );
  if (!fn)
    throw new AssemblyError(
      `${where}: FunctionName ${JSON.stringify(ref)} is not a function of the assembly`,
    );
  return fn;
}

function onFailureQueue(
  arn: string | undefined,
  queues: readonly PlanQueue[],
  where: string,
): PlanQueue | undefined {
  if (arn === undefined) return undefined;
  const queue = queues.find((q) => q.arn === arn);
  if (!queue)
    throw new AssemblyError(
      `${where}: on-failure destination ${arn} is not a queue of the assembly (only SQS is emulated)`,
    );
  return queue;
}
