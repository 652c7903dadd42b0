import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { replicatorRegions, type TableModel } from '../config/model';
import type { MirroredTable } from './mirrored-table';
import { peerRoleArn, peerRoleName, replicatorRoleArn, type PeerRoleKind } from './replicator-roles';

/**
 * How a table's functions reach its copies in other regions, and the roles a copy offers the functions
 * of a region in another account (README, "Cross-account peers").
 *
 * In one account, a function's own role is granted the data actions on the peer tables. Across
 * accounts, the peer's stack creates a role with those actions on its own tables, trusted by exactly
 * the source's function roles; the source's roles may only assume it (`sts:AssumeRole` on that ARN).
 */

/** Region → account, for every region whose account is known (`regionAccounts` of the model). */
export type RegionAccounts = Readonly<Record<string, string>>;

/** Whether `from` and `to` deploy to different accounts: both known, and not the same. */
export function crossAccount(accounts: RegionAccounts | undefined, from: string, to: string): boolean {
  const [a, b] = [accounts?.[from], accounts?.[to]];
  return a !== undefined && b !== undefined && a !== b;
}

/** The role a function of `from` assumes to reach the copy in `to`; undefined when it reaches it directly. */
export function peerRoleFor(
  scope: Construct,
  table: string,
  from: string,
  to: string,
  kind: PeerRoleKind,
  accounts: RegionAccounts | undefined,
): string | undefined {
  if (!crossAccount(accounts, from, to)) return undefined;
  return peerRoleArn(scope, table, from, to, kind, accounts![to]);
}

/**
 * The problem, if any, of a stack that deploys elsewhere than the account `accounts` names for its
 * region: every ARN and trust built from the map would be wrong.
 */
export function stackAccountProblems(scope: Construct, accounts: RegionAccounts | undefined): string[] {
  const stack = Stack.of(scope);
  const named = accounts?.[stack.region];
  if (named === undefined || (!Token.isUnresolved(stack.account) && stack.account === named)) return [];
  const actual = Token.isUnresolved(stack.account) ? 'no explicit account' : `account ${stack.account}`;
  return [`accounts puts ${stack.region} in ${named}, but the stack has ${actual} (set env.account)`];
}

/**
 * The data actions that apply replicated changes to a table's copies (docs/replication.md, "Applying at
 * a peer"): a save is a conditional PutItem, a delete a DeleteItem with the tombstone's UpdateItem
 * (inside one transaction, which each contained action authorises; an Update, not a Put, so the peer's
 * own life marker survives). A save that created the item reads the tombstone after it (GetItem).
 * Multi-active: a write that meets an item its region has not ordered is deferred on it (UpdateItem).
 * Last writer wins: a save reads the copy first, to name what it replaces (GetItem).
 */
export function peerWriteStatements(
  table: TableModel,
  tableArns: readonly string[],
  tombstoneArns: readonly string[],
): iam.PolicyStatement[] {
  const multiActive = table.mode === 'multi-active';
  const readsFirst = multiActive && table.conflicts === 'last-writer-wins';
  return [
    new iam.PolicyStatement({
      sid: 'WritePeerTables',
      actions: [
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        ...(multiActive ? ['dynamodb:UpdateItem'] : []),
        ...(readsFirst ? ['dynamodb:GetItem'] : []),
      ],
      resources: [...tableArns],
    }),
    new iam.PolicyStatement({
      sid: 'WritePeerTombstones',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [...tombstoneArns],
    }),
  ];
}

/** The divergence sampler's reads of a table's copies: the re-reads of sampled keys. */
export function peerReadStatement(tableArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadPeerTables',
    actions: ['dynamodb:BatchGetItem'],
    resources: [...tableArns],
  });
}

/** A function's only permission on copies in other accounts: assuming exactly the roles they offer it. */
export function assumePeerRolesStatement(roleArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AssumePeerRoles',
    actions: ['sts:AssumeRole'],
    resources: [...roleArns],
  });
}

export interface PeerAccessRolesProps {
  /** The table's copy in this stack's region, which the roles act on. */
  readonly mirroredTable: MirroredTable;
  /**
   * Region → account of the table's regions. The stack must deploy to the account named for its region.
   */
  readonly accounts: RegionAccounts;
}

