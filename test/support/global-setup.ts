import { writeFileSync } from 'fs';
import { join } from 'path';
import { tmpdir } from 'os';
import { startEngine } from '../../lib/local/engine';

export const ENGINE_STATE = join(tmpdir(), `ddb-mirror-jest-engine-${process.pid}.json`);

/**
 * One DynamoDB Local for the whole run (docs/platform.md#dynamodb-local: ~2 s start-up). Workers are forked after this,
 * so they inherit these variables and every SDK client built with `region` only talks to the engine.
 */
export default async function globalSetup(): Promise<void> {
  const engine = await startEngine();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.endpoint;
  process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = engine.endpoint;
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
  delete process.env.AWS_PROFILE;
  // The SDK is pinned (docs/platform.md#node-and-sdk); its Node 20 notice is known.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.DDB_MIRROR_TEST_ENGINE = ENGINE_STATE;
  writeFileSync(ENGINE_STATE, JSON.stringify({ pid: engine.pid, endpoint: engine.endpoint }));
  (globalThis as Record<string, unknown>).__ddbMirrorEngine = engine;
}
