#!/usr/bin/env -S npx tsx
/**
 * ddb-mirror CLI: `ddb-mirror <command> [options]`. Thin on purpose: each command lives in cli/ and
 * does its work in lib/. `npm start` runs `ddb-mirror start`, the local demo.
 */
import { helpText, parseCommand, UsageError, type Command } from '../cli/command';
import { backfillCommand } from '../cli/backfill';
import { startCommand } from '../cli/start';
import { drainCommand } from '../cli/drain';
import { replayCommand } from '../cli/replay';
import { statusCommand } from '../cli/status';
import { verifyCommand } from '../cli/verify';
import { OpsError } from '../lambda/ops/errors';
import { EngineError } from '../lib/local/engine';
import { MirrorError } from '../lib/local/mirror';
import { AssemblyError } from '../lib/local/plan';

// The SDK is pinned through package-lock.json (docs/platform.md#node-and-sdk: releases after January 2027
// need Node 22); its Node 20 notice is known and would only clutter the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const COMMANDS: readonly Command[] = [
  startCommand,
  statusCommand,
  backfillCommand,
  verifyCommand,
  replayCommand,
  drainCommand,
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'Usage: ddb-mirror <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run ddb-mirror <command> --help for its options.',
  ].join('\n');
}

export async function main(
  argv: readonly string[],
  io = { out: process.stdout, err: process.stderr, cwd: process.cwd() },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.out.write(`${usage()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command)
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
    );
  const values = parseCommand(command, rest);
  if (values.help) {
    io.out.write(`${helpText(command)}\n`);
    return 0;
  }
  return command.run(values, io);
}

const KNOWN = [UsageError, EngineError, AssemblyError, MirrorError, OpsError];

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv).then(
    (code) => process.exit(code),
    (e: Error) => {
      // Mistakes the user can fix get one line; anything else keeps its stack for a bug report.
      const known = KNOWN.some((k) => e instanceof k) || e?.name === 'ConfigError';
      process.stderr.write(
        known ? `ddb-mirror: ${e.message}\n` : `ddb-mirror: unexpected error\n${e?.stack ?? e}\n`,
      );
      if (e instanceof UsageError)
        process.stderr.write(
          `Run ddb-mirror ${COMMANDS.some((c) => c.name === argv[0]) ? `${argv[0]} ` : ''}--help for the options.\n`,
        );
      process.exit(known ? 1 : 2);
    },
  );
}
