/**
 * The expression language (Developer Guide, "Using expressions in DynamoDB"): a tokenizer and a
 * recursive-descent parser for condition, filter and key condition expressions, update expressions
 * and projections. Each distinct text is parsed once; placeholders stay unresolved in the tree, so one
 * tree serves every request that sends the same text with other values.
 *
 * Precedence, highest first, as documented: comparators, IN, BETWEEN, functions, parentheses, NOT,
 * AND, OR.
 */
import { validation } from './errors';
import { RESERVED_WORDS } from './reserved-words';

/** A document path: a top-level name, then `.name` and `[index]` steps. */
export type PathStep =
  | { readonly kind: 'name'; readonly name: string; readonly placeholder: boolean }
  | { readonly kind: 'index'; readonly index: number };
export type Path = readonly PathStep[];

export type Operand =
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'value'; readonly name: string }
  | { readonly kind: 'size'; readonly path: Path };

export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type BooleanFunction =
  'attribute_exists' | 'attribute_not_exists' | 'attribute_type' | 'begins_with' | 'contains';

export type Condition =
  | { readonly kind: 'compare'; readonly op: Comparator; readonly left: Operand; readonly right: Operand }
  | { readonly kind: 'between'; readonly operand: Operand; readonly low: Operand; readonly high: Operand }
  | { readonly kind: 'in'; readonly operand: Operand; readonly list: readonly Operand[] }
  | { readonly kind: 'function'; readonly name: BooleanFunction; readonly args: readonly Operand[] }
  | { readonly kind: 'and' | 'or'; readonly left: Condition; readonly right: Condition }
  | { readonly kind: 'not'; readonly condition: Condition };

/** The right-hand side of a SET action. */
export type SetValue =
  | { readonly kind: 'path'; readonly path: Path }
  | { readonly kind: 'value'; readonly name: string }
  | { readonly kind: 'if_not_exists'; readonly path: Path; readonly fallback: SetValue }
  | { readonly kind: 'list_append'; readonly first: SetValue; readonly second: SetValue }
  | {
      readonly kind: 'arithmetic';
      readonly op: '+' | '-';
      readonly left: SetValue;
      readonly right: SetValue;
    };

export interface UpdateTree {
  readonly set: readonly { readonly path: Path; readonly value: SetValue }[];
  readonly remove: readonly Path[];
  readonly add: readonly { readonly path: Path; readonly value: string }[];
  readonly delete: readonly { readonly path: Path; readonly value: string }[];
}

/** What every parsed expression carries: the placeholders it uses. */
export interface Parsed<T> {
  readonly tree: T;
  readonly names: ReadonlySet<string>;
  readonly values: ReadonlySet<string>;
}

export type ExpressionKind =
  | 'ConditionExpression'
  | 'FilterExpression'
  | 'KeyConditionExpression'
  | 'UpdateExpression'
  | 'ProjectionExpression';

// ---------------------------------------------------------------------------------------------
// Tokens.

type Token =
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'name'; readonly v: string }
  | { readonly t: 'value'; readonly v: string }
  | { readonly t: 'int'; readonly v: string }
  | { readonly t: 'op'; readonly v: string }
  | { readonly t: 'end'; readonly v: '' };

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isWord = (c: number) => isLetter(c) || isDigit(c) || c === 95;

function tokenize(text: string, kind: ExpressionKind): Token[] {
  const out: Token[] = [];
  let i = 0;
  const word = (from: number) => {
    let j = from;
    while (j < text.length && isWord(text.charCodeAt(j))) j += 1;
    return j;
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i += 1;
    } else if (isLetter(c)) {
      const j = word(i);
      out.push({ t: 'id', v: text.slice(i, j) });
      i = j;
    } else if (isDigit(c)) {
      let j = i;
      while (j < text.length && isDigit(text.charCodeAt(j))) j += 1;
      out.push({ t: 'int', v: text.slice(i, j) });
      i = j;
    } else if (c === 35 || c === 58) {
      const j = word(i + 1);
      if (j === i + 1) throw syntax(kind, text[i], text.slice(i, i + 3));
      out.push({ t: c === 35 ? 'name' : 'value', v: text.slice(i, j) });
      i = j;
    } else {
      const two = text.slice(i, i + 2);
      if (two === '<>' || two === '<=' || two === '>=') {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('()[],.=<>+-'.includes(text[i])) {
        out.push({ t: 'op', v: text[i] });
        i += 1;
      } else {
        throw syntax(kind, text[i], text.slice(Math.max(0, i - 2), i + 2));
      }
    }
  }
  out.push({ t: 'end', v: '' });
  return out;
}

function syntax(kind: ExpressionKind, token: string, near: string) {
  return validation(`Invalid ${kind}: Syntax error; token: "${token || '<EOF>'}", near: "${near}"`);
}

