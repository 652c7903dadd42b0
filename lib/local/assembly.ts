import { resolve as resolvePath } from 'path';
import { readFunction } from './functions';
import { type StackInfo, readStacks } from './manifest';
import { readMapping } from './mappings';
import {
  AssemblyError,
  LOCAL_ACCOUNT,
  LocalPlan,
  PlanFunction,
  PlanMapping,
  PlanMirrorTable,
  PlanTable,
} from './plan';
import { AssemblyResources } from './resources';

/**
 * Reads a synthesized CDK cloud assembly (cdk.out) into the {@link LocalPlan} the local mirror runs.
 */

export interface ReadAssemblyOptions {
  /** @default - the account in the stack environment when concrete, else {@link LOCAL_ACCOUNT} */
  readonly account?: string;
  /**
   * Base URL of the local SQS endpoint; queue URLs become `BASE/ACCOUNT/NAME`.
   * @default - `https://sqs.REGION.amazonaws.com` (the deployed shape; the SDK sends to its configured endpoint anyway)
   */
  readonly queueEndpoint?: string;
}

export function readAssembly(dir: string, options: ReadAssemblyOptions = {}): LocalPlan {
  const assemblyDir = resolvePath(dir);
  const stacks = readStacks(assemblyDir);
  if (!stacks.length)
    throw new AssemblyError(`The assembly in ${assemblyDir} holds no CloudFormation stacks`);
  const concrete = stacks.map((s) => s.account).find((a) => a && /^\d{12}$/.test(a));
  const account = options.account ?? concrete ?? LOCAL_ACCOUNT;
  const resources = new AssemblyResources(stacks, account, options.queueEndpoint);
  const ofType = (...types: string[]) => resourcesOfType(stacks, types);

  const tables = ofType('AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable').map((r) =>
    resources.table(r.stack, r.id),
  );
  const queues = ofType('AWS::SQS::Queue').map((r) => resources.queue(r.stack, r.id));
  const functions = ofType('AWS::Lambda::Function').map((r) => readFunction(resources, r.stack, r.id));
  const mappings = ofType('AWS::Lambda::EventSourceMapping').map((r) =>
    readMapping(resources, r.stack, r.id, { tables, queues, functions }),
  );
  return {
    assemblyDir,
    account,
    regions: [...new Set([...tables, ...functions].map((r) => r.region))],
    stacks: stacks.map((s) => ({ name: s.name, region: s.region, templateFile: s.templateFile })),
    tables,
    queues,
    functions,
    mappings,
    mirrorTables: deriveMirrorTables(tables, functions, mappings),
  };
}

function resourcesOfType(stacks: readonly StackInfo[], types: readonly string[]) {
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources ?? {})
      .filter(([, r]) => types.includes(r.Type))
      .map(([id]) => ({ stack, id })),
  );
}

/** The mirrored tables as the replicators see them: their DDBM_SETTINGS are the source of truth. */
function deriveMirrorTables(
  tables: readonly PlanTable[],
  functions: readonly PlanFunction[],
  mappings: readonly PlanMapping[],
): PlanMirrorTable[] {
  const replicators = functions.filter(
    (f) =>
      f.settings &&
      mappings.some((m) => m.functionName === f.name && m.region === f.region && m.source.kind === 'stream'),
  );
  const byTable = new Map<string, PlanFunction[]>();
  for (const f of replicators) byTable.set(f.settings!.table, [...(byTable.get(f.settings!.table) ?? []), f]);
  const out: PlanMirrorTable[] = [];
  for (const [name, fns] of byTable) {
    const s = fns[0].settings!;
    const regions = [
      ...new Set(fns.flatMap((f) => [f.settings!.region, ...f.settings!.peers.map((p) => p.region)])),
    ];
    const source = s.mode === 'one-way' ? s.region : undefined;
    const ordered = source ? [source, ...regions.filter((r) => r !== source)] : regions;
    const missing = ordered.filter((r) => !tables.some((t) => t.name === name && t.region === r));
    if (missing.length)
      throw new AssemblyError(
        `Table ${name} is replicated to ${missing.join(', ')} but the assembly has no such table there`,
      );
    const table = tables.find((t) => t.name === name)!;
    out.push({
      name,
      mode: s.mode,
      ...(source ? { source } : {}),
      regions: ordered,
      key: table.key,
      ...(s.mode === 'multi-active' ? { versionAttribute: s.versionAttribute } : {}),
      excludeAttributes: s.excludeAttributes,
      ...(s.ttl
        ? { ttlAttribute: s.ttl.attribute }
        : table.ttlAttribute
          ? { ttlAttribute: table.ttlAttribute }
          : {}),
      tombstoneTable: s.tombstoneTable,
    });
  }
  return out;
}

/** Short human summary of a plan (for the CLI and the report). */
export function describePlan(plan: LocalPlan): string[] {
  return plan.mirrorTables.map((t) =>
    t.mode === 'one-way'
      ? `${t.name}: one-way ${t.source} → ${t.regions.filter((r) => r !== t.source).join(', ')}`
      : `${t.name}: multi-active in ${t.regions.join(', ')}`,
  );
}
