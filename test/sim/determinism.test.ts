import { determinismProblems, runWith, swarmOptions } from './explore';
import { RandomChooser } from './chooser';
import { treeReplicator, type SimReplicator } from './replicators';

describe('determinism (the "unseed" check)', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'swarm seed %i makes the same choices, steps and final state when run twice',
    async (seed) => {
      expect(await determinismProblems(swarmOptions(), seed)).toEqual([]);
    },
  );

  it('also holds with three regions and a one-way table', async () => {
    expect(await determinismProblems(swarmOptions({ regions: ['a', 'b', 'c'] }), 9)).toEqual([]);
    expect(
      await determinismProblems(swarmOptions({ mode: 'one-way', regions: ['a', 'b', 'c'] }), 10),
    ).toEqual([]);
  });

  it('catches a replicator that reads Math.random during a run', async () => {
    const noisy: SimReplicator = {
      name: 'noisy',
      processBatch: (event, deps) => {
        Math.random();
        return treeReplicator.processBatch(event, deps);
      },
      applyParkedBody: treeReplicator.applyParkedBody,
    };
    const run = await runWith(swarmOptions({ replicator: noisy }), new RandomChooser(1));
    expect(run.failures.map((f) => f.oracle)).toContain('determinism');
  });
});
