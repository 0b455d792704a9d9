import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CustomerProvidedKeys, EncryptedBucket } from '../../../src';
import { RULES, denyStatement, flags, newStack } from '../helpers';

const rule = RULES.SSE_C_BLOCKED;

describe('S3Encryption-SseCBlocked', () => {
  test('an s3.Bucket with blockedEncryptionTypes SSE-C complies', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C] });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(false);
  });

  test('an s3.Bucket that leaves it unset is flagged (buckets created before April 2026 accept SSE-C)', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket');
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test('an explicit NONE is a finding, which an acknowledgement with a reason clears', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { blockedEncryptionTypes: [s3.BlockedEncryptionType.NONE] });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
    const allowed = new EncryptedBucket(stack, 'Partner', { customerProvidedKeys: CustomerProvidedKeys.ALLOW });
    expect(flags(stack, rule, 'Stack/Partner/Resource')).toBe(true);
    Validations.of(allowed).acknowledge({ id: rule, reason: 'The partner exchange encrypts with its own keys (SSE-C); versioning is on.' });
    expect(flags(stack, rule, 'Stack/Partner/Resource')).toBe(false);
  });

  test.each([
    ['Null false', { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } }, false],
    ['StringEquals AES256', { StringEquals: { 's3:x-amz-server-side-encryption-customer-algorithm': 'AES256' } }, false],
    ['Null true (denies uploads WITHOUT SSE-C)', { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'true' } }, true],
    ['a condition on another key', { Null: { 's3:x-amz-server-side-encryption': 'false' } }, true],
  ])('an L1 bucket with NONE and a policy deny with %s', (_name, condition, flagged) => {
    const stack = newStack();
    const raw = new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, blockedEncryptionTypes: { encryptionType: ['NONE'] } }] },
    });
    new s3.CfnBucketPolicy(stack, 'RawPolicy', {
      bucket: raw.ref,
      policyDocument: { Statement: [denyStatement({ action: 's3:PutObject', resource: `${raw.attrArn}/*`, condition })] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(flagged);
  });
});
