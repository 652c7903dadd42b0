/**
 * What the operations commands (`status`, `backfill`, `verify`, `replay`, `drain`) share, by concern:
 * options.ts (the options and their parsing), config.ts (the table and regions from the config),
 * clients.ts (one client factory and the checks that the other end answers), context.ts (the deployed
 * replicators and their queues), output.ts (printing), progress.ts (progress and Ctrl-C). Errors are
 * `OpsError`, worded by lambda/ops/errors.ts.
 */
export { OpsError } from '../../lambda/ops/errors';
export * from './clients';
export * from './config';
export * from './context';
export * from './options';
export * from './output';
export * from './progress';
