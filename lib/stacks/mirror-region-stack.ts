import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  regionAccounts,
  replicatorRegions,
  tableRegions,
  type MirrorModel,
  type TableModel,
} from '../config/model';
import { AlarmNotifications } from '../constructs/alarm-notifications';
import { DivergenceSampler } from '../constructs/divergence-sampler';
import { ExportBackfill } from '../constructs/export-backfill';
import { MirroredTable } from '../constructs/mirrored-table';
import { crossAccount, PeerAccessRoles, type RegionAccounts } from '../constructs/peer-access';
import { ReplicationMonitoring } from '../constructs/replication-monitoring';
import { peerRoleArn, replicatorRoleArn } from '../constructs/replicator-roles';
import { Replicator } from '../constructs/replicator';
import { VerifyDeployed } from '../constructs/verify-deployed';

export interface MirrorRegionStackProps extends StackProps {
  /** The whole model; the stack picks the tables present in `region`. */
  readonly model: MirrorModel;
  /**
   * The region this stack deploys to.
   *
   * Note: must equal `env.region` when `env` is given; the stack sets `env.region` from it otherwise.
   */
  readonly region: string;
}

/**
 * Everything ddb-mirror deploys in one region: each table present here (with its tombstone table; a
 * table that already exists here is referenced, not created), a replicator for each table that
 * replicates out of this region, and their monitoring.
 */
export class MirrorRegionStack extends Stack {
  /** Tables in this region, by table name. */
  public readonly tables: ReadonlyMap<string, MirroredTable>;
  /** Replicators in this region, by table name. */
  public readonly replicators: ReadonlyMap<string, Replicator>;
  /** Roles this region's copies offer replicators in other accounts, by table name (cross-account only). */
  public readonly peerAccess: ReadonlyMap<string, PeerAccessRoles>;
  /** Divergence samplers in this region (tables with `divergenceSampling`), by table name. */
  public readonly samplers: ReadonlyMap<string, DivergenceSampler>;
  /** Export backfills from this region (tables with `exportBackfill`), by table name. */
  public readonly backfills: ReadonlyMap<string, ExportBackfill>;
  /** Verify and repair by range hashes (tables with `antiEntropy`), by table name. */
  public readonly verifiers: ReadonlyMap<string, VerifyDeployed>;
  /** Present when at least one table replicates out of this region. */
  public readonly monitoring?: ReplicationMonitoring;
  /** Where the alarms go; present with monitoring when the config names notifications. */
  public readonly notifications?: AlarmNotifications;

  constructor(scope: Construct, id: string, props: MirrorRegionStackProps) {
    const { model, region } = props;
    const here = model.tables.filter((t) => tableRegions(t).includes(region));
    const sources = here.filter((t) => replicatorRegions(t).includes(region));
    super(scope, id, {
      description: props.description ?? describe(region, here, sources),
      ...props,
      env: { ...props.env, region },
    });

    const accounts = regionAccounts(model);
    const tables = new Map<string, MirroredTable>();
    const replicators = new Map<string, Replicator>();
    const samplers = new Map<string, DivergenceSampler>();
    const backfills = new Map<string, ExportBackfill>();
    const verifiers = new Map<string, VerifyDeployed>();
    const peerAccess = new Map<string, PeerAccessRoles>();
    for (const t of here) {
      const mirrored = new MirroredTable(this, t.name, {
        table: t,
        ...replicaWriters(this, t, region, accounts),
      });
      tables.set(t.name, mirrored);
      if (PeerAccessRoles.sourcesOf(t, region, accounts).length)
        peerAccess.set(
          t.name,
          new PeerAccessRoles(this, `${t.name}PeerAccess`, { mirroredTable: mirrored, accounts }),
        );
      if (t.antiEntropy) {
        const foreign = tableRegions(t).filter((r) => crossAccount(accounts, region, r));
        if (foreign.length)
          throw new Error(
            `${this.node.path}: table ${t.name} has antiEntropy, which cannot reach copies in another account yet (${foreign.map((r) => `${r}: ${accounts[r]}`).join(', ')}); use ddb-mirror verify with each account's credentials`,
          );
        verifiers.set(t.name, new VerifyDeployed(this, `${t.name}Verify`, { mirroredTable: mirrored }));
      }
      if (sources.includes(t)) {
        const props = { mirroredTable: mirrored, accounts };
        replicators.set(t.name, new Replicator(this, `${t.name}Replicator`, props));
        if (t.divergenceSampling)
          samplers.set(t.name, new DivergenceSampler(this, `${t.name}Sampler`, props));
        if (t.exportBackfill) {
          const foreign = tableRegions(t).filter((r) => crossAccount(accounts, region, r));
          if (foreign.length)
            throw new Error(
              `${this.node.path}: table ${t.name} has exportBackfill, which cannot reach copies in another account yet (${foreign.map((r) => `${r}: ${accounts[r]}`).join(', ')}); use ddb-mirror backfill with each account's credentials`,
            );
          backfills.set(t.name, new ExportBackfill(this, `${t.name}Backfill`, { mirroredTable: mirrored }));
        }
      }
    }
    this.tables = tables;
    this.replicators = replicators;
    this.samplers = samplers;
    this.backfills = backfills;
    this.verifiers = verifiers;
    this.peerAccess = peerAccess;
    if (replicators.size > 0) {
      this.notifications = model.notifications
        ? new AlarmNotifications(this, 'AlarmNotifications', { notifications: model.notifications })
        : undefined;
      this.monitoring = new ReplicationMonitoring(this, 'Monitoring', {
        replicators: [...replicators.values()],
        samplers: [...samplers.values()],
        ...(this.notifications ? { notifications: this.notifications } : {}),
      });
    }
    Tags.of(this).add('ddb-mirror:stack-prefix', model.stackPrefix);
    Tags.of(this).add('ddb-mirror:region', region);
  }
}

/**
 * A one-way replica that enforces read-only: only the source's replicator roles (its export backfill's
 * when configured, and configured writers)
 * write; when the source is in another account, they write as the writer role this stack offers them.
 */
function replicaWriters(
  scope: Construct,
  t: TableModel,
  region: string,
  accounts: RegionAccounts,
): { onlyWriters?: string[] } {
  if (t.mode !== 'one-way' || t.source === region || !t.readOnlyReplicas.enforced) return {};
  const replicatorRoles = crossAccount(accounts, t.source, region)
    ? [peerRoleArn(scope, t.name, t.source, region, 'writer', accounts[region])]
    : [
        replicatorRoleArn(scope, t.name, t.source, 'replicator', accounts[t.source]),
        replicatorRoleArn(scope, t.name, t.source, 'parked', accounts[t.source]),
        // The export backfill writes the replicas as the replicator does.
        ...(t.exportBackfill
          ? [replicatorRoleArn(scope, t.name, t.source, 'backfill', accounts[t.source])]
          : []),
        // So does verify --deployed's repair, from the source.
        ...(t.antiEntropy ? [replicatorRoleArn(scope, t.name, t.source, 'repair', accounts[t.source])] : []),
      ];
  return { onlyWriters: [...replicatorRoles, ...t.readOnlyReplicas.writers] };
}

function describe(region: string, here: readonly TableModel[], sources: readonly TableModel[]): string {
  const tables = here.map(
    (t) =>
      `${t.name} (${t.mode}${t.existing.includes(region) ? ', existing table' : ''}${sources.includes(t) ? ', replicates from here' : ''})`,
  );
  return `ddb-mirror ${region}: ${tables.length ? tables.join(', ') : 'no tables'}`;
}
