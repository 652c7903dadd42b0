import { Validations, type Stage } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { regionAccount, type MirrorModel } from './config/model';
import { formatProblems, modelProblems } from './config/rules';
import { MirrorRegionStack } from './stacks/mirror-region-stack';
import { RoutingStack } from './stacks/routing-stack';

export interface BuildAppOptions {
  /**
   * Register cdk-nag AwsSolutions and Serverless checks on the app (they run at synth, over every stack).
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Where `CDK_DEFAULT_ACCOUNT` is read from when the model names no account.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface MirrorApp {
  /** Regional stacks, by region name, in the model's region order. */
  readonly regionStacks: ReadonlyMap<string, MirrorRegionStack>;
  /** Present when the model configures routing. */
  readonly routingStack?: RoutingStack;
}

/**
 * Composes the whole deployment from the model in `app` (an App, or a Stage of one): `${stackPrefix}-${region}`
 * per region and `${stackPrefix}-Routing` when routing is configured. No lookups: synth needs no
 * credentials. `DdbMirror` (lib/ddb-mirror.ts) is the construct form, for a user's own CDK app.
 */
export function buildApp(app: Stage, model: MirrorModel, options: BuildAppOptions = {}): MirrorApp {
  // The rules the config loader applied, for models built in code: every problem in one error.
  const problems = modelProblems(model);
  if (problems.length) throw new Error(`Invalid model: ${formatProblems(problems)}`);

  // No account means an environment-agnostic account: templates use AWS::AccountId. A region's own
  // account wins over the mirror's (and the config then names every region's account).
  const account = model.account ?? (options.env ?? process.env).CDK_DEFAULT_ACCOUNT;
  const regionStacks = new Map<string, MirrorRegionStack>();
  for (const { name: region } of model.regions) {
    regionStacks.set(
      region,
      new MirrorRegionStack(app, `${model.stackPrefix}-${region}`, {
        model,
        region,
        env: { account: regionAccount(model, region) ?? account, region },
      }),
    );
  }
  const routing = model.routing;
  const routingStack = routing
    ? new RoutingStack(app, `${model.stackPrefix}-Routing`, {
        model: { ...model, routing },
        env: { account },
      })
    : undefined;

  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  }
  return { regionStacks, routingStack };
}
