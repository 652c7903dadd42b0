import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** Runs bin/app.ts as the CDK CLI would (context through CDK_CONTEXT_JSON), without AWS credentials. */
function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'ddbm-bin-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'bin/app.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
    },
  });
  return { ...result, outdir };
}

describe('bin/app.ts', () => {
  test('synthesizes the repository mirror.config.yaml offline into one stack per region plus routing', () => {
    const { status, stderr, outdir } = runApp({});
    expect(stderr).not.toMatch(/Error/);
    expect(status).toBe(0);
    expect(
      readdirSync(outdir)
        .filter((f) => f.endsWith('.template.json'))
        .sort(),
    ).toEqual([
      'DdbMirror-Routing.template.json',
      'DdbMirror-ap-southeast-2.template.json',
      'DdbMirror-eu-west-1.template.json',
      'DdbMirror-us-east-1.template.json',
    ]);
  });

  test('prints a config error without a stack trace and exits 1', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ddbm-config-'));
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'tables: nope\n');
    const { status, stderr, stdout } = runApp({ config: file });
    expect(status).toBe(1);
    expect(stderr).toContain(`${file} is invalid`);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });
});
