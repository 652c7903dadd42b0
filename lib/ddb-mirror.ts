/**
 * The mirror as one construct, for a user's own CDK app: `new DdbMirror(app, 'Mirror', { regions, tables })`
 * with the config file's fields (checked by the same schema and rules, every mistake reported with its
 * field and value, defaults applied), or with a model already built. A table entry may name the user's
 * own table (`table: myTableV2`): that region's table exists already and is adopted, not created.
 */
import { Annotations, Stack, Stage, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct, type IConstruct } from 'constructs';
import { buildApp } from './app';
import type { ConfigIssue } from './config/issues';
import { ConfigError, validateConfig } from './config/load';
import type { KeyAttribute, MirrorModel } from './config/model';
import type { RawConfig } from './config/schema';
import type { MirrorRegionStack } from './stacks/mirror-region-stack';
import type { RoutingStack } from './stacks/routing-stack';

/** A user's table: a `TableV2` or `Table` of their app, or one imported by name (`Table.fromTableName`). */
export type AdoptableTable = dynamodb.ITableV2 | dynamodb.ITable;

type RawTable = RawConfig['tables'][number];
type WithTable<T> = T extends unknown
  ? Omit<T, 'name' | 'partitionKey'> & {
      /** @default - the adopted table's name */
      readonly name?: string;
      /** @default - the adopted table's partition key, when its stack defines the table */
      readonly partitionKey?: RawTable['partitionKey'];
      /**
       * The user's own table, in the region of its stack (one per region at most): there the table
       * exists already and is adopted (`existing`), never created, replaced or deleted. Its name must be
       * explicit (the mirror needs the same physical name in every region).
       * @default - the mirror creates the table in every region
       */
      readonly table?: AdoptableTable | readonly AdoptableTable[];
    }
  : never;

/** One table as `mirror.config.yaml` holds it, plus the user's own table where it exists already. */
export type DdbMirrorTable = WithTable<RawTable>;

/** `mirror.config.yaml` as code: the same fields, the same defaults. */
export interface DdbMirrorConfig extends Omit<RawConfig, 'tables'> {
  readonly tables: readonly DdbMirrorTable[];
}

export interface DdbMirrorOptions {
  /**
   * Register cdk-nag's AwsSolutions and Serverless checks on the App (or Stage) holding the mirror:
   * they run at synth over every stack in it, the user's own too.
   * @default false
   */
  readonly nag?: boolean;
  /**
   * Where `CDK_DEFAULT_ACCOUNT` is read from when the config names no account.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export type DdbMirrorProps = (DdbMirrorConfig | MirrorModel) & DdbMirrorOptions;

/**
 * Every stack of the mirror: `${stackPrefix}-${region}` per region and `${stackPrefix}-Routing` when
 * routing is configured. The stacks are created in the App (or Stage) that holds this construct, not
 * under it, so their names are the same whatever this construct's id: deployed stacks, the CLI and the
 * local mirror find them by those names.
 */
export class DdbMirror extends Construct {
  /** The validated model, every default applied. */
  public readonly model: MirrorModel;
  /** Regional stacks, by region name, in the model's region order. */
  public readonly regionStacks: ReadonlyMap<string, MirrorRegionStack>;
  /** Present when the model configures routing. */
  public readonly routingStack?: RoutingStack;

  constructor(scope: Construct, id: string, props: DdbMirrorProps) {
    super(scope, id);
    const stage = Stage.of(this);
    if (!stage) throw new Error(`${this.node.path}: a DdbMirror must be inside an App or a Stage`);
    const { nag, env, ...config } = props;
    const adopted = isModel(config) ? [] : adoptedTables(config);
    this.model = isModel(config) ? config : toModel(this, config, adopted);
    const built = buildApp(stage, this.model, { nag: nag ?? false, ...(env ? { env } : {}) });
    this.regionStacks = built.regionStacks;
    this.routingStack = built.routingStack;
    for (const { table, region } of adopted) this.dependOn(table, region);
  }

  /** The mirror's stacks, regions first. */
  public get stacks(): readonly Stack[] {
    return [...this.regionStacks.values(), ...(this.routingStack ? [this.routingStack] : [])];
  }

