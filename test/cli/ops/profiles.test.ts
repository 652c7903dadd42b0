import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deployedArgs } from '../../../cli/backfill';
import { sfnClient } from '../../../cli/backfill-deployed';
import { UsageError } from '../../../cli/command';
import { clientConfig, preflight, regionClients } from '../../../cli/ops/clients';
import { connectionArgs, opsArgs, profileFor } from '../../../cli/ops/options';
import { verifyDeployedArgsOf } from '../../../cli/verify';
import { awsClients } from '../../../cli/verify-deployed';

/**
 * `--profile NAME` for every region and `--profile REGION=NAME` for one: a table whose peers are in
 * another account is read and written with that account's credentials by every operations command.
 */

const [US, EU] = ['us-east-1', 'eu-west-1'];

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddbm-profiles-'));
  writeFileSync(
    join(dir, 'mirror.config.yaml'),
    [
      'regions:',
      `  ${US}: { endpoint: { hostname: us.example.com } }`,
      `  ${EU}: { endpoint: { hostname: eu.example.com }, account: "222222222222" }`,
      'account: "111111111111"',
      'tables:',
      `  - { name: Big, partitionKey: { name: pk, type: S }, mode: multi-active, regions: [${US}, ${EU}], exportBackfill: {}, antiEntropy: {} }`,
      '',
    ].join('\n'),
  );
  return dir;
}

/** The problems opsArgs collects for these --profile values. */
function problemsOf(profile: string[]): string[] {
  const problems: string[] = [];
  opsArgs({ profile }, problems);
  return problems;
}

