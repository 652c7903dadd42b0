import { spawn } from 'child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { main } from '../../bin/ddb-mirror';
import { UsageError } from '../../cli/command';
import { OpsError } from '../../lambda/ops/errors';
import { freePort } from '../../lib/local/engine';
import { client, createMirrorTables, uniqueName } from '../support/dynamo';

/**
 * `ddb-mirror backfill` and `verify` as a user runs them: options, errors, --json, Ctrl-C, against the
 * test run's DynamoDB Local (--endpoint) and a config naming this file's tables.
 */

const ROOT = join(__dirname, '..', '..');
const [US, EU] = ['us-east-1', 'eu-west-1'];

function capture(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const stream = (sink: string[]) => ({ write: (s: string) => sink.push(s) > 0, isTTY: false }) as never;
  return {
    io: { out: stream(out), err: stream(err), cwd },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

function writeConfig(dir: string, oneWay: string, multi: string): void {
  writeFileSync(
    join(dir, 'mirror.config.yaml'),
    [
      'regions:',
      `  ${US}: { endpoint: { hostname: us.example.com } }`,
      `  ${EU}: { endpoint: { hostname: eu.example.com } }`,
      'tables:',
      `  - { name: ${oneWay}, partitionKey: { name: pk, type: S }, mode: one-way, source: ${US}, replicas: [${EU}] }`,
      `  - { name: ${multi}, partitionKey: { name: pk, type: S }, mode: multi-active, regions: [${US}, ${EU}] }`,
      '',
    ].join('\n'),
  );
}

async function putItems(table: string, region: string, count: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < count; i += 20)
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, (_v, j) =>
        client(region).send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: `${prefix}${i + j}` }, version: { N: '1' } },
          }),
        ),
      ),
    );
}

