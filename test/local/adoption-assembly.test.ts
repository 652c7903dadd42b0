import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../lib/app';
import { checkAssemblyTables, readAssembly } from '../../lib/local/assembly';
import { LOCAL_ACCOUNT, LOCAL_STREAM_LABEL, type LocalPlan } from '../../lib/local/plan';
import { cdkJsonContext, exampleModel, oneWayTable } from '../support/model-fixtures';

/** The local run's reading of adopted tables: what it must create, and what it must adopt. */
describe('readAssembly with adopted tables (Stories existing in its source and one replica)', () => {
  const model = exampleModel({ tables: [oneWayTable({ existing: ['us-east-1', 'eu-west-1'] })] });
  let plan: LocalPlan;
  beforeAll(() => {
    const outdir = mkdtempSync(join(tmpdir(), 'ddbm-adopt-assembly-'));
    const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:enable-asset-metadata': true } });
    buildApp(app, model, { nag: false, env: {} });
    app.synth();
    plan = readAssembly(outdir);
  });
  const stories = (region: string) => plan.tables.find((t) => t.name === 'Stories' && t.region === region)!;

  test('reads the adopted source from its custom resource: key, stream, and the function that adopts it', () => {
    const source = stories('us-east-1');
    const arn = `arn:aws:dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/Stories`;
    expect(source).toMatchObject({
      arn,
      key: { partitionKey: { name: 'storyId', type: 'S' } },
      streamViewType: 'NEW_AND_OLD_IMAGES',
      streamArn: `${arn}/stream/${LOCAL_STREAM_LABEL}`,
      adoption: {
        resourceType: 'Custom::DdbMirrorAdoptedTable',
        properties: { TableName: 'Stories', Stream: 'NEW_AND_OLD_IMAGES' },
      },
    });
    const fn = plan.functions.find((f) => f.name === source.adoption!.functionName)!;
    expect(fn.region).toBe('us-east-1');
    expect(fn.settings).toBeUndefined();
    // The replicator's mapping reads the adopted table's stream.
    const mapping = plan.mappings.find((m) => m.region === 'us-east-1' && m.source.kind === 'stream')!;
    expect(mapping.source).toEqual({ kind: 'stream', table: source });
  });

  test('reads an adopted replica without a stream, with the read-only statement its policy resource merges', () => {
    const replica = stories('eu-west-1');
    expect(replica.adoption?.properties.Stream).toBe('NONE');
    expect(replica.streamArn).toBeUndefined();
    expect(replica.resourcePolicy?.Statement).toEqual([
      expect.objectContaining({ Sid: 'ReadOnlyReplica', Effect: 'Deny' }),
    ]);
  });

  test('creates the other replica as before, and every tombstone table', () => {
    expect(stories('ap-southeast-2').adoption).toBeUndefined();
    expect(stories('ap-southeast-2').resourcePolicy).toBeDefined();
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-2'])
      expect(plan.tables.some((t) => t.name === 'Stories-ddbm-tombstones' && t.region === region)).toBe(true);
  });

  test('holds every table of the config, adopted ones included', () => {
    expect(() => checkAssemblyTables(plan, model.tables)).not.toThrow();
  });
});
