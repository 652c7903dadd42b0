/**
 * The package as a user gets it: `npm pack` (whose prepack runs `npm run build`), the tarball installed
 * into a new CDK app in a temporary directory, and that app's own table mirrored by the package's
 * DdbMirror. The app is TypeScript, compiled against the package's declarations, then synthesized.
 */
import { spawnSync, type SpawnSyncOptions } from 'child_process';
import { createHash } from 'crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';

const ROOT = join(__dirname, '..', '..');

/** No AWS credentials reach the children: synth must need none. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));

function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: ENV, ...options });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`.trim(),
    );
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

const USER_APP = `
import { App, Stack } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { DdbMirror } from 'ddb-mirror';

const app = new App();
const ordersApp = new Stack(app, 'OrdersApp', { env: { region: 'eu-west-1' } });
const orders = new TableV2(ordersApp, 'Orders', {
  tableName: 'Orders',
  partitionKey: { name: 'orderId', type: AttributeType.STRING },
  dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
});

// Every optional feature on, so that every function the package ships is deployed.
new DdbMirror(app, 'Mirror', {
  regions: {
    'eu-west-1': { endpoint: { hostname: 'eu.orders.example.com' } },
    'us-east-1': { endpoint: { hostname: 'us.orders.example.com' } },
  },
  tables: [
    {
      table: orders,
      mode: 'one-way',
      source: 'eu-west-1',
      replicas: ['us-east-1'],
      divergenceSampling: {},
      exportBackfill: {},
      antiEntropy: {},
    },
  ],
});
app.synth();
`;

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the packed package in a CDK app of its own', () => {
  let work: string;
  let userApp: string;
  let installed: string;
  let cdkOut: string;
  const template = (stack: string) =>
    JSON.parse(readFileSync(join(cdkOut, `${stack}.template.json`), 'utf8')) as Template;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ddbm-pack-'));
    // GIVEN the tarball npm pack makes (its prepack builds dist/ and the function bundles)
    run('npm', ['pack', '--pack-destination', work, '--loglevel', 'error'], { cwd: ROOT });
    const tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );

    // AND a new app whose node_modules links the dependencies the packed package.json declares to this
    // repository's install: the tests run offline, and copying aws-cdk-lib would take most of a minute.
    // The package itself is extracted by npm from the tarball, and its code sees only those links.
    userApp = join(work, 'app');
    installed = join(userApp, 'node_modules', 'ddb-mirror');
    mkdirSync(join(userApp, 'node_modules'), { recursive: true });
    writeFileSync(join(userApp, 'package.json'), '{ "name": "orders-app", "private": true }\n');
    const packed = JSON.parse(run('tar', ['-xOzf', tarball, 'package/package.json']).stdout) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(packed.dependencies)) {
      mkdirSync(dirname(join(userApp, 'node_modules', dep)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), join(userApp, 'node_modules', dep));
    }
    run(
      'npm',
      ['install', '--no-save', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
      {
        cwd: userApp,
      },
    );

    // WHEN the app, in TypeScript, is compiled against the package's declarations and synthesized
    writeFileSync(join(userApp, 'app.ts'), USER_APP);
    writeFileSync(
      join(userApp, 'tsconfig.json'),
      JSON.stringify({
        // As `cdk init app --language typescript` writes it, where it matters here.
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          strict: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['app.ts'],
      }),
    );
    run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '.', '--outDir', 'out'], {
      cwd: userApp,
    });
    cdkOut = join(userApp, 'cdk.out');
    run(process.execPath, ['out/app.js'], { cwd: userApp, env: { ...ENV, CDK_OUTDIR: cdkOut } });
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("loads the tarball's compiled files, not this repository's sources", () => {
    const main = run(process.execPath, ['-p', "require.resolve('ddb-mirror')"], { cwd: userApp }).stdout;
    expect(main.trim()).toBe(join(installed, 'dist', 'lib', 'index.js'));
  });

  test("synthesizes the mirror's stacks beside the app's own, the adopted region's stack after it", () => {
    const manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; dependencies?: string[] }>;
    };
    const stacks = Object.entries(manifest.artifacts).filter(
      ([, a]) => a.type === 'aws:cloudformation:stack',
    );
    expect(stacks.map(([id]) => id).sort()).toEqual([
      'DdbMirror-eu-west-1',
      'DdbMirror-us-east-1',
      'OrdersApp',
    ]);
    expect(manifest.artifacts['DdbMirror-eu-west-1'].dependencies).toContain('OrdersApp');
  });

  test("adopts the app's table where it lives and creates it in the new region, replicator included", () => {
    const tables = (stack: string) =>
      Object.values(template(stack).Resources)
        .filter((r) => r.Type === 'AWS::DynamoDB::Table')
        .map((r) => r.Properties?.TableName);
    const functions = (stack: string) =>
      Object.values(template(stack).Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => String(r.Properties?.Description));
    // The app's own table is its stack's; the mirror only adds the tombstones beside it.
    expect(tables('DdbMirror-eu-west-1')).toEqual(['Orders-ddbm-tombstones']);
    expect(tables('DdbMirror-us-east-1').sort()).toEqual(['Orders', 'Orders-ddbm-tombstones']);
    expect(functions('DdbMirror-eu-west-1')).toContain(
      'ddb-mirror: replicates Orders from eu-west-1 to us-east-1',
    );
    expect(functions('DdbMirror-us-east-1')).not.toContainEqual(expect.stringMatching(/replicates Orders/));
  });

  test('deploys the bundles the package ships, every one of them, and bundles nothing at synth', () => {
    const shipped = new Map(
      readdirSync(join(installed, 'dist', 'functions')).map((dir) => [
        sha256(join(installed, 'dist', 'functions', dir, 'index.js')),
        dir,
      ]),
    );
    const assets = readdirSync(cdkOut).filter((f) => f.startsWith('asset.'));
    const deployed = assets.map((a) => shipped.get(sha256(join(cdkOut, a, 'index.js'))));
    expect(deployed).not.toContain(undefined);
    expect(new Set(deployed)).toEqual(new Set(shipped.values()));
    expect([...shipped.values()]).toEqual(
      expect.arrayContaining(['replicator', 'parked', 'sampler', 'export-backfill', 'anti-entropy']),
    );
  });

  test('the ddb-mirror bin is compiled JavaScript that prints the usage and each command help', () => {
    const bin = join(userApp, 'node_modules', '.bin', 'ddb-mirror');
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const usage = run(bin, ['--help'], { cwd: userApp }).stdout;
    expect(usage).toMatch(/^Usage: ddb-mirror <command> \[options\]\n/);
    for (const command of ['start', 'status', 'backfill', 'verify', 'replay', 'drain'])
      expect(usage).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    expect(run(bin, ['status', '--help'], { cwd: userApp }).stdout).toContain(
      'Usage: ddb-mirror status [options]',
    );
  });

  test("the build leaves this checkout's bin executable, so npx ddb-mirror runs it here too", () => {
    // npm makes an installed package's bins executable; in a checkout npx runs the file as it is.
    expect(statSync(join(ROOT, 'dist', 'bin', 'ddb-mirror.js')).mode & 0o111).toBe(0o111);
  });

  test('listing the commands loads no command, no SDK client and no CDK', () => {
    const probe =
      "require('ddb-mirror/dist/bin/ddb-mirror.js').usage(); console.log(JSON.stringify(Object.keys(require.cache)))";
    const loaded = JSON.parse(run(process.execPath, ['-e', probe], { cwd: userApp }).stdout) as string[];
    expect(loaded.filter((f) => f.includes('ddb-mirror'))).toEqual([
      join(installed, 'dist', 'bin', 'ddb-mirror.js'),
      join(installed, 'dist', 'cli', 'command.js'),
    ]);
    expect(loaded.filter((f) => /aws-cdk-lib|@aws-sdk|zod/.test(f))).toEqual([]);
  });
});
