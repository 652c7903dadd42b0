import { CfnResource, Stack, type CfnElement } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';

/** Logical id of an L2's underlying resource (never hard-coded: ids change with construct paths). */
export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Sid?: string;
}

/** A CloudFormation value as a flat string: `{Ref: X}` → `<X>`, GetAtt → `<X.Attr>`, joins concatenated. */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `<${String(v.Ref)}>`;
    if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(sep);
    }
  }
  return JSON.stringify(value);
}

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Statements of the role's inline policies (`Policies` of the AWS::IAM::Role), optionally of one policy. */
export function inlineStatements(
  template: Template,
  roleLogicalId: string,
  policyName?: string,
): Statement[] {
  const role = template.findResources('AWS::IAM::Role')[roleLogicalId];
  if (!role) throw new Error(`no role ${roleLogicalId}`);
  return (
    (role.Properties.Policies ?? []) as { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[]
  )
    .filter((p) => policyName === undefined || p.PolicyName === policyName)
    .flatMap((p) => p.PolicyDocument.Statement);
}

/** Statements of every AWS::IAM::Policy attached to the role (CDK's DefaultPolicy among them). */
export function attachedStatements(template: Template, roleLogicalId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => asArray(p.Properties.Roles).some((r) => flat(r) === `<${roleLogicalId}>`))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** Every statement granted to one role: its inline policies and every AWS::IAM::Policy attached to it. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  return [...inlineStatements(template, roleLogicalId), ...attachedStatements(template, roleLogicalId)];
}

/** Resources (flattened) that `action` is allowed on, across the statements. */
export function resourcesFor(statements: readonly Statement[], action: string): string[] {
  return statements
    .filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action))
    .flatMap((s) => asArray(s.Resource).map(flat));
}

/**
 * Marks a Template assertion chain as an assertion for lint (`jest/expect-expect` knows `expect*`):
 * `expectTemplate(template).hasResourceProperties(...)`.
 */
export const expectTemplate = (template: Template): Template => template;

/** The dashboard's body, parsed, with references flattened (`<LogicalId>`, see {@link flat}). */
export function dashboardBody(template: Template): { widgets: DashboardWidget[] } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  return JSON.parse(flat(dashboards[0].Properties.DashboardBody));
}

export interface DashboardWidget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    /** `[namespace, metricName, dimension, value, ..., options]` per line. */
    readonly metrics?: unknown[][];
  };
}

/**
 * What a construct synthesizes, for a snapshot a person reads: its resources and its children's, by
 * logical id, with `Type`, `Properties` and the deployment attributes that are set; no CDK metadata.
 * References read as `<LogicalId>` / `<LogicalId.Attribute>`, joins as one string, and strings holding
 * JSON (a dashboard body, the functions' settings) as the JSON they hold.
 */
export function constructResources(template: Template, construct: IConstruct): Record<string, unknown> {
  const stack = Stack.of(construct);
  const resources = template.toJSON().Resources as Record<string, Record<string, unknown>>;
  const ids = construct.node
    .findAll()
    .filter(CfnResource.isCfnResource)
    .map((r) => stack.resolve(r.logicalId) as string)
    .sort();
  return Object.fromEntries(
    ids.map((id) => {
      const { Type, Properties, DependsOn, DeletionPolicy, UpdateReplacePolicy } = resources[id];
      const attributes = Object.entries({ DependsOn, DeletionPolicy, UpdateReplacePolicy }).filter(
        ([, v]) => v !== undefined,
      );
      return [id, { Type, Properties: readable(Properties), ...Object.fromEntries(attributes) }];
    }),
  );
}

function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && ['Ref', 'Fn::GetAtt', 'Fn::Join'].includes(keys[0]))
      return readable(flat(value));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v)]));
  }
  if (typeof value === 'string' && /^[{[]/.test(value)) {
    try {
      return readable(JSON.parse(value));
    } catch {
      return value;
    }
  }
  return value;
}
