import type { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { FUNCTION_DEFAULTS } from './defaults';

/**
 * A state machine of the operations (export backfill, verify --deployed): a fixed name the CLI finds it
 * by, X-Ray tracing, and every event logged to its own log group without execution data (items never
 * reach the logs). Its construct IDs are `StateMachine` and `StateMachineLogs` in `scope`.
 */
export function loggedStateMachine(
  scope: Construct,
  props: { readonly name: string; readonly definition: sfn.IChainable; readonly timeout: Duration },
): sfn.StateMachine {
  const logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
    retention: FUNCTION_DEFAULTS.logRetention,
  });
  return new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.name,
    definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    timeout: props.timeout,
  });
}
