import { createHash } from 'crypto';
import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

export type ReplicatorFunction = 'replicator' | 'parked' | 'backfill';

const SUFFIX: Record<ReplicatorFunction, string> = { replicator: 'rep', parked: 'prk', backfill: 'bkf' };

/**
 * The IAM role name of a table's replicator (or parked-record consumer, or export backfill) in a region. Fixed rather than
 * generated, so that another region's stack can name it (a replica's resource policy lets exactly these
 * roles write) without a cross-region reference. At most 64 characters; a hash of the full table name
 * keeps names of long, truncated table names apart.
 */
export function replicatorRoleName(table: string, region: string, fn: ReplicatorFunction): string {
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 6);
  return `ddbm-${table.slice(0, 24)}-${region}-${SUFFIX[fn]}-${hash}`;
}

/** The ARN of that role in this stack's account. */
export function replicatorRoleArn(
  scope: Construct,
  table: string,
  region: string,
  fn: ReplicatorFunction,
): string {
  return Stack.of(scope).formatArn({
    service: 'iam',
    region: '',
    resource: 'role',
    resourceName: replicatorRoleName(table, region, fn),
  });
}
