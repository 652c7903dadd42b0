import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { exampleModel, testApp } from '../support/model-fixtures';

const regional = (model = exampleModel(), region = 'eu-west-1') =>
  Template.fromStack(buildApp(testApp(), model, { nag: false }).regionStacks.get(region)!);

describe('AlarmNotifications', () => {
  test('gives every alarm of a region an alarm and an OK action on its own encrypted topic with the email subscribed', () => {
    // GIVEN notifications by email
    const t = regional(exampleModel({ notifications: { kind: 'email', addresses: ['ops@example.com'] } }));
    // THEN one topic with a customer managed key (rotated) and TLS-only publishing, the address subscribed
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    // AND CloudWatch may use the key and publish to the topic, for this account only
    const forThisAccount = { StringEquals: { 'aws:SourceAccount': Match.anyValue() } };
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: forThisAccount,
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: forThisAccount,
          }),
        ]),
      },
    });
    // AND every alarm notifies it when it fires and when it clears
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: expect.stringMatching(/^AlarmNotificationsTopic/) },
      ]);
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    }
  });

  test("notifies an existing topic in the alarm's own region, with the region put into the ARN", () => {
    // GIVEN an existing topic per region
    const arn = 'arn:aws:sns:${region}:123456789012:ops-alerts';
    const t = regional(
      exampleModel({ notifications: { kind: 'topic', arnTemplate: arn } }),
      'ap-southeast-2',
    );
    // THEN no topic is created and every alarm names the ap-southeast-2 topic
    t.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm')))
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:ap-southeast-2:123456789012:ops-alerts']);
  });

  test('leaves alarms without actions when the config names no notifications', () => {
    const t = regional(exampleModel());
    t.resourceCountIs('AWS::SNS::Topic', 0);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm')))
      expect(alarm.Properties.AlarmActions).toBeUndefined();
  });
});
