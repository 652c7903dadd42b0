/**
 * Evaluating parsed expressions against an item: conditions, updates and projections, with the
 * checks DynamoDB makes before it reads the item (placeholders defined and used, operand types of
 * literal values, key attributes and overlapping paths in updates) kept apart from the ones it can
 * only make on the item (a missing operand, a type mismatch in arithmetic).
 */
import { validation } from './errors';
import type { Condition, ExpressionKind, Operand, Parsed, Path, SetValue, UpdateTree } from './expressions';
import { addNumbers, compareNumbers } from './numbers';
import {
  compareBytes,
  compareScalars,
  compareStrings,
  isTypeName,
  itemSize,
  typeOf,
  valuesEqual,
  type Item,
  type Loose,
  type Val,
} from './values';

/** A request's ExpressionAttributeNames and (normalized) ExpressionAttributeValues. */
export interface Placeholders {
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, Val>>;
}

export const MAX_ITEM_BYTES = 400 * 1024;

const loose = (v: Val): Loose => v as Loose;

// ---------------------------------------------------------------------------------------------
// Request-level checks.

/** Every placeholder an expression uses is defined. */
export function checkDefined(kind: ExpressionKind, parsed: Parsed<unknown>, ph: Placeholders): void {
  for (const n of parsed.names)
    if (ph.names[n] === undefined)
      throw validation(
        `Invalid ${kind}: An expression attribute name used in the document path is not defined; attribute name: ${n}`,
      );
  for (const v of parsed.values)
    if (ph.values[v] === undefined)
      throw validation(
        `Invalid ${kind}: An expression attribute value used in expression is not defined; attribute value: ${v}`,
      );
}

/** Every placeholder the request defines is used by one of its expressions (DynamoDB refuses extras). */
export function checkUsed(
  names: Readonly<Record<string, unknown>> | undefined,
  values: Readonly<Record<string, unknown>> | undefined,
  parsed: readonly Parsed<unknown>[],
): void {
  if (values !== undefined && Object.keys(values).length === 0)
    throw validation('ExpressionAttributeValues must not be empty');
  if (names !== undefined && Object.keys(names).length === 0)
    throw validation('ExpressionAttributeNames must not be empty');
  const unused = (
    defined: Readonly<Record<string, unknown>> | undefined,
    pick: (p: Parsed<unknown>) => ReadonlySet<string>,
  ) => Object.keys(defined ?? {}).filter((k) => !parsed.some((p) => pick(p).has(k)));
  const n = unused(names, (p) => p.names);
  if (n.length)
    throw validation(
      `Value provided in ExpressionAttributeNames unused in expressions: keys: {${n.join(', ')}}`,
    );
  const v = unused(values, (p) => p.values);
  if (v.length)
    throw validation(
      `Value provided in ExpressionAttributeValues unused in expressions: keys: {${v.join(', ')}}`,
    );
}

const SCALARS = new Set(['S', 'N', 'B']);

