import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { buildApp } from '../../lib/app';
import { ConfigError } from '../../lib/config/load';
import { DdbMirror, type DdbMirrorConfig } from '../../lib/ddb-mirror';
import { exampleModel, testApp } from '../support/model-fixtures';

/** Two regions and one one-way table, as few fields as the config file needs. */
function config(overrides: Partial<DdbMirrorConfig> = {}): DdbMirrorConfig {
  return {
    regions: {
      'eu-west-1': { endpoint: { hostname: 'eu.orders.example.com' } },
      'us-east-1': { endpoint: { hostname: 'us.orders.example.com' } },
    },
    tables: [
      {
        name: 'Orders',
        partitionKey: { name: 'orderId', type: 'S' },
        mode: 'one-way',
        source: 'eu-west-1',
        replicas: ['us-east-1'],
      },
    ],
    ...overrides,
  };
}

/** The user's own stack and table, in eu-west-1. */
function ordersTable(app: ReturnType<typeof testApp>, props: Partial<dynamodb.TablePropsV2> = {}) {
  const stack = new Stack(app, 'OrdersApp', { env: { region: 'eu-west-1' } });
  return new dynamodb.TableV2(stack, 'Orders', {
    tableName: 'Orders',
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    ...props,
  });
}

function configError(build: () => unknown): ConfigError {
  try {
    build();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('DdbMirror, the construct a user adds to their own CDK app', () => {
  test('takes the config file fields, applies its defaults and names its stacks as the app does, whatever its id', () => {
    // GIVEN a user's app
    const app = testApp();
    // WHEN a mirror is added under any id, with only the fields the config file requires
    const mirror = new DdbMirror(app, 'AnyId', config());
    // THEN the defaults are applied and the stacks are the App's children, named by prefix and region
    const table = mirror.model.tables[0];
    expect(mirror.model.stackPrefix).toBe('DdbMirror');
    expect(table).toMatchObject({
      billing: { mode: 'PAY_PER_REQUEST' },
      pointInTimeRecovery: true,
      existing: [],
    });
    expect(mirror.stacks.map((s) => [s.node.path, s.stackName, s.region])).toEqual([
      ['DdbMirror-eu-west-1', 'DdbMirror-eu-west-1', 'eu-west-1'],
      ['DdbMirror-us-east-1', 'DdbMirror-us-east-1', 'us-east-1'],
    ]);
    expect(mirror.routingStack).toBeUndefined();
  });

  test('reports every config mistake at once, each with its field and value', () => {
    const app = testApp();
    const bad = config({
      stackPrefix: '1st',
      tables: [
        {
          name: 'Orders',
          partitionKey: { name: 'orderId', type: 'S' },
          mode: 'one-way',
          source: 'eu-west-1',
          replicas: ['us-west-9'],
          tombstoneTtlDays: 1,
        },
      ],
    });
    const error = configError(() => new DdbMirror(app, 'Mirror', bad));
    expect(error.message).toMatch(/^the DdbMirror Mirror config is invalid \(3 problems\):/);
    expect(error.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['stackPrefix', 'tables[0].replicas[0]', 'tables[0].tombstoneTtlDays']),
    );
    expect(error.message).toContain('"1st"');
    expect(error.message).toContain('"us-west-9"');
  });

  test('accepts a model already built, as buildApp does, and checks it with the same rules', () => {
    const model = exampleModel();
    const mirror = new DdbMirror(testApp(), 'Mirror', model);
    expect(mirror.model).toEqual(model);
    expect([...mirror.regionStacks.keys()]).toEqual(model.regions.map((r) => r.name));
    expect(mirror.routingStack?.stackName).toBe(`${model.stackPrefix}-Routing`);
    const broken = { ...model, tables: [{ ...model.tables[0], replicas: ['mars-east-1'] }] };
    expect(() => new DdbMirror(testApp(), 'Mirror', broken)).toThrow(/Invalid model: .*mars-east-1/);
  });

  test("the synthesized stacks are the app's own: buildApp with the same model gives the same templates", () => {
    const model = exampleModel();
    const viaConstruct = new DdbMirror(testApp(), 'Mirror', { ...model, env: {} });
    const viaBuildApp = buildApp(testApp(), model, { nag: false, env: {} });
    for (const [region, stack] of viaBuildApp.regionStacks)
      expect(Template.fromStack(viaConstruct.regionStacks.get(region)!).toJSON()).toEqual(
        Template.fromStack(stack).toJSON(),
      );
  });

  test("adopts the user's TableV2 in its stack's region: name, keys and existing come from it", () => {
    // GIVEN the user's table in eu-west-1, named explicitly
    const app = testApp();
    const orders = ordersTable(app, {
      sortKey: { name: 'line', type: dynamodb.AttributeType.NUMBER },
    });
    // WHEN the mirror names it instead of a table name and keys
    const mirror = new DdbMirror(app, 'Mirror', {
      ...config(),
      tables: [{ table: orders, mode: 'one-way', source: 'eu-west-1', replicas: ['us-east-1'] }],
    });
    // THEN the model holds its name and keys, and eu-west-1 adopts it rather than creating it
    expect(mirror.model.tables[0]).toMatchObject({
      name: 'Orders',
      key: { partitionKey: { name: 'orderId', type: 'S' }, sortKey: { name: 'line', type: 'N' } },
      existing: ['eu-west-1'],
    });
    const adopting = Template.fromStack(mirror.regionStacks.get('eu-west-1')!);
    adopting.resourcePropertiesCountIs('AWS::DynamoDB::Table', { TableName: 'Orders' }, 0);
    Template.fromStack(mirror.regionStacks.get('us-east-1')!).hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'Orders',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    // AND the region's stack deploys after the stack that creates the table
    expect(mirror.regionStacks.get('eu-west-1')!.dependencies).toContain(Stack.of(orders));
    expect(mirror.regionStacks.get('us-east-1')!.dependencies).toEqual([]);
  });

  test('an imported table (Table.fromTableName) is adopted by its name, keys from the entry, no dependency', () => {
    const app = testApp();
    const appStack = new Stack(app, 'Imports', { env: { region: 'us-east-1' } });
    const imported = dynamodb.Table.fromTableName(appStack, 'Orders', 'Orders');
    const mirror = new DdbMirror(app, 'Mirror', {
      ...config(),
      tables: [
        {
          table: imported,
          partitionKey: { name: 'orderId', type: 'S' },
          mode: 'one-way',
          source: 'eu-west-1',
          replicas: ['us-east-1'],
        },
      ],
    });
    expect(mirror.model.tables[0]).toMatchObject({ name: 'Orders', existing: ['us-east-1'] });
    expect(mirror.regionStacks.get('us-east-1')!.dependencies).toEqual([]);
  });

  test('refuses a table whose name CloudFormation would choose, naming it and asking for a tableName', () => {
    const app = testApp();
    const unnamed = ordersTable(app, { tableName: undefined });
    const error = configError(
      () =>
        new DdbMirror(app, 'Mirror', {
          ...config(),
          tables: [{ table: unnamed, mode: 'one-way', source: 'eu-west-1', replicas: ['us-east-1'] }],
        }),
    );
    expect(error.issues).toContainEqual({
      path: 'tables[0].table',
      message: expect.stringMatching(/^table OrdersApp\/Orders has no explicit name .*give it a tableName/),
    });
  });

  test("reports an entry that contradicts its table's name or keys, and a table without a region", () => {
    const app = testApp();
    const orders = ordersTable(app);
    const agnostic = new dynamodb.TableV2(new Stack(app, 'Anywhere'), 'Orders', {
      tableName: 'Orders',
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    });
    const error = configError(
      () =>
        new DdbMirror(app, 'Mirror', {
          ...config(),
          tables: [
            {
              table: [orders, agnostic],
              name: 'Invoices',
              partitionKey: { name: 'orderId', type: 'N' },
              mode: 'one-way',
              source: 'eu-west-1',
              replicas: ['us-east-1'],
            },
          ],
        }),
    );
    expect(error.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(
      expect.arrayContaining([
        'tables[0].name: "Invoices" is not the name of table OrdersApp/Orders, "Orders"',
        'tables[0].partitionKey: {"name":"orderId","type":"N"} is not the partition key of table OrdersApp/Orders, {"name":"orderId","type":"S"}',
        'tables[0].table: table Anywhere/Orders is in a stack without an explicit region: give its stack env.region',
      ]),
    );
  });

  test('refuses a DynamoDB global table: its own replication would run beside the mirror', () => {
    const app = testApp();
    const global = ordersTable(app, { replicas: [{ region: 'us-east-1' }] });
    const error = configError(
      () =>
        new DdbMirror(app, 'Mirror', {
          ...config(),
          tables: [{ table: global, mode: 'one-way', source: 'eu-west-1', replicas: ['us-east-1'] }],
        }),
    );
    expect(error.issues).toEqual([
      {
        path: 'tables[0].table',
        message: expect.stringContaining('table OrdersApp/Orders is a DynamoDB global table (2 replicas)'),
      },
    ]);
  });

  test("a replicator's adopted table needs a NEW_AND_OLD_IMAGES stream: another view type is refused, none is warned", () => {
    const keysOnly = testApp();
    const error = configError(
      () =>
        new DdbMirror(keysOnly, 'Mirror', {
          ...config(),
          tables: [
            {
              table: ordersTable(keysOnly, { dynamoStream: dynamodb.StreamViewType.KEYS_ONLY }),
              mode: 'one-way',
              source: 'eu-west-1',
              replicas: ['us-east-1'],
            },
          ],
        }),
    );
    expect(error.issues).toEqual([
      { path: 'tables[0].table', message: expect.stringContaining('has a KEYS_ONLY stream') },
    ]);

    const noStream = testApp();
    const orders = ordersTable(noStream, { dynamoStream: undefined });
    new DdbMirror(noStream, 'Mirror', {
      ...config(),
      tables: [{ table: orders, mode: 'one-way', source: 'eu-west-1', replicas: ['us-east-1'] }],
    });
    Annotations.fromStack(Stack.of(orders)).hasWarning(
      '/OrdersApp/Orders',
      Match.stringLikeRegexp('enables a NEW_AND_OLD_IMAGES stream on OrdersApp/Orders'),
    );
  });
});
