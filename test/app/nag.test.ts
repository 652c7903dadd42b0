import { Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import * as path from 'path';
import { buildApp } from '../../lib/app';
import { loadConfig } from '../../lib/config/load';
import { exampleModel, geolocationRouting, testApp } from '../support/model-fixtures';

const CROSS_ACCOUNT_EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'cross-account.yaml');

type Violation = { ruleName: string; severity?: string; violatingResources: { constructPath: string }[] };

function findings(scope: Stack | ReturnType<typeof testApp>): string[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    (pack.validateScope(scope).violations as Violation[]).map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    ),
  );
}

describe('cdk-nag on the example app', () => {
  test('the packs do report findings (control: an unencrypted queue without a DLQ)', () => {
    const app = testApp();
    new sqs.Queue(new Stack(app, 'Control'), 'Q', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(findings(app).join('\n')).toMatch(/AwsSolutions-SQS3/);
  });

  test('AwsSolutions and Serverless report zero errors and zero warnings, with the real bundled functions', () => {
    // GIVEN the example app with nag registered, bundling for real (a broken entry shows here)
    const app = testApp({ bundle: true });
    buildApp(app, exampleModel(), { env: {} });
    // THEN every stack is clean (warnings included), and synth (which runs the plugins) passes
    expect(findings(app)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  test('geolocation routing and a PROVISIONED, TTL-replicating table stay clean too', () => {
    const app = testApp();
    const [stories, sessions] = exampleModel().tables;
    buildApp(
      app,
      exampleModel({
        routing: geolocationRouting(),
        tables: [
          { ...stories, billing: { mode: 'PROVISIONED', readCapacity: 5, writeCapacity: 5 } },
          sessions,
        ],
      }),
      { env: {} },
    );
    expect(findings(app)).toEqual([]);
  });

  test('adopted tables stay clean: an existing source, an existing read-only replica, a multi-active table existing everywhere', () => {
    // GIVEN adopted tables with every optional part (sampler, export backfill, anti-entropy), bundled for real
    const app = testApp({ bundle: true });
    const [stories, sessions] = exampleModel().tables;
    const everywhere = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
    buildApp(
      app,
      exampleModel({
        tables: [
          { ...stories, existing: ['us-east-1', 'eu-west-1'], antiEntropy: { maxConcurrency: 10 } },
          { ...sessions, existing: everywhere, antiEntropy: { maxConcurrency: 10 } },
        ],
      }),
      { env: {} },
    );
    // THEN
    expect(findings(app)).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  test('a mirror across two accounts (examples/cross-account.yaml) stays clean: writer and reader roles included', () => {
    // GIVEN the cross-account example, whose peer stacks create roles trusted by the other account
    const app = testApp();
    const { regionStacks } = buildApp(app, loadConfig(CROSS_ACCOUNT_EXAMPLE), { env: {} });

    // THEN
    expect(regionStacks.get('eu-west-1')!.peerAccess.size).toBeGreaterThan(0);
    expect(findings(app)).toEqual([]);
  });
});