/** Operand types of literal values in a condition, checked before any item is read. */
export function checkConditionTypes(kind: ExpressionKind, c: Condition, ph: Placeholders): void {
  const scalar = (op: string, o: Operand) => {
    if (o.kind !== 'value') return;
    const t = typeOf(ph.values[o.name]);
    if (!SCALARS.has(t))
      throw validation(
        `Invalid ${kind}: Incorrect operand type for operator or function; operator or function: ${op}, operand type: ${t}`,
      );
  };
  const same = (a: Operand, b: Operand) =>
    a.kind === b.kind &&
    (a.kind === 'value'
      ? a.name === (b as typeof a).name
      : pathNames(a.path, ph.names).join('\u0000') ===
        pathNames((b as typeof a).path, ph.names).join('\u0000'));
  const distinct = (op: string, first: Operand, rest: readonly Operand[]) => {
    if (rest.some((o) => same(first, o)))
      throw validation(
        `Invalid ${kind}: The first operand must be distinct from the remaining operands for this operator or function; operator: ${op}`,
      );
  };
  switch (c.kind) {
    case 'and':
    case 'or':
      checkConditionTypes(kind, c.left, ph);
      checkConditionTypes(kind, c.right, ph);
      return;
    case 'not':
      checkConditionTypes(kind, c.condition, ph);
      return;
    case 'compare':
      distinct(c.op, c.left, [c.right]);
      if (c.op !== '=' && c.op !== '<>') {
        scalar(c.op, c.left);
        scalar(c.op, c.right);
      }
      return;
    case 'between':
      distinct('BETWEEN', c.operand, [c.low, c.high]);
      for (const o of [c.operand, c.low, c.high]) scalar('BETWEEN', o);
      if (c.low.kind === 'value' && c.high.kind === 'value') {
        const low = ph.values[c.low.name];
        const high = ph.values[c.high.name];
        if (typeOf(low) !== typeOf(high))
          throw validation(
            `Invalid ${kind}: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand type: ${typeOf(low)}, upper bound operand type: ${typeOf(high)}`,
          );
        const order = compareScalars(low, high);
        if (order !== undefined && order > 0)
          throw validation(
            `Invalid ${kind}: The BETWEEN operator requires upper bound to be greater than or equal to lower bound`,
          );
      }
      return;
    case 'in':
      distinct('IN', c.operand, c.list);
      return;
    case 'function': {
      const arg = c.args[1];
      if (arg) distinct(c.name, c.args[0], [arg]);
      if (c.name === 'begins_with') {
        if (arg.kind === 'value' && !['S', 'B'].includes(typeOf(ph.values[arg.name])))
          throw validation(
            `Invalid ${kind}: Incorrect operand type for operator or function; operator or function: begins_with, operand type: ${typeOf(ph.values[arg.name])}`,
          );
      } else if (c.name === 'attribute_type') {
        const t = arg.kind === 'value' ? loose(ph.values[arg.name]).S : undefined;
        if (t === undefined || !isTypeName(t))
          throw validation(
            `Invalid ${kind}: Invalid attribute type name found; type: ${t}, valid types: { B,BOOL,BS,L,M,N,NS,NULL,S,SS }`,
          );
      }
      return;
    }
  }
}

/** The attribute names a path resolves to, for messages and overlap checks. */
export function pathNames(path: Path, names: Readonly<Record<string, string>>): (string | number)[] {
  return path.map((s) => (s.kind === 'index' ? s.index : s.placeholder ? names[s.name] : s.name));
}

const overlaps = (a: (string | number)[], b: (string | number)[]) =>
  a.every((x, i) => i >= b.length || x === b[i]) || b.every((x, i) => i >= a.length || x === a[i]);

export function checkNoOverlap(
  kind: ExpressionKind,
  paths: readonly Path[],
  names: Readonly<Record<string, string>>,
): void {
  const resolved = paths.map((p) => pathNames(p, names));
  for (let i = 0; i < resolved.length; i += 1)
    for (let j = i + 1; j < resolved.length; j += 1)
      if (overlaps(resolved[i], resolved[j]))
        throw validation(
          `Invalid ${kind}: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [${resolved[i].join(', ')}], path two: [${resolved[j].join(', ')}]`,
        );
}

/** Static checks of an update: key attributes untouched, paths apart, literal operand types. */
export function checkUpdate(tree: UpdateTree, ph: Placeholders, keyNames: readonly string[]): void {
  const paths = [
    ...tree.set.map((a) => a.path),
    ...tree.remove,
    ...tree.add.map((a) => a.path),
    ...tree.delete.map((a) => a.path),
  ];
  for (const p of paths) {
    const top = pathNames(p, ph.names)[0] as string;
    if (keyNames.includes(top))
      throw validation(
        `One or more parameter values were invalid: Cannot update attribute ${top}. This attribute is part of the key`,
      );
  }
  checkNoOverlap('UpdateExpression', paths, ph.names);
  const operandType = (op: string, allowed: readonly string[], name: string) => {
    const t = typeOf(ph.values[name]);
    if (!allowed.includes(t))
      throw validation(
        `Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: ${op}, operand type: ${t}`,
      );
  };
  const walk = (v: SetValue): void => {
    if (v.kind === 'arithmetic') {
      for (const side of [v.left, v.right]) if (side.kind === 'value') operandType(v.op, ['N'], side.name);
      walk(v.left);
      walk(v.right);
    } else if (v.kind === 'list_append') {
      for (const side of [v.first, v.second])
        if (side.kind === 'value') operandType('list_append', ['L'], side.name);
      walk(v.first);
      walk(v.second);
    } else if (v.kind === 'if_not_exists') {
      walk(v.fallback);
    }
  };
  for (const a of tree.set) walk(a.value);
  for (const a of tree.add) operandType('ADD', ['N', 'SS', 'NS', 'BS'], a.value);
  for (const a of tree.delete) operandType('DELETE', ['SS', 'NS', 'BS'], a.value);
}

