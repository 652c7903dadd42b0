/**
 * Stands in for `@aws-sdk/credential-provider-node` in the function bundles (lib/constructs/defaults.ts,
 * BUNDLING). Lambda hands a function its role's credentials in the environment; the default chain's
 * SSO, STS web-identity, IMDS and profile providers never run there and were a fifth of the bundle.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = () => fromEnv();
