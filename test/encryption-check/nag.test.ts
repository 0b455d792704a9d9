import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { EncryptedBucket, EncryptionCheck } from '../../src';
import { TEST_ENV } from '../util/template';
import { synthesizeReport } from '../util/validation-report';

/**
 * The four standard packs over a stack with EncryptedBuckets (SSE-S3, SSE-KMS), a bucket of
 * another stack and an imported bucket and key, each with an EncryptionCheck. The library
 * acknowledges findings only on the handler, provider, roles, policies and log groups it
 * creates; the data buckets' own findings are the user's choices and are acknowledged here, in
 * the test, per bucket.
 */
const BUCKET_CHOICES = [
  'AwsSolutions-S1', 'HIPAA.Security-S3BucketLoggingEnabled', 'NIST.800.53.R5-S3BucketLoggingEnabled', 'PCI.DSS.321-S3BucketLoggingEnabled',
  'HIPAA.Security-S3BucketReplicationEnabled', 'NIST.800.53.R5-S3BucketReplicationEnabled', 'PCI.DSS.321-S3BucketReplicationEnabled',
  'HIPAA.Security-S3DefaultEncryptionKMS', 'NIST.800.53.R5-S3DefaultEncryptionKMS', 'PCI.DSS.321-S3DefaultEncryptionKMS',
  'HIPAA.Security-S3BucketVersioningEnabled', 'NIST.800.53.R5-S3BucketVersioningEnabled', 'PCI.DSS.321-S3BucketVersioningEnabled',
  'AwsSolutions-S10', 'HIPAA.Security-S3BucketSSLRequestsOnly', 'NIST.800.53.R5-S3BucketSSLRequestsOnly', 'PCI.DSS.321-S3BucketSSLRequestsOnly',
];

const packs = (): NagPack[] => [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];

function checkedApp(app: App = new App({ stackTraces: false })): { app: App; buckets: s3.Bucket[] } {
  const data = new Stack(app, 'Data', { env: TEST_ENV });
  const elsewhere = new s3.Bucket(data, 'Elsewhere', { enforceSSL: true, versioned: true, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
  const stack = new Stack(app, 'Checked', { env: TEST_ENV });
  const buckets = [
    new EncryptedBucket(stack, 'SseS3'),
    new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS }),
    elsewhere,
  ];
  new EncryptionCheck(stack, 'ElsewhereCheck', { bucket: elsewhere });
  const key = kms.Key.fromKeyArn(stack, 'ImportedKey', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-4333-8444-555555555555');
  new EncryptionCheck(stack, 'ImportedCheck', {
    bucket: s3.Bucket.fromBucketAttributes(stack, 'Imported', { bucketName: 'imported-bucket', encryptionKey: key }),
  });
  return { app, buckets };
}

test('AwsSolutions, HIPAA, NIST 800-53 R5 and PCI DSS 3.2.1: synth does not throw', () => {
  const { app, buckets } = checkedApp();
  for (const bucket of buckets) {
    for (const id of BUCKET_CHOICES) {
      Validations.of(bucket).acknowledge({ id, reason: 'A data bucket choice of the test app, not a resource of the library.' });
    }
  }
  Validations.of(app).addPlugins(...packs() as never[]);
  expect(() => app.synth()).not.toThrow();
});

test('without the test\'s bucket acknowledgements, every finding is on a data bucket, none on the check\'s resources', () => {
  // Read from cdk.out/validation-report.json, what a reviewer keeps: the library acknowledges in
  // the prefixed form, which cdk-nag's own validateScope does not apply (aws-cdk-lib does).
  const report = synthesizeReport((app) => {
    checkedApp(app);
    Validations.of(app).addPlugins(...packs() as never[]);
  });
  const findings = report.pluginReports.flatMap((plugin) => plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`)));
  expect(report.failed).toBe(true);
  expect(findings.length).toBeGreaterThan(0);
  for (const finding of findings) {
    expect(finding).toMatch(/ @ (Checked\/(SseS3|SseKms)|Data\/Elsewhere)\/Resource$/);
  }
  // The library's own acknowledgements are listed, each with its reason.
  const suppressed = report.pluginReports.flatMap((plugin) => (plugin.suppressedViolations ?? [])
    .filter((v) => v.violatingConstructs.some((c) => c.constructPath.startsWith('Checked/CdkS3EncryptionCheck'))));
  expect(suppressed.length).toBeGreaterThan(0);
  expect(suppressed.every((v) => (v.reason ?? '').length > 40)).toBe(true);
});

test('with the handler in a VPC and its log group encrypted (configureStack): still no finding on the check\'s resources, the VPC policy acknowledged narrowly', () => {
  const report = synthesizeReport((app) => {
    const stack = new Stack(app, 'Configured', { env: TEST_ENV });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
    });
    EncryptionCheck.configureStack(stack, { vpc, logGroupEncryptionKey: new kms.Key(stack, 'LogKey', { enableKeyRotation: true }) });
    new EncryptedBucket(stack, 'SseKms', { encryption: s3.BucketEncryption.KMS });
    Validations.of(app).addPlugins(...packs() as never[]);
  });
  const findings = report.pluginReports.flatMap((plugin) => plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`)));
  expect(findings.length).toBeGreaterThan(0);
  for (const finding of findings) {
    expect(finding).toMatch(/ @ Configured\/SseKms\/Resource$/);
  }
  const suppressedOnCheck = report.pluginReports.flatMap((plugin) => (plugin.suppressedViolations ?? [])
    .filter((v) => v.violatingConstructs.some((c) => c.constructPath.startsWith('Configured/CdkS3EncryptionCheck'))));
  const ids = suppressedOnCheck.map((v) => v.ruleName);
  // The one managed policy Lambda needs in a VPC, by its exact name; nothing about VPC placement
  // or log group encryption is acknowledged any more, since neither finding arises.
  expect(suppressedOnCheck.filter((v) => v.ruleName.startsWith('AwsSolutions-IAM4')).flatMap((v) => v.violatingConstructs.map((c) => c.constructPath)))
    .toEqual(['Configured/CdkS3EncryptionCheck/HandlerRole/Resource']);
  expect(ids.filter((id) => /LambdaInsideVPC|CloudWatchLogGroupEncrypted/.test(id))).toEqual([]);
});