// ---------------------------------------------------------------------------------------------
// Reading.

export function resolve(
  item: Item | undefined,
  path: Path,
  names: Readonly<Record<string, string>>,
): Val | undefined {
  if (!item) return undefined;
  const first = path[0];
  if (first.kind !== 'name') return undefined;
  let cur: Val | undefined = item[first.placeholder ? names[first.name] : first.name];
  for (let i = 1; i < path.length && cur !== undefined; i += 1) {
    const step = path[i];
    const x = loose(cur);
    if (step.kind === 'index') cur = x.L !== undefined ? x.L[step.index] : undefined;
    else cur = x.M !== undefined ? x.M[step.placeholder ? names[step.name] : step.name] : undefined;
  }
  return cur;
}

function operandValue(o: Operand, item: Item | undefined, ph: Placeholders): Val | undefined {
  if (o.kind === 'value') return ph.values[o.name];
  const v = resolve(item, o.path, ph.names);
  if (o.kind === 'path' || v === undefined) return v;
  return sizeOf(v);
}

/**
 * `size()`: a string's length in UTF-16 code units (what DynamoDB Local answers: size('é😀') = 3),
 * a binary's bytes, the members of a set, map or list; other types have none.
 */
function sizeOf(v: Val): Val | undefined {
  const x = loose(v);
  const n =
    x.S?.length ??
    x.B?.length ??
    x.SS?.length ??
    x.NS?.length ??
    x.BS?.length ??
    x.L?.length ??
    (x.M !== undefined ? Object.keys(x.M).length : undefined);
  return n === undefined ? undefined : { N: String(n) };
}

/**
 * A condition on `item` (undefined: no item). A comparison with a missing operand, or of values of
 * different types, is false; `<>` is the negation of `=`, so it is true there (DynamoDB Local agrees,
 * and the differential test holds the model to it).
 */
export function evaluate(c: Condition, item: Item | undefined, ph: Placeholders): boolean {
  switch (c.kind) {
    case 'and':
      return evaluate(c.left, item, ph) && evaluate(c.right, item, ph);
    case 'or':
      return evaluate(c.left, item, ph) || evaluate(c.right, item, ph);
    case 'not':
      return !evaluate(c.condition, item, ph);
    case 'compare': {
      const a = operandValue(c.left, item, ph);
      const b = operandValue(c.right, item, ph);
      if (c.op === '=') return a !== undefined && b !== undefined && valuesEqual(a, b);
      if (c.op === '<>') return !(a !== undefined && b !== undefined && valuesEqual(a, b));
      if (a === undefined || b === undefined) return false;
      const order = compareScalars(a, b);
      if (order === undefined) return false;
      return c.op === '<' ? order < 0 : c.op === '<=' ? order <= 0 : c.op === '>' ? order > 0 : order >= 0;
    }
    case 'between': {
      const v = operandValue(c.operand, item, ph);
      const lo = operandValue(c.low, item, ph);
      const hi = operandValue(c.high, item, ph);
      if (v === undefined || lo === undefined || hi === undefined) return false;
      const a = compareScalars(lo, v);
      const b = compareScalars(v, hi);
      return a !== undefined && b !== undefined && a <= 0 && b <= 0;
    }
    case 'in': {
      const v = operandValue(c.operand, item, ph);
      if (v === undefined) return false;
      return c.list.some((o) => {
        const x = operandValue(o, item, ph);
        return x !== undefined && valuesEqual(v, x);
      });
    }
    case 'function':
      return evaluateFunction(c.name, c.args, item, ph);
  }
}

