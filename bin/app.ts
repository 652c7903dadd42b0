#!/usr/bin/env node
/**
 * CDK entry: `mirror.config.yaml` (or `-c config=<path>`) → model → one stack per region + routing.
 * This repository's app is one user of the {@link DdbMirror} construct (lib/ddb-mirror.ts), as a user's
 * own CDK app would be; tests reach the composition with a model fixture through lib/app.ts.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../lib/config/load';
import { DdbMirror } from '../lib/ddb-mirror';

const app = new App();
const configPath = path.resolve(
  (app.node.tryGetContext('config') as string | undefined) ??
    path.join(__dirname, '..', 'mirror.config.yaml'),
);

try {
  // The stacks keep their names (`${stackPrefix}-${region}`, `${stackPrefix}-Routing`) whatever this id.
  new DdbMirror(app, 'DdbMirror', { ...loadConfig(configPath), nag: true });
} catch (err) {
  if (err instanceof ConfigError) {
    // A config mistake is the user's to fix: the message lists every problem, a stack trace adds nothing.
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
