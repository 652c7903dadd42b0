/**
 * Writes mirror.config.schema.json from the zod schema in lib/config/schema.ts.
 *
 *   npx tsx scripts/gen-config-schema.ts          # regenerate
 *   npx tsx scripts/gen-config-schema.ts --check  # exit 1 when the committed file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_JSON_SCHEMA_FILE, renderConfigJsonSchema } from '../lib/config/json-schema';

const file = join(__dirname, '..', CONFIG_JSON_SCHEMA_FILE);
const fresh = renderConfigJsonSchema();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (JSON.stringify(JSON.parse(current || 'null')) !== JSON.stringify(JSON.parse(fresh))) {
    console.error(`${CONFIG_JSON_SCHEMA_FILE} is stale: run npx tsx scripts/gen-config-schema.ts`);
    process.exit(1);
  }
  console.log(`${CONFIG_JSON_SCHEMA_FILE} is up to date`);
} else {
  writeFileSync(file, fresh);
  console.log(`wrote ${file}`);
}
