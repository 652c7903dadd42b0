import { FaultProxy } from '../../support/fault-proxy';
import { realReplicator } from './real-replicator';
import { assertScenarios, converged, oneWayOps, redeliveryIsIdempotent } from './convergence-model';

/**
 * One-way tables (docs/replication.md): the source's random saves, whole-item puts and deletes,
 * delivered in random batches with duplicates and replays while replicas go down or get throttled,
 * must leave every replica equal to the source once everything has drained.
 */

const REGIONS = ['ca-central-1', 'eu-south-1', 'ap-east-1'];
const RUNS = { convergence: 100, idempotence: 30 };
/** Above jest's 120 s default: a failing property also shrinks, one fresh table set per attempt. */
const PROPERTY_TIMEOUT_MS = 600_000;
const MAX_OPS = 25;

describe('one-way convergence (property, DynamoDB Local)', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await new FaultProxy().start();
  });
  afterAll(() => proxy.stop());

  test(
    `replicas equal the source after drain, whatever the batching, duplicates, replays and replica outages (${RUNS.convergence} runs x <=${MAX_OPS} ops)`,
    () =>
      assertScenarios(
        { regions: REGIONS, mode: 'one-way', replicator: realReplicator, proxy },
        oneWayOps(REGIONS.length, MAX_OPS),
        converged,
        RUNS.convergence,
      ),
    PROPERTY_TIMEOUT_MS,
  );

  test(
    `re-delivering any earlier batch after drain changes nothing stored, stamps and tombstones included (${RUNS.idempotence} runs)`,
    () =>
      assertScenarios(
        { regions: REGIONS, mode: 'one-way', replicator: realReplicator, proxy },
        oneWayOps(REGIONS.length, 15),
        redeliveryIsIdempotent,
        RUNS.idempotence,
      ),
    PROPERTY_TIMEOUT_MS,
  );
});
