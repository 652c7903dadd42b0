import { helpText, numberOption, parseCommand, UsageError, type Command } from '../../cli/command';
import { startArgs, startCommand } from '../../cli/start';
import { main, usage } from '../../bin/ddb-mirror';

const demo: Command = {
  name: 'demo',
  summary: 'a command for the test',
  description: 'Does nothing.',
  options: {
    count: { type: 'string', value: 'N', description: 'how many\nover two lines' },
    dry: { type: 'boolean', description: 'change nothing' },
  },
  run: async () => 0,
};

describe('command line', () => {
  test('parses known options and refuses an unknown one by name', () => {
    expect(parseCommand(demo, ['--count', '3', '--dry'])).toMatchObject({ count: '3', dry: true });
    expect(() => parseCommand(demo, ['--nope'])).toThrow(new UsageError("Unknown option '--nope'"));
    expect(() => parseCommand(demo, ['stray'])).toThrow(UsageError);
  });

  test('names the option and the value a number option refuses', () => {
    expect(numberOption({ n: '2' }, 'n', { integer: true, min: 1 })).toBe(2);
    expect(numberOption({}, 'n')).toBeUndefined();
    expect(() => numberOption({ n: '1.5' }, 'n', { integer: true, min: 1 })).toThrow(
      '--n needs an integer ≥ 1, got "1.5"',
    );
    expect(() => numberOption({ n: '0.9' }, 'n', { min: 0, max: 0.65 })).toThrow(
      '--n needs a number from 0 to 0.65, got "0.9"',
    );
  });

  test('prints every option with its value name, aligned, help included', () => {
    expect(helpText(demo)).toBe(
      [
        'Usage: ddb-mirror demo [options]',
        '',
        'Does nothing.',
        '',
        'Options:',
        '  --count N   how many',
        '              over two lines',
        '  --dry       change nothing',
        '  -h, --help  this text',
      ].join('\n'),
    );
  });

  test('start checks its options together: endpoint shape, port range, port with an endpoint', () => {
    const args = (argv: string[]) => startArgs(parseCommand(startCommand, argv));
    expect(args(['--rate', '50', '--conflict-rate', '0', '--latency', '80'])).toMatchObject({
      config: 'mirror.config.yaml',
      rate: 50,
      conflictRate: 0,
      latency: 80,
      keep: false,
    });
    expect(() => args(['--endpoint', 'localhost:8000'])).toThrow(/--endpoint needs a URL/);
    expect(() => args(['--port', '70000'])).toThrow('--port needs an integer from 1 to 65535, got "70000"');
    expect(() => args(['--endpoint', 'http://127.0.0.1:8000', '--port', '9000'])).toThrow(/--port is for/);
  });

  test('lists the commands, prints a command help, and refuses an unknown command', async () => {
    const written: string[] = [];
    const io = { out: { write: (s: string) => written.push(s) } as never, err: process.stderr, cwd: '.' };
    expect(await main([], io)).toBe(0);
    expect(written.join('')).toBe(`${usage()}\n`);
    expect(await main(['start', '--help'], io)).toBe(0);
    expect(written.join('')).toContain('Usage: ddb-mirror start [options]');
    await expect(main(['launch'], io)).rejects.toThrow('unknown command "launch"; commands: start');
  });
});
