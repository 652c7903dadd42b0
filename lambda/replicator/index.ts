// Placeholder entry so the CDK app can bundle while the replicator is written (owned by the replicator work).
export const handler = async (): Promise<never> => {
  throw new Error('replicator not built yet');
};
