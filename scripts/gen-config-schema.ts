/**
 * Writes mirror.config.schema.json from the zod schema in lib/config/schema.ts, formatted with the
 * repository's prettier settings so `npm run format` leaves it alone.
 *
 *   npx tsx scripts/gen-config-schema.ts          # regenerate
 *   npx tsx scripts/gen-config-schema.ts --check  # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchema, renderConfigJsonSchema } from '../lib/config/json-schema';

const file = join(__dirname, '..', CONFIG_JSON_SCHEMA_FILE);

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    let committed: unknown;
    try {
      committed = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      committed = undefined;
    }
    if (JSON.stringify(committed) !== JSON.stringify(configJsonSchema())) {
      console.error(`${CONFIG_JSON_SCHEMA_FILE} is stale: run npx tsx scripts/gen-config-schema.ts`);
      process.exit(1);
    }
    console.log(`${CONFIG_JSON_SCHEMA_FILE} is up to date`);
    return;
  }
  const options = await resolveConfig(file);
  writeFileSync(file, await format(renderConfigJsonSchema(), { ...options, filepath: file }));
  console.log(`wrote ${file}`);
}

void main();
