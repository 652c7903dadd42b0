/**
 * ddb-mirror as a library (package `main`): the {@link DdbMirror} construct for a user's own CDK app, the
 * config model and its loader, the stacks, and the constructs they are composed of.
 */
export { DdbMirror } from './ddb-mirror';
export type {
  AdoptableTable,
  DdbMirrorConfig,
  DdbMirrorOptions,
  DdbMirrorProps,
  DdbMirrorTable,
} from './ddb-mirror';
export { buildApp } from './app';
export type { BuildAppOptions, MirrorApp } from './app';

export * from './config';

export { MirrorRegionStack } from './stacks/mirror-region-stack';
export type { MirrorRegionStackProps } from './stacks/mirror-region-stack';
export { ROUTING_STACK_REGION, RoutingStack } from './stacks/routing-stack';
export type { RoutingStackProps } from './stacks/routing-stack';

export { AdoptedTable } from './constructs/adopted-table';
export type { AdoptedTableProps } from './constructs/adopted-table';
export { AlarmNotifications } from './constructs/alarm-notifications';
export type { AlarmNotificationsProps } from './constructs/alarm-notifications';
export { DivergenceSampler } from './constructs/divergence-sampler';
export type { DivergenceSamplerProps } from './constructs/divergence-sampler';
export { ExportBackfill, exportBackfillStateMachineName } from './constructs/export-backfill';
export type { ExportBackfillProps } from './constructs/export-backfill';
export { MirroredTable, REPLICA_WRITE_ACTIONS } from './constructs/mirrored-table';
export type { MirroredTableProps } from './constructs/mirrored-table';
export { PeerAccessRoles } from './constructs/peer-access';
export type { PeerAccessRolesProps, RegionAccounts } from './constructs/peer-access';
export { ReplicationMonitoring } from './constructs/replication-monitoring';
export type { ReplicationMonitoringProps } from './constructs/replication-monitoring';
export { Replicator } from './constructs/replicator';
export type { ParkingQueue, ReplicatorProps, ReplicatorTuning } from './constructs/replicator';
export { Routing } from './constructs/routing';
export type { RoutingProps } from './constructs/routing';
export { VerifyDeployed, verifyStateMachineName } from './constructs/verify-deployed';
export type { VerifyDeployedProps } from './constructs/verify-deployed';
