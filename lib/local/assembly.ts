import { resolve as resolvePath } from 'path';
import {
  type KeySchema,
  type MirrorModel,
  regionAccount,
  replicatorRegions,
  tableRegions,
  type TableModel,
} from '../config/model';
import { ADOPTED_TABLE_TYPE } from '../../lambda/adopt/contract';
import { tombstoneTableName } from '../../lambda/contract';
import { readFunction } from './functions';
import { type StackInfo, readStacks } from './manifest';
import { readMapping } from './mappings';
import { AssemblyError, LOCAL_ACCOUNT, LocalPlan } from './plan';
import { AssemblyResources } from './resources';
import { readSchedule } from './schedules';

/**
 * Reads a synthesized CDK cloud assembly (cdk.out) into the {@link LocalPlan} the local mirror runs, and
 * checks it against the config's tables.
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
  const concrete = [
    ...new Set(stacks.flatMap((s) => (s.account && /^\d{12}$/.test(s.account) ? [s.account] : []))),
  ];
  if (concrete.length > 1 && options.account === undefined)
    throw new AssemblyError(
      `The stacks in ${assemblyDir} deploy to ${concrete.length} accounts (${concrete.join(', ')}); ${ONE_ACCOUNT}`,
    );
  const account = options.account ?? concrete[0] ?? LOCAL_ACCOUNT;
  const resources = new AssemblyResources(stacks, account, options.queueEndpoint);
  const ofType = (...types: string[]) => resourcesOfType(stacks, types);

  const tables = ofType('AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable', ADOPTED_TABLE_TYPE).map((r) =>
    resources.table(r.stack, r.id),
  );
  const queues = ofType('AWS::SQS::Queue').map((r) => resources.queue(r.stack, r.id));
  const functions = ofType('AWS::Lambda::Function').map((r) => readFunction(resources, r.stack, r.id));
  const mappings = ofType('AWS::Lambda::EventSourceMapping').map((r) =>
    readMapping(resources, r.stack, r.id, { tables, queues, functions }),
  );
  const schedules = ofType('AWS::Events::Rule').flatMap(
    (r) => readSchedule(resources, r.stack, r.id, functions) ?? [],
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
    schedules,
  };
}

const ONE_ACCOUNT =
  'the local mirror runs one account, and cross-account peers (their roles, AssumeRole) run in AWS only ' +
  '(README, "Cross-account peers"): drop the regions\' account fields to run the same tables locally';

/**
 * The local mirror stands in for one account (one DynamoDB Local, one set of credentials, no STS): a
 * config whose regions deploy to different accounts is refused before anything is synthesized, each
 * account named with its regions.
 */
export function checkOneAccount(model: MirrorModel, source: string): void {
  const regionsByAccount = new Map<string, string[]>();
  for (const { name } of model.regions) {
    const account = regionAccount(model, name);
    if (account !== undefined)
      regionsByAccount.set(account, [...(regionsByAccount.get(account) ?? []), name]);
  }
  if (regionsByAccount.size <= 1) return;
  const accounts = [...regionsByAccount].map(([account, regions]) => `${account}: ${regions.join(', ')}`);
  throw new AssemblyError(
    `${source} puts its regions in ${regionsByAccount.size} accounts (${accounts.join('; ')}); ${ONE_ACCOUNT}`,
  );
}

function resourcesOfType(stacks: readonly StackInfo[], types: readonly string[]) {
  return stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources ?? {})
      .filter(([, r]) => types.includes(r.Type))
      .map(([id]) => ({ stack, id })),
  );
}

/**
 * Checks that the assembly holds what the config describes: in each region of each table, the table with
 * the same key, its tombstone table, and (where it replicates from) a mapping reading its stream. An
 * assembly synthesized from another config, or by an older version, fails here rather than mid-run.
 */
export function checkAssemblyTables(plan: LocalPlan, tables: readonly TableModel[]): void {
  const problems = tables.flatMap((t) => tableRegions(t).flatMap((region) => tableProblems(plan, t, region)));
  if (problems.length)
    throw new AssemblyError(
      `The assembly in ${plan.assemblyDir} does not match the config (synthesize it again from this config): ${problems.join('; ')}`,
    );
}

function tableProblems(plan: LocalPlan, t: TableModel, region: string): string[] {
  const find = (name: string) => plan.tables.find((p) => p.name === name && p.region === region);
  const table = find(t.name);
  const problems: string[] = [];
  if (!table) problems.push(`table ${t.name} is missing in ${region}`);
  else if (keyText(table.key) !== keyText(t.key))
    problems.push(
      `table ${t.name} in ${region} has key ${keyText(table.key)}, the config says ${keyText(t.key)}`,
    );
  else if (
    replicatorRegions(t).includes(region) &&
    !plan.mappings.some((m) => m.source.kind === 'stream' && m.source.table === table)
  )
    problems.push(`no event source mapping reads the stream of ${t.name} in ${region}`);
  if (!find(tombstoneTableName(t.name)))
    problems.push(`table ${tombstoneTableName(t.name)} is missing in ${region}`);
  return problems;
}

function keyText(key: KeySchema): string {
  const part = (a: { name: string; type: string }) => `${a.name} (${a.type})`;
  return key.sortKey ? `${part(key.partitionKey)} + ${part(key.sortKey)}` : part(key.partitionKey);
}