/**
 * The roles one table's copy in this region offers the replicators (and samplers) of the table's
 * regions in other accounts: per such source region, a writer role trusted by its replicator and
 * parked-record consumer roles, with exactly the data actions those roles get on a peer in their own
 * account; and, when the table is sampled, a reader role trusted by its sampler role, with the sampler's
 * reads.
 *
 * The trust names the source account as principal and the exact role ARNs in an `aws:PrincipalArn`
 * condition: IAM refuses a trust policy naming a role that does not exist yet, and a multi-active table
 * across two accounts needs each side's roles to trust the other's (docs/platform.md#cross-account).
 */
export class PeerAccessRoles extends Construct {
  /** Writer role by source region. */
  public readonly writerRoles: ReadonlyMap<string, iam.Role>;
  /** Reader role by source region (tables with divergence sampling only). */
  public readonly readerRoles: ReadonlyMap<string, iam.Role>;

  /** The table's replicator regions that deploy to another account than `region`: who needs roles here. */
  public static sourcesOf(table: TableModel, region: string, accounts: RegionAccounts | undefined): string[] {
    return replicatorRegions(table).filter((r) => r !== region && crossAccount(accounts, r, region));
  }

  constructor(scope: Construct, id: string, props: PeerAccessRolesProps) {
    super(scope, id);
    const sources = this.validateProps(props);
    const writers = new Map<string, iam.Role>();
    const readers = new Map<string, iam.Role>();
    for (const source of sources) {
      writers.set(source, this.createWriterRole(props, source));
      if (props.mirroredTable.model.divergenceSampling)
        readers.set(source, this.createReaderRole(props, source));
    }
    this.writerRoles = writers;
    this.readerRoles = readers;
  }

  private validateProps(props: PeerAccessRolesProps): string[] {
    const region = Stack.of(this).region;
    const problems = stackAccountProblems(this, props.accounts);
    const sources = PeerAccessRoles.sourcesOf(props.mirroredTable.model, region, props.accounts);
    if (sources.length === 0)
      problems.push(`no replicator region of ${props.mirroredTable.model.name} is in another account`);
    if (problems.length)
      throw new Error(`${this.node.path}: invalid PeerAccessRoles props: ${problems.join('; ')}`);
    return sources;
  }

  private createWriterRole(props: PeerAccessRolesProps, source: string): iam.Role {
    const { model, table, tombstoneTable } = props.mirroredTable;
    return this.createRole(props, source, 'writer', {
      trusted: [
        replicatorRoleArn(this, model.name, source, 'replicator', props.accounts[source]),
        replicatorRoleArn(this, model.name, source, 'parked', props.accounts[source]),
      ],
      statements: peerWriteStatements(model, [table.tableArn], [tombstoneTable.tableArn]),
      description: `ddb-mirror: the ${source} replicator of ${model.name} writes this region's copy`,
    });
  }

  private createReaderRole(props: PeerAccessRolesProps, source: string): iam.Role {
    const { model, table } = props.mirroredTable;
    return this.createRole(props, source, 'reader', {
      trusted: [replicatorRoleArn(this, model.name, source, 'sampler', props.accounts[source])],
      statements: [peerReadStatement([table.tableArn])],
      description: `ddb-mirror: the ${source} divergence sampler of ${model.name} reads this region's copy`,
    });
  }

  private createRole(
    props: PeerAccessRolesProps,
    source: string,
    kind: PeerRoleKind,
    o: { trusted: string[]; statements: iam.PolicyStatement[]; description: string },
  ): iam.Role {
    const region = Stack.of(this).region;
    return new iam.Role(this, `${kind === 'writer' ? 'Writer' : 'Reader'}-${source}`, {
      roleName: peerRoleName(props.mirroredTable.model.name, source, region, kind),
      assumedBy: new iam.AccountPrincipal(props.accounts[source]).withConditions({
        ArnEquals: { 'aws:PrincipalArn': o.trusted },
      }),
      description: o.description,
      inlinePolicies: { Replication: new iam.PolicyDocument({ statements: o.statements }) },
    });
  }
}
