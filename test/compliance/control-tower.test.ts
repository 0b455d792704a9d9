import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { SecureStorageStack } from '../../examples/secure-storage-stack';
import { CustomerProvidedKeys, EncryptedBucket, EncryptionCheck, S3EncryptionKey } from '../../src';
import { TEST_ENV } from '../util/template';
import { synthesizeReport } from '../util/validation-report';

/**
 * AWS Control Tower's proactive controls (the cfn-guard rules `@cdklabs/cdk-validator-cfnguard`
 * bundles, run by its own cfn-guard binary) over every encryption mode and the example app.
 *
 * The plugin sets no severity on its findings, and aws-cdk-lib recomputes a report's success
 * from the severities once any finding is acknowledged: one acknowledgement turns the whole
 * report into success. So these tests never assert that synthesis succeeds; they read
 * cdk.out/validation-report.json and assert on the findings themselves.
 */

// Each synthesis runs cfn-guard over whole templates: tens of seconds on a loaded machine.
jest.setTimeout(240_000);

/**
 * Controls that fail on a bucket because of a choice only the user can make. Each is documented
 * in docs/compliance.md with the property that satisfies it.
 */
const USER_CHOICES: Record<string, string> = {
  'CT.S3.PR.2': 'server access logging: where the logs go is the user\'s (serverAccessLogsBucket)',
  'CT.S3.PR.4': 'event notifications: what to notify is the user\'s (eventBridgeEnabled, addEventNotification)',
  'CT.S3.PR.9': 'Object Lock: retention is the user\'s (objectLockEnabled, objectLockDefaultRetention)',
  'CT.S3.PR.10': 'SSE-S3 (the default) instead of SSE-KMS: encryption KMS or DSSE satisfies it',
  'CT.S3.PR.3': 'versioning and a lifecycle policy: a retrofitted s3.Bucket keeps the user\'s lifecycle rules',
  'CT.S3.PR.6': 'a lifecycle policy: a retrofitted s3.Bucket keeps the user\'s lifecycle rules',
};

/**
 * Findings on the deploy-time check's own resources (src/encryption-check). They depend on the
 * shape of the check's handler and on its options (VPC, log group key: with both set through
 * EncryptionCheck.configureStack, none remain), so they are listed here by construct path below
 * the stack: update this list when the handler changes shape.
 */
const CHECK_RESOURCE_FINDINGS: readonly string[] = [
  'CT.CLOUDWATCH.PR.3 @ CdkS3EncryptionCheck/HandlerLogs/Resource',
  'CT.LAMBDA.PR.3 @ CdkS3EncryptionCheck/Handler/Resource',
];
const CHECK_PATH = /^CdkS3EncryptionCheck\//;

interface Finding {
  /** `CT.S3.PR.9` */
  readonly control: string;
  /** Construct path below the stack, e.g. `Kms/Resource`. */
  readonly path: string;
  readonly stack: string;
}

interface ControlTowerResult {
  readonly findings: Finding[];
  /** The report's `conclusion` for the plugin: what aws-cdk-lib made of it. */
  readonly conclusion: string;
  readonly suppressed: number;
}

/** Synthesizes `build`'s app with the validator into a temporary cdk.out and reads its report. */
function controlTower(build: (app: App) => void): ControlTowerResult {
  const report = synthesizeReport((app) => {
    build(app);
    Validations.of(app).addPlugins(new CfnGuardValidator());
  });
  const plugin = report.pluginReports.find((r) => r.pluginName === 'cdk-validator-cfnguard');
  if (!plugin) {
    // No findings at all leaves no plugin report.
    return { findings: [], conclusion: 'success', suppressed: 0 };
  }
  const findings: Finding[] = [];
  for (const violation of plugin.violations) {
    const control = /^\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(violation.description)?.[1];
    if (!control) {
      throw new Error(`a finding without a Control Tower control id: ${violation.description}`);
    }
    for (const construct of violation.violatingConstructs) {
      const [stack, ...rest] = construct.constructPath.split('/');
      findings.push({ control, stack, path: rest.join('/') });
    }
  }
  return { findings, conclusion: plugin.conclusion, suppressed: (plugin.suppressedViolations ?? []).length };
}

const describeFinding = (f: Finding) => `${f.control} @ ${f.path}`;

