import fc from 'fast-check';
import { FaultProxy } from '../../support/fault-proxy';
import { MirrorHarness } from '../../support/mirror-harness';
import { articleReplicator, ArticleVariant } from '../fixtures/article-replicator';
import { converged, fcParams, multiActiveOps, scenarioProperty } from './convergence-model';

/**
 * NEGATIVE CONTROL. The multi-active convergence property of convergence.test.ts, unchanged, run with
 * the article's algorithm (test/lambda/fixtures/article-replicator.ts). It must find a divergence:
 * if it ever stops failing, the property (or the harness) has lost its power to detect one.
 */

const REGIONS = ['eu-north-1', 'sa-east-1'];

describe('negative control: the article two-way mirror does not converge', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await new FaultProxy().start();
  });
  afterAll(() => proxy.stop());

  test.each<ArticleVariant>(['faithful', 'generous'])(
    'article (%s) fails the multi-active convergence property',
    async (variant) => {
      // GIVEN the same commands, schedule and property the real replicator passes
      const result = await fc.check(
        scenarioProperty(
          { regions: REGIONS, mode: 'multi-active', replicator: articleReplicator(variant), proxy },
          multiActiveOps(REGIONS.length, 20),
          converged,
        ),
        // Shrinking is skipped: the point is that a divergence exists, and the first one is printed.
        { ...fcParams(40), endOnFailure: true },
      );
      // THEN fast-check finds a schedule after which the regions disagree, or never settle (the
      // article's echo loop) — not some other error
      const example = (result.errorInstance as Error | undefined)?.message ?? '';
      console.log(
        `article (${variant}) counterexample, seed ${result.seed}, path ${result.counterexample ? result.counterexamplePath : '-'}\n${example}`,
      );
      expect(result.failed).toBe(true);
      expect(example).toMatch(/divergence: \[|did not quiesce/);
    },
  );

  test('article (faithful) never replicates a delete: streams say REMOVE, the article matches DELETE', async () => {
    // GIVEN an item saved in one region and replicated
    const h = await MirrorHarness.create({
      regions: REGIONS,
      mode: 'multi-active',
      replicator: articleReplicator('faithful'),
      proxy,
    });
    await h.save(REGIONS[0], 'k0', 'x');
    await h.drain();
    // WHEN it is deleted there
    await h.remove(REGIONS[0], 'k0');
    await h.drain();
    // THEN the peer still holds it
    const snap = await h.snapshot();
    expect(snap[REGIONS[0]].items.has('{"S":"k0"}')).toBe(false);
    expect(snap[REGIONS[1]].items.has('{"S":"k0"}')).toBe(true);
  });

  test('article (generous) resurrects a deleted item from a replayed record: no tombstone to compare against', async () => {
    // GIVEN an item saved, replicated, deleted and the delete replicated
    const h = await MirrorHarness.create({
      regions: REGIONS,
      mode: 'multi-active',
      replicator: articleReplicator('generous'),
      proxy,
    });
    await h.save(REGIONS[0], 'k0', 'x');
    await h.drain();
    await h.remove(REGIONS[0], 'k0');
    await h.drain();
    expect((await h.snapshot())[REGIONS[1]].items.size).toBe(0);
    // WHEN the origin's first batch (the INSERT) is delivered again, as Lambda may
    await h.redeliver(REGIONS[0], h.batches(REGIONS[0])[0]);
    await h.drain();
    // THEN the deleted item is back at the peer
    expect((await h.snapshot())[REGIONS[1]].items.get('{"S":"k0"}')).toContain('"x"');
  });
});
