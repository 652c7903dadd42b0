#!/usr/bin/env node
/**
 * ddb-mirror CLI: `ddb-mirror <command> [options]`. Thin on purpose: each command lives in cli/ and
 * does its work in lib/. `npm start` runs `ddb-mirror start`, the local demo. The published bin is this
 * file compiled (dist/bin/ddb-mirror.js).
 */
import { existsSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { helpText, parseCommand, UsageError, type CommandEntry } from '../cli/command';

// The SDK is pinned through package-lock.json (docs/platform.md#node-and-sdk: releases after January 2027
// need Node 22); its Node 20 notice is known and would only clutter the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * Every command, in the order `--help` lists them. A command's module (and the SDK clients, CDK and
 * DynamoDB Local code it brings) loads only when that command is used: `ddb-mirror --help` loads none.
 * A new command is one entry: `{ name, summary, load: async () => (await import('../cli/x')).xCommand }`.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'start',
    summary: 'run every region on DynamoDB Local with the real replicators, drive a demo workload, verify',
    load: async () => (await import('../cli/start')).startCommand,
  },
  {
    name: 'status',
    summary: 'per table and region pair: iterator age, lag, parked and DLQ depths, on-failure depth, errors',
    load: async () => (await import('../cli/status')).statusCommand,
  },
  {
    name: 'backfill',
    summary: 'copy the items a region already holds to its peers (a new region or table), safely while live',
    load: async () => (await import('../cli/backfill')).backfillCommand,
  },
  {
    name: 'verify',
    summary: 'compare every region of a table by range hashes; --repair writes the winning state',
    load: async () => (await import('../cli/verify')).verifyCommand,
  },
  {
    name: 'replay',
    summary: "re-apply the batches in a replicator's on-failure queue from the stream, through the guards",
    load: async () => (await import('../cli/replay')).replayCommand,
  },
  {
    name: 'drain',
    summary: 'show parked records and parking-DLQ messages; re-drive them through the guards',
    load: async () => (await import('../cli/drain')).drainCommand,
  },
  {
    name: 'plan',
    summary: 'read-only preflight: what a deploy and a backfill will meet, per table and region',
    load: async () => (await import('../cli/plan')).planCommand,
  },
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
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry)
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`,
    );
  const command = await entry.load();
  const values = parseCommand(command, rest);
  if (values.help) {
    io.out.write(`${helpText(command)}\n`);
    return 0;
  }
  return command.run(values, io);
}

/**
 * Mistakes the user can fix: printed as one line. Their classes are loaded only once something failed,
 * so that a command that succeeds never loads the modules that define them.
 */
async function isKnown(e: unknown): Promise<boolean> {
  if (e instanceof UsageError || (e as Error | undefined)?.name === 'ConfigError') return true;
  const [{ OpsError }, { EngineError }, { MirrorError }, { AssemblyError }] = await Promise.all([
    import('../lambda/ops/errors'),
    import('../lib/local/engine'),
    import('../lib/local/mirror'),
    import('../lib/local/plan'),
  ]);
  return [OpsError, EngineError, MirrorError, AssemblyError].some((k) => e instanceof k);
}

/**
 * The compiled bin run inside a checkout of this repository (`npx ddb-mirror`) is the build `npm install`
 * made, while `npm start` and the tests run the sources: a source changed since then would silently not
 * be what runs. The installed package ships no sources, so it never looks.
 */
export function staleBuild(binFile: string): string | undefined {
  const root = join(binFile, '..', '..', '..');
  if (!binFile.endsWith('.js') || !existsSync(join(root, 'bin', 'ddb-mirror.ts'))) return undefined;
  const built = statSync(binFile).mtimeMs;
  for (const dir of ['bin', 'cli', 'lib', 'lambda'])
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' }))
      if (file.endsWith('.ts') && statSync(join(root, dir, file)).mtimeMs > built)
        return `ddb-mirror: ${dir}/${file} changed after this build: run npm run build (or npx tsx bin/ddb-mirror.ts)\n`;
  return undefined;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const stale = staleBuild(__filename);
  if (stale) process.stderr.write(stale);
  main(argv).then(
    (code) => process.exit(code),
    async (e: Error) => {
      // Anything but a known mistake keeps its stack for a bug report.
      const known = await isKnown(e).catch(() => false);
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
