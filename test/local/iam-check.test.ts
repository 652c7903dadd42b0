import { assertAllowed, evaluate, matchArn, PolicyDocument } from '../../lib/local/iam-check';

const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Orders';

const doc = (...Statement: PolicyDocument['Statement'][]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: Statement.flat() as PolicyDocument['Statement'],
});

describe('evaluate', () => {
  test('allows a listed action on a listed resource, action names case-insensitively', () => {
    // GIVEN a role that may put items into Orders
    const policies = [doc({ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: TABLE })];
    // WHEN it puts (spelled in another case) THEN that is allowed; a missing action is denied
    expect(evaluate(policies, 'DynamoDB:putitem', TABLE)).toMatchObject({ allowed: true, decision: 'allow' });
    expect(evaluate(policies, 'dynamodb:DeleteItem', TABLE)).toEqual({
      allowed: false,
      decision: 'implicit-deny',
    });
  });

  test('matches ARNs case-sensitively, with * and ? inside one ARN part', () => {
    // GIVEN a resource pattern with wildcards in the region and the table name
    const policies = [
      doc({
        Effect: 'Allow',
        Action: 'dynamodb:*',
        Resource: 'arn:aws:dynamodb:*:123456789012:table/Ord?rs*',
      }),
    ];
    // WHEN calls name matching and wrong ARNs THEN only the matching ones are allowed
    expect(evaluate(policies, 'dynamodb:Query', `${TABLE}/index/byDate`).allowed).toBe(true);
    expect(
      evaluate(policies, 'dynamodb:Query', 'arn:aws:dynamodb:us-east-1:123456789012:table/Orders').allowed,
    ).toBe(true);
    expect(
      evaluate(policies, 'dynamodb:Query', 'arn:aws:dynamodb:eu-west-1:123456789012:table/orders').allowed,
    ).toBe(false);
    expect(
      evaluate(policies, 'dynamodb:Query', 'arn:aws:dynamodb:eu-west-1:999999999999:table/Orders').allowed,
    ).toBe(false);
    expect(matchArn('arn:aws:dynamodb:eu-west-1:123456789012:table/Orders', `${TABLE}/stream/x`)).toBe(false);
    expect(matchArn('*', TABLE)).toBe(true);
  });

  test('an explicit Deny wins over any Allow, and is reported', () => {
    // GIVEN an Allow of everything and a Deny of deletes on Orders
    const policies = [
      doc({ Effect: 'Allow', Action: '*', Resource: '*' }),
      doc({ Sid: 'NoDeletes', Effect: 'Deny', Action: 'dynamodb:Delete*', Resource: TABLE }),
    ];
    // WHEN a delete and a put are checked THEN the delete is denied by that statement, the put allowed
    expect(evaluate(policies, 'dynamodb:DeleteItem', TABLE)).toEqual({
      allowed: false,
      decision: 'explicit-deny',
      matchedStatement: { policy: 1, statement: 0, sid: 'NoDeletes', effect: 'Deny' },
    });
    expect(evaluate(policies, 'dynamodb:PutItem', TABLE).allowed).toBe(true);
  });

  test('NotAction and NotResource invert their match', () => {
    // GIVEN an Allow of all but DeleteTable, and an Allow of SendMessage to all but one queue
    const policies = [
      doc({ Effect: 'Allow', NotAction: 'dynamodb:DeleteTable', Resource: TABLE }),
      doc({ Effect: 'Allow', Action: 'sqs:SendMessage', NotResource: 'arn:aws:sqs:*:*:secret' }),
    ];
    // WHEN checked THEN what they leave out is denied, the rest allowed
    expect(evaluate(policies, 'dynamodb:PutItem', TABLE).allowed).toBe(true);
    expect(evaluate(policies, 'dynamodb:DeleteTable', TABLE).allowed).toBe(false);
    expect(evaluate(policies, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:parked').allowed).toBe(true);
    expect(evaluate(policies, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:secret').allowed).toBe(false);
  });

  test('an Allow with an undecidable Condition grants nothing; a Deny with one still denies', () => {
    // GIVEN a condition on a key the local run does not know
    const cond = { StringEquals: { 'aws:PrincipalTag/team': 'x' } };
    // WHEN an Allow carries it THEN it grants nothing
    expect(
      evaluate(
        [doc({ Effect: 'Allow', Action: '*', Resource: '*', Condition: cond })],
        'dynamodb:PutItem',
        TABLE,
      ).allowed,
    ).toBe(false);
    // WHEN a Deny carries it THEN it denies
    const denied = evaluate(
      [
        doc(
          { Effect: 'Allow', Action: '*', Resource: '*' },
          { Effect: 'Deny', Action: '*', Resource: '*', Condition: cond },
        ),
      ],
      'dynamodb:PutItem',
      TABLE,
    );
    expect(denied.decision).toBe('explicit-deny');
    // Decidable ones are decided: HTTPS is always used, so this Deny does not apply and this Allow does.
    const secure = [
      doc(
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:SecureTransport': 'true' } },
        },
        {
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ),
    ];
    expect(evaluate(secure, 'sqs:SendMessage', 'arn:aws:sqs:eu-west-1:1:q').allowed).toBe(true);
  });

  test('assertAllowed names the function, the action and the resource', () => {
    // GIVEN a role that may only read WHEN it puts THEN the error says who, what and where
    expect(() =>
      assertAllowed(
        'replicator-eu',
        [doc({ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE })],
        'dynamodb:PutItem',
        TABLE,
      ),
    ).toThrow(
      `replicator-eu is not authorized to perform: dynamodb:PutItem on resource: ${TABLE} because no identity-based policy of its role allows the dynamodb:PutItem action`,
    );
  });
});
