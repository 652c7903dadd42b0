import { rmSync } from 'fs';
import type { Engine } from '../../lib/local/engine';

export default async function globalTeardown(): Promise<void> {
  const engine = (globalThis as Record<string, unknown>).__ddbMirrorEngine as Engine | undefined;
  await engine?.stop();
  if (process.env.DDB_MIRROR_TEST_ENGINE) rmSync(process.env.DDB_MIRROR_TEST_ENGINE, { force: true });
}