function evaluateFunction(
  name: string,
  args: readonly Operand[],
  item: Item | undefined,
  ph: Placeholders,
): boolean {
  const target = operandValue(args[0], item, ph);
  if (name === 'attribute_exists') return target !== undefined;
  if (name === 'attribute_not_exists') return target === undefined;
  const arg = operandValue(args[1], item, ph);
  if (target === undefined || arg === undefined) return false;
  const t = loose(target);
  const a = loose(arg);
  if (name === 'attribute_type') return typeOf(target) === a.S;
  if (name === 'begins_with') {
    if (t.S !== undefined && a.S !== undefined) return t.S.startsWith(a.S);
    if (t.B !== undefined && a.B !== undefined)
      return a.B.length <= t.B.length && compareBytes(t.B.subarray(0, a.B.length), a.B) === 0;
    return false;
  }
  // contains
  if (t.S !== undefined) return a.S !== undefined && t.S.includes(a.S);
  if (t.B !== undefined) return a.B !== undefined && Buffer.from(t.B).includes(Buffer.from(a.B));
  if (t.SS !== undefined) return a.S !== undefined && t.SS.includes(a.S);
  if (t.NS !== undefined) return a.N !== undefined && t.NS.includes(a.N);
  if (t.BS !== undefined) return a.B !== undefined && t.BS.some((b) => compareBytes(b, a.B!) === 0);
  if (t.L !== undefined) return t.L.some((e) => valuesEqual(e, arg));
  return false;
}

// ---------------------------------------------------------------------------------------------
// Updating.

const badPath = () => validation('The document path provided in the update expression is invalid for update');
const badOperand = () => validation('An operand in the update expression has an incorrect data type');

function setValue(v: SetValue, item: Item, ph: Placeholders): Val {
  switch (v.kind) {
    case 'value':
      return ph.values[v.name];
    case 'path': {
      const found = resolve(item, v.path, ph.names);
      if (found === undefined)
        throw validation('The provided expression refers to an attribute that does not exist in the item');
      return found;
    }
    case 'if_not_exists':
      return resolve(item, v.path, ph.names) ?? setValue(v.fallback, item, ph);
    case 'list_append': {
      const a = loose(setValue(v.first, item, ph));
      const b = loose(setValue(v.second, item, ph));
      if (a.L === undefined || b.L === undefined) throw badOperand();
      return { L: [...a.L, ...b.L] };
    }
    case 'arithmetic': {
      const a = loose(setValue(v.left, item, ph));
      const b = loose(setValue(v.right, item, ph));
      if (a.N === undefined || b.N === undefined) throw badOperand();
      return { N: addNumbers(a.N, b.N, v.op === '-') };
    }
  }
}

type Names = Readonly<Record<string, string>>;

/** `container` with `value` at `path[i..]` (undefined value: removed); copies along the path. */
function writeAt(container: Val, path: Path, i: number, value: Val | undefined, names: Names): Val {
  const step = path[i];
  const last = i === path.length - 1;
  const x = loose(container);
  if (step.kind === 'name') {
    if (x.M === undefined) throw badPath();
    const key = step.placeholder ? names[step.name] : step.name;
    const child = x.M[key];
    const out: Record<string, Val> = { ...x.M };
    if (last) {
      if (value === undefined) delete out[key];
      else out[key] = value;
    } else {
      if (child === undefined) throw badPath();
      out[key] = writeAt(child, path, i + 1, value, names);
    }
    return { M: out };
  }
  if (x.L === undefined) throw badPath();
  const list = [...x.L];
  if (last) {
    if (value === undefined) {
      if (step.index < list.length) list.splice(step.index, 1);
    } else if (step.index >= list.length) {
      list.push(value); // DynamoDB appends past the end rather than leaving a gap
    } else {
      list[step.index] = value;
    }
  } else {
    if (step.index >= list.length) throw badPath();
    list[step.index] = writeAt(list[step.index], path, i + 1, value, names);
  }
  return { L: list };
}

function writePath(item: Record<string, Val>, path: Path, value: Val | undefined, names: Names): void {
  const first = path[0];
  if (first.kind !== 'name') throw badPath();
  const key = first.placeholder ? names[first.name] : first.name;
  if (path.length === 1) {
    if (value === undefined) delete item[key];
    else item[key] = value;
    return;
  }
  const top = item[key];
  if (top === undefined) throw badPath();
  item[key] = writeAt(top, path, 1, value, names);
}

