import { Stack, Tags, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { replicatorRegions, tableRegions, type MirrorModel, type TableModel } from '../config/model';
import { AlarmNotifications } from '../constructs/alarm-notifications';
import { DivergenceSampler } from '../constructs/divergence-sampler';
import { ExportBackfill } from '../constructs/export-backfill';
import { MirroredTable } from '../constructs/mirrored-table';
import { ReplicationMonitoring } from '../constructs/replication-monitoring';
import { replicatorRoleArn } from '../constructs/replicator-roles';
import { Replicator } from '../constructs/replicator';

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
 * Everything ddb-mirror deploys in one region: each table present here (with its tombstone table),
 * a replicator for each table that replicates out of this region, and their monitoring.
 */
export class MirrorRegionStack extends Stack {
  /** Tables in this region, by table name. */
  public readonly tables: ReadonlyMap<string, MirroredTable>;
  /** Replicators in this region, by table name. */
  public readonly replicators: ReadonlyMap<string, Replicator>;
  /** Divergence samplers in this region (tables with `divergenceSampling`), by table name. */
  public readonly samplers: ReadonlyMap<string, DivergenceSampler>;
  /** Export backfills from this region (tables with `exportBackfill`), by table name. */
  public readonly backfills: ReadonlyMap<string, ExportBackfill>;
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

    const tables = new Map<string, MirroredTable>();
    const replicators = new Map<string, Replicator>();
    const samplers = new Map<string, DivergenceSampler>();
    const backfills = new Map<string, ExportBackfill>();
    for (const t of here) {
      const mirrored = new MirroredTable(this, t.name, { table: t, ...replicaWriters(this, t, region) });
      tables.set(t.name, mirrored);
      if (sources.includes(t)) {
        replicators.set(t.name, new Replicator(this, `${t.name}Replicator`, { mirroredTable: mirrored }));
        if (t.divergenceSampling)
          samplers.set(t.name, new DivergenceSampler(this, `${t.name}Sampler`, { mirroredTable: mirrored }));
        if (t.exportBackfill)
          backfills.set(t.name, new ExportBackfill(this, `${t.name}Backfill`, { mirroredTable: mirrored }));
      }
    }
    this.tables = tables;
    this.replicators = replicators;
    this.samplers = samplers;
    this.backfills = backfills;
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
 * A one-way replica that enforces read-only: only the source's replicator roles (and its export
 * backfill's, when configured, and configured writers) write.
 */
function replicaWriters(scope: Construct, t: TableModel, region: string): { onlyWriters?: string[] } {
  if (t.mode !== 'one-way' || t.source === region || !t.readOnlyReplicas.enforced) return {};
  return {
    onlyWriters: [
      replicatorRoleArn(scope, t.name, t.source, 'replicator'),
      replicatorRoleArn(scope, t.name, t.source, 'parked'),
      ...(t.exportBackfill ? [replicatorRoleArn(scope, t.name, t.source, 'backfill')] : []),
      ...t.readOnlyReplicas.writers,
    ],
  };
}

function describe(region: string, here: readonly TableModel[], sources: readonly TableModel[]): string {
  const tables = here.map(
    (t) => `${t.name} (${t.mode}${sources.includes(t) ? ', replicates from here' : ''})`,
  );
  return `ddb-mirror ${region}: ${tables.length ? tables.join(', ') : 'no tables'}`;
}
