import {
  decodeSettings,
  encodeSettings,
  samplerSettingsProblems,
  settingsProblems,
} from '../../../lambda/contract';
import { multiActiveSettings, oneWaySettings } from '../../support/records';

describe('replicator settings contract', () => {
  test('round-trips one-way and multi-active settings unchanged', () => {
    for (const settings of [oneWaySettings(), multiActiveSettings({ sortKey: 'sk' })]) {
      expect(decodeSettings(encodeSettings(settings))).toEqual(settings);
    }
  });

  test('names every bad field with the value it found, not just the first', () => {
    const bad = { ...multiActiveSettings(), maxAttempts: -1, baseDelayMs: 'fast', versionAttribute: '' };
    expect(settingsProblems(bad)).toEqual([
      'maxAttempts must be at least 1, got -1',
      'baseDelayMs must be a number, got "fast"',
      'versionAttribute must be a non-empty string, got ""',
    ]);
  });

  test('requires the version attribute for multi-active tables only', () => {
    const { versionAttribute: _dropped, ...withoutVersion } = multiActiveSettings();
    expect(settingsProblems(withoutVersion)).toEqual([
      'versionAttribute must be a non-empty string, got undefined',
    ]);
    expect(settingsProblems(oneWaySettings())).toEqual([]);
  });

  test('rejects an unknown mode and a value that is not an object', () => {
    expect(settingsProblems({ ...oneWaySettings(), mode: 'two-way' })).toEqual([
      `mode must be 'one-way' or 'multi-active', got "two-way"`,
    ]);
    expect(settingsProblems(null)).toEqual(['settings must be an object, got null']);
  });

  test('decodeSettings throws one error for a missing, non-JSON or invalid environment value', () => {
    expect(() => decodeSettings(undefined)).toThrow('DDBM_SETTINGS is not set');
    expect(() => decodeSettings('{')).toThrow(/^DDBM_SETTINGS is not valid JSON/);
    expect(() =>
      decodeSettings(JSON.stringify({ ...oneWaySettings(), peers: 'x', maxConcurrency: 0 })),
    ).toThrow(
      'DDBM_SETTINGS is invalid: peers must be an array, got "x"; maxConcurrency must be at least 1, got 0',
    );
  });

  test('a peer may name the role to assume in its account, which must be an IAM role ARN', () => {
    // GIVEN one peer with a writer role and one with something else in its place
    const role = 'arn:aws:iam::222222222222:role/ddbm-Stories-us-east-1-eu-west-1-wr-abc123';
    const settings = oneWaySettings({
      peers: [
        { region: 'eu-west-1', parkingQueueUrl: 'https://q/1', roleArn: role },
        { region: 'ap-southeast-2', parkingQueueUrl: 'https://q/2', roleArn: 'arn:aws:iam::2:user/x' },
      ],
    });

    // WHEN / THEN the role survives encoding; the bad value is named with its place
    expect(decodeSettings(encodeSettings({ ...settings, peers: [settings.peers[0]] })).peers[0].roleArn).toBe(
      role,
    );
    expect(settingsProblems(settings)).toEqual([
      'peers.1.roleArn must be an IAM role ARN, got "arn:aws:iam::2:user/x"',
    ]);
  });
});

describe('sampler settings contract', () => {
  test('names a peer role that is not an IAM role ARN', () => {
    // GIVEN
    const sampler = {
      kind: 'sampler',
      table: 'Stories',
      mode: 'one-way',
      region: 'us-east-1',
      regions: ['us-east-1', 'eu-west-1'],
      keyNames: ['storyId'],
      excludeAttributes: [],
      sampleSize: 50,
      listenSeconds: 20,
      recheckRounds: 3,
      recheckIntervalSeconds: 10,
    };

    // WHEN / THEN
    expect(samplerSettingsProblems(sampler)).toEqual([]);
    expect(
      samplerSettingsProblems({ ...sampler, peerRoles: [{ region: 'eu-west-1', roleArn: 'reader' }] }),
    ).toEqual(['peerRoles.0.roleArn must be an IAM role ARN, got "reader"']);
  });
});
