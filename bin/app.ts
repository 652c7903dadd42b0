#!/usr/bin/env node
/**
 * CDK entry: `mirror.config.yaml` (or `-c config=<path>`) → model → one stack per region + routing.
 * Thin on purpose: all composition lives in lib/app.ts, where tests reach it with a model fixture.
 */
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { ConfigError, loadConfig } from '../lib/config/load';

const app = new App();
const configPath = path.resolve(
  (app.node.tryGetContext('config') as string | undefined) ??
    path.join(__dirname, '..', 'mirror.config.yaml'),
);

try {
  buildApp(app, loadConfig(configPath));
} catch (err) {
  if (err instanceof ConfigError) {
    // A config mistake is the user's to fix: the message lists every problem, a stack trace adds nothing.
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
