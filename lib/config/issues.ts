/**
 * Turns zod issues into {@link ConfigIssue}s a user can act on: a field path such as
 * `tables[1].replicas[0]` and a message naming the offending value.
 */
import { z } from 'zod';
import { formatPath } from './rules';
import { show } from './schema';

export interface ConfigIssue {
  /** Field path, e.g. `tables[1].replicas[0]`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

type Segment = PropertyKey;

const NOUNS: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

function describeValue(input: unknown): string {
  if (input === null) return 'an empty value (null)';
  if (Array.isArray(input)) return `a list ${show(input)}`;
  if (typeof input === 'object') return `a mapping ${show(input)}`;
  return `${typeof input} ${show(input)}`;
}

/** Per-parse error map: wording for zod's generic issues. Schema-level `error`s take precedence. */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  const input: unknown = iss.input;
  switch (iss.code) {
    case 'invalid_type': {
      const expected = NOUNS[iss.expected] ?? iss.expected;
      return input === undefined
        ? `required, expected ${expected}`
        : `expected ${expected}, got ${describeValue(input)}`;
    }
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected ${show(iss.values[0])}, got ${show(input)}`
        : `${show(input)} is not one of ${iss.values.map((v) => show(v)).join(', ')}`;
    case 'too_small':
    case 'too_big': {
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      const inclusive = iss.inclusive !== false;
      if (iss.origin === 'array') {
        const n = `${bound} item${Number(bound) === 1 ? '' : 's'}`;
        return `${iss.code === 'too_small' ? 'needs at least' : 'allows at most'} ${n}, got ${show(input)}`;
      }
      if (iss.origin === 'string') {
        return iss.code === 'too_small' && Number(bound) === 1
          ? 'must not be empty'
          : `must be ${iss.code === 'too_small' ? 'at least' : 'at most'} ${bound} characters, got ${show(input)}`;
      }
      const op = iss.code === 'too_small' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
      return `must be ${op} ${bound}, got ${show(input)}`;
    }
    case 'invalid_format':
      return `${show(input)} is not a valid ${iss.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${iss.divisor}, got ${show(input)}`;
    case 'invalid_union':
      if ('discriminator' in iss && typeof iss.discriminator === 'string') {
        const options = (iss as { options?: unknown[] }).options ?? [];
        const value =
          typeof input === 'object' && input !== null
            ? (input as Record<string, unknown>)[iss.discriminator]
            : input;
        return value === undefined
          ? `required, one of ${options.map((o) => show(o)).join(', ')}`
          : `${show(value)} is not one of ${options.map((o) => show(o)).join(', ')}`;
      }
      return `${show(input)} matches none of the accepted forms`;
    default:
      return undefined;
  }
};

interface ZodDef {
  type: string;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  valueType?: ZodLike;
  innerType?: ZodLike;
  in?: ZodLike;
  options?: ZodLike[];
  discriminator?: string;
  values?: unknown[];
}
interface ZodLike {
  _zod: { def: ZodDef; values?: Set<unknown> };
}

function unwrap(schema: ZodLike | undefined): ZodLike | undefined {
  let s = schema;
  while (s) {
    const def = s._zod.def;
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

/** Discriminated union option matching the input's discriminator value. */
function optionFor(schema: ZodLike, input: unknown): ZodLike | undefined {
  const { options = [], discriminator } = schema._zod.def;
  if (!discriminator || typeof input !== 'object' || input === null) return undefined;
  const value = (input as Record<string, unknown>)[discriminator];
  return options.find((o) => unwrap(unwrap(o)?._zod.def.shape?.[discriminator])?._zod.values?.has(value));
}

/** A discriminated union's other options, when `input` chose one of them. */
interface Siblings {
  readonly discriminator: string;
  readonly options: readonly ZodLike[];
}

/**
 * The (unwrapped) schema and input found by walking `path` down from `schema` and `input`, and, when the
 * last step chose an option of a discriminated union, that union's options (to tell a key of another mode).
 */
function walk(schema: ZodLike | undefined, input: unknown, path: readonly Segment[]) {
  let s = unwrap(schema);
  let v = input;
  for (const seg of path) {
    if (s && s._zod.def.discriminator) s = unwrap(optionFor(s, v));
    const def = s?._zod.def;
    if (def?.type === 'object') s = def.shape?.[String(seg)];
    else if (def?.type === 'array') s = def.element;
    else if (def?.type === 'record') s = def.valueType;
    else s = undefined;
    s = unwrap(s);
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  let siblings: Siblings | undefined;
  const discriminator = s?._zod.def.discriminator;
  if (s && discriminator) {
    siblings = { discriminator, options: (s._zod.def.options ?? []).map((o) => unwrap(o) ?? o) };
    s = unwrap(optionFor(s, v));
  }
  return { schema: s, input: v, siblings };
}

/** `mode: multi-active` when `key` is a field of another option of the union only; else undefined. */
function otherOptionWith(key: string, siblings: Siblings | undefined, chosen: ZodLike | undefined) {
  if (!siblings) return undefined;
  for (const option of siblings.options) {
    const shape = option._zod.def.shape;
    if (option === chosen || !shape || !(key in shape)) continue;
    const values = unwrap(shape[siblings.discriminator])?._zod.values;
    if (values && values.size > 0) return `${siblings.discriminator}: ${[...values].join(' or ')}`;
  }
  return undefined;
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
      diag = up;
    }
  }
  return row[b.length];
}

function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const best = allowed
    .map((name) => ({ name, d: distance(key, name) }))
    .sort((a, b) => a.d - b.d)
    .find(({ name, d }) => d <= Math.max(2, Math.floor(name.length / 3)));
  if (best) return `unknown key "${key}"; did you mean "${best.name}"?`;
  return allowed.length
    ? `unknown key "${key}"; allowed keys: ${allowed.join(', ')}`
    : `unknown key "${key}"`;
}

/**
 * A union failed: report the branch the user most likely meant, i.e. whose type matched at the union's
 * own level, with the fewest problems; undefined when no branch fits at all.
 */
function closestBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): number | undefined {
  let best: number | undefined;
  branches.forEach((issues, i) => {
    const mismatch = issues.some((iss) => iss.path.length === 0 && iss.code !== 'unrecognized_keys');
    if (mismatch || issues.length === 0) return;
    if (best === undefined || issues.length < branches[best].length) best = i;
  });
  return best;
}

/**
 * Flattens zod issues into config issues: one per unknown key (with a suggestion), the closest branch of a
 * failed union instead of "invalid input", and full paths.
 */
export function toConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
  input: unknown,
  base: readonly Segment[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of issues) {
    const path = [...base, ...iss.path];
    const here = walk(schema as unknown as ZodLike, input, iss.path);
    if (iss.code === 'unrecognized_keys') {
      const allowed = Object.keys(here.schema?._zod.def.shape ?? {});
      for (const key of iss.keys) {
        const other = otherOptionWith(key, here.siblings, here.schema);
        const message = other
          ? `unknown key "${key}" here: it applies only with ${other}`
          : unknownKeyMessage(key, allowed);
        out.push({ path: formatPath([...path, key]), message });
      }
      continue;
    }
    if (iss.code === 'invalid_union' && iss.errors.length > 0) {
      const branch = closestBranch(iss.errors);
      const option = branch === undefined ? undefined : here.schema?._zod.def.options?.[branch];
      if (branch !== undefined && option) {
        out.push(
          ...toConfigIssues(iss.errors[branch], option as unknown as z.core.$ZodType, here.input, path),
        );
        continue;
      }
    }
    out.push({ path: formatPath(path), message: iss.message });
  }
  return out;
}
