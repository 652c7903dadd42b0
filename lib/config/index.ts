export * from './model';
export { ConfigError, formatIssues, loadConfig, parseConfig, parseYaml, validateConfig } from './load';
export type { ConfigIssue, ValidationResult } from './load';
export { DEFAULTS, MAX_TABLE_NAME_LENGTH, REGION_NAME_PATTERN, configSchema } from './schema';
export type { ParsedConfig, RawConfig } from './schema';
export { CONFIG_JSON_SCHEMA_FILE, configJsonSchema, renderConfigJsonSchema } from './json-schema';
