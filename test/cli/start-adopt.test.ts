import { parseCommand } from '../../cli/command';
import { startArgs, startCommand } from '../../cli/start';

const args = (argv: string[]) => startArgs(parseCommand(startCommand, argv));

describe('ddb-mirror start --adopt', () => {
  test('is off unless asked for, and on with --adopt', () => {
    expect(args([]).adopt).toBe(false);
    expect(args(['--adopt', '--duration', '5']).adopt).toBe(true);
  });

  test('refuses --assembly: it synthesizes the app from the config it adopts with', () => {
    expect(() => args(['--adopt', '--assembly', 'cdk.out'])).toThrow(/--adopt .* takes no --assembly/);
  });

  test('refuses --drill, which rehearses failures on created tables', () => {
    expect(() => args(['--adopt', '--drill', 'poison'])).toThrow(/run --drill without it/);
  });
});
