import type { KeySchema, KeyType } from '../config/model';
import type { ReplicatorSettings, SamplerSettings } from '../../lambda/contract';
import type { PolicyDocument } from './iam-check';
import type { MappingSettings } from './mapping-settings';

/**
 * What the local mirror runs, read from a synthesized cloud assembly (`readAssembly`): per region, the
 * tables to create, the functions to host (bundles, environment, IAM policies), the queues and the event
 * source mappings. Every CloudFormation token is already resolved against a local context (account,
 * partition `aws`, the stack's region, local queue URLs).
 */

export const LOCAL_ACCOUNT = '000000000000';
/** The stream label stands in for the one DynamoDB assigns at table creation (policies use the table's ARN). */
export const LOCAL_STREAM_LABEL = '1970-01-01T00:00:00.000';

/** The assembly cannot be run locally; the message names the stack, resource and field. */
export class AssemblyError extends Error {}

export interface PlanTable {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly key: KeySchema;
  readonly attributeDefinitions: readonly { readonly name: string; readonly type: KeyType }[];
  /** @default - no stream */
  readonly streamViewType?: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';
  /** @default - no TTL */
  readonly ttlAttribute?: string;
  readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  readonly arn: string;
  /** The deployed-shape stream ARN (label {@link LOCAL_STREAM_LABEL}); the engine assigns its own. */
  readonly streamArn?: string;
  /** The table's resource-based policy (a read-only replica's), intrinsics resolved. @default - none */
  readonly resourcePolicy?: PolicyDocument;
  /**
   * Set for a table the stack adopts (it exists already): the custom resource that checks it and
   * enables its stream. The run does not create such a table; it runs that custom resource's function.
   * @default - the stack creates the table
   */
  readonly adoption?: PlanAdoption;
}

/** The `Custom::DdbMirrorAdoptedTable` of an adopted table, as the local run invokes it. */
export interface PlanAdoption {
  readonly logicalId: string;
  /** The function its ServiceToken names. */
  readonly functionName: string;
  readonly resourceType: string;
  /** `ResourceProperties` as CloudFormation sends them (ServiceToken included), intrinsics resolved. */
  readonly properties: Readonly<Record<string, unknown>>;
}

export interface PlanQueue {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  /** @default 30 */
  readonly visibilityTimeoutSeconds: number;
  /** @default 345600 (4 days) */
  readonly retentionSeconds: number;
  /** @default - no redrive */
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

export interface PlanFunction {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Absolute path of the bundle directory in the assembly. */
  readonly assetDir: string;
  readonly handler: string;
  readonly runtime?: string;
  readonly environment: Readonly<Record<string, string>>;
  /** @default 3 */
  readonly timeoutSeconds: number;
  /** @default 128 */
  readonly memoryMB: number;
  readonly roleArn: string;
  /** Every identity policy attached to the role (inline, AWS::IAM::Policy, customer managed). */
  readonly policies: readonly PolicyDocument[];
  /** AWS managed policy ARNs on the role (not evaluated locally: named for the record). */
  readonly managedPolicyArns: readonly string[];
  /** Decoded DDBM_SETTINGS when the function is a replicator or parked-record consumer. */
  readonly settings?: ReplicatorSettings;
  /** Decoded DDBM_SETTINGS when the function is a divergence sampler. */
  readonly samplerSettings?: SamplerSettings;
}

/** An EventBridge rule that invokes a function on a schedule (`AWS::Events::Rule`). */
export interface PlanSchedule {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  /** `rate(15 minutes)` or `cron(...)`, as synthesized. */
  readonly expression: string;
  readonly enabled: boolean;
  /** Names of the functions it targets. */
  readonly functionNames: readonly string[];
}

export type MappingSource =
  | { readonly kind: 'stream'; readonly table: PlanTable }
  | { readonly kind: 'queue'; readonly queue: PlanQueue };

/** An event source mapping: where it reads, what it invokes, and its settings, parsed once. */
export interface PlanMapping extends MappingSettings {
  readonly region: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly functionName: string;
  readonly source: MappingSource;
  /** The queue behind `onFailureDestination`. @default - no on-failure destination */
  readonly onFailure?: PlanQueue;
}

export interface LocalPlan {
  readonly assemblyDir: string;
  readonly account: string;
  readonly regions: readonly string[];
  readonly stacks: readonly {
    readonly name: string;
    readonly region: string;
    readonly templateFile: string;
  }[];
  readonly tables: readonly PlanTable[];
  readonly queues: readonly PlanQueue[];
  readonly functions: readonly PlanFunction[];
  readonly mappings: readonly PlanMapping[];
  readonly schedules: readonly PlanSchedule[];
}
