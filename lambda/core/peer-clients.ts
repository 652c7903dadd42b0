/**
 * DynamoDB clients for a table's regions, as the functions build them: `region` only (so
 * `AWS_ENDPOINT_URL_DYNAMODB` can point every one at DynamoDB Local), plus, for a region in another
 * account, credentials of the role that region's stack offers (README, "Cross-account peers").
 *
 * STS is called through `@aws-sdk/client-sts`, loaded on the first call and left to the Lambda
 * runtime's SDK (lib/constructs/defaults.ts, FUNCTION_BUNDLING): bundled, STS (or
 * `@aws-sdk/credential-providers`' `fromTemporaryCredentials`, which bundles it) adds 40-46 kB to every
 * function, past the 300 kB budget, though only cross-account mirrors use it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/** Temporary credentials, as the SDK's credential providers return them. */
export interface TemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** One STS AssumeRole call. */
export type AssumeRole = (roleArn: string, sessionName: string) => Promise<TemporaryCredentials>;

/** Credentials are renewed this long before they expire (the SDK's own margin is 5 minutes too). */
export const RENEW_BEFORE_MS = 5 * 60_000;

export interface PeerClientOptions {
  /** The region the function runs in: STS is called there. */
  readonly region: string;
  /** Names the role sessions (CloudTrail shows it), e.g. `ddbm-replicator-us-east-1`. */
  readonly sessionName: string;
  /** @default - STS AssumeRole through `@aws-sdk/client-sts`, in `region` */
  readonly assumeRole?: AssumeRole;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * One client per region. A region with a role ARN gets that role's credentials; the others keep the
 * default chain (the function's own role).
 */
export function dynamoClients(
  regions: readonly { readonly region: string; readonly roleArn?: string }[],
  options: PeerClientOptions,
): Record<string, DynamoDBClient> {
  const assumeRole = options.assumeRole ?? stsAssumeRole(options.region);
  return Object.fromEntries(
    regions.map(({ region, roleArn }) => [
      region,
      new DynamoDBClient({
        region,
        ...(roleArn !== undefined && {
          credentials: assumedRoleCredentials(roleArn, options.sessionName, assumeRole, options.now),
        }),
      }),
    ]),
  );
}

/**
 * A credential provider for `roleArn`: assumes it on first use and again once the credentials are
 * within {@link RENEW_BEFORE_MS} of expiring; concurrent callers share one call, and a failed call is
 * not cached (the next request tries again).
 */
export function assumedRoleCredentials(
  roleArn: string,
  sessionName: string,
  assumeRole: AssumeRole,
  now: () => number = Date.now,
): () => Promise<TemporaryCredentials> {
  let held: TemporaryCredentials | undefined;
  let pending: Promise<TemporaryCredentials> | undefined;
  return async () => {
    if (held && held.expiration.getTime() - RENEW_BEFORE_MS > now()) return held;
    pending ??= assumeRole(roleArn, sessionName).then(
      (credentials) => {
        held = credentials;
        pending = undefined;
        return credentials;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}

/** STS AssumeRole in `region` with the function's own credentials, the client loaded on first use. */
export function stsAssumeRole(region: string): AssumeRole {
  let sts: Promise<{ client: STSClient; Command: typeof AssumeRoleCommand }> | undefined;
  return async (roleArn, sessionName) => {
    // `region` only: AWS_ENDPOINT_URL_STS can point it elsewhere, like every client here.
    sts ??= import('@aws-sdk/client-sts').then((m) => ({
      client: new m.STSClient({ region }),
      Command: m.AssumeRoleCommand,
    }));
    const { client, Command } = await sts;
    const out = await client.send(new Command({ RoleArn: roleArn, RoleSessionName: sessionName }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
      throw new Error(`STS AssumeRole of ${roleArn} returned no credentials`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  };
}
