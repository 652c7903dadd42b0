import { createHash } from 'crypto';
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** The functions of a table in a region whose roles another stack names. */
export type ReplicatorFunction = 'replicator' | 'parked' | 'sampler' | 'backfill' | 'repair';

/** The role a peer's stack creates for a table's functions in another account: writes, or reads only. */
export type PeerRoleKind = 'writer' | 'reader';

/** IAM role names are at most 64 characters. */
const MAX_ROLE_NAME = 64;

const FUNCTION_TAGS: Record<ReplicatorFunction, string> = {
  replicator: 'rep',
  parked: 'prk',
  sampler: 'smp',
  backfill: 'bkf',
  repair: 'rpr',
};
const PEER_ROLE_TAGS: Record<PeerRoleKind, string> = { writer: 'wr', reader: 'rd' };

/**
 * The IAM role name of a table's replicator (or parked-record consumer, divergence sampler or export
 * backfill) in a
 * region. Fixed rather than generated, so that another region's stack can name it (a replica's resource
 * policy lets exactly these roles write; a peer account's role trusts exactly these) without a
 * cross-region reference. At most 64 characters; a hash of the full table name keeps names of long,
 * truncated table names apart.
 */
export function replicatorRoleName(table: string, region: string, fn: ReplicatorFunction): string {
  return `ddbm-${table.slice(0, 24)}-${region}-${FUNCTION_TAGS[fn]}-${tableHash(table)}`;
}

/**
 * The ARN of that role.
 * @param account the role's account. @default - this stack's account
 */
export function replicatorRoleArn(
  scope: Construct,
  table: string,
  region: string,
  fn: ReplicatorFunction,
  account?: string,
): string {
  return roleArn(scope, replicatorRoleName(table, region, fn), account);
}

/**
 * The IAM role name of the role a table's copy in `to` offers the functions of `from` when the two
 * regions deploy to different accounts (lib/constructs/peer-access.ts). Fixed, so that the source's
 * stack, in the other account, can name it; the table name is cut to what 64 characters leave.
 */
export function peerRoleName(table: string, from: string, to: string, kind: PeerRoleKind): string {
  const suffix = `-${from}-${to}-${PEER_ROLE_TAGS[kind]}-${tableHash(table)}`;
  const room = MAX_ROLE_NAME - 'ddbm-'.length - suffix.length;
  return `ddbm-${table.slice(0, Math.max(0, room))}${suffix}`;
}

/** The ARN of that role, in `account` (the account of the region `to`). */
export function peerRoleArn(
  scope: Construct,
  table: string,
  from: string,
  to: string,
  kind: PeerRoleKind,
  account: string,
): string {
  return roleArn(scope, peerRoleName(table, from, to, kind), account);
}

function roleArn(scope: Construct, name: string, account: string | undefined): string {
  return Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    ...(account !== undefined && { account }),
    resource: 'role',
    resourceName: name,
  });
}

const tableHash = (table: string) => createHash('sha256').update(table).digest('hex').slice(0, 6);
