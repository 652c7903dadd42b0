/**
 * Replication lag under load on the local mirror: the real replicator bundles, Lambda-like stream
 * polling (250 ms), and `latencyMs` added to every cross-region request by each function's proxy.
 * Lag is measured from outside, from a write's acknowledgement to its visibility in every peer, on a
 * sample of the writes; convergence is the time from the last write until every region agrees.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { TableModel } from '../lib/config/model';
import { runLocalMirror } from '../lib/local/mirror';
import type { LocalPlan } from '../lib/local/plan';
import { percentiles, type Percentiles } from '../lib/local/report';

export interface LagScenario {
  /** Application operations per second, over every region. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly latencyMs: number;
  /** Share of operations that save one item in two regions at once. */
  readonly conflictRate: number;
  /** Share of operations that delete an item (a fifth of creates bring a deleted key back). */
  readonly deleteRate: number;
}

export interface LagFigures {
  /** Acknowledgement → visible in every peer, per sampled write. */
  readonly everyPeer: Percentiles;
  /** Acknowledgement → visible in one peer, per sampled write and peer. */
  readonly perPeer: Percentiles;
  /** Last write → every region holds the same items. */
  readonly convergedMs: number;
  readonly divergentKeys: number;
  readonly parked: number;
  readonly deferred: number;
  readonly conflictsLost: number;
  readonly operations: number;
}

/** Runs one scenario on a fresh engine; `tables` are the multi-active tables the workload writes. */
export async function measureLag(
  plan: LocalPlan,
  tables: readonly TableModel[],
  scenario: LagScenario,
): Promise<LagFigures> {
  const result = await runLocalMirror({
    plan,
    tables,
    workload: {
      seed: 5,
      rate: scenario.rate,
      durationSeconds: scenario.durationSeconds,
      conflictRate: scenario.conflictRate,
      deleteRate: scenario.deleteRate,
    },
    crossRegionLatencyMs: scenario.latencyMs,
    // A 20 % sample, probed every 25 ms: fine enough for sub-second lag, light enough for the engine.
    lagSampling: { every: 5, intervalMs: 25 },
    outDir: mkdtempSync(join(tmpdir(), 'ddbm-bench-lag-')),
    drainTimeoutMs: 60_000,
    // The divergence samplers' reads would weigh on the lag measured.
    runSchedules: false,
  });
  const report = result.report;
  const byWrite = new Map<string, number>();
  for (const o of report.lagSeries) byWrite.set(o.writeId, Math.max(byWrite.get(o.writeId) ?? 0, o.lagMs));
  const sum = (f: (p: (typeof report.pairs)[number]) => number) => report.pairs.reduce((n, p) => n + f(p), 0);
  return {
    everyPeer: percentiles([...byWrite.values()]),
    perPeer: percentiles(report.lagSeries.map((o) => o.lagMs)),
    convergedMs: report.timings.drainMs ?? Number.NaN,
    divergentKeys: report.divergentKeys,
    parked: sum((p) => p.parked),
    deferred: sum((p) => p.deferred),
    conflictsLost: sum((p) => p.conflictsLost),
    operations: report.workload?.operations ?? 0,
  };
}
