import {
  DeleteResourcePolicyCommand,
  GetResourcePolicyCommand,
  PutResourcePolicyCommand,
} from '@aws-sdk/client-dynamodb';
import { READ_ONLY_SID } from '../../../lambda/adopt/contract';
import { putStatement, removeStatement } from '../../../lambda/adopt/resource-policy';

/**
 * DynamoDB Local has no resource-policy API (GetResourcePolicy and the others answer
 * UnknownOperationException), so the I/O runs against this stand-in: one table's policy with DynamoDB's
 * revision rules (a conditional write against another revision, or against none, fails with
 * PolicyNotFoundException; NO_POLICY means "only if there is none").
 */
class PolicyStandIn {
  policy?: string;
  revision = 0;
  readonly calls: string[] = [];
  /** Runs once, between the next GetResourcePolicy and the write after it: someone else's change. */
  meanwhile?: () => void;

  constructor(readonly arn: string) {}

  async send(command: unknown): Promise<unknown> {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    const input = (command as { input: Record<string, string | undefined> }).input;
    this.calls.push(name);
    if (input.ResourceArn !== this.arn)
      throw named('ResourceNotFoundException', `no table ${input.ResourceArn}`);
    if (command instanceof GetResourcePolicyCommand) {
      const answer =
        this.policy === undefined ? undefined : { Policy: this.policy, RevisionId: String(this.revision) };
      const change = this.meanwhile;
      this.meanwhile = undefined;
      change?.();
      if (!answer) throw named('PolicyNotFoundException', 'no policy');
      return answer;
    }
    this.checkRevision(input.ExpectedRevisionId);
    if (command instanceof PutResourcePolicyCommand) this.set(input.Policy);
    else if (command instanceof DeleteResourcePolicyCommand) this.set(undefined);
    return {};
  }

  set(policy: string | undefined): void {
    this.policy = policy;
    this.revision += 1;
  }

  statements(): { Sid?: string }[] {
    return this.policy === undefined ? [] : (JSON.parse(this.policy).Statement as { Sid?: string }[]);
  }

  private checkRevision(expected: string | undefined): void {
    if (expected === undefined) return;
    const matches =
      expected === 'NO_POLICY'
        ? this.policy === undefined
        : this.policy !== undefined && expected === String(this.revision);
    if (!matches) throw named('PolicyNotFoundException', `revision ${expected} is not the policy's`);
  }
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Stories';
const mirror = {
  Sid: READ_ONLY_SID,
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 'dynamodb:PutItem',
  Resource: ARN,
};
const theirs = {
  Sid: 'Owners',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::123456789012:root' },
  Action: 'dynamodb:*',
  Resource: ARN,
};
const policyOf = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('the read-only statement on an adopted replica (against a stand-in for the resource-policy API)', () => {
  test("is added to the table's own policy, which keeps its statements", async () => {
    const table = new PolicyStandIn(ARN);
    table.set(policyOf(theirs));
    expect(await putStatement(table, ARN, mirror)).toBe('put');
    expect(table.statements()).toEqual([theirs, mirror]);
  });

  test('is the whole policy of a table without one, attached only if it still has none', async () => {
    const table = new PolicyStandIn(ARN);
    expect(await putStatement(table, ARN, mirror)).toBe('put');
    expect(table.statements()).toEqual([mirror]);
  });

  test('is not written again when it is already there', async () => {
    const table = new PolicyStandIn(ARN);
    table.set(policyOf(theirs, mirror));
    const revision = table.revision;
    expect(await putStatement(table, ARN, mirror)).toBe('unchanged');
    expect(table.revision).toBe(revision);
    expect(table.calls).toEqual(['GetResourcePolicy']);
  });

  test('keeps a statement the owners add while it merges: the write fails on the old revision and merges again', async () => {
    const table = new PolicyStandIn(ARN);
    table.set(policyOf(theirs));
    const added = { ...theirs, Sid: 'AddedMeanwhile' };
    table.meanwhile = () => table.set(policyOf(theirs, added));
    expect(await putStatement(table, ARN, mirror)).toBe('put');
    expect(table.statements()).toEqual([theirs, added, mirror]);
    expect(table.calls).toEqual([
      'GetResourcePolicy',
      'PutResourcePolicy',
      'GetResourcePolicy',
      'PutResourcePolicy',
    ]);
  });

  test("on removal only the mirror's statement goes; a policy left empty is deleted", async () => {
    const shared = new PolicyStandIn(ARN);
    shared.set(policyOf(theirs, mirror));
    expect(await removeStatement(shared, ARN)).toBe('put');
    expect(shared.statements()).toEqual([theirs]);

    const own = new PolicyStandIn(ARN);
    own.set(policyOf(mirror));
    expect(await removeStatement(own, ARN)).toBe('deleted');
    expect(own.policy).toBeUndefined();
  });

  test('removal changes nothing on a table without the statement, or a table that is gone', async () => {
    const table = new PolicyStandIn(ARN);
    table.set(policyOf(theirs));
    expect(await removeStatement(table, ARN)).toBe('unchanged');
    expect(await removeStatement(table, `${ARN}-gone`)).toBe('unchanged');
    expect(table.statements()).toEqual([theirs]);
  });

  test('gives up after five conflicting revisions in a row, with the last error', async () => {
    const table = new PolicyStandIn(ARN);
    table.set(policyOf(theirs));
    const busy = async (command: unknown) => {
      table.meanwhile = () => table.set(policyOf(theirs, { ...theirs, Sid: `S${table.revision}` }));
      return table.send(command);
    };
    await expect(putStatement({ send: busy } as never, ARN, mirror)).rejects.toThrow(
      /PolicyNotFound|revision/,
    );
    expect(table.calls.filter((c) => c === 'PutResourcePolicy')).toHaveLength(5);
  });
});
