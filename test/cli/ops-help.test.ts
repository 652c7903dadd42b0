import { usage } from '../../bin/ddb-mirror';
import { runCli } from '../support/ops-fixture';

describe('operations commands, help', () => {
  test('are listed by the CLI and each explains its options', async () => {
    // GIVEN the command list
    const listed = usage();
    // WHEN each operations command is asked for --help
    const helps = await Promise.all(['status', 'replay', 'drain'].map((c) => runCli([c, '--help'])));
    // THEN each is listed, and its help names the shared options and its own
    for (const c of ['status', 'replay', 'drain']) expect(listed).toMatch(new RegExp(`^  ${c} `, 'm'));
    for (const h of helps) {
      expect(h.code).toBe(0);
      for (const o of ['--config PATH', '--profile NAME', '--endpoint URL', '--json'])
        expect(h.out).toContain(o);
    }
    expect(helps[1].out).toContain('--dry-run');
    expect(helps[2].out).toContain('--to-queue');
    expect(helps[2].out).toContain('--target REGION');
  });
});
