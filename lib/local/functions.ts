import { existsSync, statSync } from 'fs';
import { join, resolve as resolvePath } from 'path';
import { decodeSamplerSettings, decodeSettings, SETTINGS_ENV } from '../../lambda/contract';
import type { StackInfo } from './manifest';
import { AssemblyError, PlanFunction } from './plan';
import type { AssemblyResources } from './resources';
import { readRolePolicies } from './role-policies';

/** An `AWS::Lambda::Function` as the local run hosts it: its bundle, environment and role. */
export function readFunction(resources: AssemblyResources, stack: StackInfo, id: string): PlanFunction {
  const res = resources.resolver.resource(stack, id);
  const p = res.Properties ?? {};
  const where = `Stack ${stack.name}, function ${id}`;
  const name = resources.functionName(stack, id);
  const assetDir = findAssetDir(stack, res.Metadata, p.Code as Record<string, unknown> | undefined, where);
  const handler = String(p.Handler ?? '');
  if (!handler) throw new AssemblyError(`${where} has no Handler`);
  const handlerFile = handler.replace(/\.[^.]+$/, '');
  if (!['.js', '.mjs', '.cjs'].some((ext) => existsSync(join(assetDir, handlerFile + ext))))
    throw new AssemblyError(
      `${where}: handler ${handler} has no ${handlerFile}.js (or .mjs/.cjs) in ${assetDir}`,
    );
  const environment = readEnvironment(resources, stack, p.Environment, where);
  const settings = readSettings(environment, where);
  return {
    region: stack.region,
    stack: stack.name,
    logicalId: id,
    name,
    arn: `arn:aws:lambda:${stack.region}:${resources.account}:function:${name}`,
    assetDir,
    handler,
    ...(p.Runtime ? { runtime: String(p.Runtime) } : {}),
    environment,
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMB: Number(p.MemorySize ?? 128),
    ...readRolePolicies(resources, stack, p.Role, where),
    ...settings,
  };
}

function readEnvironment(
  resources: AssemblyResources,
  stack: StackInfo,
  environment: unknown,
  where: string,
): Record<string, string> {
  const vars = (environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [
      k,
      resources.resolver.str(stack, v, `${where}, environment variable ${k}`),
    ]),
  );
}

/**
 * The settings the function carries (a sampler's say `kind: 'sampler'`, a replicator's or parked-record
 * consumer's do not), checked as the function will check them.
 */
function readSettings(
  environment: Record<string, string>,
  where: string,
): Pick<PlanFunction, 'settings' | 'samplerSettings'> {
  const raw = environment[SETTINGS_ENV];
  if (raw === undefined || kindOf(raw) === 'adopt') return {};
  try {
    return isSampler(raw)
      ? { samplerSettings: decodeSamplerSettings(raw) }
      : { settings: decodeSettings(raw) };
  } catch (e) {
    throw new AssemblyError(`${where}: ${(e as Error).message}`);
  }
}

function isSampler(raw: string): boolean {
  return kindOf(raw) === 'sampler';
}

/** `kind` of settings that are not a replicator's: `sampler`, or `adopt` (which the run reads none of). */
function kindOf(raw: string): unknown {
  try {
    return (JSON.parse(raw) as { kind?: unknown } | null)?.kind;
  } catch {
    return undefined;
  }
}

/** The bundle directory: from the asset metadata, else from the asset hash in the S3 key. */
function findAssetDir(
  stack: StackInfo,
  metadata: Record<string, unknown> | undefined,
  code: Record<string, unknown> | undefined,
  where: string,
): string {
  const metaPath = metadata?.['aws:asset:path'];
  if (typeof metaPath === 'string') {
    const dir = resolvePath(stack.dir, metaPath);
    if (isDirectory(dir)) return dir;
  }
  if (code?.ZipFile !== undefined)
    throw new AssemblyError(`${where} has inline code (ZipFile): the local run hosts bundled assets only`);
  const key = code?.S3Key;
  const keyText = typeof key === 'string' ? key : JSON.stringify(key ?? null);
  const hash = /([0-9a-f]{64})/.exec(keyText)?.[1];
  if (!hash)
    throw new AssemblyError(
      `${where}: Code has neither aws:asset:path metadata nor an asset hash in S3Key (${keyText})`,
    );
  const candidates = [stack.assetPaths.get(hash), join(stack.dir, `asset.${hash}`)].filter(
    (c): c is string => !!c,
  );
  const found = candidates.find(isDirectory);
  if (found) return found;
  throw new AssemblyError(
    `${where}: asset ${hash} is not in the assembly (looked for ${candidates.join(', ')}); re-run synth with bundling enabled`,
  );
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
