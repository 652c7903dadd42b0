import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { decodeSettings } from '../../lambda/contract';
import type { TableModel } from '../../lib/config/model';
import { MirroredTable } from '../../lib/constructs/mirrored-table';
import { Replicator, type ReplicatorProps } from '../../lib/constructs/replicator';
import { multiActiveTable, oneWayTable, testApp } from '../support/model-fixtures';
import {
  asArray,
  attachedStatements,
  constructResources,
  inlineStatements,
  flat,
  logicalId,
  resourcesFor,
  roleStatements,
  type Statement,
  expectTemplate,
} from './template-helpers';

const DATA_ACTIONS = /^(dynamodb|sqs):/;

function synth(table: TableModel, region: string): { template: Template; replicator: Replicator } {
  const stack = new Stack(testApp(), 'Test', { env: { region } });
  const mirrored = new MirroredTable(stack, table.name, { table });
  const replicator = new Replicator(stack, 'Replicator', { mirroredTable: mirrored });
  return { template: Template.fromStack(stack), replicator };
}

const peerArn = (region: string, name: string) => `arn:aws:dynamodb:${region}:<AWS::AccountId>:table/${name}`;

/** Checks that hold for every role of ddb-mirror: no service wildcards, no `*` on data actions. */
function expectLeastPrivilege(statements: readonly Statement[]) {
  for (const s of statements) {
    const actions = asArray(s.Action);
    expect(actions.filter((a) => a.endsWith(':*') || a === '*')).toEqual([]);
    if (asArray(s.Resource).some((r) => flat(r) === '*')) {
      // Only actions that support no resource-level permissions may use "*".
      expect(
        actions.every((a) =>
          ['dynamodb:ListStreams', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords'].includes(a),
        ),
      ).toBe(true);
      expect(actions.filter((a) => DATA_ACTIONS.test(a) && a !== 'dynamodb:ListStreams')).toEqual([]);
    }
    for (const r of asArray(s.Resource).map(flat)) {
      if (r !== '*') expect(r).not.toMatch(/table\/\*|:\*$/);
    }
  }
}

describe('Replicator', () => {
  describe('multi-active table in eu-west-1', () => {
    // GIVEN the example multi-active table of three regions, replicating out of eu-west-1
    const { template, replicator } = synth(multiActiveTable(), 'eu-west-1');
    const roleId = logicalId(replicator.role);
    const statements = roleStatements(template, roleId);

    test("reads its stream with TRIM_HORIZON, the table's batch size and ParallelizationFactor, bounded retries and age, bisect, partial batch responses and an on-failure queue", () => {
      expectTemplate(template).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SessionsTable'), 'StreamArn'] },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 86400,
        ParallelizationFactor: 4,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: {
            Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicatorOnFailureQueue'), 'Arn'] },
          },
        },
      });
    });

    const peerTables = ['ap-southeast-2', 'us-east-1'].map((r) => peerArn(r, 'Sessions'));
    const peerTombstones = ['ap-southeast-2', 'us-east-1'].map((r) => peerArn(r, 'Sessions-ddbm-tombstones'));
    const ownTable = expect.stringMatching(/^<SessionsTable[^.]*\.Arn>$/);
    const ownTombstones = expect.stringMatching(/^<SessionsTombstones.*\.Arn>$/);
    const local = (resources: string[]) => resources.filter((r) => !r.startsWith('arn:'));
    const peers = (resources: string[]) => resources.filter((r) => r.startsWith('arn:')).sort();

    test('puts, defers on and deletes items of its peers and its own table only; never of another table', () => {
      // Peers: the conditional save, the deferral, the delete. Own table: deciding deferred writes,
      // the stamp, the gap look and removal after a local delete (docs/replication.md).
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
        expect(peers(resourcesFor(statements, action)).filter((r) => !/tombstones/.test(r))).toEqual(
          peerTables,
        );
        expect(local(resourcesFor(statements, action))).toContainEqual(ownTable);
      }
      expect(resourcesFor(statements, 'dynamodb:PutItem')).not.toContainEqual(
        expect.stringMatching(/tombstones/i),
      );
      expect(resourcesFor(statements, 'dynamodb:DeleteItem')).not.toContainEqual(
        expect.stringMatching(/tombstones/i),
      );
    });

    test('reads and updates tombstones on the peers and its own; no transaction condition checks any more', () => {
      expect(peers(resourcesFor(statements, 'dynamodb:GetItem')).sort()).toEqual(peerTombstones);
      expect(
        peers(resourcesFor(statements, 'dynamodb:UpdateItem')).filter((r) => /tombstones/.test(r)),
      ).toEqual(peerTombstones);
      expect(local(resourcesFor(statements, 'dynamodb:GetItem')).sort()).toEqual([ownTable, ownTombstones]);
      expect(local(resourcesFor(statements, 'dynamodb:UpdateItem'))).toContainEqual(ownTombstones);
      expect(resourcesFor(statements, 'dynamodb:ConditionCheckItem')).toEqual([]);
    });

    test('reads only its own stream; ListStreams alone uses "*" (no resource-level permissions)', () => {
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']) {
        expect(resourcesFor(statements, action)).toEqual([
          expect.stringMatching(/^<SessionsTable[^.]*\.StreamArn>$/),
        ]);
      }
      expect(resourcesFor(statements, 'dynamodb:ListStreams')).toEqual(['*']);
    });

    test('keeps its stream reads in the inline policy; its DefaultPolicy holds no DynamoDB data action and uses "*" only for ListStreams and X-Ray', () => {
      // GIVEN the role's inline Replication policy and its CDK-managed DefaultPolicy
      const inline = inlineStatements(template, roleId, 'Replication');
      const defaultPolicy = attachedStatements(template, roleId);

      // THEN the stream is read under the inline policy only, on the exact stream ARN
      expect(inline).toContainEqual({
        Sid: 'ReadOwnStream',
        Effect: 'Allow',
        Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SessionsTable/), 'StreamArn'] },
      });
      const defaultActions = defaultPolicy.flatMap((s) => asArray(s.Action));
      expect(defaultActions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:ListStreams']);
      expect(
        defaultPolicy
          .filter((s) => asArray(s.Resource).some((r) => flat(r) === '*'))
          .flatMap((s) => asArray(s.Action))
          .sort(),
      ).toEqual(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    });

    test('sends only to its own parking queues and its on-failure queue', () => {
      const sends = resourcesFor(statements, 'sqs:SendMessage').sort();
      expect(sends).toEqual(
        [
          ...replicator.parkingQueues.map((p) => `<${logicalId(p.queue)}.Arn>`),
          `<${logicalId(replicator.onFailureQueue)}.Arn>`,
        ].sort(),
      );
    });

    test('grants both roles least privilege: no dynamodb:*, no "*" on data actions', () => {
      expectLeastPrivilege(statements);
      expectLeastPrivilege(roleStatements(template, logicalId(replicator.parkedRole)));
      expect(statements.flatMap((s) => asArray(s.Action))).not.toContain('dynamodb:*');
    });

    test('gives no role a managed policy', () => {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
      expectTemplate(template).resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    });

    test('lets the parked consumer write to the same peers and consume every parking queue in batches of 10', () => {
      const parked = roleStatements(template, logicalId(replicator.parkedRole));
      expect(resourcesFor(parked, 'dynamodb:PutItem').sort()).toEqual(
        peers(resourcesFor(statements, 'dynamodb:PutItem')),
      );
      // The same writes as the replicator's at the peers (deferrals included), nothing in its own region.
      expect(resourcesFor(parked, 'dynamodb:UpdateItem').sort()).toEqual([
        peerArn('ap-southeast-2', 'Sessions'),
        peerArn('ap-southeast-2', 'Sessions-ddbm-tombstones'),
        peerArn('us-east-1', 'Sessions'),
        peerArn('us-east-1', 'Sessions-ddbm-tombstones'),
      ]);
      expect(resourcesFor(parked, 'dynamodb:GetItem').sort()).toEqual([
        peerArn('ap-southeast-2', 'Sessions-ddbm-tombstones'),
        peerArn('us-east-1', 'Sessions-ddbm-tombstones'),
      ]);
      for (const p of replicator.parkingQueues) {
        expectTemplate(template).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [logicalId(p.queue), 'Arn'] },
          BatchSize: 10,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        });
      }
    });

    test('parks per peer on an encrypted, SSL-only 14-day queue with a DLQ and 6x the consumer timeout', () => {
      expect(replicator.parkingQueues.map((p) => p.targetRegion)).toEqual(['us-east-1', 'ap-southeast-2']);
      expectTemplate(template).resourcePropertiesCountIs(
        'AWS::SQS::Queue',
        {
          SqsManagedSseEnabled: true,
          MessageRetentionPeriod: 1209600,
          VisibilityTimeout: 360,
          RedrivePolicy: { maxReceiveCount: 100, deadLetterTargetArn: Match.anyValue() },
        },
        2,
      );
      // on-failure queue + 2 parking DLQs: encrypted, 14 days, no redrive
      expectTemplate(template).resourcePropertiesCountIs(
        'AWS::SQS::Queue',
        { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600, RedrivePolicy: Match.absent() },
        3,
      );
      expectTemplate(template).resourcePropertiesCountIs(
        'AWS::SQS::QueuePolicy',
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
        5,
      );
    });

    test('runs both functions on the newest Node.js runtime, arm64, 512 MB, 60 s, traced, with retained logs', () => {
      expectTemplate(template).resourcePropertiesCountIs(
        'AWS::Lambda::Function',
        {
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          MemorySize: 512,
          Timeout: 60,
          TracingConfig: { Mode: 'Active' },
          Handler: 'index.handler',
          LoggingConfig: { LogGroup: Match.anyValue() },
        },
        2,
      );
      expectTemplate(template).resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 2);
    });

    test('passes DDBM_SETTINGS that decode to the table, its peers with parking queue URLs, and the tuning', () => {
      const fns = Object.values(template.findResources('AWS::Lambda::Function'));
      for (const fn of fns) {
        const env = fn.Properties.Environment.Variables;
        expect(env).toMatchObject({
          POWERTOOLS_SERVICE_NAME: 'ddb-mirror',
          POWERTOOLS_METRICS_NAMESPACE: 'DdbMirror',
        });
        const settings = decodeSettings(flat(env.DDBM_SETTINGS));
        expect(settings).toEqual({
          table: 'Sessions',
          tombstoneTable: 'Sessions-ddbm-tombstones',
          region: 'eu-west-1',
          mode: 'multi-active',
          partitionKey: 'userId',
          sortKey: 'sessionId',
          versionAttribute: 'version',
          peers: [
            { region: 'us-east-1', parkingQueueUrl: expect.stringMatching(/^<ReplicatorParkinguseast1/) },
            {
              region: 'ap-southeast-2',
              parkingQueueUrl: expect.stringMatching(/^<ReplicatorParkingapsoutheast2/),
            },
          ],
          tombstoneTtlSeconds: 30 * 86400,
          ttl: { attribute: 'expiresAt', replicateDeletes: false },
          excludeAttributes: [],
          maxConcurrency: 25,
          maxAttempts: 5,
          baseDelayMs: 100,
        });
      }
    });
  });

  describe('one-way table in its source region', () => {
    // GIVEN the example one-way table with an excluded attribute, replicating out of its source
    const { template, replicator } = synth(oneWayTable({ excludeAttributes: ['secret'] }), 'us-east-1');
    const statements = roleStatements(template, logicalId(replicator.role));

    test('writes to the replicas only (tombstones read after an insert, updated by a delete) and has no own-table or own-tombstone access', () => {
      const expected = ['ap-southeast-2', 'eu-west-1'].map((r) => peerArn(r, 'Stories'));
      expect(resourcesFor(statements, 'dynamodb:PutItem').sort()).toEqual(expected);
      expect(resourcesFor(statements, 'dynamodb:DeleteItem').sort()).toEqual(expected);
      expect(resourcesFor(statements, 'dynamodb:UpdateItem').sort()).toEqual([
        peerArn('ap-southeast-2', 'Stories-ddbm-tombstones'),
        peerArn('eu-west-1', 'Stories-ddbm-tombstones'),
      ]);
      // No deferrals on one-way tables: the source is the only writer.
      expect(resourcesFor(statements, 'dynamodb:GetItem').sort()).toEqual([
        peerArn('ap-southeast-2', 'Stories-ddbm-tombstones'),
        peerArn('eu-west-1', 'Stories-ddbm-tombstones'),
      ]);
      expectLeastPrivilege(statements);
    });

    test('passes mode one-way without a version attribute, and the excluded attributes', () => {
      const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
      const settings = decodeSettings(flat(fn.Properties.Environment.Variables.DDBM_SETTINGS));
      expect(settings).toMatchObject({ mode: 'one-way', excludeAttributes: ['secret'] });
      expect(settings).not.toHaveProperty('versionAttribute');
      expect(settings.sortKey).toBeUndefined();
    });
  });

  describe('snapshots', () => {
    test('synthesizes a one-way replicator from its source region to one replica as in its snapshot', () => {
      // GIVEN / WHEN a one-way table replicated from us-east-1 to eu-west-1
      const { template, replicator } = synth(oneWayTable({ replicas: ['eu-west-1'] }), 'us-east-1');

      // THEN
      expect(constructResources(template, replicator)).toMatchSnapshot();
    });

    test('synthesizes a multi-active replicator in one of two regions as in its snapshot', () => {
      // GIVEN a multi-active table in us-east-1 and eu-west-1, replicating out of eu-west-1
      const table = multiActiveTable({ regions: ['us-east-1', 'eu-west-1'] });

      // WHEN
      const { template, replicator } = synth(table, 'eu-west-1');

      // THEN
      expect(constructResources(template, replicator)).toMatchSnapshot();
    });
  });

  describe('validation', () => {
    const build =
      (env: { region?: string }, table: TableModel, props: Partial<ReplicatorProps> = {}) =>
      () => {
        const stack = new Stack(testApp(), 'Test', { env });
        const mirroredTable = new MirroredTable(stack, table.name, { table });
        new Replicator(stack, 'Replicator', { mirroredTable, ...props });
      };

    test('names the construct path and every out-of-range tuning value in one error', () => {
      // GIVEN tuning the functions would refuse at cold start
      const props = { maxConcurrency: 0, maxAttempts: -1, baseDelayMs: 1.5 };

      // WHEN / THEN synth fails, naming each prop and the value found
      expect(build({ region: 'us-east-1' }, oneWayTable(), props)).toThrow(
        'Test/Replicator: invalid Replicator props: maxConcurrency must be at least 1, got 0; ' +
          'maxAttempts must be at least 1, got -1; baseDelayMs must be an integer, got 1.5',
      );
    });

    test('refuses a region the table does not live in', () => {
      expect(build({ region: 'sa-east-1' }, oneWayTable())).toThrow(
        'Test/Replicator: invalid Replicator props: region sa-east-1 is not a replicator region of one-way table Stories (us-east-1)',
      );
    });

    test('refuses a replica region of a one-way table: only the source replicates', () => {
      expect(build({ region: 'eu-west-1' }, oneWayTable())).toThrow(
        'Test/Replicator: invalid Replicator props: region eu-west-1 is not a replicator region of one-way table Stories (us-east-1)',
      );
    });

    test('refuses a stack without an explicit region', () => {
      expect(build({}, multiActiveTable())).toThrow(
        'Test/Replicator: invalid Replicator props: the stack has no explicit region (set env.region): peers are addressed by region',
      );
    });

    test('refuses a table of another region and missing entry files, reporting both at once', () => {
      // GIVEN a table built in a us-east-1 stack and a replicator in eu-west-1
      const app = testApp();
      const table = multiActiveTable();
      const mirroredTable = new MirroredTable(new Stack(app, 'East', { env: { region: 'us-east-1' } }), 'T', {
        table,
      });
      const stack = new Stack(app, 'West', { env: { region: 'eu-west-1' } });

      // WHEN / THEN
      expect(
        () =>
          new Replicator(stack, 'Replicator', {
            mirroredTable,
            replicatorEntry: '/nonexistent/replicator.ts',
            parkedEntry: '/nonexistent/parked.ts',
          }),
      ).toThrow(
        "West/Replicator: invalid Replicator props: mirroredTable Sessions is in us-east-1, not in the replicator's eu-west-1; " +
          'replicatorEntry /nonexistent/replicator.ts does not exist; parkedEntry /nonexistent/parked.ts does not exist',
      );
    });
  });
});
