/**
 * IAM sufficiency for the local mirror: does a function's role, as synthesized, allow the calls the function
 * makes? Identity-based policies, plus the statements of a resource-based policy when the caller's ARN is
 * given (no boundaries or SCPs), evaluated as IAM does: an explicit Deny wins, otherwise some Allow must
 * match, otherwise the call is denied.
 *
 * Conditions are not evaluated in general. An Allow whose Condition is not trivially satisfiable does not
 * count, and a Deny whose Condition cannot be decided is assumed to apply: both err towards "denied", so a
 * call that passes here passes in AWS. Decidable: an empty Condition, and the operators StringEquals,
 * StringNotEquals, StringLike, StringNotLike, Bool and the Arn operators (with or without IfExists) on the
 * keys of `conditionKeys` (by default only `aws:SecureTransport` = true) and `aws:PrincipalArn`.
 *
 * Why not npm `@cloud-copilot/iam-simulate` (evaluated for this): it runs offline and answers in under a
 * millisecond, but it and its `iam-policy`/`iam-utils` dependencies are AGPL-3.0 while this project is
 * Apache-2.0; it evaluates an absent condition key as IAM does for a known request, so it cannot keep the
 * "an undecidable Deny applies" rule above; and its `runSimulation` is async only, where the mapping
 * check and `iamGuardMiddleware` check synchronously.
 */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Resource-based policies only: whom the statement is about. */
  readonly Principal?: '*' | { readonly AWS?: string | readonly string[] };
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: PolicyStatement | readonly PolicyStatement[];
}

export interface MatchedStatement {
  /** Index of the policy document in the list evaluated. */
  readonly policy: number;
  /** Index of the statement in its document. */
  readonly statement: number;
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
}

export interface IamDecision {
  readonly allowed: boolean;
  readonly decision: 'allow' | 'explicit-deny' | 'implicit-deny';
  /** The Allow that granted, or the Deny that denied. */
  readonly matchedStatement?: MatchedStatement;
}

export interface EvaluateOptions {
  /** Values of condition keys for this request. @default { 'aws:SecureTransport': 'true' } */
  readonly conditionKeys?: Readonly<Record<string, string>>;
  /**
   * The caller, for statements with a `Principal` (resource-based policies); it also fills the
   * `aws:PrincipalArn` condition key. @default - statements with a Principal do not apply
   */
  readonly principalArn?: string;
}

/** Decides whether the policies allow `action` on `resource`. Pure; policies must be resolved. */
export function evaluate(
  policies: readonly PolicyDocument[],
  action: string,
  resource: string,
  options: EvaluateOptions = {},
): IamDecision {
  const keys = {
    ...(options.conditionKeys ?? { 'aws:SecureTransport': 'true' }),
    ...(options.principalArn ? { 'aws:PrincipalArn': options.principalArn } : {}),
  };
  let allow: MatchedStatement | undefined;
  for (let p = 0; p < policies.length; p++) {
    const statements = list(policies[p]?.Statement as PolicyStatement | PolicyStatement[] | undefined);
    for (let s = 0; s < statements.length; s++) {
      const st = statements[s];
      if (!statementApplies(st, action, resource) || !principalMatches(st, options.principalArn)) continue;
      const condition = conditionHolds(st.Condition, keys);
      const matched: MatchedStatement = { policy: p, statement: s, sid: st.Sid, effect: st.Effect };
      if (st.Effect === 'Deny' && condition !== false)
        return { allowed: false, decision: 'explicit-deny', matchedStatement: matched };
      if (st.Effect === 'Allow' && condition === true) allow ??= matched;
    }
  }
  return allow
    ? { allowed: true, decision: 'allow', matchedStatement: allow }
    : { allowed: false, decision: 'implicit-deny' };
}

/** Thrown (and answered as AccessDenied by the proxy) when a function's role lacks a permission. */
export class AccessDeniedError extends Error {
  override readonly name = 'AccessDeniedError';
  constructor(
    readonly functionName: string,
    readonly action: string,
    readonly resource: string,
    readonly decision: IamDecision,
    /** Index of the first policy that is the resource's own (resource-based). @default - none is */
    resourcePolicyFrom = Infinity,
  ) {
    const m = decision.matchedStatement;
    const where =
      m && m.policy >= resourcePolicyFrom ? `the resource-based policy of ${resource}` : "its role's policy";
    super(
      `${functionName} is not authorized to perform: ${action} on resource: ${resource} because ` +
        (decision.decision === 'explicit-deny'
          ? `an explicit deny in ${where} (statement ${m?.sid ?? m?.statement}) denies it`
          : `no identity-based policy of its role allows the ${action} action`),
    );
  }
}

