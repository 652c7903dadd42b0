/**
 * The shape every `ddb-mirror` command shares: its options (parsed with `node:util` parseArgs), its
 * help text, and one run function. bin/ddb-mirror.ts only lists and dispatches.
 */
import { parseArgs } from 'node:util';

/** A mistake in the command line: printed as one line, with a pointer to the command's --help. */
export class UsageError extends Error {}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in the help as `--name VALUE`. */
  readonly value?: string;
  readonly description: string;
  /** Repeatable (collected into a list). */
  readonly multiple?: boolean;
}

export interface CommandIo {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly err: NodeJS.WritableStream;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** What the command does, for its --help. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Exit code. */
  run(values: ParsedValues, io: CommandIo): Promise<number>;
}

/**
 * A command as the CLI lists it: name and summary at hand, the command itself (options, help, run) in
 * its module, loaded only when it is used, so listing the commands loads none of them.
 */
export interface CommandEntry {
  readonly name: string;
  /** The command's `summary`, kept equal to it (a test compares them). */
  readonly summary: string;
  load(): Promise<Command>;
}

export type ParsedValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'this text' };

/** Parses `argv` for `command`; a usage error names the option and what was wrong. */
export function parseCommand(command: Command, argv: readonly string[]): ParsedValues {
  const options = { ...command.options, help: HELP };
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    });
    return values as ParsedValues;
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** `--name VALUE   description` lines, aligned. */
export function helpText(command: Command): string {
  const options = { ...command.options, help: HELP };
  const heads = Object.entries(options).map(([name, o]) =>
    [o.short ? `-${o.short}, ` : '', `--${name}`, o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''].join(
      '',
    ),
  );
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  const lines = Object.values(options).map((o, i) => {
    const [first, ...rest] = o.description.split('\n');
    return [`  ${heads[i].padEnd(width)}${first}`, ...rest.map((l) => `  ${' '.repeat(width)}${l}`)].join(
      '\n',
    );
  });
  return `Usage: ddb-mirror ${command.name} [options]\n\n${command.description}\n\nOptions:\n${lines.join('\n')}`;
}

/** A number option: `undefined` when absent; a usage error naming the option and value when invalid. */
export function numberOption(
  values: ParsedValues,
  name: string,
  rules: { readonly integer?: boolean; readonly min?: number; readonly max?: number } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const min = rules.min ?? -Infinity;
  const max = rules.max ?? Infinity;
  if (
    typeof raw !== 'string' ||
    raw.trim() === '' ||
    !Number.isFinite(n) ||
    n < min ||
    n > max ||
    (rules.integer && !Number.isInteger(n))
  ) {
    const kind = rules.integer ? 'an integer' : 'a number';
    const range =
      Number.isFinite(min) && Number.isFinite(max)
        ? ` from ${min} to ${max}`
        : Number.isFinite(min)
          ? ` ≥ ${min}`
          : '';
    throw new UsageError(`--${name} needs ${kind}${range}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A string option, or `undefined`. */
export function stringOption(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
