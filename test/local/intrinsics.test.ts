import { evaluate, PolicyDocument } from '../../lib/local/iam-check';
import type { TemplateStack } from '../../lib/local/intrinsics';
import { AssemblyError } from '../../lib/local/plan';
import { AssemblyResources } from '../../lib/local/resources';

const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders';

/** A stack as CDK synthesizes it: a table, a queue, and a parameter, in eu-west-1. */
const stack: TemplateStack = {
  name: 'Mirror-eu-west-1',
  region: 'eu-west-1',
  template: {
    Parameters: { Suffix: { Default: 'ddbm-tombstones' } },
    Resources: {
      OrdersTable: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          TableName: 'Orders',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        },
      },
      ParkedQueue1234: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'parked' } },
    },
  },
};

function resolve(value: unknown): unknown {
  const resources = new AssemblyResources([stack], '123456789012');
  return resources.resolver.resolve(stack, value, 'Test policy');
}

describe('IntrinsicResolver', () => {
  test('resolves Fn::Join, Fn::Sub, Ref pseudo parameters and Fn::GetAtt as CloudFormation would', () => {
    // GIVEN a statement as CDK synthesizes it
    const raw = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
          Resource: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':dynamodb:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':table/Orders',
                ],
              ],
            },
            {
              'Fn::Sub':
                'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${OrdersTable}-${Suffix}',
            },
            { 'Fn::GetAtt': ['ParkedQueue1234', 'Arn'] },
            {
              'Fn::Sub': [
                '${Table.Arn}/stream/${!Label}',
                { 'Table.Arn': { 'Fn::GetAtt': 'OrdersTable.Arn' } },
              ],
            },
          ],
        },
      ],
    };
    // WHEN resolved for eu-west-1
    const policy = resolve(raw) as PolicyDocument;
    // THEN the ARNs are concrete, and the policy grants what it says
    const [statement] = [policy.Statement].flat();
    expect(statement.Resource).toEqual([
      TABLE,
      `${TABLE}-ddbm-tombstones`,
      'arn:aws:sqs:eu-west-1:123456789012:parked',
      `${TABLE}/stream/\${Label}`,
    ]);
    expect(evaluate([policy], 'dynamodb:PutItem', TABLE).allowed).toBe(true);
  });

  test('names what cannot be resolved instead of guessing', () => {
    // GIVEN values that name nothing in the assembly
    const unresolvable = [
      { 'Fn::ImportValue': 'SomethingElse' },
      { Ref: 'NoSuchThing' },
      { 'Fn::GetAtt': ['ParkedQueue1234', 'Nope'] },
      { 'Fn::Transform': {} },
    ];
    // WHEN each is resolved THEN each fails naming the place and the intrinsic
    const errors = unresolvable.map((v) => {
      try {
        return resolve(v);
      } catch (e) {
        return e;
      }
    });
    expect(errors.every((e) => e instanceof AssemblyError)).toBe(true);
    const messages = errors.map((e) => (e as Error).message);
    expect(messages).toEqual([
      'Test policy: Fn::ImportValue SomethingElse has no matching export in the assembly',
      'Test policy: Ref NoSuchThing names nothing in stack Mirror-eu-west-1',
      'Test policy: Fn::GetAtt ParkedQueue1234.Nope (AWS::SQS::Queue) cannot be resolved locally',
      'Test policy: Fn::Transform cannot be resolved locally',
    ]);
  });

  test('drops AWS::NoValue from objects and lists', () => {
    expect(resolve({ A: { Ref: 'AWS::NoValue' }, B: ['x', { Ref: 'AWS::NoValue' }] })).toEqual({ B: ['x'] });
  });
});
