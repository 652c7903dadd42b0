import { entityKey, planWorkload, prng } from '../../lib/local/workload';
import { multiActiveTable, oneWayTable } from '../support/model-fixtures';

const stories = oneWayTable({ source: 'us-east-1', replicas: ['eu-west-1'] });
const sessions = multiActiveTable({
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  key: { partitionKey: { name: 'sessionId', type: 'S' } },
  versionAttribute: 'version',
  excludeAttributes: ['localCache'],
  ttl: { attribute: 'expiresAt', replicateDeletes: false },
});

describe('workload plan', () => {
  test('is the same sequence for the same seed and a different one for another seed', () => {
    // GIVEN two tables WHEN planned twice with one seed and once with another
    const a = planWorkload([stories, sessions], { seed: 7, rate: 20, durationSeconds: 5, epochMs: 1.8e12 });
    const b = planWorkload([stories, sessions], { seed: 7, rate: 20, durationSeconds: 5, epochMs: 1.8e12 });
    const c = planWorkload([stories, sessions], { seed: 8, rate: 20, durationSeconds: 5, epochMs: 1.8e12 });
    // THEN
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  });

  test('writes one-way tables in their source only and multi-active tables everywhere, with conflicts and deletes', () => {
    // GIVEN a one-way and a multi-active table WHEN 15 s of workload are planned
    const ops = planWorkload([stories, sessions], { seed: 3, rate: 20, durationSeconds: 15 });
    // THEN stories are written in us-east-1 only, sessions in every region, some at once in two
    expect(ops.length).toBeGreaterThanOrEqual(300);
    expect(new Set(ops.filter((o) => o.table === 'Stories').map((o) => o.region))).toEqual(
      new Set(['us-east-1']),
    );
    expect(new Set(ops.filter((o) => o.table === 'Sessions').map((o) => o.region))).toEqual(
      new Set(sessions.regions),
    );
    const groups = new Map<number, string[]>();
    for (const o of ops)
      if (o.concurrentGroup !== undefined)
        groups.set(o.concurrentGroup, [...(groups.get(o.concurrentGroup) ?? []), o.region]);
    expect(groups.size).toBeGreaterThan(0);
    for (const regions of groups.values()) expect(new Set(regions).size).toBe(2);
    expect(ops.some((o) => o.table === 'Sessions' && o.kind === 'delete')).toBe(true);
    expect(ops.some((o) => o.table === 'Stories' && o.kind === 'edit')).toBe(true);
  });

  test('spaces operations at the configured rate and never writes reserved attributes', () => {
    // GIVEN a multi-active table WHEN 2 s at 10 operations per second are planned
    const ops = planWorkload([sessions], { seed: 1, rate: 10, durationSeconds: 2 });
    // THEN they are spaced in time and write neither key, version nor reserved attributes
    expect(ops[ops.length - 1].at).toBeLessThan(2000);
    expect(
      ops
        .filter((o) => o.concurrentGroup === undefined)
        .every((o, i, all) => i === 0 || o.at >= all[i - 1].at),
    ).toBe(true);
    expect(
      ops.filter((o) =>
        Object.keys(o.attributes).some((k) => k.startsWith('_ddbm_') || k === 'version' || k === 'sessionId'),
      ),
    ).toEqual([]);
    expect(ops.filter((o) => o.kind === 'save' && !o.attributes.localCache)).toEqual([]);
    // TTL lies a day ahead of the wall clock, so no engine with TTL expiry would drop the demo's items.
    const ttl = ops.find((o) => o.kind === 'save')!.attributes.expiresAt.N!;
    expect(Number(ttl)).toBeGreaterThan(Date.now() / 1000 + 3600);
  });

  test('derives keys from any key schema', () => {
    // GIVEN a table keyed by a number and a binary
    const numeric = multiActiveTable({
      ...sessions,
      key: { partitionKey: { name: 'id', type: 'N' }, sortKey: { name: 'part', type: 'B' } },
    });
    // WHEN keys are derived and a workload planned THEN every key has those types
    const key = entityKey(numeric, 12);
    expect(key.id).toEqual({ N: '12' });
    expect(key.part.B).toBeInstanceOf(Uint8Array);
    const ops = planWorkload([numeric], { seed: 2, rate: 5, durationSeconds: 2 });
    expect(ops.every((o) => o.key.id.N !== undefined && o.key.part.B !== undefined)).toBe(true);
  });

  test('has a PRNG that repeats per seed', () => {
    // GIVEN two generators with one seed WHEN each draws five numbers THEN they agree, in [0, 1)
    const r1 = prng(42);
    const r2 = prng(42);
    const xs = Array.from({ length: 5 }, () => r1());
    expect(Array.from({ length: 5 }, () => r2())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('workload conflict and delete rates', () => {
  const concurrent = (ops: ReturnType<typeof planWorkload>) => ops.filter((o) => o.concurrentGroup).length;

  test('the conflict rate sets how many multi-active operations are concurrent saves in two regions', () => {
    // GIVEN the same seed WHEN planned without conflicts, with the default and with more
    const none = planWorkload([sessions], { rate: 100, durationSeconds: 10, conflictRate: 0, epochMs: 0 });
    const usual = planWorkload([sessions], { rate: 100, durationSeconds: 10, epochMs: 0 });
    const many = planWorkload([sessions], { rate: 100, durationSeconds: 10, conflictRate: 0.5, epochMs: 0 });
    // THEN none has no concurrent saves, and the counts grow with the rate
    expect(concurrent(none)).toBe(0);
    expect(concurrent(usual)).toBeGreaterThan(0);
    expect(concurrent(many)).toBeGreaterThan(concurrent(usual));
  });

  test('rates that leave no room for creates are refused, naming both', () => {
    expect(() => planWorkload([sessions], { conflictRate: 0.6, deleteRate: 0.3 })).toThrow(
      /conflict rate 0.6 and delete rate 0.3/,
    );
  });
});
