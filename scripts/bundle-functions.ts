/**
 * `npm run build`, after tsc: the bundle of each of ddb-mirror's functions, into dist/functions/<dir>/,
 * where the compiled constructs deploy them from (lib/constructs/mirror-function.ts). Each is built by
 * the same mirrorFunction, esbuild options and package-lock.json as `cdk synth` from the sources, so the
 * files (and the asset hash a user's synth gives them) are the ones the repository's own synth deploys.
 *
 *   npx tsx scripts/bundle-functions.ts
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { functionEntry, mirrorFunction } from '../lib/constructs/mirror-function';

/** Every `lambda/<dir>/index.ts` that exports a handler: each is a function some construct deploys. */
const FUNCTION_DIRS = readdirSync(join(__dirname, '..', 'lambda')).filter((dir) => {
  const index = join(__dirname, '..', 'lambda', dir, 'index.ts');
  return (
    existsSync(index) &&
    /^export (async function|function|const) handler\b/m.test(readFileSync(index, 'utf8'))
  );
});

const target = join(__dirname, '..', 'dist', 'functions');
const outdir = mkdtempSync(join(tmpdir(), 'ddbm-bundles-'));
try {
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Bundles', { env: { region: 'us-east-1' } });
  const functions = FUNCTION_DIRS.map((dir) => {
    const { fn } = mirrorFunction(stack, dir, {
      entry: functionEntry(dir),
      description: dir,
      statements: [],
      settings: '{}',
    });
    return { dir, fn };
  });
  // Assets are bundled and staged into the outdir as each function is built: no synth needed.
  rmSync(target, { recursive: true, force: true });
  for (const { dir, fn } of functions) {
    const asset = (fn.node.defaultChild as lambda.CfnFunction).getMetadata('aws:asset:path') as string;
    cpSync(join(outdir, asset), join(target, dir), { recursive: true });
    process.stdout.write(`bundled lambda/${dir} → dist/functions/${dir}\n`);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
