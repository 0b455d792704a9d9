/**
 * The ContinuousEncryptionCheck construct: the rules and their targets' input (which must pass
 * the handler's own validation once CloudFormation resolves it), the change rule's pattern
 * (evaluated offline against CloudTrail-shaped events), least-privilege invokers, the alarm,
 * the report event grant, synth-time limits, snapshots and cdk-nag.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { cloudTrailS3Event, matches } from './event-pattern';
import { CfnTemplate, resolveIntrinsics } from '../../../bench/synth/resolve';
import { ContinuousEncryptionCheck, EncryptedBucket, EncryptionCheck, S3EncryptionChecks } from '../../../src';
import { CONTINUOUS_MARKER } from '../../../src/encryption-check/continuous/types';
import { continuousInputOf } from '../../../src/encryption-check/handler/scheduled';
import { maskedTemplate, testStack } from '../../util/template';

function continuousStack(props: ConstructorParameters<typeof ContinuousEncryptionCheck>[2] = {}, buckets = 2) {
  const { app, stack } = testStack();
  for (let i = 0; i < buckets; i++) {
    new EncryptedBucket(stack, `Data${i}`, { bucketName: `data-bucket-${i}`, encryption: i % 2 ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED });
  }
  const continuous = new ContinuousEncryptionCheck(stack, 'Continuous', props);
  return { app, stack, continuous };
}

/**
 * Resolves intrinsics as CloudFormation will, with the literal names of the template's buckets
 * (a `Ref` to a bucket with a `BucketName`), and the longest realistic strings for the rest.
 */
function resolveWithNames(value: unknown, template: CfnTemplate & { Resources: Resources }): unknown {
  const named = JSON.parse(JSON.stringify(value), (_key, v) => {
    const name = v && typeof v === 'object' && typeof v.Ref === 'string' ? template.Resources[v.Ref]?.Properties?.BucketName : undefined;
    return typeof name === 'string' ? name : v;
  });
  return resolveIntrinsics(named, template);
}

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const resourcesOf = (stack: Stack) => Template.fromStack(stack).toJSON() as CfnTemplate & { Resources: Resources };
const rules = (template: { Resources: Resources }) => Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
const scheduleRule = (template: { Resources: Resources }) => rules(template).find((r) => r.Properties.ScheduleExpression)!;
const changeRule = (template: { Resources: Resources }) => rules(template).find((r) => r.Properties.EventPattern)!;

describe('the schedule', () => {
  test('daily by default; one target per chunk of buckets, the stack\'s check function; its input passes the handler\'s validation', () => {
    const { stack } = continuousStack();
    const template = resourcesOf(stack);
    const rule = scheduleRule(template);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.Properties.Targets).toHaveLength(1);
    const fn = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function')![0];
    expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [fn, 'Arn'] });

    const input = continuousInputOf(JSON.parse(resolveWithNames(rule.Properties.Targets[0].Input, template) as string));
    expect(input.Trigger).toBe('SCHEDULE');
    expect(input.Buckets.map((b) => b.BucketName)).toEqual(expect.arrayContaining(['data-bucket-0', 'data-bucket-1']));
    expect(input.Buckets.find((b) => b.BucketName === 'data-bucket-1')).toMatchObject({ ExpectAlgorithm: 'aws:kms', ExpectSseC: 'BLOCKED' });
  });

  test('a custom schedule', () => {
    const { stack } = continuousStack({ schedule: events.Schedule.rate(Duration.hours(6)) });
    expect(scheduleRule(resourcesOf(stack)).Properties.ScheduleExpression).toBe('rate(6 hours)');
  });

  test('many buckets are spread over several targets, each within 8,192 characters at the longest resolved names', () => {
    const { stack } = continuousStack({}, 60);
    const template = resourcesOf(stack);
    const targets = scheduleRule(template).Properties.Targets as { Input: unknown }[];
    expect(targets.length).toBeGreaterThan(1);
    expect(targets.length).toBeLessThanOrEqual(5);
    const keys = new Set<string>();
    for (const target of targets) {
      // Worst case: every bucket name 63 characters, every key ARN full length, stack name 128.
      const text = resolveIntrinsics(target.Input, template) as string;
      expect(text.length).toBeLessThanOrEqual(8_192);
      continuousInputOf(JSON.parse(text)).Buckets.forEach((b) => keys.add(b.Key));
    }
    expect(keys.size).toBe(60);
  });

  test('buckets added after the construct are covered too', () => {
    const { stack } = continuousStack({}, 1);
    new EncryptedBucket(stack, 'Later', { bucketName: 'later-bucket' });
    const template = resourcesOf(stack);
    const input = JSON.parse(resolveWithNames(scheduleRule(template).Properties.Targets[0].Input, template) as string);
    expect(input.Buckets.map((b: { BucketName: string }) => b.BucketName)).toContain('later-bucket');
  });
});

