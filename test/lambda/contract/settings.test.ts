import { decodeSettings, encodeSettings, settingsProblems } from '../../../lambda/contract';
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
});
