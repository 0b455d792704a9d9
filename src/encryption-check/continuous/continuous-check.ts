import { Aws, Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { configurationChangePattern } from './event-pattern';
import {
  CONTINUOUS_INPUT_VERSION, CONTINUOUS_MARKER, METRIC_NAMES, METRIC_NAMESPACE, REPORT_EVENT, Trigger,
} from './types';
import { validationError } from '../../errors';
import { StackEncryptionCheck } from '../stack-check';
import { CheckEntry } from '../types';

/** Properties of a `ContinuousEncryptionCheck`. */
export interface ContinuousEncryptionCheckProps {
  /**
   * How often every bucket of the stack's encryption check is proven again.
   *
   * @default Schedule.rate(Duration.days(1))
   */
  readonly schedule?: events.Schedule;

  /**
   * Whether a change to a checked bucket's policy, encryption, versioning, ownership controls,
   * Object Lock or public access block re-runs that bucket's check within minutes. The rule
   * matches the "AWS API Call via CloudTrail" events EventBridge receives only when a CloudTrail
   * trail records management events in the stack's region (see docs/continuous-verification.md).
   *
   * @default true
   */
  readonly checkOnConfigurationChange?: boolean;

  /**
   * Where the violations alarm sends its ALARM and OK notifications.
   *
   * @default - the alarm notifies nobody; watch it, or add actions to `violationsAlarm`
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Whether each run puts its report on the account's default event bus (source
   * `cdk-s3-encryption.encryption-check`, detail-type `S3 Encryption Check Report`).
   *
   * @default true
   */
  readonly publishReportEvents?: boolean;
}

/** Why the report event grant is a policy of its own, attached to the check's role only. */
const REPORT_POLICY_REASON = 'One statement: events:PutEvents on the default event bus only, with events:source and events:detail-type pinned to the report event, attached only to the encryption check\'s role and created and deleted with the ContinuousEncryptionCheck. A customer managed policy would grant nothing less and would take one of the ten managed-policy slots the role uses for imported buckets\' grants.';

/** EventBridge's limit on a target's `Input` (and an input transformer's template), in characters. */
const TARGET_INPUT_LIMIT = 8_192;
/** EventBridge's limit on targets per rule. */
const TARGETS_PER_RULE = 5;
/** EventBridge's default quota on an event pattern's size, in characters (adjustable to 4,096). */
const EVENT_PATTERN_LIMIT = 2_048;
const BUCKET_NAME_MAX = 63;
/** What a token may take once resolved: bucket names are at most 63 characters, key ARNs about 100. */
const TOKEN_ESTIMATE = 128;

/**
 * Proves the buckets of the stack's encryption check again after deployment: on a schedule and
 * within minutes of a change to a checked bucket's configuration, with the same Lambda function
 * and the same guarantees as the deploy-time check. A run never fails anything: it writes a
 * CloudWatch metric per bucket (namespace `CdkS3Encryption/EncryptionCheck`), drives an alarm on
 * violations and unproven buckets, logs what S3 answered and puts a report event on the default
 * event bus.
 *
 * At most one per stack. It covers every bucket the stack's check covers (`EncryptedBucket`s
 * with `verifyEncryption`, and `EncryptionCheck`s), including those added after it.
 */
export class ContinuousEncryptionCheck extends Construct {
  /** The CloudWatch namespace of the metrics. */
  public static readonly METRIC_NAMESPACE = METRIC_NAMESPACE;

  /** The rule that runs the check on the schedule. */
  public readonly scheduleRule: events.IRule;
  /** The rule that runs a bucket's check after a change to its configuration; absent when turned off. */
  public readonly configurationChangeRule?: events.IRule;
  /** In ALARM while the latest run found violations or could not prove a bucket. */
  public readonly violationsAlarm: cloudwatch.Alarm;

  private readonly stackCheck: StackEncryptionCheck;

  constructor(scope: Construct, id: string, props: ContinuousEncryptionCheckProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const existing = stack.node.findAll().find((c) => c instanceof ContinuousEncryptionCheck && c !== this);
    if (existing) {
      throw validationError(this, 'ContinuousEncryptionCheckTwice', `the stack already has a ContinuousEncryptionCheck (${existing.node.path}); one covers every checked bucket of the stack, so remove this one.`);
    }
    this.stackCheck = StackEncryptionCheck.of(this);
    const handler = this.stackCheck.handler;

    const scheduleRule = new events.CfnRule(this, 'ScheduleRule', {
      description: `cdk-s3-encryption: proves the encryption of the buckets of stack ${stack.stackName} on a schedule`,
      scheduleExpression: (props.schedule ?? events.Schedule.rate(Duration.days(1))).expressionString,
      state: 'ENABLED',
      targets: Lazy.any({ produce: () => this.targets('SCHEDULE') }),
    });
    this.permit(scheduleRule, 'ScheduleInvoke', handler);
    this.scheduleRule = events.Rule.fromEventRuleArn(this, 'ScheduleRuleRef', scheduleRule.attrArn);

    if (props.checkOnConfigurationChange ?? true) {
      const changeRule = new events.CfnRule(this, 'ConfigurationChangeRule', {
        description: `cdk-s3-encryption: proves a bucket of stack ${stack.stackName} again after a change to its configuration`,
        eventPattern: Lazy.any({ produce: () => this.changePattern() }),
        state: 'ENABLED',
        targets: Lazy.any({ produce: () => this.targets('CONFIGURATION_CHANGE') }),
      });
      this.permit(changeRule, 'ConfigurationChangeInvoke', handler);
      this.configurationChangeRule = events.Rule.fromEventRuleArn(this, 'ConfigurationChangeRuleRef', changeRule.attrArn);
    }

    if (props.publishReportEvents ?? true) {
      const reportEvents = new iam.Policy(this, 'ReportEventsPolicy', {
        roles: [this.stackCheck.role],
        statements: [new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
          // Only the report event: a fixed source and detail-type.
          conditions: { StringEquals: { 'events:source': REPORT_EVENT.source, 'events:detail-type': REPORT_EVENT.detailType } },
        })],
      });
      for (const finding of ['HIPAA.Security-IAMNoInlinePolicy', 'NIST.800.53.R5-IAMNoInlinePolicy', 'PCI.DSS.321-IAMNoInlinePolicy']) {
        Validations.of(reportEvents).acknowledge({ id: finding, reason: REPORT_POLICY_REASON });
      }
      handler.addEnvironment('REPORT_EVENTS', 'default');
    }

    this.violationsAlarm = new cloudwatch.Alarm(this, 'ViolationsAlarm', {
      alarmDescription: `S3 buckets of stack ${stack.stackName} do not behave as their encryption settings declare, or could not be proven (cdk-s3-encryption ContinuousEncryptionCheck). The check handler's log names the bucket and what S3 answered.`,
      metric: new cloudwatch.MathExpression({
        expression: 'violations + incomplete',
        usingMetrics: { violations: this.metricViolations(), incomplete: this.metric(METRIC_NAMES.incomplete) },
        label: 'Violations and unproven buckets',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Runs are hours apart: between them the alarm keeps the latest run's verdict.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      this.violationsAlarm.addAlarmAction(action);
      this.violationsAlarm.addOkAction(action);
    }

    this.node.addValidation({ validate: () => this.validateInputSizes() });
  }

  /** Violations the runs found in the stack's buckets (the sum over buckets, per run). */
  public metricViolations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.violations, props);
  }

  /** Expectations the runs could not verify in the stack's buckets (the sum over buckets, per run). */
  public metricUnverified(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.unverified, props);
  }

  /** Violations the runs found in one bucket. */
  public metricBucketViolations(bucket: s3.IBucket, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC_NAMES.violations, props, bucket.bucketName);
  }

  private metric(name: string, props: cloudwatch.MetricOptions = {}, bucketName?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: name,
      dimensionsMap: { StackName: Aws.STACK_NAME, ...(bucketName ? { Bucket: bucketName } : {}) },
      statistic: cloudwatch.Stats.MAXIMUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Lets `rule` (and nothing else) invoke the handler. */
  private permit(rule: events.CfnRule, id: string, handler: lambda.IFunction): void {
    new lambda.CfnPermission(this, id, {
      action: 'lambda:InvokeFunction',
      functionName: handler.functionArn,
      principal: 'events.amazonaws.com',
      sourceArn: rule.attrArn,
    });
  }

  private entries(): CheckEntry[] {
    return this.stackCheck.checkEntries;
  }

  /**
   * The rule's targets: the stack's buckets packed into as few target inputs as fit EventBridge's
   * 8,192-character limit (estimated with every token at its longest), up to five per rule.
   */
  private targets(trigger: Trigger): events.CfnRule.TargetProperty[] {
    const stack = Stack.of(this);
    return this.chunks().map((chunk, index) => {
      const input = {
        [CONTINUOUS_MARKER]: CONTINUOUS_INPUT_VERSION,
        Trigger: trigger,
        StackName: Aws.STACK_NAME,
        Buckets: chunk,
      };
      const target = { id: `Buckets${index + 1}`, arn: this.stackCheck.handler.functionArn };
      if (trigger === 'SCHEDULE') {
        return { ...target, input: stack.toJsonString(input) };
      }
      // The changed bucket's name and the API call come from the CloudTrail event.
      return {
        ...target,
        inputTransformer: {
          inputPathsMap: { bucket: '$.detail.requestParameters.bucketName', eventName: '$.detail.eventName' },
          inputTemplate: stack.toJsonString({ ...input, ChangedBucket: '<bucket>', EventName: '<eventName>' }),
        },
      };
    });
  }

  /**
   * The change rule's pattern, filtered to the stack's bucket names when they fit EventBridge's
   * default pattern limit of 2,048 characters (estimated with every name at 63 characters); for
   * more buckets it matches the configuration calls of any bucket, and the handler checks only
   * the buckets in its input (a change to another bucket is a no-op invocation).
   */
  private changePattern(): Record<string, unknown> {
    const filtered = configurationChangePattern(this.entries().map((e) => e.BucketName));
    return estimatedLength(Stack.of(this).resolve(filtered), BUCKET_NAME_MAX) <= EVENT_PATTERN_LIMIT ? filtered : configurationChangePattern();
  }

  private chunks(): CheckEntry[][] {
    const chunks: CheckEntry[][] = [];
    let size = TARGET_INPUT_OVERHEAD;
    for (const entry of this.entries()) {
      const entrySize = estimatedLength(Stack.of(this).resolve(entry)) + 1;
      if (chunks.length === 0 || size + entrySize > TARGET_INPUT_LIMIT) {
        chunks.push([]);
        size = TARGET_INPUT_OVERHEAD;
      }
      chunks[chunks.length - 1].push(entry);
      size += entrySize;
    }
    return chunks;
  }

  private validateInputSizes(): string[] {
    const count = this.chunks().length;
    if (count === 0) {
      return ['the stack has no checked bucket: a ContinuousEncryptionCheck covers the buckets of the stack\'s EncryptionChecks (EncryptedBucket with verifyEncryption, or EncryptionCheck); add one or remove the ContinuousEncryptionCheck.'];
    }
    if (count > TARGETS_PER_RULE) {
      return [`the expectations of the stack's ${this.entries().length} checked buckets need ${count} EventBridge target inputs of at most ${TARGET_INPUT_LIMIT} characters, more than the ${TARGETS_PER_RULE} targets a rule can have; split the buckets over several stacks.`];
    }
    return [];
  }
}

/** The input's fixed fields, the changed bucket and event name (template placeholders) and JSON punctuation. */
const TARGET_INPUT_OVERHEAD = 300;

/** The JSON length of a resolved value with every intrinsic counted at `tokenLength` characters. */
function estimatedLength(resolved: unknown, tokenLength: number = TOKEN_ESTIMATE): number {
  return JSON.stringify(resolved, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
        return 'x'.repeat(tokenLength);
      }
    }
    return value;
  }).length;
}