describe('configuration changes', () => {
  test('the rule matches the CloudTrail events of the stack\'s buckets\' configuration changes, and nothing else', () => {
    const { stack } = continuousStack();
    const template = resourcesOf(stack);
    const pattern = resolveWithNames(changeRule(template).Properties.EventPattern, template) as Record<string, unknown>;
    for (const name of ['PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketEncryption', 'DeleteBucketEncryption', 'PutBucketVersioning', 'PutBucketOwnershipControls']) {
      expect(matches(pattern, cloudTrailS3Event(name, 'data-bucket-0'))).toBe(true);
      expect(matches(pattern, cloudTrailS3Event(name, 'data-bucket-1'))).toBe(true);
      // Another bucket of the account.
      expect(matches(pattern, cloudTrailS3Event(name, 'someone-elses-bucket'))).toBe(false);
    }
    // Data events and reads are not configuration changes.
    for (const name of ['PutObject', 'GetBucketPolicy', 'ListObjectVersions']) {
      expect(matches(pattern, cloudTrailS3Event(name, 'data-bucket-0'))).toBe(false);
    }
    // Another service, or another detail-type with the same fields.
    expect(matches(pattern, cloudTrailS3Event('PutBucketPolicy', 'data-bucket-0', { source: 'aws.s3-outposts' }))).toBe(false);
    expect(matches(pattern, cloudTrailS3Event('PutBucketPolicy', 'data-bucket-0', { 'detail-type': 'AWS Service Event via CloudTrail' }))).toBe(false);
  });

  test('the target passes the changed bucket and the API call; the filled template passes the handler\'s validation', () => {
    const { stack } = continuousStack();
    const template = resourcesOf(stack);
    const target = changeRule(template).Properties.Targets[0];
    expect(target.InputTransformer.InputPathsMap).toEqual({ bucket: '$.detail.requestParameters.bucketName', eventName: '$.detail.eventName' });
    const text = (resolveWithNames(target.InputTransformer.InputTemplate, template) as string)
      .replace('<bucket>', 'data-bucket-1').replace('<eventName>', 'DeleteBucketPolicy');
    const input = continuousInputOf(JSON.parse(text));
    expect(input).toMatchObject({ Trigger: 'CONFIGURATION_CHANGE', ChangedBucket: 'data-bucket-1', EventName: 'DeleteBucketPolicy' });
  });

  test('the filtered pattern stays within EventBridge\'s default 2,048 characters with every name at 63', () => {
    const { stack } = continuousStack({}, 20);
    const template = resourcesOf(stack);
    const pattern = changeRule(template).Properties.EventPattern;
    expect(pattern.detail.requestParameters.bucketName).toHaveLength(20);
    expect(JSON.stringify(resolveIntrinsics(pattern, template)).length).toBeLessThanOrEqual(2_048);
  });

  test('more bucket names than the pattern holds: it matches every bucket\'s configuration calls (the handler checks only its own)', () => {
    const { stack } = continuousStack({}, 40);
    const template = resourcesOf(stack);
    const pattern = changeRule(template).Properties.EventPattern;
    expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(2_048);
    expect(matches(pattern, cloudTrailS3Event('DeleteBucketPolicy', 'any-bucket'))).toBe(true);
    expect(matches(pattern, cloudTrailS3Event('PutObject', 'any-bucket'))).toBe(false);
  });

  test('can be turned off', () => {
    const { stack } = continuousStack({ checkOnConfigurationChange: false });
    expect(rules(resourcesOf(stack))).toHaveLength(1);
  });
});

describe('least privilege', () => {
  test('each rule, and only it, may invoke only the check function', () => {
    const { stack } = continuousStack();
    const template = resourcesOf(stack);
    const permissions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Permission');
    const ruleIds = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Events::Rule').map(([id]) => id);
    const fn = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function')![0];
    expect(permissions.map((p) => p.Properties.SourceArn).sort((a, b) => a['Fn::GetAtt'][0].localeCompare(b['Fn::GetAtt'][0])))
      .toEqual(ruleIds.sort().map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] } });
    }
  });

  test('the report event: PutEvents on the default bus only, with the fixed source and detail-type', () => {
    const { stack } = continuousStack();
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: 'events:PutEvents',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111111111111:event-bus/default']] },
          Condition: { StringEquals: { 'events:source': 'cdk-s3-encryption.encryption-check', 'events:detail-type': 'S3 Encryption Check Report' } },
        }],
      },
    });
  });

  test('no report events: no PutEvents grant at all', () => {
    const { stack } = continuousStack({ publishReportEvents: false });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('events:PutEvents');
  });
});

