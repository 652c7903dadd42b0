import { READ_ONLY_SID } from '../../../lambda/adopt/contract';
import { samePolicy, withoutStatement, withStatement } from '../../../lambda/adopt/policy';

const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Stories';
const mirror = (writers: string[]) => ({
  Sid: READ_ONLY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['dynamodb:PutItem'],
  Resource: ARN,
  Condition: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
});
const theirs = {
  Sid: 'AnalyticsReads',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:role/analytics' },
  Action: 'dynamodb:Query',
  Resource: ARN,
};

describe("the mirror's statement in a table's resource policy (merged by Sid)", () => {
  test('becomes the whole policy of a table that has none', () => {
    expect(JSON.parse(withStatement(undefined, mirror(['r1'])))).toEqual({
      Version: '2012-10-17',
      Statement: [mirror(['r1'])],
    });
  });

  test("joins the table's own statements, which stay as they are (one statement not in a list, too)", () => {
    const current = JSON.stringify({ Version: '2012-10-17', Id: 'owners', Statement: theirs });
    expect(JSON.parse(withStatement(current, mirror(['r1'])))).toEqual({
      Version: '2012-10-17',
      Id: 'owners',
      Statement: [theirs, mirror(['r1'])],
    });
  });

  test("replaces only the mirror's earlier statement (new writers), nothing else", () => {
    const current = JSON.stringify({ Version: '2012-10-17', Statement: [mirror(['r1']), theirs] });
    expect(JSON.parse(withStatement(current, mirror(['r1', 'r2']))).Statement).toEqual([
      theirs,
      mirror(['r1', 'r2']),
    ]);
  });

  test("removing it keeps the table's statements, deletes a policy left empty, and leaves others alone", () => {
    const both = JSON.stringify({ Version: '2012-10-17', Statement: [theirs, mirror(['r1'])] });
    const removal = withoutStatement(both);
    expect(removal.kind).toBe('put');
    expect(JSON.parse((removal as { policy: string }).policy)).toEqual({
      Version: '2012-10-17',
      Statement: [theirs],
    });
    expect(withoutStatement(JSON.stringify({ Statement: [mirror(['r1'])] }))).toEqual({ kind: 'delete' });
    expect(withoutStatement(JSON.stringify({ Statement: [theirs] }))).toEqual({ kind: 'unchanged' });
    expect(withoutStatement(undefined)).toEqual({ kind: 'unchanged' });
  });

  test('tells an unchanged policy whatever the order of its keys, so a repeated deploy writes nothing', () => {
    const once = withStatement(undefined, mirror(['r1']));
    const reordered = JSON.stringify({ Statement: [mirror(['r1'])], Version: '2012-10-17' });
    expect(samePolicy(reordered, once)).toBe(true);
    expect(samePolicy(reordered, withStatement(undefined, mirror(['r2'])))).toBe(false);
    expect(samePolicy(undefined, once)).toBe(false);
  });

  test('refuses a policy that is not a JSON object', () => {
    expect(() => withStatement('[]', mirror(['r1']))).toThrow(/not a JSON object/);
  });
});
