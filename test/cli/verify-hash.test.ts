import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { main } from '../../bin/ddb-mirror';
import { seedDamagedMirror } from '../support/damaged-mirror';

/**
 * `ddb-mirror verify` compares by range hashes unless --full, and says what each way cost: read units
 * and bytes across regions per GB, measured on the same damaged table.
 */

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];

function capture(cwd: string) {
  const out: string[] = [];
  const stream = (sink: string[]) => ({ write: (s: string) => sink.push(s) > 0, isTTY: false }) as never;
  return { io: { out: stream(out), err: stream([]), cwd }, out: () => out.join('') };
}

describe('ddb-mirror verify: by range hashes or --full', () => {
  test('both find the same keys; the hashes cost fewer read units and far fewer bytes across regions', async () => {
    // GIVEN a one-way table of 800 items with one damaged replica copy of each kind
    const m = await seedDamagedMirror({
      regions: REGIONS,
      mode: 'one-way',
      items: 800,
      perKind: 1,
      seed: 9,
    });
    const dir = mkdtempSync(join(tmpdir(), 'ddbm-verify-'));
    writeFileSync(
      join(dir, 'mirror.config.yaml'),
      [
        'regions:',
        ...REGIONS.map((r) => `  ${r}: { endpoint: { hostname: ${r}.example.com } }`),
        'tables:',
        `  - { name: ${m.table.name}, partitionKey: { name: pk, type: S }, mode: one-way, source: ${REGIONS[0]}, replicas: [${REGIONS.slice(1).join(', ')}] }`,
        '',
      ].join('\n'),
    );
    const run = async (...args: string[]) => {
      const c = capture(dir);
      const code = await main(
        ['verify', '--table', m.table.name, '--endpoint', process.env.AWS_ENDPOINT_URL_DYNAMODB!, ...args],
        c.io,
      );
      return { code, out: c.out() };
    };
    // WHEN verified both ways, with --json and as text
    const hash = JSON.parse((await run('--json')).out);
    const full = JSON.parse((await run('--json', '--full')).out);
    const text = await run('--show', '0');
    // THEN both find the four damaged keys
    const keys = (s: { keys: { key: string }[] }) => s.keys.map((k) => k.key).sort();
    expect(hash).toMatchObject({ method: 'hash', status: 'divergent', divergent: 4, compared: 801 });
    expect(full).toMatchObject({ method: 'full', status: 'divergent', divergent: 4, compared: 801 });
    expect(keys(hash)).toEqual([...m.damaged.keys()].sort());
    expect(keys(full)).toEqual(keys(hash));
    // AND each states its cost against the same table size: the hashes at about half the read units, a
    // small fraction of the bytes
    expect(hash.measure.tableBytes).toBe(full.measure.tableBytes);
    expect(hash.measure.readUnits).toBeLessThan(full.measure.readUnits * 0.75);
    expect(hash.measure.crossRegionBytes * 10).toBeLessThan(full.measure.crossRegionBytes);
    expect(full.measure.crossRegionPercent).toBeGreaterThan(100);
    expect(hash.hash.levels[0].differing).toBeGreaterThan(0);
    // AND the text says how far the comparison went and what it cost per GB
    expect(text.code).toBe(1);
    expect(text.out).toMatch(
      /by range hashes: \d+ top buckets, \d+ levels below; buckets that differed per level \d/,
    );
    expect(text.out).toMatch(
      /cost \(hash\): [\d,.]+ read units, [\d.]+ kB across regions .* per GB [\d,]+ read units/,
    );
  });
});