describe('the alarm', () => {
  test('on violations and unproven buckets of the stack; notifies the topic on ALARM and OK', () => {
    const { stack } = testStack();
    new EncryptedBucket(stack, 'Data');
    const topic = new sns.Topic(stack, 'Topic', { enforceSSL: true });
    new ContinuousEncryptionCheck(stack, 'Continuous', { alarmTopic: topic });
    const topicRef = { Ref: Stack.of(stack).getLogicalId(topic.node.defaultChild as never) };
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [topicRef],
      OKActions: [topicRef],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'violations + incomplete' }),
        Match.objectLike({ Id: 'violations', MetricStat: Match.objectLike({ Metric: { Namespace: 'CdkS3Encryption/EncryptionCheck', MetricName: 'Violations', Dimensions: [{ Name: 'StackName', Value: { Ref: 'AWS::StackName' } }] } }) }),
        Match.objectLike({ Id: 'incomplete', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Incomplete' }) }) }),
      ]),
    });
  });

  test('per-bucket metric', () => {
    const { stack } = testStack();
    const bucket = new EncryptedBucket(stack, 'Data', { bucketName: 'data-bucket' });
    const continuous = new ContinuousEncryptionCheck(stack, 'Continuous');
    const bucketRef = { Ref: stack.getLogicalId(bucket.node.defaultChild as never) };
    expect(stack.resolve(continuous.metricBucketViolations(bucket).dimensions)).toEqual({ StackName: { Ref: 'AWS::StackName' }, Bucket: bucketRef });
  });
});

describe('synth-time checks', () => {
  test('a stack with no checked bucket: an error that says what to add', () => {
    const { app, stack } = testStack();
    new ContinuousEncryptionCheck(stack, 'Continuous');
    expect(() => app.synth()).toThrow(/no checked bucket/);
  });

  test('two in one stack', () => {
    const { stack } = continuousStack();
    expect(() => new ContinuousEncryptionCheck(stack, 'Again')).toThrow(/already has a ContinuousEncryptionCheck/);
  });

  test('more buckets than five target inputs hold: an error that says to split the stack', () => {
    const { app } = continuousStack({}, 150);
    expect(() => app.synth()).toThrow(/more than the 5 targets a rule can have/);
  });
});

test('snapshot of the new resources', () => {
  const { stack } = continuousStack({ alarmTopic: sns.Topic.fromTopicArn(new Stack(new App(), 'Other'), 'T', 'arn:aws:sns:eu-west-1:111111111111:alerts') });
  const template = maskedTemplate(stack) as { Resources: Record<string, { Type: string }> };
  const mine = Object.fromEntries(Object.entries(template.Resources).filter(([id, r]) =>
    id.startsWith('Continuous') || ['AWS::Events::Rule', 'AWS::CloudWatch::Alarm'].includes(r.Type)));
  expect(mine).toMatchSnapshot();
});

test('cdk-nag: AwsSolutions and the library\'s own S3EncryptionChecks are clean over a stack that turns it on (imported bucket included)', () => {
  const { app, stack } = testStack();
  new EncryptedBucket(stack, 'SseS3');
  new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
  new ContinuousEncryptionCheck(stack, 'Continuous', { alarmTopic: new sns.Topic(stack, 'Alerts', { enforceSSL: true, masterKey: undefined }) });
  new EncryptionCheck(stack, 'ImportedCheck', { bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'imported-bucket') });
  for (const bucket of stack.node.findAll().filter((c) => c instanceof EncryptedBucket)) {
    Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'A data bucket choice of the test app (no access logs), not a resource of the library.' });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks() as never, new S3EncryptionChecks(app) as never);
  expect(() => app.synth()).not.toThrow();
  expect(Object.keys(resourcesOf(stack).Resources).some((id) => id.startsWith('Continuous'))).toBe(true);
  expect(CONTINUOUS_MARKER).toBeDefined();
});

test('cdk-nag HIPAA, NIST 800-53 R5 and PCI DSS 3.2.1: no finding on the continuous check\'s resources (the report grant\'s inline policy acknowledged with its reason)', () => {
  const { app, stack } = testStack();
  new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
  new ContinuousEncryptionCheck(stack, 'Continuous', { alarmTopic: new sns.Topic(stack, 'Alerts', { enforceSSL: true }) });
  app.synth({ validateOnSynthesis: false, force: true });
  for (const pack of [new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()]) {
    const report = pack.validateScope(app);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));
    expect(findings.filter((f) => f.includes('/Continuous/'))).toEqual([]);
  }
});
