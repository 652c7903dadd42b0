/**
 * The contract between the deployable app (`lib/`) and the functions (`lambda/`): the only module
 * both sides import. Pure: no SDK and no CDK imports (types only).
 */
export * from './compare';
export * from './metrics';
export * from './names';
export * from './settings';
export * from './stream-record';
