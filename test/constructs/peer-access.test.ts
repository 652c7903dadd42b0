import { Stack } from 'aws-cdk-lib';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { PeerAccessRoles } from '../../lib/constructs/peer-access';
import { peerRoleName, replicatorRoleName } from '../../lib/constructs/replicator-roles';
import { Replicator } from '../../lib/constructs/replicator';
import { oneWayTable, testApp } from '../support/model-fixtures';

const ACCOUNTS = {
  'us-east-1': '111111111111',
  'eu-west-1': '222222222222',
  'ap-southeast-2': '111111111111',
};

function tableIn(region: string, account?: string) {
  const stack = new Stack(testApp(), `S${region.replace(/-/g, '')}`, { env: { region, account } });
  return new MirroredTable(stack, 'Stories', { table: oneWayTable() });
}

describe('peer role names', () => {
  test('fit IAM 64 characters for the longest table names and regions, and keep long names apart', () => {
    // GIVEN two 200-character table names that differ only at the end
    const [a, b] = ['A', 'B'].map((end) => `${'T'.repeat(199)}${end}`);

    // WHEN
    const names = [a, b].flatMap((t) =>
      (['writer', 'reader'] as const).map((kind) => peerRoleName(t, 'ap-southeast-2', 'us-gov-west-1', kind)),
    );

    // THEN
    expect(Math.max(...names.map((n) => n.length))).toBeLessThanOrEqual(64);
    expect(new Set(names).size).toBe(4);
    expect(replicatorRoleName(a, 'ap-southeast-2', 'sampler').length).toBeLessThanOrEqual(64);
  });

  test('name the table, both regions and the kind, so an operator reads them', () => {
    // THEN
    expect(peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer')).toMatch(
      /^ddbm-Stories-us-east-1-eu-west-1-wr-[0-9a-f]{6}$/,
    );
  });
});

describe('cross-account props are checked', () => {
  test('a replicator whose stack deploys elsewhere than the account named for its region fails, naming both', () => {
    // GIVEN a us-east-1 stack in 333333333333 while the accounts put us-east-1 in 111111111111
    const mirrored = tableIn('us-east-1', '333333333333');

    // WHEN / THEN
    expect(
      () => new Replicator(mirrored, 'Replicator', { mirroredTable: mirrored, accounts: ACCOUNTS }),
    ).toThrow(
      /invalid Replicator props: accounts puts us-east-1 in 111111111111, but the stack has account 333333333333/,
    );
  });

  test('peer access roles for a copy no replicator region of another account writes fail', () => {
    // GIVEN the ap-southeast-2 replica, in the source's account
    const mirrored = tableIn('ap-southeast-2', '111111111111');

    // WHEN / THEN
    expect(
      () => new PeerAccessRoles(mirrored, 'PeerAccess', { mirroredTable: mirrored, accounts: ACCOUNTS }),
    ).toThrow(/no replicator region of Stories is in another account/);
  });
});
