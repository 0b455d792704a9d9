import { Fn, CfnCondition } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RULES, flags, newStack } from '../helpers';

const rule = RULES.DEFAULT_ENCRYPTION;

describe('S3Encryption-DefaultEncryption', () => {
  test.each([
    ['SSE-S3', s3.BucketEncryption.S3_MANAGED],
    ['SSE-KMS', s3.BucketEncryption.KMS],
    ['SSE-KMS with aws/s3', s3.BucketEncryption.KMS_MANAGED],
    ['DSSE-KMS', s3.BucketEncryption.DSSE],
  ])('an s3.Bucket with %s complies', (_name, encryption) => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryption });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(false);
  });

  test('an s3.Bucket without encryption is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket');
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test('an L1 bucket with an encryption rule but no default is flagged', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ blockedEncryptionTypes: { encryptionType: ['SSE-C'] } }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });

  test('an L1 bucket with an unknown algorithm is flagged', () => {
    const stack = newStack();
    new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'none' } }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });

  test('an algorithm chosen by Fn::If is not applicable rather than a crash or a finding', () => {
    const stack = newStack();
    const prod = new CfnCondition(stack, 'Prod', { expression: Fn.conditionEquals('a', 'b') });
    new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: Fn.conditionIf(prod.logicalId, 'aws:kms', 'AES256').toString() } }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(false);
  });
});