// ---------------------------------------------------------------------------------------------
// Parser.

const BOOLEAN_FUNCTIONS: Record<string, number> = {
  attribute_exists: 1,
  attribute_not_exists: 1,
  attribute_type: 2,
  begins_with: 2,
  contains: 2,
};
const COMPARATORS = new Set(['=', '<>', '<', '<=', '>', '>=']);
const CLAUSES = ['SET', 'REMOVE', 'ADD', 'DELETE'] as const;

class Parser {
  private pos = 0;
  readonly names = new Set<string>();
  readonly values = new Set<string>();
  private readonly tokens: Token[];

  constructor(
    text: string,
    readonly kind: ExpressionKind,
  ) {
    this.tokens = tokenize(text, kind);
  }

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.peek();
    this.pos += 1;
    return t;
  }
  atEnd(): boolean {
    return this.peek().t === 'end';
  }
  isOp(v: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.t === 'op' && t.v === v;
  }
  isKeyword(word: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v.toUpperCase() === word;
  }
  expectOp(v: string): void {
    if (!this.isOp(v)) this.fail();
    this.pos += 1;
  }
  expectKeyword(word: string): void {
    if (!this.isKeyword(word)) this.fail();
    this.pos += 1;
  }
  fail(): never {
    const t = this.peek();
    const near = this.tokens
      .slice(Math.max(0, this.pos - 1), this.pos + 2)
      .map((x) => x.v)
      .join(' ');
    throw syntax(this.kind, t.v, near);
  }
  invalid(message: string): never {
    throw validation(`Invalid ${this.kind}: ${message}`);
  }

  // Paths.

  path(): Path {
    const steps: PathStep[] = [this.nameStep()];
    for (;;) {
      if (this.isOp('.')) {
        this.pos += 1;
        steps.push(this.nameStep());
      } else if (this.isOp('[')) {
        this.pos += 1;
        const t = this.next();
        if (t.t !== 'int') this.fail();
        this.expectOp(']');
        steps.push({ kind: 'index', index: Number(t.v) });
      } else {
        return steps;
      }
    }
  }

  private nameStep(): PathStep {
    const t = this.next();
    if (t.t === 'name') {
      this.names.add(t.v);
      return { kind: 'name', name: t.v, placeholder: true };
    }
    if (t.t !== 'id') {
      this.pos -= 1;
      this.fail();
    }
    if (RESERVED_WORDS.has(t.v.toLowerCase()))
      this.invalid(`Attribute name is a reserved keyword; reserved keyword: ${t.v}`);
    return { kind: 'name', name: t.v, placeholder: false };
  }

  private valueName(): string {
    const t = this.next();
    if (t.t !== 'value') {
      this.pos -= 1;
      this.fail();
    }
    this.values.add(t.v);
    return t.v;
  }

  // Conditions.

  condition(): Condition {
    let left = this.conjunction();
    while (this.isKeyword('OR')) {
      this.pos += 1;
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Condition {
    let left = this.negation();
    while (this.isKeyword('AND')) {
      this.pos += 1;
      left = { kind: 'and', left, right: this.negation() };
    }
    return left;
  }

  private negation(): Condition {
    if (this.isKeyword('NOT')) {
      this.pos += 1;
      return { kind: 'not', condition: this.negation() };
    }
    return this.primary();
  }

  private primary(): Condition {
    if (this.isOp('(')) {
      this.pos += 1;
      const inner = this.condition();
      this.expectOp(')');
      return inner;
    }
    const t = this.peek();
    if (t.t === 'id' && this.isOp('(', 1) && t.v in BOOLEAN_FUNCTIONS) return this.booleanFunction();
    const operand = this.operand();
    const op = this.peek();
    if (op.t === 'op' && COMPARATORS.has(op.v)) {
      this.pos += 1;
      return { kind: 'compare', op: op.v as Comparator, left: operand, right: this.operand() };
    }
    if (this.isKeyword('BETWEEN')) {
      this.pos += 1;
      const low = this.operand();
      this.expectKeyword('AND');
      return { kind: 'between', operand, low, high: this.operand() };
    }
    if (this.isKeyword('IN')) {
      this.pos += 1;
      this.expectOp('(');
      const list = [this.operand()];
      while (this.isOp(',')) {
        this.pos += 1;
        list.push(this.operand());
      }
      this.expectOp(')');
      if (list.length > 100) this.invalid('The IN operator is provided with too many operands; maximum: 100');
      return { kind: 'in', operand, list };
    }
    return this.fail();
  }

  private booleanFunction(): Condition {
    const name = this.next().v as BooleanFunction;
    this.expectOp('(');
    const args: Operand[] = [this.operand()];
    while (this.isOp(',')) {
      this.pos += 1;
      args.push(this.operand());
    }
    this.expectOp(')');
    if (args.length !== BOOLEAN_FUNCTIONS[name])
      this.invalid(`Incorrect number of operands for operator or function; operator or function: ${name}`);
    if (args[0].kind !== 'path')
      this.invalid(`Operator or function requires a document path; operator or function: ${name}`);
    return { kind: 'function', name, args };
  }

  private operand(): Operand {
    const t = this.peek();
    if (t.t === 'value') return { kind: 'value', name: this.valueName() };
    if (t.t === 'id' && this.isOp('(', 1)) {
      if (t.v !== 'size') {
        if (t.v in BOOLEAN_FUNCTIONS)
          this.invalid(`The function is not allowed to be used this way in an expression; function: ${t.v}`);
        this.invalid(`Invalid function name; function: ${t.v}`);
      }
      this.pos += 2;
      const path = this.path();
      this.expectOp(')');
      return { kind: 'size', path };
    }
    return { kind: 'path', path: this.path() };
  }

  // Updates.

  update(): UpdateTree {
    const tree = { set: [], remove: [], add: [], delete: [] } as {
      set: { path: Path; value: SetValue }[];
      remove: Path[];
      add: { path: Path; value: string }[];
      delete: { path: Path; value: string }[];
    };
    const seen = new Set<string>();
    if (this.atEnd()) this.fail();
    while (!this.atEnd()) {
      const t = this.next();
      const clause = t.t === 'id' ? CLAUSES.find((c) => c === t.v.toUpperCase()) : undefined;
      if (!clause) {
        this.pos -= 1;
        this.fail();
      }
      if (seen.has(clause))
        this.invalid(`The "${clause}" section can only be used once in an update expression;`);
      seen.add(clause);
      for (;;) {
        if (clause === 'SET') {
          const path = this.path();
          this.expectOp('=');
          tree.set.push({ path, value: this.setValue() });
        } else if (clause === 'REMOVE') {
          tree.remove.push(this.path());
        } else {
          const path = this.path();
          (clause === 'ADD' ? tree.add : tree.delete).push({ path, value: this.valueName() });
        }
        if (!this.isOp(',')) break;
        this.pos += 1;
      }
    }
    return tree;
  }

  private setValue(): SetValue {
    const left = this.setOperand();
    if (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v as '+' | '-';
      return { kind: 'arithmetic', op, left, right: this.setOperand() };
    }
    return left;
  }

  private setOperand(): SetValue {
    const t = this.peek();
    if (t.t === 'value') return { kind: 'value', name: this.valueName() };
    if (t.t === 'id' && this.isOp('(', 1)) {
      this.pos += 2;
      if (t.v === 'if_not_exists') {
        const path = this.path();
        this.expectOp(',');
        const fallback = this.setOperand();
        this.expectOp(')');
        return { kind: 'if_not_exists', path, fallback };
      }
      if (t.v === 'list_append') {
        const first = this.setOperand();
        this.expectOp(',');
        const second = this.setOperand();
        this.expectOp(')');
        return { kind: 'list_append', first, second };
      }
      this.invalid(`Invalid function name; function: ${t.v}`);
    }
    return { kind: 'path', path: this.path() };
  }

  projection(): Path[] {
    const paths = [this.path()];
    while (this.isOp(',')) {
      this.pos += 1;
      paths.push(this.path());
    }
    return paths;
  }

  finish<T>(tree: T): Parsed<T> {
    if (!this.atEnd()) this.fail();
    return { tree, names: this.names, values: this.values };
  }
}

// ---------------------------------------------------------------------------------------------
// Cached entry points. A text that fails to parse is cached as its error message.

type Entry<T> = Parsed<T> | { readonly error: string };
const caches = new Map<string, Map<string, Entry<unknown>>>();

function cached<T>(kind: ExpressionKind, text: string, parse: (p: Parser) => T): Parsed<T> {
  let cache = caches.get(kind);
  if (!cache) caches.set(kind, (cache = new Map()));
  let entry = cache.get(text) as Entry<T> | undefined;
  if (!entry) {
    try {
      if (text.trim() === '') throw validation(`Invalid ${kind}: The expression can not be empty;`);
      const p = new Parser(text, kind);
      entry = p.finish(parse(p));
    } catch (e) {
      entry = { error: (e as Error).message };
    }
    cache.set(text, entry);
  }
  if ('error' in entry) throw validation(entry.error);
  return entry;
}

export const parseCondition = (text: string, kind: ExpressionKind = 'ConditionExpression') =>
  cached(kind, text, (p) => p.condition());
export const parseUpdate = (text: string) => cached('UpdateExpression', text, (p) => p.update());
export const parseProjection = (text: string) => cached('ProjectionExpression', text, (p) => p.projection());
