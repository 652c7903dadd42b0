export * from './model';
export { ConfigError, formatIssues, loadConfig, parseConfig, parseYaml, validateConfig } from './load';
export type { ConfigIssue, ValidationResult } from './load';
export { DEFAULTS, MAX_TABLE_NAME_LENGTH, configSchema } from './schema';
export {
  DELAYED_WRITE_DAYS,
  MIN_TOMBSTONE_TTL_DAYS,
  REGION_NAME_PATTERN,
  accountProblems,
  existingProblems,
  formatProblems,
  modelProblems,
  regionListProblems,
  routingProblems,
  tableRegionProblems,
  tombstoneTtlProblems,
} from './rules';
export type { Problem, ProblemPath } from './rules';
export type { ParsedConfig, RawConfig } from './schema';
export { CONFIG_JSON_SCHEMA_FILE, configJsonSchema, renderConfigJsonSchema } from './json-schema';
