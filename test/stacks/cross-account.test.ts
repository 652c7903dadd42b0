import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import {
  decodeSamplerSettings,
  decodeSettings,
  SETTINGS_ENV,
  tombstoneTableName,
} from '../../lambda/contract';
import { buildApp } from '../../lib/app';
import { loadConfig } from '../../lib/config/load';
import { peerRoleName, replicatorRoleName } from '../../lib/constructs/replicator-roles';
import type { MirrorRegionStack } from '../../lib/stacks/mirror-region-stack';
import { testApp } from '../support/model-fixtures';
import {
  asArray,
  flat,
  inlineStatements,
  logicalId,
  roleStatements,
  type Statement,
} from '../constructs/template-helpers';

/**
 * The example cross-account config: us-east-1 and ap-southeast-2 in 111111111111, eu-west-1 in
 * 222222222222; Stories one-way from us-east-1, Sessions multi-active in us-east-1 and eu-west-1, both
 * sampled.
 */
const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'cross-account.yaml');
const [SOURCE_ACCOUNT, PEER_ACCOUNT] = ['111111111111', '222222222222'];

const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const table = (region: string, account: string, name: string) =>
  `arn:aws:dynamodb:${region}:${account}:table/${name}`;

function synth() {
  const { regionStacks } = buildApp(testApp(), loadConfig(EXAMPLE), { nag: false, env: {} });
  const stack = (region: string) => regionStacks.get(region)!;
  return { stack, template: (region: string) => Template.fromStack(stack(region)) };
}

/** The role resource (properties) with this physical name. */
function roleNamed(template: Template, name: string) {
  const found = Object.entries(template.findResources('AWS::IAM::Role')).find(
    ([, r]) => r.Properties.RoleName === name,
  );
  if (!found) throw new Error(`no role named ${name}`);
  return { id: found[0], properties: found[1].Properties };
}

/** Every `action resource` pair the statements allow, flattened. */
function grants(statements: readonly Statement[]): string[] {
  return statements
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => asArray(s.Action).flatMap((a) => asArray(s.Resource).map((r) => `${a} ${flat(r)}`)));
}

/** A function's settings as deployed: references flattened, the partition resolved. */
function functionSettings(stack: MirrorRegionStack, fn: Parameters<typeof logicalId>[0]): string {
  const template = Template.fromStack(stack);
  const value =
    template.findResources('AWS::Lambda::Function')[logicalId(fn)].Properties.Environment.Variables[
      SETTINGS_ENV
    ];
  return flat(value).split('<AWS::Partition>').join('aws');
}

