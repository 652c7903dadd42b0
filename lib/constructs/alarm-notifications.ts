import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { topicArnIn, type NotificationsModel } from '../config/model';
import { acknowledge } from './nag';

export interface AlarmNotificationsProps {
  /** Email addresses to subscribe to a new topic, or an existing topic (`${region}` in its ARN). */
  readonly notifications: NotificationsModel;
}

/**
 * Where this region's alarms go: a topic of its own (encrypted with a key CloudWatch may use, TLS only,
 * with the email subscriptions; each address confirms once per region) or an existing topic in the
 * region. `notify(alarm)` adds the alarm and OK actions.
 */
export class AlarmNotifications extends Construct {
  public readonly topic: sns.ITopic;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: AlarmNotificationsProps) {
    super(scope, id);
    const n = props.notifications;
    this.topic =
      n.kind === 'topic'
        ? sns.Topic.fromTopicArn(this, 'Topic', topicArnIn(n.arnTemplate, Stack.of(this).region))
        : this.createTopic(n.addresses);
    this.action = new SnsAction(this.topic);
  }

  /** Someone hears when the alarm fires and when it clears. */
  notify(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
  }

  private createTopic(addresses: readonly string[]): sns.Topic {
    // CloudWatch publishes to an encrypted topic only with a customer managed key whose policy lets it,
    // and only where the topic policy does (docs/platform.md#alarms-and-notifications).
    const key = new kms.Key(this, 'Key', {
      description: `ddb-mirror alarm notifications in ${Stack.of(this).region}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const topic = new sns.Topic(this, 'Topic', {
      displayName: 'ddb-mirror alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    for (const address of addresses) {
      const subscription = topic.addSubscription(new EmailSubscription(address));
      acknowledge(
        subscription,
        'Serverless-SNSRedrivePolicy',
        'An alarm email SNS cannot deliver is retried by SNS; the alarm itself stays in ALARM on the dashboard. A dead-letter queue for alarm mail would need an alarm of its own.',
      );
    }
    return topic;
  }
}
