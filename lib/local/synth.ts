import { fork } from 'child_process';
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve as resolvePath } from 'path';
import { pathToFileURL } from 'url';
import { AssemblyError } from './plan';
import type { SynthJob, SynthOutcome } from './synth-child';

/**
 * The child that synthesizes. From the sources it is TypeScript, run with the tsx loader (a
 * devDependency, as `npm start` uses); compiled (the package's `ddb-mirror` bin), it is the built
 * JavaScript beside this file, run by node alone.
 */
const COMPILED = __filename.endsWith('.js');
const CHILD = join(__dirname, COMPILED ? 'synth-child.js' : 'synth-child.ts');

export class SynthError extends Error {}

export interface SynthesizeOptions {
  /** @default 'mirror.config.yaml' in `cwd` */
  readonly configPath?: string;
  /** @default - a new temporary directory */
  readonly outdir?: string;
  /** Where cdk.json is read from and relative paths start. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Builds the app from a config — the same composition as bin/app.ts, with cdk.json's context applied as
 * the CLI would — and returns the assembly directory. Faster than the CDK CLI. A config mistake is
 * thrown with the name `ConfigError` so the CLI shows it as one message, without a stack.
 */
export async function synthesize(options: SynthesizeOptions = {}): Promise<string> {
  const cwd = options.cwd ?? process.cwd();
  const outdir = resolvePath(cwd, options.outdir ?? mkdtempSync(join(tmpdir(), 'ddb-mirror-assembly-')));
  const configPath = resolvePath(cwd, options.configPath ?? 'mirror.config.yaml');
  if (!existsSync(configPath))
    throw new AssemblyError(`Config file ${configPath} not found: pass --config PATH or --assembly DIR`);
  const { code, outcome, stderr } = await runChild({ configPath, outdir, context: cdkContext(cwd) }, cwd);
  if (outcome?.ok === false) throw synthFailure(outcome);
  if (code !== 0 || !outcome) throw new SynthError(`Synthesis failed (exit ${code}):\n${stderr.trim()}`);
  return outdir;
}

function cdkContext(cwd: string): Record<string, unknown> {
  const cdkJson = join(cwd, 'cdk.json');
  if (!existsSync(cdkJson)) return {};
  return (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

function runChild(
  job: SynthJob,
  cwd: string,
): Promise<{ code: number | null; outcome?: SynthOutcome; stderr: string }> {
  const execArgv = COMPILED ? [] : ['--import', pathToFileURL(require.resolve('tsx')).href];
  return new Promise((done, reject) => {
    const child = fork(CHILD, [JSON.stringify(job)], {
      cwd,
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let outcome: SynthOutcome | undefined;
    let stderr = '';
    // Bundler output is read and dropped: it is only shown when synthesis fails.
    child.stdout?.resume();
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: SynthOutcome) => (outcome = m));
    child.once('error', reject);
    child.once('close', (code) => done({ code, outcome, stderr }));
  });
}

function synthFailure(outcome: Extract<SynthOutcome, { ok: false }>): Error {
  const config = outcome.name === 'ConfigError';
  const error = new SynthError(
    config ? outcome.message : `Synthesis failed: ${outcome.message}\n${outcome.stack ?? ''}`,
  );
  error.name = config ? 'ConfigError' : 'SynthError';
  return error;
}
