// Placeholder entry so the CDK app can bundle while the consumer is written (owned by the replicator work).
export const handler = async (): Promise<never> => {
  throw new Error('parked-record consumer not built yet');
};
