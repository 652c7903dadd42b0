import { existsSync, readFileSync } from 'fs';
import { join, resolve as resolvePath } from 'path';
import type { Template, TemplateStack } from './intrinsics';
import { AssemblyError } from './plan';

/** One CloudFormation stack of a cloud assembly, with its template and where its assets are. */
export interface StackInfo extends TemplateStack {
  readonly account?: string;
  readonly templateFile: string;
  /** Asset hash → absolute path, from the assembly's asset manifests. */
  readonly assetPaths: ReadonlyMap<string, string>;
  /** The (nested) assembly directory holding the stack. */
  readonly dir: string;
}

type Artifact = {
  type: string;
  environment?: string;
  properties?: Record<string, unknown>;
  displayName?: string;
};

/** Every stack of the assembly in `dir` (nested assemblies included), templates parsed. */
export function readStacks(dir: string): StackInfo[] {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath))
    throw new AssemblyError(`${dir} is not a cloud assembly: manifest.json is missing (run cdk synth first)`);
  const artifacts = Object.entries(
    readJson<{ artifacts?: Record<string, Artifact> }>(manifestPath).artifacts ?? {},
  );
  const assetPaths = readAssetPaths(
    dir,
    artifacts.map(([, a]) => a),
  );
  const out: StackInfo[] = [];
  for (const [id, artifact] of artifacts) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const nested = String(artifact.properties?.directoryName ?? '');
      if (nested) out.push(...readStacks(join(dir, nested)));
    } else if (artifact.type === 'aws:cloudformation:stack') {
      out.push(readStack(dir, id, artifact, assetPaths));
    }
  }
  return out;
}

function readAssetPaths(dir: string, artifacts: readonly Artifact[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const artifact of artifacts) {
    if (artifact.type !== 'cdk:asset-manifest') continue;
    const file = join(dir, String(artifact.properties?.file));
    if (!existsSync(file)) continue;
    const assets = readJson<{ files?: Record<string, { source?: { path?: string } }> }>(file);
    for (const [hash, a] of Object.entries(assets.files ?? {}))
      if (a.source?.path) paths.set(hash, resolvePath(dir, a.source.path));
  }
  return paths;
}

function readStack(
  dir: string,
  id: string,
  artifact: Artifact,
  assetPaths: ReadonlyMap<string, string>,
): StackInfo {
  const env = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '');
  const region = env?.[2];
  if (!region || region === 'unknown-region')
    throw new AssemblyError(
      `Stack ${id} has no concrete region (environment ${artifact.environment}): every stack needs an explicit env`,
    );
  const templateFile = String(artifact.properties?.templateFile ?? '');
  const templatePath = join(dir, templateFile);
  if (!templateFile || !existsSync(templatePath))
    throw new AssemblyError(`Stack ${id}: template file ${templateFile || '(none)'} is missing from ${dir}`);
  return {
    name: String(artifact.properties?.stackName ?? artifact.displayName ?? id)
      .split('/')
      .pop()!,
    region,
    account: env?.[1] === 'unknown-account' ? undefined : env?.[1],
    templateFile: templatePath,
    template: readJson<Template>(templatePath),
    assetPaths,
    dir,
  };
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
