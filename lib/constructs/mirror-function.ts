import { existsSync } from 'fs';
import * as path from 'path';
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { SETTINGS_ENV } from '../../lambda/contract';
import { FUNCTION_BUNDLING, FUNCTION_DEFAULTS, LAMBDA_RUNTIME } from './defaults';

/** The repository root; in the compiled package, `dist/`. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

/** The entry file of one of this repository's functions, `lambda/<dir>/index.ts`. */
export function functionEntry(dir: string): string {
  return path.join(REPO_ROOT, 'lambda', dir, 'index.ts');
}

/** Where `npm run build` puts the bundle of `lambda/<dir>/index.ts` (scripts/bundle-functions.ts). */
export function prebuiltBundleDir(dir: string): string {
  return path.join(REPO_ROOT, 'functions', dir);
}

/**
 * The compiled package (dist/, what `npm pack` ships and a user's CDK app loads) deploys the bundles
 * `npm run build` made with esbuild at the versions package-lock.json pins: a user's synth then needs
 * neither esbuild nor Docker, nor this package's TypeScript sources, and deploys the code these tests
 * ran. Run from the sources (tsx, ts-jest), the functions are bundled at synth as before, so a bundle is
 * never older than the code beside it.
 */
const COMPILED = path.extname(__filename) === '.js';

/** How a function's code is built: the prebuilt bundle of one of ours, else esbuild at synth. */
function functionCode(entry: string): Partial<nodejs.NodejsFunctionProps> {
  const relative = path.relative(path.join(REPO_ROOT, 'lambda'), entry).split(path.sep);
  const own = relative.length === 2 && relative[1] === 'index.ts' && !relative[0].startsWith('..');
  if (COMPILED && own) {
    const bundle = prebuiltBundleDir(relative[0]);
    if (!existsSync(path.join(bundle, 'index.js')))
      throw new Error(`ddb-mirror: the bundle ${bundle} is missing; the package is built by npm run build`);
    return { code: lambda.Code.fromAsset(bundle), handler: 'index.handler' };
  }
  if (COMPILED)
    // Someone else's entry, bundled in their project: the credentials alias points into our sources.
    return { entry, handler: 'handler', bundling: { ...FUNCTION_BUNDLING, esbuildArgs: {} } };
  return {
    entry,
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    bundling: { ...FUNCTION_BUNDLING, forceDockerBundling: false },
  };
}

export interface MirrorFunctionOptions {
  readonly entry: string;
  readonly description: string;
  /** The role's data statements (an inline policy), each on exact resources. */
  readonly statements: iam.PolicyStatement[];
  /** Settings JSON for `DDBM_SETTINGS`, validated by the caller against the contract. */
  readonly settings: string;
  /** A fixed role name, for roles another region's stack names. @default - generated */
  readonly roleName?: string;
  /** @default FUNCTION_DEFAULTS.timeout */
  readonly timeout?: Duration;
}

export interface MirrorFunction {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
}

/**
 * One of ddb-mirror's functions, as every one of them is deployed: bundled with esbuild (at synth, or
 * by `npm run build` for the compiled package), the newest Node.js runtime on arm64, traced, its own log group with a retention, and its own role with
 * inline policies only (no AWSLambdaBasicExecutionRole: cdk-nag IAM4).
 */
export function mirrorFunction(scope: Construct, id: string, o: MirrorFunctionOptions): MirrorFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: FUNCTION_DEFAULTS.logRetention });
  const role = new iam.Role(scope, `${id}Role`, {
    ...(o.roleName ? { roleName: o.roleName } : {}),
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: o.description,
    inlinePolicies: {
      Logs: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'WriteOwnLogs',
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            resources: [logGroup.logGroupArn],
          }),
        ],
      }),
      Replication: new iam.PolicyDocument({ statements: o.statements }),
    },
  });
  const fn = new nodejs.NodejsFunction(scope, id, {
    ...functionCode(o.entry),
    description: o.description,
    runtime: LAMBDA_RUNTIME,
    architecture: FUNCTION_DEFAULTS.architecture,
    memorySize: FUNCTION_DEFAULTS.memorySize,
    timeout: o.timeout ?? FUNCTION_DEFAULTS.timeout,
    tracing: lambda.Tracing.ACTIVE,
    role,
    logGroup,
    environment: {
      [SETTINGS_ENV]: o.settings,
      POWERTOOLS_SERVICE_NAME: FUNCTION_DEFAULTS.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: FUNCTION_DEFAULTS.metricsNamespace,
    },
  });
  return { fn, role };
}