describe('ddb-mirror backfill and verify', () => {
  const endpoint = () => process.env.AWS_ENDPOINT_URL_DYNAMODB!;
  let dir: string;
  let oneWay: string;
  let multi: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ddbm-ops-'));
    oneWay = uniqueName('Ops');
    multi = uniqueName('Ops');
    writeConfig(dir, oneWay, multi);
    for (const table of [oneWay, multi])
      await createMirrorTables({
        regions: [US, EU],
        table,
        key: { partitionKey: { name: 'pk', type: 'S' } },
        streamRegions: [],
      });
    await putItems(oneWay, US, 40);
  });

  const run = async (...argv: string[]) => {
    const c = capture(dir);
    const code = await main([...argv, '--endpoint', endpoint()], c.io);
    return { code, out: c.out(), err: c.err() };
  };

  test('print their options with --help', async () => {
    // GIVEN each command WHEN asked for help THEN its usage and every option are printed
    const backfill = await run('backfill', '--help');
    expect(backfill.code).toBe(0);
    expect(backfill.out).toMatch(/^Usage: ddb-mirror backfill \[options\]/);
    for (const option of [
      '--table NAME',
      '--from REGION',
      '--to R1,R2',
      '--segments N',
      '--max-write-units N',
      '--checkpoint PATH',
      '--restart',
      '--json',
      '--profile NAME',
    ])
      expect(backfill.out).toContain(option);
    const verify = await run('verify', '--help');
    for (const option of [
      '--regions R1,R2',
      '--sample P',
      '--repair',
      '--max-read-units N',
      '--endpoint URL',
    ])
      expect(verify.out).toContain(option);
  });

  test('name every bad option and its value at once', async () => {
    // GIVEN options that are wrong in several ways WHEN each command runs THEN one error lists them all
    await expect(run('backfill', '--table', 'Nope')).rejects.toThrow(
      new UsageError(`--table "Nope" is not in mirror.config.yaml; its tables: ${oneWay}, ${multi}`),
    );
    const all = run(
      'backfill',
      '--table',
      oneWay,
      '--from',
      EU,
      '--to',
      'mars-1',
      '--segments',
      '0',
      '--max-write-units',
      'x',
    );
    await expect(all).rejects.toThrow(UsageError);
    const message = await all.then(
      () => '',
      (e: Error) => e.message,
    );
    expect(message.split('\n')).toEqual([
      '--segments needs an integer from 1 to 1000, got "0"',
      '--max-write-units needs a number ≥ 1, got "x"',
      `--to "mars-1" is not a region of ${oneWay}; its regions: ${US}, ${EU}`,
      `--from "${EU}" is a replica: ${oneWay} is one-way, its items are copied from its source ${US}`,
    ]);
    await expect(run('backfill', '--table', multi)).rejects.toThrow(
      `--from is required for the multi-active table ${multi}: one of ${US}, ${EU}`,
    );
    await expect(run('verify')).rejects.toThrow(
      `--table is required: mirror.config.yaml has the tables ${oneWay}, ${multi}`,
    );
    await expect(run('verify', '--table', oneWay, '--regions', EU, '--sample', '0')).rejects.toThrow(
      [
        '--sample needs a fraction above 0 and at most 1 (e.g. 0.1), got "0"',
        `--regions needs at least two regions of ${oneWay} to compare, got ${EU}`,
        `--regions must include ${US}: ${oneWay} is one-way and its replicas are compared to its source`,
      ].join('\n'),
    );
  });

  test('name a table missing at the endpoint, and an endpoint that does not answer', async () => {
    // GIVEN a config table that was never deployed, and a port nobody listens on
    writeConfig(dir, oneWay, 'NeverDeployed');
    const port = await freePort();
    try {
      // WHEN verified THEN the missing tables, and the silent endpoint, are named with their regions
      const missing = run('verify', '--table', 'NeverDeployed');
      await expect(missing).rejects.toThrow(OpsError);
      await expect(missing).rejects.toThrow(`table NeverDeployed not found in ${US}, ${EU} at ${endpoint()}`);
      const c = capture(dir);
      const silent = main(['verify', '--table', oneWay, '--endpoint', `http://127.0.0.1:${port}`], c.io);
      await expect(silent).rejects.toThrow(
        `no DynamoDB endpoint answers at http://127.0.0.1:${port} (region ${US}, ${EU})`,
      );
    } finally {
      writeConfig(dir, oneWay, multi);
    }
  });

  test('print a machine-readable summary with --json, and repair what verify finds', async () => {
    // GIVEN a one-way table whose replica is empty
    // WHEN backfilled, verified, given a stray item on the replica, verified and repaired, all with --json
    const backfill = await run('backfill', '--table', oneWay, '--json');
    const clean = await run('verify', '--table', oneWay, '--json');
    await putItems(oneWay, EU, 1, 'stray');
    const found = await run('verify', '--table', oneWay, '--json');
    const repaired = await run('verify', '--table', oneWay, '--repair', '--json');
    // THEN stdout holds exactly one JSON summary each, with the figures and the verdict
    expect(backfill.code).toBe(0);
    expect(JSON.parse(backfill.out)).toMatchObject({
      command: 'backfill',
      table: oneWay,
      mode: 'one-way',
      from: US,
      to: [EU],
      status: 'complete',
      scanned: 40,
      written: 40,
      skippedNewer: 0,
      skippedDeleted: 0,
      deferred: 0,
      failed: 0,
      perTarget: { [EU]: { written: 40 } },
      segments: 4,
      resumed: false,
      capacity: { throttles: 0, writeUnits: 40 },
      checkpoint: null,
      failures: [],
    });
    expect(JSON.parse(clean.out)).toMatchObject({
      command: 'verify',
      status: 'ok',
      divergent: 0,
      compared: 40,
    });
    expect(clean.code).toBe(0);
    expect(found.code).toBe(1);
    expect(JSON.parse(found.out)).toMatchObject({
      status: 'divergent',
      divergent: 1,
      byKind: { missing: 0, only: 1, differing: 0 },
      keys: [{ key: '{"pk":{"S":"stray0"}}', kind: 'only', regions: [EU] }],
    });
    expect(repaired.code).toBe(0);
    expect(JSON.parse(repaired.out)).toMatchObject({
      status: 'repaired',
      repair: {
        counts: { applied: 1 },
        writes: [{ key: '{"pk":{"S":"stray0"}}', region: EU, op: 'delete', from: US, outcome: 'applied' }],
        remaining: 0,
      },
    });
  });

  test('refuse a checkpoint written for another backfill, unless --restart', async () => {
    // GIVEN a checkpoint file of a backfill to other regions
    const checkpoint = join(dir, 'other.json');
    writeFileSync(
      checkpoint,
      JSON.stringify({
        version: 1,
        table: oneWay,
        from: US,
        targets: ['ap-south-1'],
        segments: [{ done: false, pages: 0, scanned: 0 }],
      }),
    );
    // WHEN a backfill is asked to resume it THEN it is refused with what differs; --restart starts over
    await expect(run('backfill', '--table', oneWay, '--checkpoint', checkpoint)).rejects.toThrow(
      `the checkpoint other.json is for another backfill (it copies to ap-south-1, not ${EU}; it was written with 1 segments, not 4): use the same options, or --restart`,
    );
    const restarted = await run('backfill', '--table', oneWay, '--checkpoint', checkpoint, '--restart');
    expect(restarted.code).toBe(0);
    expect(existsSync(checkpoint)).toBe(false);
  });

  test('stop at a checkpoint on Ctrl-C and print the command that resumes', async () => {
    // GIVEN a paced backfill of 80 items running as its own process
    const table = uniqueName('Ops');
    await createMirrorTables({
      regions: [US, EU],
      table,
      key: { partitionKey: { name: 'pk', type: 'S' } },
      streamRegions: [],
    });
    writeConfig(dir, table, multi);
    try {
      await putItems(table, US, 80);
      const args = [
        'backfill',
        '--table',
        table,
        '--segments',
        '2',
        '--page-size',
        '10',
        '--max-write-units',
        '20',
        '--endpoint',
        endpoint(),
      ];
      // Node itself with tsx's loader, not tsx's CLI: that one relays a signal to its child and kills
      // it unless the child answers within 30 ms, which a busy child under a loaded test run misses.
      const child = spawn(
        process.execPath,
        ['--import', require.resolve('tsx'), join(ROOT, 'bin', 'ddb-mirror.ts'), ...args],
        { cwd: dir, env: process.env },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const checkpoint = join(dir, '.ddb-mirror', `backfill-${table}-${US}.json`);
      // WHEN it is interrupted once its first checkpoint is saved
      for (let waited = 0; !existsSync(checkpoint) && waited < 60_000; waited += 100)
        await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const code = await exited;
      // THEN it exits 130 with the command that resumes it, which finishes the backfill
      expect(code).toBe(130);
      expect(out).toContain('Backfill interrupted at a checkpoint');
      const resume = /Resume with:\n\s+npx ddb-mirror (.*)\n/.exec(out)?.[1];
      expect(resume).toBe(
        `backfill --table ${table} --from ${US} --to ${EU} --segments 2 --page-size 10 --max-write-units 20 --endpoint ${endpoint()}`,
      );
      const c = capture(dir);
      expect(await main(resume!.split(' '), c.io)).toBe(0);
      expect(c.out()).toMatch(/Backfill complete: \d+ items .* resumed/);
      expect((await run('verify', '--table', table)).code).toBe(0);
    } finally {
      writeConfig(dir, oneWay, multi);
    }
  });
});
