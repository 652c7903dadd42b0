import { COMMANDS, usage } from '../../bin/ddb-mirror';

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
