import { App, CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { buildApp } from '../app';
import type { MirrorModel } from '../config/model';

/**
 * Where the operations commands find a replicator's queues and function: the stacks the config deploys,
 * built in memory (no synth to disk, no bundling, no cdk-nag: well under a second) so stack names and
 * logical IDs are exactly those `cdk synth` writes. CDK gives the queues and functions no names, so
 * CloudFormation generates them from the stack name and the logical ID (see {@link matchGeneratedName}).
 */

/** One replicator (a table in one of its replicator regions): the logical IDs of what it deploys. */
export interface ReplicatorDeployment {
  readonly table: string;
  readonly region: string;
  readonly stackName: string;
  readonly replicatorFunction: string;
  readonly parkedFunction: string;
  readonly onFailureQueue: string;
  /** One per peer region, in the table's region order. */
  readonly parking: readonly { readonly target: string; readonly queue: string; readonly dlq: string }[];
}

/** Every replicator of the model, in region then table order. */
export function replicatorDeployments(model: MirrorModel): ReplicatorDeployment[] {
  // Bundling skipped for every stack: the operations need names, not assets (docs/platform.md#cdk-and-nag).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const { regionStacks } = buildApp(app, model, { nag: false });
  const out: ReplicatorDeployment[] = [];
  for (const [region, stack] of regionStacks) {
    const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnResource);
    for (const [table, r] of stack.replicators) {
      out.push({
        table,
        region,
        stackName: Stack.of(r).stackName,
        replicatorFunction: id(r.replicatorFunction),
        parkedFunction: id(r.parkedFunction),
        onFailureQueue: id(r.onFailureQueue),
        parking: r.parkingQueues.map((p) => ({
          target: p.targetRegion,
          queue: id(p.queue),
          dlq: id(p.deadLetterQueue),
        })),
      });
    }
  }
  return out;
}

/** Longest names CloudFormation generates: SQS queues 80 characters, Lambda functions 64. */
export const GENERATED_NAME_MAX = { queue: 80, function: 64 } as const;

/**
 * Whether `name` is the name CloudFormation generated for `logicalId` in `stackName`:
 * `{stack name}-{logical ID}-{12–13 random characters}`, where the stack name and then the logical ID
 * are cut short when the whole would be too long (so both parts are prefixes), or the local mirror's
 * `{stack name}-{logical ID}` (lib/local/resources.ts: no random part). Returns how many characters
 * of the logical ID the name keeps (the best candidate keeps the most), 0 when it does not match.
 */
export function matchGeneratedName(name: string, stackName: string, logicalId: string): number {
  if (name === `${stackName}-${logicalId}`) return logicalId.length;
  const head = /^(.+)-[A-Za-z0-9]{12,13}$/.exec(name)?.[1];
  if (!head) return 0;
  let best = 0;
  for (let i = head.indexOf('-'); i > 0; i = head.indexOf('-', i + 1)) {
    const stackPart = head.slice(0, i);
    const idPart = head.slice(i + 1);
    if (idPart && stackName.startsWith(stackPart) && logicalId.startsWith(idPart))
      best = Math.max(best, idPart.length);
  }
  return best;
}

/** The prefix every generated name of `stackName` starts with (for SQS ListQueues' QueueNamePrefix). */
export function generatedNamePrefix(stackName: string): string {
  // CloudFormation cuts the stack name first; its first characters survive any cut that leaves a
  // recognisable name (the logical ID and the random part need at most 80 - 20 characters).
  return stackName.slice(0, 20);
}
