import { formatProblems, modelProblems, parseConfig, type MultiActiveTableModel } from '../../lib/config';
import { exampleModel, multiActiveTable, oneWayTable } from '../support/model-fixtures';
import { issue, issuesAfter, validRawConfig } from './fixtures';

describe('config: existing (adopted tables)', () => {
  test('existing: true adopts the table in every one of its regions, source first', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.tables[0].existing = true;

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.tables[0].existing).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-2']);
    expect(model.tables[1].existing).toEqual([]);
  });

  test('a list adopts the table in those regions only; false adopts it nowhere', () => {
    // GIVEN an existing source with new replicas, and a multi-active table created everywhere
    const raw = validRawConfig();
    raw.tables[0].existing = ['us-east-1'];
    raw.tables[1].existing = false;

    // WHEN
    const model = parseConfig(raw);

    // THEN
    expect(model.tables[0].existing).toEqual(['us-east-1']);
    expect(model.tables[1].existing).toEqual([]);
  });

  test("names every listed region that is not one of the table's regions, and one listed twice", () => {
    // WHEN
    const issues = issuesAfter((c) => {
      c.tables[0].existing = ['us-east-1', 'us-west-2', 'us-east-1'];
      c.tables[1].existing = ['eu-central-1'];
    });

    // THEN
    expect(issues).toEqual([
      issue(
        'tables[0].existing[1]',
        '"us-west-2" is not one of the table\'s regions',
        'us-east-1, eu-west-1',
      ),
      issue('tables[0].existing[2]', 'region "us-east-1" is listed twice'),
      issue('tables[1].existing[0]', '"eu-central-1" is not one of the table\'s regions'),
    ]);
  });

  test('rejects a single region written without a list, naming the field and the value', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].existing = 'us-east-1'));

    // THEN
    expect(issues).toEqual([
      issue('tables[0].existing', 'expected true', 'a list of its regions', '"us-east-1"'),
    ]);
  });

  test('a model built in code gets the same rule', () => {
    // GIVEN
    const model = exampleModel({ tables: [oneWayTable({ existing: ['us-east-1', 'sa-east-1'] })] });

    // WHEN
    const text = formatProblems(modelProblems(model));

    // THEN
    expect(text).toBe(
      'tables[0].existing[1]: region "sa-east-1" is not one of the table\'s regions (us-east-1, eu-west-1, ap-southeast-2); list only regions where the table is mirrored',
    );
    expect(modelProblems(exampleModel({ tables: [multiActiveTable({ existing: ['eu-west-1'] })] }))).toEqual(
      [],
    );
  });
});

describe('config: conflicts (multi-active tables)', () => {
  test("defaults to version, today's contract", () => {
    // WHEN
    const sessions = parseConfig(validRawConfig()).tables[1] as MultiActiveTableModel;

    // THEN
    expect(sessions.conflicts).toBe('version');
  });

  test('takes last-writer-wins', () => {
    // GIVEN
    const raw = validRawConfig();
    raw.tables[1].conflicts = 'last-writer-wins';

    // WHEN
    const sessions = parseConfig(raw).tables[1] as MultiActiveTableModel;

    // THEN
    expect(sessions.conflicts).toBe('last-writer-wins');
  });

  test('under last-writer-wins the version attribute is not read, so its default may be a key name', () => {
    // GIVEN a multi-active table keyed by "version"
    const raw = validRawConfig();
    raw.tables[1].partitionKey = { name: 'version', type: 'S' };

    // WHEN / THEN the version contract clashes with the key, last-writer-wins does not
    expect(issuesAfter((c) => (c.tables[1].partitionKey = { name: 'version', type: 'S' }))).toEqual([
      issue(
        'tables[1].versionAttribute',
        'version attribute "version" (the default) is also the partition key',
      ),
    ]);
    raw.tables[1].conflicts = 'last-writer-wins';
    expect(parseConfig(raw).tables[1]).toMatchObject({ conflicts: 'last-writer-wins' });
  });

  test('rejects another value, listing the two it takes', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[1].conflicts = 'newest'));

    // THEN
    expect(issues).toEqual([issue('tables[1].conflicts', '"newest"', '"version"', '"last-writer-wins"')]);
  });

  test('is a config error on a one-way table, naming the field and the mode it needs', () => {
    // WHEN
    const issues = issuesAfter((c) => (c.tables[0].conflicts = 'version'));

    // THEN
    expect(issues).toEqual([issue('tables[0].conflicts', 'unknown key "conflicts"', 'mode: multi-active')]);
  });
});
