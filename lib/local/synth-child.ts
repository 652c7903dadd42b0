/**
 * Synthesizes the app in its own process for `synthesize()` (lib/local/synth.ts), which starts it with the
 * tsx loader: the bundler's per-function output stays in this process's pipes unless synthesis fails.
 * The job comes as one JSON argument; the outcome goes back over the IPC channel.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../app';
import { loadConfig } from '../config/load';

export interface SynthJob {
  readonly configPath: string;
  readonly outdir: string;
  /** cdk.json's context (feature flags), applied as the CDK CLI would. */
  readonly context: Record<string, unknown>;
}

export type SynthOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly name: string; readonly message: string; readonly stack?: string };

function synth(job: SynthJob): SynthOutcome {
  try {
    const app = new App({
      outdir: job.outdir,
      context: { ...job.context, 'aws:cdk:enable-asset-metadata': true },
    });
    // cdk-nag is left to `cdk synth`: its findings are not the local run's concern.
    buildApp(app, loadConfig(job.configPath), { nag: false });
    app.synth();
    return { ok: true };
  } catch (e) {
    const error = e as Error;
    return { ok: false, name: error.name, message: error.message, stack: error.stack };
  }
}

const outcome = synth(JSON.parse(process.argv[2] ?? '{}') as SynthJob);
process.exitCode = outcome.ok ? 0 : 3;
process.send?.(outcome, () => process.disconnect());
