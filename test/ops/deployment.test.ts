import { join } from 'path';
import { loadConfig } from '../../lib/config/load';
import { matchGeneratedName, replicatorDeployments } from '../../lib/ops/deployment';

const model = loadConfig(join(__dirname, '..', '..', 'mirror.config.yaml'));

describe('where the operations commands find a replicator', () => {
  test('every replicator of the example config, with the logical IDs cdk synth writes', () => {
    // GIVEN the example config WHEN its replicators are listed
    const all = replicatorDeployments(model);
    // THEN one per table and replicator region, named as in the synthesized templates
    expect(all.map((d) => `${d.table}@${d.region}`)).toEqual([
      'Stories@us-east-1',
      'Sessions@us-east-1',
      'Sessions@eu-west-1',
      'Sessions@ap-southeast-2',
    ]);
    expect(all[0]).toEqual({
      table: 'Stories',
      region: 'us-east-1',
      stackName: 'DdbMirror-us-east-1',
      replicatorFunction: 'StoriesReplicatorFEBEEF15',
      parkedFunction: 'StoriesReplicatorParkedDA8532B6',
      onFailureQueue: 'StoriesReplicatorOnFailureQueue07E9FFAB',
      parking: [
        {
          target: 'eu-west-1',
          queue: 'StoriesReplicatorParkingeuwest174130AAF',
          dlq: 'StoriesReplicatorParkingDlqeuwest1D808DA13',
        },
        {
          target: 'ap-southeast-2',
          queue: 'StoriesReplicatorParkingapsoutheast2C7D9D6BA',
          dlq: 'StoriesReplicatorParkingDlqapsoutheast29F770923',
        },
      ],
    });
  });

  test('recognises the names CloudFormation generates, cut short or not, and the local mirror’s', () => {
    const stack = 'DdbMirror-ap-southeast-2';
    const dlq = 'SessionsReplicatorParkingDlquseast1E538FB3A';
    const parking = 'SessionsReplicatorParkinguseast1A4CFEA6B';
    // GIVEN a generated name in full, one cut to 80 characters, and the local mirror's name
    const full = `${stack}-${parking}-1A2B3C4D5E6F`;
    const cut = `${stack.slice(0, 19)}-${dlq.slice(0, 30)}-Ab12Cd34Ef56G`;
    // THEN each is recognised for its own logical ID, never for its sibling's
    expect(matchGeneratedName(full, stack, parking)).toBe(parking.length);
    expect(matchGeneratedName(full, stack, dlq)).toBe(0);
    expect(matchGeneratedName(cut, stack, dlq)).toBe(30);
    expect(matchGeneratedName(cut, stack, parking)).toBe(0);
    expect(matchGeneratedName(`${stack}-${dlq}`, stack, dlq)).toBe(dlq.length);
    expect(matchGeneratedName(`${stack}-${dlq}`, stack, parking)).toBe(0);
    // AND a queue of another stack is not
    expect(matchGeneratedName(`DdbMirror-eu-west-1-${parking}-1A2B3C4D5E6F`, stack, parking)).toBe(0);
  });
});
