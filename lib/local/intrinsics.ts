import { AssemblyError } from './plan';

/**
 * The one CloudFormation intrinsic resolver of the local mirror: `Ref`, `Fn::GetAtt`, `Fn::Join`,
 * `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::ImportValue`, `Fn::GetAZs`, `Fn::Base64` and the pseudo
 * parameters, resolved as a deployment of the assembly would (partition `aws`, the stack's region, the
 * plan's account). What cannot be resolved is an error naming the place, never a silent guess: a policy
 * or environment value the emulator got wrong would make the local run disagree with AWS.
 */

export type TemplateResource = {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
};

export type Template = {
  readonly Resources?: Record<string, TemplateResource>;
  readonly Parameters?: Record<string, { readonly Default?: unknown }>;
  readonly Outputs?: Record<
    string,
    { readonly Value: unknown; readonly Export?: { readonly Name: unknown } }
  >;
  readonly Conditions?: Record<string, unknown>;
};

/** What the resolver needs of a stack. */
export interface TemplateStack {
  readonly name: string;
  readonly region: string;
  readonly template: Template;
}

/** The values of `Ref` and `Fn::GetAtt` on resources: they depend on the resource type. */
export interface ResourceValues {
  ref(stack: TemplateStack, logicalId: string, what: string): unknown;
  getAtt(stack: TemplateStack, logicalId: string, attribute: string, what: string): unknown;
}

/** `AWS::NoValue`: the property or list element is dropped. */
const NO_VALUE = Symbol('AWS::NoValue');

export class IntrinsicResolver {
  constructor(
    private readonly stacks: readonly TemplateStack[],
    readonly account: string,
    private readonly resources: ResourceValues,
  ) {}

  /** Resolves every intrinsic in a value; `what` names the place for error messages. */
  resolve(stack: TemplateStack, value: unknown, what: string): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value))
      return value.map((v) => this.resolve(stack, v, what)).filter((v) => v !== NO_VALUE);
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
      return this.intrinsic(stack, keys[0], obj[keys[0]], what);
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = this.resolve(stack, obj[k], what);
      if (v !== NO_VALUE) out[k] = v;
    }
    return out;
  }

  /** Resolves a value that must be a scalar, as text. */
  str(stack: TemplateStack, value: unknown, what: string): string {
    const v = this.resolve(stack, value, what);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw new AssemblyError(`${what}: expected a string, got ${JSON.stringify(v)}`);
    return String(v);
  }

  /** The template's definition of a resource; an error when it has none. */
  resource(stack: TemplateStack, id: string): TemplateResource {
    const r = stack.template.Resources?.[id];
    if (!r) throw new AssemblyError(`Stack ${stack.name}: resource ${id} is referenced but not defined`);
    return r;
  }

  private intrinsic(stack: TemplateStack, fn: string, arg: unknown, what: string): unknown {
    switch (fn) {
      case 'Ref':
        return this.ref(stack, String(arg), what);
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.+)/);
        return this.resources.getAtt(stack, id, attr, what);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        const resolved = this.resolve(stack, parts, what) as unknown[];
        return resolved.map((p) => (typeof p === 'object' ? JSON.stringify(p) : String(p))).join(sep);
      }
      case 'Fn::Sub':
        return this.sub(stack, arg, what);
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.resolve(stack, list, what);
        if (!Array.isArray(items)) throw new AssemblyError(`${what}: Fn::Select of ${JSON.stringify(items)}`);
        return items[Number(this.resolve(stack, index, what))];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return this.str(stack, source, what).split(sep);
      }
      case 'Fn::ImportValue':
        return this.importValue(this.str(stack, arg, what), what);
      case 'Fn::GetAZs':
        return [`${stack.region}a`, `${stack.region}b`, `${stack.region}c`];
      case 'Fn::Base64':
        return Buffer.from(this.str(stack, arg, what)).toString('base64');
      default:
        throw new AssemblyError(`${what}: ${fn} cannot be resolved locally`);
    }
  }

  /** `${Name}`, `${Resource.Attr}`, `${AWS::Region}`; `${!Literal}` is the literal `${Literal}`. */
  private sub(stack: TemplateStack, arg: unknown, what: string): string {
    const [template, vars] = Array.isArray(arg)
      ? (arg as [string, Record<string, unknown> | undefined])
      : [String(arg), undefined];
    return template.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
      if (name.startsWith('!')) return '${' + name.slice(1) + '}';
      if (vars && name in vars) return this.str(stack, vars[name], what);
      const [id, attr] = name.split(/\.(.+)/);
      return String(attr ? this.resources.getAtt(stack, id, attr, what) : this.ref(stack, id, what));
    });
  }

  private importValue(name: string, what: string): unknown {
    for (const s of this.stacks)
      for (const out of Object.values(s.template.Outputs ?? {}))
        if (out.Export && this.resolve(s, out.Export.Name, what) === name)
          return this.resolve(s, out.Value, what);
    throw new AssemblyError(`${what}: Fn::ImportValue ${name} has no matching export in the assembly`);
  }

  private ref(stack: TemplateStack, id: string, what: string): unknown {
    const pseudo = this.pseudoParameter(stack, id);
    if (pseudo !== undefined) return pseudo;
    const param = stack.template.Parameters?.[id];
    if (param) {
      if (param.Default === undefined) throw new AssemblyError(`${what}: parameter ${id} has no default`);
      return param.Default;
    }
    if (!stack.template.Resources?.[id])
      throw new AssemblyError(`${what}: Ref ${id} names nothing in stack ${stack.name}`);
    return this.resources.ref(stack, id, what);
  }

  private pseudoParameter(stack: TemplateStack, id: string): unknown {
    switch (id) {
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Region':
        return stack.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.name;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${stack.region}:${this.account}:stack/${stack.name}/local`;
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }
}