describe('a mirror across two accounts (examples/cross-account.yaml)', () => {
  const { stack, template } = synth();

  test("each region's stack deploys to its region's account, the others to the top-level one", () => {
    // THEN
    expect(['us-east-1', 'eu-west-1', 'ap-southeast-2'].map((r) => stack(r).account)).toEqual([
      SOURCE_ACCOUNT,
      PEER_ACCOUNT,
      SOURCE_ACCOUNT,
    ]);
  });

  describe('the peer account offers the source replicator a writer role', () => {
    const peer = template('eu-west-1');
    const writer = roleNamed(peer, peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer'));

    test("trusted only by the source account's replicator and parked-record consumer roles", () => {
      // WHEN
      const statements = writer.properties.AssumeRolePolicyDocument.Statement;

      // THEN the account is the principal, the exact roles a condition (they need not exist yet)
      expect(statements).toHaveLength(1);
      const [trust] = statements;
      expect([trust.Effect, trust.Action, Object.keys(trust.Condition)]).toEqual([
        'Allow',
        'sts:AssumeRole',
        ['ArnEquals'],
      ]);
      expect(flat(trust.Principal.AWS)).toBe(`arn:aws:iam::${SOURCE_ACCOUNT}:root`);
      expect(asArray(trust.Condition.ArnEquals['aws:PrincipalArn']).map(flat)).toEqual([
        role(SOURCE_ACCOUNT, replicatorRoleName('Stories', 'us-east-1', 'replicator')),
        role(SOURCE_ACCOUNT, replicatorRoleName('Stories', 'us-east-1', 'parked')),
      ]);
    });

    test("may only apply replicated changes to this region's table and tombstone table", () => {
      // THEN the same data actions a same-account peer grants the replicator role, on this copy only
      const tables = peer.findResources('AWS::DynamoDB::Table');
      const idOf = (name: string) =>
        Object.keys(tables).find((id) => tables[id].Properties.TableName === name);
      expect(grants(inlineStatements(peer, writer.id)).sort()).toEqual(
        [
          `dynamodb:DeleteItem <${idOf('Stories')}.Arn>`,
          `dynamodb:GetItem <${idOf(tombstoneTableName('Stories'))}.Arn>`,
          `dynamodb:PutItem <${idOf('Stories')}.Arn>`,
          `dynamodb:UpdateItem <${idOf(tombstoneTableName('Stories'))}.Arn>`,
        ].sort(),
      );
    });

    test('the read-only replica lets that role write, and no other replicator role', () => {
      // THEN
      const stories = Object.values(peer.findResources('AWS::DynamoDB::Table')).find(
        (t) => t.Properties.TableName === 'Stories',
      )!;
      const deny = stories.Properties.ResourcePolicy.PolicyDocument.Statement[0];
      expect(flat(deny.Resource)).toBe(table('eu-west-1', PEER_ACCOUNT, 'Stories'));
      expect(asArray(deny.Condition.ArnNotEquals['aws:PrincipalArn']).map(flat)).toEqual([
        role(PEER_ACCOUNT, peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer')),
      ]);
    });
  });

  describe("the source replicator's roles", () => {
    const source = template('us-east-1');
    const replicator = stack('us-east-1').replicators.get('Stories')!;

    test.each([
      ['replicator', () => replicator.role],
      ['parked-record consumer', () => replicator.parkedRole],
    ])(
      'the %s may assume exactly the writer role and has no data action on the foreign table',
      (_name, of) => {
        // WHEN
        const allowed = grants(roleStatements(source, logicalId(of())));

        // THEN
        const writerRole = role(PEER_ACCOUNT, peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer'));
        expect(allowed.filter((g) => g.startsWith('sts:'))).toEqual([`sts:AssumeRole ${writerRole}`]);
        expect(allowed.filter((g) => g.includes('eu-west-1') && g.startsWith('dynamodb:'))).toEqual([]);
        expect(allowed.filter((g) => g.includes(PEER_ACCOUNT) && !g.startsWith('sts:'))).toEqual([]);
        // The same-account replica is still written directly, by its ARN in the source account.
        expect(allowed).toContain(`dynamodb:PutItem ${table('ap-southeast-2', SOURCE_ACCOUNT, 'Stories')}`);
      },
    );

    test('the settings name the writer role for the foreign peer only', () => {
      // WHEN
      const settings = decodeSettings(functionSettings(stack('us-east-1'), replicator.replicatorFunction));

      // THEN
      expect(settings.peers.map((p) => [p.region, p.roleArn])).toEqual([
        [
          'eu-west-1',
          `arn:aws:iam::${PEER_ACCOUNT}:role/${peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer')}`,
        ],
        ['ap-southeast-2', undefined],
      ]);
    });

    test('the same-account replica names the source replicator roles in the source account', () => {
      // THEN
      const replica = Object.values(template('ap-southeast-2').findResources('AWS::DynamoDB::Table')).find(
        (t) => t.Properties.TableName === 'Stories',
      )!;
      const deny = replica.Properties.ResourcePolicy.PolicyDocument.Statement[0];
      expect(asArray(deny.Condition.ArnNotEquals['aws:PrincipalArn']).map(flat)).toEqual([
        role(SOURCE_ACCOUNT, replicatorRoleName('Stories', 'us-east-1', 'replicator')),
        role(SOURCE_ACCOUNT, replicatorRoleName('Stories', 'us-east-1', 'parked')),
      ]);
    });
  });

  describe('the divergence sampler', () => {
    const sampler = stack('us-east-1').samplers.get('Stories')!;
    const readerName = peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'reader');

    test('reads the foreign copy through a reader role trusted by its own role only, with reads only', () => {
      // GIVEN
      const peer = template('eu-west-1');
      const reader = roleNamed(peer, readerName);

      // THEN
      const trust = reader.properties.AssumeRolePolicyDocument.Statement[0];
      expect(asArray(trust.Condition.ArnEquals['aws:PrincipalArn']).map(flat)).toEqual([
        role(SOURCE_ACCOUNT, replicatorRoleName('Stories', 'us-east-1', 'sampler')),
      ]);
      expect(grants(inlineStatements(peer, reader.id)).map((g) => g.split(' ')[0])).toEqual([
        'dynamodb:BatchGetItem',
      ]);
    });

    test('may assume that role, reads the same-account copy directly, and carries the role in its settings', () => {
      // WHEN
      const allowed = grants(roleStatements(template('us-east-1'), logicalId(sampler.role)));
      const settings = decodeSamplerSettings(functionSettings(stack('us-east-1'), sampler.function));

      // THEN
      expect(allowed.filter((g) => g.startsWith('sts:'))).toEqual([
        `sts:AssumeRole ${role(PEER_ACCOUNT, readerName)}`,
      ]);
      expect(allowed.filter((g) => g.includes('eu-west-1') && g.startsWith('dynamodb:'))).toEqual([]);
      expect(allowed).toContain(
        `dynamodb:BatchGetItem ${table('ap-southeast-2', SOURCE_ACCOUNT, 'Stories')}`,
      );
      expect(settings.peerRoles).toEqual([
        { region: 'eu-west-1', roleArn: `arn:aws:iam::${PEER_ACCOUNT}:role/${readerName}` },
      ]);
    });
  });

  test('a multi-active table offers a writer role in each account, to the other side', () => {
    // THEN
    const toPeer = roleNamed(
      template('eu-west-1'),
      peerRoleName('Sessions', 'us-east-1', 'eu-west-1', 'writer'),
    );
    const toSource = roleNamed(
      template('us-east-1'),
      peerRoleName('Sessions', 'eu-west-1', 'us-east-1', 'writer'),
    );
    expect(flat(toPeer.properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS)).toContain(
      SOURCE_ACCOUNT,
    );
    expect(flat(toSource.properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS)).toContain(
      PEER_ACCOUNT,
    );
    // Multi-active peers also defer writes on the item (UpdateItem on the table).
    expect(
      grants(inlineStatements(template('eu-west-1'), toPeer.id)).some((g) =>
        /^dynamodb:UpdateItem <.*Sessions/.test(g),
      ),
    ).toBe(true);
  });

  test('peer roles exist exactly where a replicator region is in another account', () => {
    // WHEN
    const peerRoles = ['us-east-1', 'eu-west-1', 'ap-southeast-2'].flatMap((region) =>
      Object.values(template(region).findResources('AWS::IAM::Role'))
        .map((r) => r.Properties.RoleName as string | undefined)
        .filter((name) => name !== undefined && /-(wr|rd)-[0-9a-f]{6}$/.test(name))
        .map((name) => `${region} ${name}`),
    );

    // THEN eu-west-1 serves both tables' us-east-1 functions, us-east-1 serves eu-west-1's Sessions
    // functions, and ap-southeast-2 (the source's account) none
    expect(peerRoles.sort()).toEqual(
      [
        `eu-west-1 ${peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'writer')}`,
        `eu-west-1 ${peerRoleName('Stories', 'us-east-1', 'eu-west-1', 'reader')}`,
        `eu-west-1 ${peerRoleName('Sessions', 'us-east-1', 'eu-west-1', 'writer')}`,
        `eu-west-1 ${peerRoleName('Sessions', 'us-east-1', 'eu-west-1', 'reader')}`,
        `us-east-1 ${peerRoleName('Sessions', 'eu-west-1', 'us-east-1', 'writer')}`,
        `us-east-1 ${peerRoleName('Sessions', 'eu-west-1', 'us-east-1', 'reader')}`,
      ].sort(),
    );
  });

  test('an export backfill of a table with a copy in another account is refused, naming the table and accounts', () => {
    // GIVEN the example with an export backfill on the one-way table
    const model = loadConfig(EXAMPLE);
    const tables = model.tables.map((t) =>
      t.name === 'Stories' ? { ...t, exportBackfill: { maxConcurrency: 2, writeUnitsPerSecond: 100 } } : t,
    );
    // WHEN / THEN synth stops at the source's stack
    expect(() => buildApp(testApp(), { ...model, tables }, { nag: false, env: {} })).toThrow(
      `DdbMirror-us-east-1: table Stories has exportBackfill, which cannot reach copies in another account yet (eu-west-1: ${PEER_ACCOUNT})`,
    );
  });
});
