import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchema, renderConfigJsonSchema } from '../../lib/config';

const ROOT = join(__dirname, '..', '..');

describe('config JSON Schema', () => {
  test('the committed mirror.config.schema.json equals the schema generated from the zod schema', () => {
    // GIVEN
    const committed = JSON.parse(readFileSync(join(ROOT, CONFIG_JSON_SCHEMA_FILE), 'utf8'));

    // WHEN
    const fresh = configJsonSchema();

    // THEN (compared as data, so reformatting the file does not matter; regenerate with
    // `npx tsx scripts/gen-config-schema.ts` when this fails)
    expect(committed).toEqual(fresh);
  });

  test('rejects unknown keys and documents defaults, so editors flag typos and show defaults', () => {
    // WHEN
    const schema = configJsonSchema() as {
      additionalProperties: boolean;
      required: string[];
      properties: Record<string, { default?: unknown; propertyNames?: { pattern: string } }>;
    };

    // THEN
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['regions', 'tables']);
    expect(schema.properties.stackPrefix.default).toBe('DdbMirror');
    expect(new RegExp(schema.properties.regions.propertyNames!.pattern).test('us-east-1')).toBe(true);
    expect(new RegExp(schema.properties.regions.propertyNames!.pattern).test('useast1')).toBe(false);
  });

  test('renders as two-space JSON ending in a newline', () => {
    // WHEN
    const text = renderConfigJsonSchema();

    // THEN
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"/);
  });

  test('is referenced by the first line of the example config', () => {
    // WHEN
    const example = readFileSync(join(ROOT, 'mirror.config.yaml'), 'utf8');

    // THEN
    expect(example.split('\n')[0]).toBe(`# yaml-language-server: $schema=./${CONFIG_JSON_SCHEMA_FILE}`);
    expect(YAML.parse(example)).toHaveProperty('tables');
  });
});
