import type { PolicyDocument, PolicyStatement } from './iam-check';
import type { TemplateStack } from './intrinsics';
import { AssemblyError } from './plan';
import type { AssemblyResources } from './resources';

/**
 * A function role's identity policies, read from the template as IAM would attach them: the role's
 * inline `Policies`, customer managed policies of the same template in `ManagedPolicyArns`, and every
 * `AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy` that names the role. AWS managed policy ARNs are only
 * listed: their documents are not in the assembly.
 */
export interface RolePolicies {
  readonly roleArn: string;
  readonly policies: readonly PolicyDocument[];
  readonly managedPolicyArns: readonly string[];
}

export function readRolePolicies(
  resources: AssemblyResources,
  stack: TemplateStack,
  roleRef: unknown,
  where: string,
): RolePolicies {
  const r = resources.resolver;
  const roleId = roleLogicalId(roleRef);
  if (!roleId) {
    if (typeof roleRef === 'string') return { roleArn: roleRef, policies: [], managedPolicyArns: [] };
    throw new AssemblyError(
      `${where} has no Role: the local run checks every call against the function's role`,
    );
  }
  const document = (value: unknown, what: string) => policyDocument(r.resolve(stack, value, what), what);
  const rp = r.resource(stack, roleId).Properties ?? {};
  const policies = ((rp.Policies ?? []) as { PolicyDocument: unknown }[]).map((inline) =>
    document(inline.PolicyDocument, `${where} role inline policy`),
  );
  const managedPolicyArns: string[] = [];
  for (const arn of (rp.ManagedPolicyArns ?? []) as unknown[]) {
    const managed = stack.template.Resources?.[refId(arn) ?? ''];
    if (managed?.Type === 'AWS::IAM::ManagedPolicy')
      policies.push(document(managed.Properties?.PolicyDocument, `${where} managed policy`));
    else managedPolicyArns.push(r.str(stack, arn, `${where} managed policy ARN`));
  }
  for (const [pid, pol] of Object.entries(stack.template.Resources ?? {})) {
    if (pol.Type !== 'AWS::IAM::Policy' && pol.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const roles = (pol.Properties?.Roles ?? []) as unknown[];
    if (roles.some((role) => refId(role) === roleId))
      policies.push(document(pol.Properties?.PolicyDocument, `${where} policy ${pid}`));
  }
  return { roleArn: r.str(stack, roleRef, `${where} Role`), policies, managedPolicyArns };
}

/** Checks the shape the evaluator relies on; names the policy and the statement otherwise. */
export function policyDocument(value: unknown, what: string): PolicyDocument {
  const statements = (value as { Statement?: unknown } | undefined)?.Statement;
  if (statements === undefined || statements === null || typeof statements !== 'object')
    throw new AssemblyError(
      `${what}: Statement must be a statement or a list, got ${JSON.stringify(statements)}`,
    );
  (Array.isArray(statements) ? statements : [statements]).forEach((s, i) => {
    const effect = (s as Partial<PolicyStatement> | null)?.Effect;
    if (effect !== 'Allow' && effect !== 'Deny')
      throw new AssemblyError(
        `${what}: Statement[${i}].Effect must be Allow or Deny, got ${JSON.stringify(effect)}`,
      );
  });
  return value as PolicyDocument;
}

function refId(v: unknown): string | undefined {
  if (v && typeof v === 'object' && 'Ref' in v) return String((v as { Ref: unknown }).Ref);
  return undefined;
}

function roleLogicalId(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const getAtt = (v as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return refId(v);
}