function merge(current: Val | undefined, operand: Val, add: boolean): Val | undefined {
  const o = loose(operand);
  if (current === undefined) return add ? operand : undefined;
  const c = loose(current);
  if (add && o.N !== undefined) {
    if (c.N === undefined) throw badOperand();
    return { N: addNumbers(c.N, o.N) };
  }
  const kind = typeOf(operand) as 'SS' | 'NS' | 'BS';
  if (typeOf(current) !== kind) throw badOperand();
  if (kind === 'BS') {
    const mine = c.BS!;
    const theirs = o.BS!;
    const has = (list: readonly Uint8Array[], b: Uint8Array) => list.some((x) => compareBytes(x, b) === 0);
    const members = add
      ? [...mine, ...theirs.filter((b) => !has(mine, b))]
      : mine.filter((b) => !has(theirs, b));
    return members.length ? { BS: members.sort(compareBytes) } : undefined;
  }
  const mine = (kind === 'SS' ? c.SS : c.NS)!;
  const theirs = new Set((kind === 'SS' ? o.SS : o.NS)!);
  const members = add ? [...new Set([...mine, ...theirs])] : mine.filter((s) => !theirs.has(s));
  if (!members.length) return undefined;
  return kind === 'SS' ? { SS: members.sort(compareStrings) } : { NS: members.sort(compareNumbers) };
}

/**
 * The item after an update: every operand is read from the item as it was, then the actions are
 * applied. Returns the new item and the top-level attributes the actions touched (UPDATED_OLD/NEW
 * return whole top-level attributes, as DynamoDB Local does, also for a nested path).
 */
export function applyUpdate(
  tree: UpdateTree,
  before: Item,
  ph: Placeholders,
): { readonly item: Item; readonly touched: readonly string[] } {
  const sets = tree.set.map((a) => ({ path: a.path, value: setValue(a.value, before, ph) }));
  const item: Record<string, Val> = { ...before };
  for (const s of sets) writePath(item, s.path, s.value, ph.names);
  // Removals from one list refer to the old indexes: remove the highest first.
  const removals = [...tree.remove].sort((a, b) => {
    const x = a[a.length - 1];
    const y = b[b.length - 1];
    return x.kind === 'index' && y.kind === 'index' ? y.index - x.index : 0;
  });
  for (const p of removals) {
    if (p.length > 1 && resolve(item, p.slice(0, -1), ph.names) === undefined) throw badPath();
    writePath(item, p, undefined, ph.names);
  }
  for (const a of [
    ...tree.add.map((x) => ({ ...x, add: true })),
    ...tree.delete.map((x) => ({ ...x, add: false })),
  ]) {
    const merged = merge(resolve(item, a.path, ph.names), ph.values[a.value], a.add);
    if (merged === undefined && resolve(item, a.path, ph.names) === undefined) continue;
    writePath(item, a.path, merged, ph.names);
  }
  if (itemSize(item) > MAX_ITEM_BYTES)
    throw validation('Item size to update has exceeded the maximum allowed size');
  const touched = [
    ...new Set(
      [
        ...tree.set.map((a) => a.path),
        ...tree.remove,
        ...tree.add.map((a) => a.path),
        ...tree.delete.map((a) => a.path),
      ].map((p) => pathNames(p, ph.names)[0] as string),
    ),
  ];
  return { item, touched };
}

// ---------------------------------------------------------------------------------------------
// Projecting.

interface Node {
  leaf?: Val;
  fields?: Map<string, Node>;
  indexes?: Map<number, Node>;
}

/** The parts of `item` the paths name; list elements keep their order, without gaps. */
export function project(item: Item, paths: readonly Path[], names: Names): Item {
  const root: Node = { fields: new Map() };
  for (const p of paths) {
    const v = resolve(item, p, names);
    if (v === undefined) continue;
    let node = root;
    for (const step of p) {
      const map: Map<string | number, Node> =
        step.kind === 'index' ? (node.indexes ??= new Map()) : (node.fields ??= new Map());
      const key = step.kind === 'index' ? step.index : step.placeholder ? names[step.name] : step.name;
      let next = map.get(key);
      if (!next) map.set(key, (next = {}));
      node = next;
    }
    node.leaf = v;
  }
  const build = (n: Node): Val => {
    if (n.leaf) return n.leaf;
    if (n.indexes)
      return {
        L: [...n.indexes.entries()].sort((a, b) => a[0] - b[0]).map(([, child]) => build(child)),
      };
    const out: Record<string, Val> = {};
    for (const [k, child] of n.fields ?? []) out[k] = build(child);
    return { M: out };
  };
  const out: Record<string, Val> = {};
  for (const [k, child] of root.fields ?? []) out[k] = build(child);
  return out;
}
