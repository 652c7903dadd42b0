/**
 * The mirror's statement in a table's resource policy: read the policy, merge (policy.ts), write it back
 * conditionally on the revision read, so a concurrent change by the table's owners is never lost (the
 * write fails with PolicyNotFoundException, and the merge starts again from the new revision).
 */
import {
  DeleteResourcePolicyCommand,
  GetResourcePolicyCommand,
  PutResourcePolicyCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { READ_ONLY_SID } from './contract';
import { samePolicy, withoutStatement, withStatement } from './policy';

/** Attempts against concurrent changes of the policy. */
const ATTEMPTS = 5;

type Sendable = Pick<DynamoDBClient, 'send'>;

interface Current {
  readonly policy?: string;
  readonly revision?: string;
}

export type PolicyChange = 'put' | 'deleted' | 'unchanged';

/** Puts `statement` (Sid {@link READ_ONLY_SID}) into the table's policy, keeping every other statement. */
export async function putStatement(
  client: Sendable,
  tableArn: string,
  statement: Readonly<Record<string, unknown>>,
): Promise<PolicyChange> {
  return conditionally(async () => {
    const current = await read(client, tableArn);
    const policy = withStatement(current.policy, statement);
    if (samePolicy(current.policy, policy)) return 'unchanged';
    await client.send(
      new PutResourcePolicyCommand({
        ResourceArn: tableArn,
        Policy: policy,
        // NO_POLICY: attach only if the table still has none.
        ExpectedRevisionId: current.revision ?? 'NO_POLICY',
      }),
    );
    return 'put';
  });
}

/** Removes the mirror's statement; the table's own statements stay (no policy left: the policy is deleted). */
export async function removeStatement(client: Sendable, tableArn: string): Promise<PolicyChange> {
  return conditionally(async () => {
    let current: Current;
    try {
      current = await read(client, tableArn);
    } catch (e) {
      // The table is gone, and its policy with it.
      if ((e as Error).name === 'ResourceNotFoundException') return 'unchanged';
      throw e;
    }
    const removal = withoutStatement(current.policy, READ_ONLY_SID);
    if (removal.kind === 'unchanged') return 'unchanged';
    if (removal.kind === 'delete') {
      await client.send(
        new DeleteResourcePolicyCommand({ ResourceArn: tableArn, ExpectedRevisionId: current.revision }),
      );
      return 'deleted';
    }
    await client.send(
      new PutResourcePolicyCommand({
        ResourceArn: tableArn,
        Policy: removal.policy,
        ExpectedRevisionId: current.revision,
      }),
    );
    return 'put';
  });
}

async function read(client: Sendable, tableArn: string): Promise<Current> {
  try {
    const res = await client.send(new GetResourcePolicyCommand({ ResourceArn: tableArn }));
    return { policy: res.Policy, revision: res.RevisionId };
  } catch (e) {
    if ((e as Error).name === 'PolicyNotFoundException') return {};
    throw e;
  }
}

/** A conditional write that met another revision (PolicyNotFoundException) is tried again from a new read. */
async function conditionally(attempt: () => Promise<PolicyChange>): Promise<PolicyChange> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if ((e as Error).name !== 'PolicyNotFoundException' || i >= ATTEMPTS) throw e;
    }
  }
}
