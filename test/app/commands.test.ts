import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { COMMANDS, staleBuild, usage } from '../../bin/ddb-mirror';

describe('the CLI command table', () => {
  test('each entry loads its command, whose name and summary are the ones --help lists', async () => {
    const loaded = await Promise.all(COMMANDS.map((c) => c.load()));
    expect(loaded.map((c) => [c.name, c.summary])).toEqual(COMMANDS.map((c) => [c.name, c.summary]));
    for (const c of loaded) expect(usage()).toContain(`  ${c.name} `);
  });

  test('names each command once', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('the compiled bin in a checkout', () => {
  const root = mkdtempSync(join(tmpdir(), 'ddbm-stale-'));
  const bin = join(root, 'dist', 'bin', 'ddb-mirror.js');
  const at = (file: string, seconds: number) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), '');
    utimesSync(join(root, file), seconds, seconds);
  };
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test('names a source changed after the build, and says nothing when none was', () => {
    at('dist/bin/ddb-mirror.js', 2_000);
    for (const file of [
      'bin/ddb-mirror.ts',
      'cli/command.ts',
      'lib/config/model.ts',
      'lambda/contract/index.ts',
    ])
      at(file, 1_000);
    expect(staleBuild(bin)).toBeUndefined();
    at('lib/config/model.ts', 3_000);
    expect(staleBuild(bin)).toBe(
      'ddb-mirror: lib/config/model.ts changed after this build: run npm run build (or npx tsx bin/ddb-mirror.ts)\n',
    );
  });

  test('an installed package, which ships no sources, and the sources themselves are never stale', () => {
    const installed = mkdtempSync(join(tmpdir(), 'ddbm-installed-'));
    mkdirSync(join(installed, 'dist', 'bin'), { recursive: true });
    writeFileSync(join(installed, 'dist', 'bin', 'ddb-mirror.js'), '');
    expect(staleBuild(join(installed, 'dist', 'bin', 'ddb-mirror.js'))).toBeUndefined();
    rmSync(installed, { recursive: true, force: true });
    expect(staleBuild(join(root, 'bin', 'ddb-mirror.ts'))).toBeUndefined();
  });
});
