/**
 * The function bundles as synthesized (lib/constructs/defaults.ts, FUNCTION_BUNDLING): their size, and
 * their module init, the cold-start work before the first event: loading the bundle and running its
 * module scope (settings, clients, Powertools), in a fresh `node` with the deployed environment.
 */
import { execFileSync } from 'child_process';
import { statSync } from 'fs';
import { join } from 'path';
import type { LocalPlan } from '../lib/local/plan';

export interface BundleFigures {
  readonly name: string;
  readonly bytes: number;
  /** Median module init (ms) over the runs, with the deployed NODE_OPTIONS. */
  readonly initMs: number;
  readonly runs: readonly number[];
}

const INIT_PROBE = `
const t = process.hrtime.bigint();
require(process.argv[1]);
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));
`;

/** One replicator and one parked-record consumer of the plan (every table's bundles are the same code). */
export function measureBundles(plan: LocalPlan, runs: number): BundleFigures[] {
  const kinds = [
    { name: 'replicator', fn: plan.functions.find((f) => /Replicator(?!Parked)/.test(f.name) && f.settings) },
    { name: 'parked-record consumer', fn: plan.functions.find((f) => /Parked/.test(f.name)) },
  ];
  return kinds.flatMap(({ name, fn }) => {
    if (!fn) return [];
    const file = join(fn.assetDir, 'index.js');
    const times = Array.from({ length: runs }, () => initOnce(file, fn.environment, fn.region));
    return [{ name, bytes: statSync(file).size, initMs: median(times), runs: times }];
  });
}

function initOnce(file: string, environment: Readonly<Record<string, string>>, region: string): number {
  const out = execFileSync(process.execPath, ['-e', INIT_PROBE, file], {
    env: {
      PATH: process.env.PATH ?? '',
      ...environment,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  return Number(out);
}

function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
