import { exhaustive, worldOptions } from './explore';
import { article, blindToTombstones } from './replicators';

/**
 * The oracles must catch replicators known to be wrong, at bounds the real one is checked at: a
 * simulator that finds nothing in them would prove nothing about the real one either.
 */
describe('negative controls', () => {
  it('catches the replicator that never sees a tombstone (a deleted item comes back)', async () => {
    const summary = await exhaustive(
      worldOptions({ replicator: blindToTombstones, ops: 3, stepResurrection: 'off' }),
    );
    expect(summary.failed).not.toHaveLength(0);
    const oracles = summary.failed[0].failures.map((f) => f.oracle);
    expect(
      oracles.some((o) => ['convergence', 'resurrection', 'lost-write', 'idempotence'].includes(o)),
    ).toBe(true);
  });

  it("catches the article's two-way mirror (no order across regions, no tombstones)", async () => {
    const summary = await exhaustive(worldOptions({ replicator: article('generous'), ops: 2 }));
    expect(summary.failed).not.toHaveLength(0);
    expect(summary.failed[0].failures.map((f) => f.oracle)).not.toContain('simulator');
  });

  it("catches the article's faithful version (deletes never replicated)", async () => {
    const summary = await exhaustive(worldOptions({ replicator: article('faithful'), ops: 2 }));
    expect(summary.failed.flatMap((f) => f.failures.map((x) => x.oracle))).toContain('convergence');
  });
});
