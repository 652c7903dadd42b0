import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { MirrorModel, RoutingModel } from '../config/model';
import { Routing } from '../constructs/routing';

/** Route 53 is global: the routing stack deploys to us-east-1 whatever the table regions are. */
export const ROUTING_STACK_REGION = 'us-east-1';

export interface RoutingStackProps extends StackProps {
  /** The whole model, with routing configured: the records route to every region of the model. */
  readonly model: MirrorModel & { readonly routing: RoutingModel };
}

/** Health checks and routed records for the application's endpoints in every region. */
export class RoutingStack extends Stack {
  /** The health checks and routed records. */
  public readonly routing: Routing;

  constructor(scope: Construct, id: string, props: RoutingStackProps) {
    const { model } = props;
    super(scope, id, {
      description: `ddb-mirror routing: ${model.routing.recordName} (${model.routing.policy.type}) across ${model.regions
        .map((r) => r.name)
        .join(', ')}`,
      ...props,
      env: { ...props.env, region: ROUTING_STACK_REGION },
    });
    this.routing = new Routing(this, 'Routing', { routing: model.routing, regions: model.regions });
    Tags.of(this).add('ddb-mirror:stack-prefix', model.stackPrefix);
  }
}
