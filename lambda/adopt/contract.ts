/**
 * What the adoption constructs (lib/constructs/adopted-table.ts) and the adopt function agree on: the
 * custom resource types, their properties and the attributes they return, and the function's settings.
 * CloudFormation hands custom resource properties over as strings, so every property here is one.
 */
import * as z from 'zod/mini';

/** Checks an adopted table (exists, the configured key) and enables its stream when it needs one. */
export const ADOPTED_TABLE_TYPE = 'Custom::DdbMirrorAdoptedTable';
/** Puts the mirror's read-only statement into an adopted replica's resource policy, keeping the rest. */
export const READ_ONLY_POLICY_TYPE = 'Custom::DdbMirrorReadOnlyPolicy';
/** The Sid of the mirror's own statement: the one statement it replaces and, on delete, removes. */
export const READ_ONLY_SID = 'ReadOnlyReplica';
/** The only stream view the replicator can work with (docs/replication.md). */
export const REQUIRED_STREAM_VIEW = 'NEW_AND_OLD_IMAGES';

export type KeyAttributeType = 'S' | 'N' | 'B';

export interface AdoptedTableProperties {
  readonly TableName: string;
  /** The configured key: the table must have exactly this key schema and these attribute types. */
  readonly KeySchema: readonly {
    readonly AttributeName: string;
    readonly KeyType: 'HASH' | 'RANGE';
    readonly AttributeType: KeyAttributeType;
  }[];
  /** `NEW_AND_OLD_IMAGES` where a replicator reads the table's stream; `NONE` where nothing does. */
  readonly Stream: typeof REQUIRED_STREAM_VIEW | 'NONE';
}

/** `Fn::GetAtt` attributes of an adopted table. */
export interface AdoptedTableData {
  /** The table's NEW_AND_OLD_IMAGES stream; empty when `Stream` is `NONE`. */
  readonly StreamArn: string;
  readonly TableArn: string;
  /** `true` when this request enabled the stream, `false` when the table had it already (or needs none). */
  readonly StreamEnabledHere: 'true' | 'false';
}

export interface ReadOnlyPolicyProperties {
  readonly TableArn: string;
  /** One IAM policy statement whose Sid is {@link READ_ONLY_SID}. */
  readonly Statement: Readonly<Record<string, unknown>>;
}

const text = z.string('must be a non-empty string').check(z.minLength(1, 'must be a non-empty string'));

const keyElement = z.object({
  AttributeName: text,
  KeyType: z.enum(['HASH', 'RANGE'], "must be 'HASH' or 'RANGE'"),
  AttributeType: z.enum(['S', 'N', 'B'], "must be 'S', 'N' or 'B'"),
});

export const adoptedTablePropertiesSchema = z.object({
  TableName: text,
  KeySchema: z.array(keyElement).check(z.minLength(1), z.maxLength(2)),
  Stream: z.enum([REQUIRED_STREAM_VIEW, 'NONE'], `must be '${REQUIRED_STREAM_VIEW}' or 'NONE'`),
});

export const readOnlyPolicyPropertiesSchema = z.object({
  TableArn: text.check(
    z.regex(/^arn:[^:]+:dynamodb:[^:]+:\d{12}:table\/[A-Za-z0-9_.-]+$/, 'must be a table ARN'),
  ),
  Statement: z
    .record(z.string(), z.unknown())
    .check(z.refine((s) => s.Sid === READ_ONLY_SID, `must have the Sid ${READ_ONLY_SID}`)),
});

/** The adopt function's `DDBM_SETTINGS`: the one table it may act on, and its region. */
export const adoptSettingsSchema = z.object({
  kind: z.literal('adopt', "must be 'adopt'"),
  table: text,
  region: text,
});

export type AdoptSettings = z.infer<typeof adoptSettingsSchema>;

export function encodeAdoptSettings(settings: AdoptSettings): string {
  return JSON.stringify(settings);
}

export function decodeAdoptSettings(raw: string | undefined): AdoptSettings {
  if (!raw) throw new Error('DDBM_SETTINGS is not set');
  return z.parse(adoptSettingsSchema, JSON.parse(raw));
}
