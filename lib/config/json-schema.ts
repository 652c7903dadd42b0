/**
 * JSON Schema of `mirror.config.yaml`, generated from the same zod schema the loader validates with, so
 * editors (YAML language server) and the CDK app agree. Cross-field rules cannot be expressed in it; the
 * loader checks those.
 */
import { z } from 'zod';
import { configSchema } from './schema';

/** File name of the generated schema, at the repository root beside `mirror.config.yaml`. */
export const CONFIG_JSON_SCHEMA_FILE = 'mirror.config.schema.json';

/** The JSON Schema (draft 2020-12) of the raw config file, defaults included. */
export function configJsonSchema(): Record<string, unknown> {
  // io 'input': the file as written, where fields with defaults are optional.
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

/** The schema as committed: two-space JSON with a trailing newline. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
