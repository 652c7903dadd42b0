/**
 * The mirror's read-only statement in a table's resource policy, merged by Sid: every statement the
 * table's owners wrote stays as it is; only the one with the mirror's Sid is replaced or removed. Pure.
 */
import { READ_ONLY_SID } from './contract';

type Statement = Readonly<Record<string, unknown>>;

interface PolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  readonly Statement?: Statement | readonly Statement[];
  readonly [key: string]: unknown;
}

/** The policy text with `statement` in place of any statement with its Sid (`current` undefined: none yet). */
export function withStatement(current: string | undefined, statement: Statement): string {
  const doc = parse(current);
  const others = statements(doc).filter((s) => s.Sid !== statement.Sid);
  return JSON.stringify({ ...doc, Version: doc.Version ?? '2012-10-17', Statement: [...others, statement] });
}

export type Removal =
  /** The policy holds no statement of the mirror's. */
  | { readonly kind: 'unchanged' }
  /** Put this policy: the table's own statements without the mirror's. */
  | { readonly kind: 'put'; readonly policy: string }
  /** The mirror's statement was the only one: delete the policy. */
  | { readonly kind: 'delete' };

/** What removing the mirror's statement (Sid {@link READ_ONLY_SID}) from `current` takes. */
export function withoutStatement(current: string | undefined, sid = READ_ONLY_SID): Removal {
  if (current === undefined) return { kind: 'unchanged' };
  const doc = parse(current);
  const all = statements(doc);
  const kept = all.filter((s) => s.Sid !== sid);
  if (kept.length === all.length) return { kind: 'unchanged' };
  if (kept.length === 0) return { kind: 'delete' };
  return { kind: 'put', policy: JSON.stringify({ ...doc, Statement: kept }) };
}

/** Whether two policy texts hold the same document (so a put would change nothing). */
export function samePolicy(a: string | undefined, b: string): boolean {
  return a !== undefined && canonical(parse(a)) === canonical(parse(b));
}

function parse(text: string | undefined): PolicyDocument {
  if (text === undefined) return {};
  const doc = JSON.parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new Error(`the table's resource policy is not a JSON object: ${text.slice(0, 200)}`);
  return doc as PolicyDocument;
}

function statements(doc: PolicyDocument): Statement[] {
  const s = doc.Statement;
  if (s === undefined) return [];
  return Array.isArray(s) ? [...(s as Statement[])] : [s as Statement];
}

/** Object keys sorted at every level: DynamoDB may hand back the policy with its keys in another order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}