describe('--profile per region', () => {
  test('a default profile and one per region; each region gets its own, the rest the default', () => {
    // GIVEN the source account's profile for every region and the peer account's for eu-west-1
    const problems: string[] = [];
    const a = opsArgs({ profile: ['source', `${EU}=peer`] }, problems);
    expect(problems).toEqual([]);
    expect(a).toMatchObject({ profile: 'source', profiles: { [EU]: 'peer' } });
    // THEN every client of a region is built with that region's profile
    expect(profileFor(a, EU)).toBe('peer');
    expect(profileFor(a, US)).toBe('source');
    expect(clientConfig(a, EU, {})).toEqual({ region: EU, profile: 'peer' });
    expect(clientConfig(a, US, {})).toEqual({ region: US, profile: 'source' });
    // and a printed command line repeats both
    expect(connectionArgs(a)).toEqual(['--profile', 'source', '--profile', `${EU}=peer`]);
  });

  test('only a region profile: the other regions keep the standard chain (or, at an endpoint, local)', () => {
    const problems: string[] = [];
    const a = opsArgs({ profile: [`${EU}=peer`] }, problems);
    expect(problems).toEqual([]);
    expect(clientConfig(a, US, {})).toEqual({ region: US });
    expect(clientConfig(a, EU, {})).toEqual({ region: EU, profile: 'peer' });
    const local = opsArgs({ profile: [`${EU}=peer`], endpoint: 'http://127.0.0.1:4566' }, problems);
    expect(clientConfig(local, US, {})).toMatchObject({ region: US, credentials: { accessKeyId: 'local' } });
    expect(clientConfig(local, EU, {})).toEqual({
      region: EU,
      endpoint: 'http://127.0.0.1:4566',
      profile: 'peer',
    });
  });

  test('names every bad value at once', () => {
    expect(
      problemsOf(['bad name', 'a', 'b', `${EU}=x`, `${EU}=y`, 'mars=z', `${US}=`, `${US}=ok`, 'a']),
    ).toEqual([
      '--profile needs NAME or REGION=NAME (like eu-west-1=peer), got "bad name"',
      '--profile names two default profiles, a and b: give one, and REGION=NAME for the others',
      `--profile names two profiles for ${EU}: x and y`,
      '--profile needs NAME or REGION=NAME (like eu-west-1=peer), got "mars=z"',
      `--profile needs NAME or REGION=NAME (like eu-west-1=peer), got "${US}="`,
    ]);
    // a value given twice is no conflict
    expect(problemsOf(['a', 'a', `${EU}=x`, `${EU}=x`])).toEqual([]);
  });

  test('a region the config does not have is named, beside the other problems', () => {
    const dir = configDir();
    expect(() =>
      deployedArgs({ deployed: true, table: 'Big', from: 'mars-1', profile: ['ap-south-9=peer'] }, dir),
    ).toThrow(
      new UsageError(
        [
          `--profile ap-south-9=peer: "ap-south-9" is not a region of the config; its regions: ${US}, ${EU}`,
          `--from "mars-1" is not a region of Big; its regions: ${US}, ${EU}`,
        ].join('\n'),
      ),
    );
  });

  test('backfill --deployed and verify --deployed build their AWS clients with each region’s profile', async () => {
    const dir = configDir();
    // WHEN the deployed backfill runs from the peer account's region
    const backfill = deployedArgs(
      { deployed: true, table: 'Big', from: EU, profile: ['source', `${EU}=peer`] },
      dir,
    );
    const sfn = sfnClient(backfill);
    // THEN its Step Functions client uses that account's profile
    expect(sfn.config.profile).toBe('peer');
    sfn.destroy();
    // WHEN the deployed verify reads both regions
    const verify = verifyDeployedArgsOf(
      { deployed: true, table: 'Big', profile: ['source', `${EU}=peer`] },
      dir,
    );
    const clients = awsClients(verify.credentials);
    const profileOf = (c: unknown) => (c as DynamoDBClient).config.profile;
    // THEN each region's DynamoDB client has its own account's profile
    expect(profileOf(clients.dynamo(EU))).toBe('peer');
    expect(profileOf(clients.dynamo(US))).toBe('source');
    expect(profileOf(clients.sfn(US))).toBe('source');
  });

  test('a region profile that gives no credentials is named in the preflight line, beside the default hint', async () => {
    // GIVEN shared config and credentials files that hold no profile, and nothing in the environment
    const dir = mkdtempSync(join(tmpdir(), 'ddbm-no-profiles-'));
    writeFileSync(join(dir, 'empty'), '');
    const names = ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED'];
    const cleared = ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
    const saved = Object.fromEntries([...names, ...cleared].map((v) => [v, process.env[v]]));
    process.env.AWS_CONFIG_FILE = join(dir, 'empty');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'empty');
    // (and no instance metadata to ask: the chain's last link would otherwise wait on the network)
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    for (const v of cleared) delete process.env[v];
    try {
      // WHEN the operations commands' first check runs with a profile for eu-west-1 only
      const problems: string[] = [];
      const c = opsArgs({ profile: [`${EU}=peer`] }, problems);
      const rc = regionClients([US, EU], { ...c, endpoint: 'http://127.0.0.1:1' });
      const failed = await preflight(rc, 'Big', [US, EU], c).then(
        () => undefined,
        (e: Error) => e.message,
      );
      // THEN eu-west-1's line names the profile the SDK found nothing in
      expect(failed).toMatch(
        new RegExp(
          `^no AWS credentials for ${EU} from profile peer: .*Could not load credentials.*shared config`,
          'm',
        ),
      );
      // and us-east-1 (no profile, local credentials at an endpoint) fails on the endpoint instead
      expect(failed).toMatch(
        new RegExp(`^no DynamoDB endpoint answers at http://127\\.0\\.0\\.1:1 \\(region ${US}\\)`, 'm'),
      );
      // WHEN no profile is given at all and there are no credentials
      const bare = regionClients([US], {});
      const noProfile = await preflight(bare, 'Big', [US], {}).then(
        () => undefined,
        (e: Error) => e.message,
      );
      // THEN the hint names both forms of --profile
      expect(noProfile).toMatch(
        /^no AWS credentials for us-east-1: .*\(use --profile NAME, --profile REGION=NAME for a region in another account/,
      );
    } finally {
      for (const [v, value] of Object.entries(saved))
        if (value === undefined) delete process.env[v];
        else process.env[v] = value;
    }
  });
});