  /** A table the user's app creates is deployed before the mirror's stack of its region adopts it. */
  private dependOn(table: AdoptableTable, region: string): void {
    const stack = this.regionStacks.get(region);
    const owner = Stack.of(table);
    if (!stack || !definedHere(table) || Stage.of(owner) !== Stage.of(stack)) return;
    stack.addStackDependency(owner, `adopts table ${table.node.path}`);
  }
}

const isModel = (config: DdbMirrorConfig | MirrorModel): config is MirrorModel =>
  Array.isArray(config.regions);

interface Adopted {
  readonly index: number;
  readonly table: AdoptableTable;
  readonly region: string;
}

function adoptedTables(config: DdbMirrorConfig): Adopted[] {
  return config.tables.flatMap((t, index) => {
    const tables =
      t.table === undefined ? [] : Array.isArray(t.table) ? t.table : [t.table as AdoptableTable];
    return tables.map((table) => ({ index, table, region: table.env.region }));
  });
}

/** The config as the schema reads it (adopted tables become names, keys and `existing`), validated. */
function toModel(scope: IConstruct, config: DdbMirrorConfig, adopted: readonly Adopted[]): MirrorModel {
  const issues: ConfigIssue[] = [];
  const tables = config.tables.map((entry, i) => {
    const { table: _table, ...rest } = entry;
    const mine = adopted.filter((a) => a.index === i).map((a) => ({ ...a, ...tableFacts(a.table) }));
    if (!mine.length) return rest;
    const problem = (field: string, message: string) =>
      issues.push({ path: `tables[${i}].${field}`, message });
    // What the entry says, else what the first table that says it does.
    const name = rest.name ?? mine.find((f) => f.name !== undefined && !Token.isUnresolved(f.name))?.name;
    const keyed = rest.partitionKey ? undefined : mine.find((f) => f.partitionKey);
    const partitionKey = rest.partitionKey ?? keyed?.partitionKey;
    const sortKey = rest.partitionKey ? rest.sortKey : (rest.sortKey ?? keyed?.sortKey);
    const readRegions: readonly unknown[] =
      rest.mode === 'one-way' ? [rest.source] : rest.mode === 'multi-active' ? (rest.regions ?? []) : [];
    const regions = new Map<string, string>();
    for (const f of mine) {
      const what = `table ${f.table.node.path}`;
      if (Token.isUnresolved(f.region))
        problem('table', `${what} is in a stack without an explicit region: give its stack env.region`);
      else if (regions.has(f.region))
        problem(
          'table',
          `${what} and ${regions.get(f.region)} are both in ${f.region}: one table per region`,
        );
      else regions.set(f.region, f.table.node.path);
      if (f.name === undefined || Token.isUnresolved(f.name))
        problem(
          'table',
          `${what} has no explicit name (CloudFormation would choose one per region): give it a tableName, the same in every region`,
        );
      else if (name !== f.name) problem('name', `${show(name)} is not the name of ${what}, "${f.name}"`);
      if (f.partitionKey && !sameKey(f.partitionKey, partitionKey))
        problem(
          'partitionKey',
          `${show(partitionKey)} is not the partition key of ${what}, ${show(f.partitionKey)}`,
        );
      if (f.partitionKey && !sameKey(f.sortKey, sortKey))
        problem('sortKey', `${show(sortKey)} is not the sort key of ${what}, ${show(f.sortKey)}`);
      if (f.replicas > 1)
        problem(
          'table',
          `${what} is a DynamoDB global table (${f.replicas} replicas); the mirror replicates the table itself: give it no replicas`,
        );
      // Only where a replicator reads the table does its stream matter.
      if (!readRegions.includes(f.region)) continue;
      if (f.streamView && f.streamView !== dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        problem('table', `${what} has a ${f.streamView} stream; the replicator reads NEW_AND_OLD_IMAGES`);
      else if (f.defined && !f.streamView)
        Annotations.of(f.table).addWarningV2(
          'ddb-mirror:adoptedTableStream',
          `ddb-mirror enables a NEW_AND_OLD_IMAGES stream on ${f.table.node.path} at deploy, for its replicator; declare that stream on the table so its own stack agrees`,
        );
    }
    const existing =
      entry.existing === true
        ? true
        : [...new Set([...(entry.existing || []), ...mine.map((f) => f.region)])];
    return {
      ...rest,
      ...(name !== undefined && { name }),
      ...(partitionKey && { partitionKey }),
      ...(sortKey && { sortKey }),
      existing,
    };
  });
  const result = validateConfig({ ...config, tables });
  const all = [...issues, ...(result.ok ? [] : result.issues)];
  if (!result.ok || all.length) throw new ConfigError(`the DdbMirror ${scope.node.path} config`, all);
  return result.model;
}

interface TableFacts {
  readonly name?: string;
  readonly partitionKey?: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly streamView?: string;
  /** A global table's replicas, its own region's included. */
  readonly replicas: number;
  /** The user's app creates the table (it is not imported). */
  readonly defined: boolean;
}

/** What the table's own CloudFormation resource says, when the app defines it; else its name only. */
function tableFacts(table: AdoptableTable): TableFacts {
  const cfn = table.node.defaultChild;
  if (!(cfn instanceof dynamodb.CfnTable || cfn instanceof dynamodb.CfnGlobalTable))
    return { name: table.tableName, replicas: 0, defined: false };
  // TableV2 computes its replicas and stream lazily: resolved now, as the template will hold them.
  const resolve = (value: unknown): unknown => Stack.of(cfn).resolve(value);
  const keys = resolve(cfn.keySchema) as dynamodb.CfnTable.KeySchemaProperty[] | undefined;
  const types = resolve(cfn.attributeDefinitions) as
    dynamodb.CfnTable.AttributeDefinitionProperty[] | undefined;
  const key = (keyType: string): KeyAttribute | undefined => {
    const name = keys?.find((k) => k.keyType === keyType)?.attributeName;
    const type = types?.find((a) => a.attributeName === name)?.attributeType;
    return name && type ? { name, type: type as KeyAttribute['type'] } : undefined;
  };
  const stream = resolve(cfn.streamSpecification) as { streamViewType?: string } | undefined;
  const replicas = cfn instanceof dynamodb.CfnGlobalTable ? resolve(cfn.replicas) : undefined;
  return {
    name: cfn.tableName,
    partitionKey: key('HASH'),
    sortKey: key('RANGE'),
    ...(stream?.streamViewType ? { streamView: stream.streamViewType } : {}),
    replicas: Array.isArray(replicas) ? replicas.length : 0,
    defined: true,
  };
}

function definedHere(table: AdoptableTable): boolean {
  const cfn = table.node.defaultChild;
  return cfn instanceof dynamodb.CfnTable || cfn instanceof dynamodb.CfnGlobalTable;
}

const sameKey = (a?: { name?: unknown; type?: unknown }, b?: { name?: unknown; type?: unknown }) =>
  a?.name === b?.name && a?.type === b?.type;

const show = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));
