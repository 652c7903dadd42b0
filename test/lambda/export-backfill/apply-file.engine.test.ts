import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { backfillExportFile, type ObjectReader } from '../../../lambda/export-backfill/apply-file';
import { toImage } from '../../../lambda/ops/scan';
import { client, scanAll } from '../../support/dynamo';
import { MirrorHarness } from '../../support/mirror-harness';
import { clientsFor, lateReplicator, seed } from '../ops/fixtures';

/**
 * The export backfill on the real engine: a table that already held items in one region is exported
 * (the test writes the export's data file in its real format: gzip, one `{"Item": …}` DynamoDB JSON
 * line per item), the application keeps writing while the export waits, and each file is applied to
 * the new region through the replicator's guards.
 */

const [A, B] = ['us-east-1', 'eu-west-1'];
const BUCKET = 'exports';

/** An export data file of `region`'s table as it is now, in DynamoDB JSON lines, gzipped. */
async function exportFile(h: MirrorHarness, region: string): Promise<{ gz: Buffer; lines: string[] }> {
  const items = await scanAll(region, h.ctx.table);
  items.sort((x, y) => x.pk.S!.localeCompare(y.pk.S!));
  const lines = items.map((item) => JSON.stringify({ Item: toImage(item) }));
  return { gz: gzipSync(`${lines.join('\n')}\n`), lines };
}

/** The injected S3 read: the objects the test wrote, by bucket and key. */
function readerOf(objects: Record<string, Buffer>): ObjectReader {
  return async (bucket, key) => {
    const body = objects[`${bucket}/${key}`];
    if (!body) throw new Error(`NoSuchKey: ${bucket}/${key}`);
    return Readable.from([body]);
  };
}

const keysIn = async (h: MirrorHarness, region: string) =>
  (await scanAll(region, h.ctx.table)).map((i) => i.pk.S!).sort();

/** A one-way source of 40 items (one with a binary attribute) exported before its replica joined. */
async function exportedSource() {
  const joined = { value: false };
  const h = await MirrorHarness.create({
    regions: [A, B],
    mode: 'one-way',
    replicator: lateReplicator(joined),
  });
  await seed(h, A, 'k', 39);
  await client(A).send(
    new PutItemCommand({
      TableName: h.ctx.table,
      Item: { pk: { S: 'bin' }, version: { N: '1' }, blob: { B: Uint8Array.from([0, 1, 254, 255]) } },
    }),
  );
  await h.drain();
  const file = await exportFile(h, A);
  joined.value = true;
  return { h, ...file, read: readerOf({ [`${BUCKET}/data/file-1.json.gz`]: file.gz }) };
}

const task = (startLine: number) => ({ bucket: BUCKET, key: 'data/file-1.json.gz', startLine });

describe('backfillExportFile', () => {
  test('applies every exported item, keeps a newer replica item, and brings back no deleted key', async () => {
    // GIVEN a one-way source exported to a file, then written while the export waited: k1 saved
    // again (replicated to the new replica) and k2 deleted (its tombstone replicated)
    const { h, lines, read } = await exportedSource();
    await h.save(A, 'k1', 'after the export');
    await h.remove(A, 'k2');
    await h.drain();

    // WHEN the file is applied from its first line
    const result = await backfillExportFile({
      settings: h.ctx.settingsFor(A),
      clients: clientsFor(h.regions),
      task: task(0),
      read,
      deadline: Date.now() + 60_000,
      batchLines: 7,
    });

    // THEN the whole file was handled without a failure
    expect(result).toMatchObject({ done: true, startLine: 0, nextLine: lines.length, failures: [] });
    expect(result.counts.scanned).toBe(40);
    // AND every other item was written, k1 kept its newer replica copy, k2 was not brought back
    expect(result.perTarget[B]).toEqual({
      written: 38,
      skippedNewer: 1,
      skippedDeleted: 1,
      deferred: 0,
      failed: 0,
    });
    expect(await keysIn(h, B)).toEqual((await keysIn(h, A)).filter((k) => k !== 'k2'));
    expect(await keysIn(h, B)).not.toContain('k2');
    const k1 = (await scanAll(B, h.ctx.table)).find((i) => i.pk.S === 'k1');
    expect(k1?.data.S).toBe('after the export');
    // AND the binary attribute arrived byte for byte
    const bin = (await scanAll(B, h.ctx.table)).find((i) => i.pk.S === 'bin');
    expect([...(bin?.blob.B ?? [])]).toEqual([0, 1, 254, 255]);
    expect(await h.divergence()).toEqual([]);
  });

  test('resumes from the line a stopped invocation returned, and applies only the lines from there', async () => {
    // GIVEN an exported file and an invocation whose time budget is already spent
    const { h, lines, read } = await exportedSource();
    const options = { settings: h.ctx.settingsFor(A), clients: clientsFor(h.regions), read, batchLines: 5 };
    const stopped = await backfillExportFile({ ...options, task: task(0), deadline: Date.now() - 1 });

    // WHEN the next invocation starts from line 25 of the file
    const resumed = await backfillExportFile({ ...options, task: task(25), deadline: Date.now() + 60_000 });

    // THEN the stopped one handled nothing and says to start again at line 0
    expect(stopped).toMatchObject({ done: false, nextLine: 0 });
    expect(stopped.counts.scanned).toBe(0);
    // AND the resumed one applied exactly the items of lines 26 to the end
    expect(resumed).toMatchObject({ done: true, startLine: 25, nextLine: lines.length });
    expect(resumed.perTarget[B].written).toBe(lines.length - 25);
    const expected = lines.slice(25).map((l) => (JSON.parse(l) as { Item: { pk: { S: string } } }).Item.pk.S);
    expect(await keysIn(h, B)).toEqual(expected.sort());
  });

  test('reports a line that is not an export line and goes on with the rest', async () => {
    // GIVEN an export file with a broken line among good ones
    const { h, lines } = await exportedSource();
    const broken = [...lines.slice(0, 3), '{"Itm": {}}', ...lines.slice(3)].join('\n');
    const read = readerOf({ [`${BUCKET}/data/file-1.json.gz`]: gzipSync(broken) });

    // WHEN it is applied
    const result = await backfillExportFile({
      settings: h.ctx.settingsFor(A),
      clients: clientsFor(h.regions),
      task: task(0),
      read,
      deadline: Date.now() + 60_000,
    });

    // THEN the broken line is reported by its number, and every item was still written
    expect(result.done).toBe(true);
    expect(result.failures).toEqual([{ key: 'line 4', reason: 'not an export line: no "Item" object' }]);
    expect(result.counts.failed).toBe(1);
    expect(result.perTarget[B].written).toBe(40);
  });
});