/**
 * Throws {@link AccessDeniedError} unless the call is allowed. A resource-based policy (a table's) is
 * evaluated with the identity policies, as IAM does within one account: an Allow in either suffices,
 * an explicit Deny in either wins; its statements apply to `options.principalArn`.
 */
export function assertAllowed(
  functionName: string,
  policies: readonly PolicyDocument[],
  action: string,
  resource: string,
  options?: EvaluateOptions & { readonly resourcePolicy?: PolicyDocument },
): IamDecision {
  const all = options?.resourcePolicy ? [...policies, options.resourcePolicy] : policies;
  const decision = evaluate(all, action, resource, options);
  if (!decision.allowed)
    throw new AccessDeniedError(
      functionName,
      action,
      resource,
      decision,
      options?.resourcePolicy ? policies.length : Infinity,
    );
  return decision;
}

function list<T>(v: T | readonly T[] | undefined): readonly T[] {
  return v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

function statementApplies(st: PolicyStatement, action: string, resource: string): boolean {
  const actionOk =
    st.Action !== undefined
      ? list(st.Action).some((a) => matchAction(a, action))
      : st.NotAction !== undefined
        ? !list(st.NotAction).some((a) => matchAction(a, action))
        : false;
  if (!actionOk) return false;
  return st.Resource !== undefined
    ? list(st.Resource).some((r) => matchArn(r, resource))
    : st.NotResource !== undefined
      ? !list(st.NotResource).some((r) => matchArn(r, resource))
      : false;
}

const compiled = new Map<string, RegExp>();

/** Compiled once per pattern: every proxied call is checked, and compiling dominated the check. */
function globRegex(pattern: string, flags = ''): RegExp {
  const id = `${flags}/${pattern}`;
  let re = compiled.get(id);
  if (!re) compiled.set(id, (re = compileGlob(pattern, flags)));
  return re;
}

function compileGlob(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

/** Action names are case-insensitive; `*` and `?` are wildcards. */
export function matchAction(pattern: string, action: string): boolean {
  return globRegex(pattern, 'i').test(action);
}

/**
 * ARNs are case-sensitive. As in IAM, each of the six colon-separated parts is matched on its own, so a
 * wildcard does not run across a colon (except in the last part, which may itself contain colons).
 */
export function matchArn(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return globRegex(pattern).test(arn);
  return p.every((part, i) => globRegex(part).test(a[i]));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/** true / false when decidable, undefined when not. */
/** A statement without Principal is an identity policy's; one with it applies to the listed callers. */
function principalMatches(st: PolicyStatement, principalArn: string | undefined): boolean {
  if (st.Principal === undefined) return true;
  if (principalArn === undefined) return false;
  if (st.Principal === '*') return true;
  const aws = list(st.Principal.AWS);
  return aws.includes('*') || aws.includes(principalArn);
}

function conditionHolds(
  condition: PolicyStatement['Condition'],
  keys: Readonly<Record<string, string>>,
): boolean | undefined {
  if (!condition) return true;
  let result: boolean | undefined = true;
  for (const [rawOperator, block] of Object.entries(condition)) {
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = ifExists ? rawOperator.slice(0, -'IfExists'.length) : rawOperator;
    for (const [rawKey, expected] of Object.entries(block ?? {})) {
      const key = Object.keys(keys).find((k) => k.toLowerCase() === rawKey.toLowerCase());
      if (key === undefined) {
        if (!ifExists) result = result === false ? false : undefined;
        continue;
      }
      const actual = keys[key];
      const values = list(expected as string | string[]).map(String);
      let holds: boolean | undefined;
      switch (operator) {
        case 'StringEquals':
          holds = values.includes(actual);
          break;
        case 'StringNotEquals':
          holds = !values.includes(actual);
          break;
        case 'StringLike':
          holds = values.some((v) => globRegex(v).test(actual));
          break;
        case 'StringNotLike':
          holds = !values.some((v) => globRegex(v).test(actual));
          break;
        case 'Bool':
          holds = values.some((v) => v.toLowerCase() === actual.toLowerCase());
          break;
        case 'ArnEquals':
          holds = values.includes(actual);
          break;
        case 'ArnNotEquals':
          holds = !values.includes(actual);
          break;
        case 'ArnLike':
          holds = values.some((v) => matchArn(v, actual));
          break;
        case 'ArnNotLike':
          holds = !values.some((v) => matchArn(v, actual));
          break;
        default:
          holds = undefined;
      }
      if (holds === false) return false;
      if (holds === undefined) result = undefined;
    }
  }
  return result;
}
