import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketEncryptionPolicy, EncryptedBucket, EncryptionHeaders, S3EncryptionChecks } from '../../../src';
import { flags, newStack } from '../helpers';

const rule = S3EncryptionChecks.SERVER_ACCESS_LOG_TARGET;

describe('S3Encryption-ServerAccessLogTarget', () => {
  test.each<[string, s3.BucketProps, boolean]>([
    ['SSE-S3', { encryption: s3.BucketEncryption.S3_MANAGED }, false],
    ['SSE-KMS with a key', { encryption: s3.BucketEncryption.KMS }, true],
    ['SSE-KMS with aws/s3', { encryption: s3.BucketEncryption.KMS_MANAGED }, true],
    ['DSSE-KMS', { encryption: s3.BucketEncryption.DSSE }, true],
  ])('an s3.Bucket logging to an s3.Bucket with %s', (_name, props, flagged) => {
    const stack = newStack();
    const logs = new s3.Bucket(stack, 'Logs', props);
    new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: logs });
    expect(flags(stack, rule, 'Stack/Source/Resource')).toBe(flagged);
  });

  test('an L1 bucket logging to an L1 bucket whose policy requires the encryption header is flagged', () => {
    const stack = newStack();
    const logs = new s3.CfnBucket(stack, 'Logs', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }] },
    });
    new s3.CfnBucketPolicy(stack, 'LogsPolicy', {
      bucket: logs.ref,
      policyDocument: {
        Statement: [{
          Sid: 'DenyMissingEncryptionHeader',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [logs.attrArn, '/*']] },
          Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
        }],
      },
    });
    new s3.CfnBucket(stack, 'Source', { loggingConfiguration: { destinationBucketName: logs.ref } });
    expect(flags(stack, rule, 'Stack/Source')).toBe(true);
  });

  test('a bucket logging to itself with SSE-KMS is flagged', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Source', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' } }] },
      loggingConfiguration: { logFilePrefix: 'logs/' },
    });
    expect(flags(stack, rule, 'Stack/Source')).toBe(true);
  });

  test('an EncryptedBucket with the defaults is a good log target; DENY_MISMATCH does not refuse header-less log delivery', () => {
    const stack = newStack();
    const logs = new EncryptedBucket(stack, 'Logs', { verifyEncryption: false });
    new EncryptedBucket(stack, 'Source', { serverAccessLogsBucket: logs, verifyEncryption: false });
    expect(flags(stack, rule, 'Stack/Source/Resource')).toBe(false);
  });

  test('EnforceEncryption-style REQUIRE on the target is flagged (the L2 refuses it at synth, the rule catches other constructs)', () => {
    const stack = newStack();
    const logs = new s3.Bucket(stack, 'Logs', { encryption: s3.BucketEncryption.S3_MANAGED });
    for (const statement of BucketEncryptionPolicy.statements(logs, { encryptionHeaders: EncryptionHeaders.REQUIRE })) {
      logs.addToResourcePolicy(statement);
    }
    new s3.Bucket(stack, 'Source', { serverAccessLogsBucket: logs });
    expect(flags(stack, rule, 'Stack/Source/Resource')).toBe(true);
  });

  test('a bucket without logging is not applicable', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Source', { encryption: s3.BucketEncryption.KMS });
    expect(flags(stack, rule, 'Stack/Source/Resource')).toBe(false);
  });
});