/** Every mode in one stack, synthesized once for the tests below. */
let modes: ControlTowerResult | undefined;
function everyEncryptionMode(): ControlTowerResult {
  modes ??= controlTower((app) => {
    const stack = new Stack(app, 'Modes', { env: TEST_ENV });
    new EncryptedBucket(stack, 'SseS3');
    new EncryptedBucket(stack, 'Kms', { encryption: s3.BucketEncryption.KMS });
    new EncryptedBucket(stack, 'KmsUserKey', { encryptionKey: new S3EncryptionKey(stack, 'UserKey') });
    new EncryptedBucket(stack, 'KmsManaged', { encryption: s3.BucketEncryption.KMS_MANAGED });
    new EncryptedBucket(stack, 'Dsse', { encryption: s3.BucketEncryption.DSSE });
    new EncryptedBucket(stack, 'DsseManaged', { encryption: s3.BucketEncryption.DSSE_MANAGED });
    new EncryptedBucket(stack, 'SseCAllowed', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
  });
  return modes;
}

describe('AWS Control Tower proactive controls (cfn-guard)', () => {
  test('every encryption mode: no finding on the library\'s keys, policies or roles; buckets only for the user\'s choices', () => {
    const { findings } = everyEncryptionMode();
    const onBuckets = findings.filter((f) => !CHECK_PATH.test(f.path));
    // Nothing but the bucket resources themselves: keys (CT.KMS.PR.1-3), bucket policies and roles pass.
    expect(onBuckets.filter((f) => !/^[A-Za-z0-9]+\/Resource$/.test(f.path) || f.path.startsWith('UserKey')).map(describeFinding)).toEqual([]);
    expect([...new Set(onBuckets.map((f) => f.control))].filter((c) => !(c in USER_CHOICES))).toEqual([]);
    // The KMS controls pass on every S3EncryptionKey, CT.KMS.PR.3 (CreateGrant) included.
    expect(findings.filter((f) => f.control.startsWith('CT.KMS.'))).toEqual([]);
  });

  test('SSE-KMS and DSSE-KMS buckets pass CT.S3.PR.10; SSE-S3 and the SSE-C bucket are the documented exception', () => {
    const pr10 = everyEncryptionMode().findings.filter((f) => f.control === 'CT.S3.PR.10').map((f) => f.path).sort();
    expect(pr10).toEqual(['SseCAllowed/Resource', 'SseS3/Resource']);
  });

  test('the check\'s own resources: exactly the listed findings (CT.LAMBDA.PR.3 VPC, CT.CLOUDWATCH.PR.3 log group key)', () => {
    const onCheck = everyEncryptionMode().findings.filter((f) => CHECK_PATH.test(f.path)).map(describeFinding).sort();
    expect(onCheck).toEqual([...CHECK_RESOURCE_FINDINGS].sort());
  });

  test('the check\'s handler in a VPC with a KMS-encrypted log group (EncryptionCheck.configureStack): no finding on the check\'s resources', () => {
    const { findings } = controlTower((app) => {
      const stack = new Stack(app, 'Configured', { env: TEST_ENV });
      const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
      });
      const logKey = kms.Key.fromKeyArn(stack, 'LogKey', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555');
      EncryptionCheck.configureStack(stack, { vpc, logGroupEncryptionKey: logKey });
      new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    });
    // The validator ran over the stack: the bucket's own user choices are still reported.
    expect(findings.some((f) => f.path === 'Bucket/Resource')).toBe(true);
    expect(findings.filter((f) => CHECK_PATH.test(f.path)).map(describeFinding)).toEqual([]);
  });

  test('the example app: only the user\'s choices and the check\'s listed findings', () => {
    const { findings } = controlTower((app) => {
      new SecureStorageStack(app, 'SecureStorage', { env: TEST_ENV });
    });
    expect(findings.length).toBeGreaterThan(0);
    const unexpected = findings.filter((f) => !(f.control in USER_CHOICES) && !CHECK_RESOURCE_FINDINGS.includes(describeFinding(f)));
    expect(unexpected.map(describeFinding)).toEqual([]);
    expect(findings.filter((f) => f.path.startsWith('SharedKey') || /\/Key\//.test(f.path))).toEqual([]);
  });

  test('a bucket whose user choices are made passes every bucket control', () => {
    const { findings } = controlTower((app) => {
      const stack = new Stack(app, 'Chosen', { env: TEST_ENV });
      const logs = new EncryptedBucket(stack, 'Logs');
      const bucket = new EncryptedBucket(stack, 'Records', { encryption: s3.BucketEncryption.KMS, objectLockEnabled: true, serverAccessLogsBucket: logs });
      // eventBridgeEnabled goes through aws-cdk-lib's notifications custom resource, which the
      // control cannot see (and whose Lambda function fails CT.LAMBDA.PR.3): set the L1 property.
      (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled', true);
    });
    expect(findings.filter((f) => f.path.startsWith('Records/')).map(describeFinding)).toEqual([]);
  });

  test('the validator really runs: a key with the default CDK key policy fails CT.KMS.PR.3', () => {
    const { findings } = controlTower((app) => {
      const stack = new Stack(app, 'PlainKey', { env: TEST_ENV });
      new kms.Key(stack, 'Key', { enableKeyRotation: true });
    });
    expect(findings.map(describeFinding)).toContain('CT.KMS.PR.3 @ Key/Resource');
  });

  test('trap: one acknowledged finding turns the whole report into success while other findings remain', () => {
    const { findings, conclusion, suppressed } = controlTower((app) => {
      const stack = new Stack(app, 'Trap', { env: TEST_ENV });
      const bucket = new s3.Bucket(stack, 'Plain');
      new kms.Key(stack, 'Key', { enableKeyRotation: true });
      Validations.of(bucket).acknowledge({ id: 'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check', reason: 'test' });
    });
    expect(suppressed).toBe(1);
    expect(findings.map(describeFinding)).toContain('CT.KMS.PR.3 @ Key/Resource');
    // What a pipeline that trusts `cdk synth`'s exit code would see: success.
    expect(conclusion).toBe('success');
  });
});
