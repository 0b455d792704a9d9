import * as s3 from 'aws-cdk-lib/aws-s3';
import { RULES, flags, newStack } from '../helpers';

const rule = RULES.BUCKET_KEY;

describe('S3Encryption-BucketKey', () => {
  test.each([
    ['SSE-KMS with Bucket Keys', { encryption: s3.BucketEncryption.KMS, bucketKeyEnabled: true }, false],
    ['SSE-KMS with aws/s3 and Bucket Keys', { encryption: s3.BucketEncryption.KMS_MANAGED, bucketKeyEnabled: true }, false],
    ['SSE-KMS without Bucket Keys', { encryption: s3.BucketEncryption.KMS }, true],
    ['SSE-KMS with Bucket Keys off', { encryption: s3.BucketEncryption.KMS, bucketKeyEnabled: false }, true],
    ['DSSE-KMS (Bucket Keys unsupported)', { encryption: s3.BucketEncryption.DSSE }, false],
    ['SSE-S3', { encryption: s3.BucketEncryption.S3_MANAGED }, false],
  ])('an s3.Bucket with %s', (_name, props, flagged) => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', props);
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(flagged);
  });

  test('an L1 bucket with BucketKeyEnabled "true" (string) complies', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' }, bucketKeyEnabled: 'true' as any }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(false);
  });
});
