import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { EncryptedBucket, S3EncryptionChecks } from '../../../src';
import { denyStatement, flags, newStack } from '../helpers';

const rule = S3EncryptionChecks.KMS_KEY_NOT_ALIAS;

function l1Bucket(stack: ReturnType<typeof newStack>, kmsMasterKeyId: string) {
  return new s3.CfnBucket(stack, 'Raw', {
    bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId } }] },
  });
}

describe('S3Encryption-KmsKeyNotAlias', () => {
  test('an s3.Bucket given Alias.fromAliasName is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryptionKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/data') });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test('an s3.Bucket given Key.fromKeyArn with an alias ARN is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryptionKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111111111111:alias/data') });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test('an s3.Bucket given a kms.Alias construct (a Ref to AWS::KMS::Alias) is flagged', () => {
    const stack = newStack();
    const alias = new kms.Alias(stack, 'Alias', { aliasName: 'alias/data', targetKey: new kms.Key(stack, 'Key') });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: alias });
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test.each(['alias/data', 'arn:aws:kms:eu-west-1:111111111111:alias/data'])('an L1 bucket with KMSMasterKeyID %s is flagged', (keyId) => {
    const stack = newStack();
    l1Bucket(stack, keyId);
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });

  test('a bucket policy whose key-id condition names an alias is flagged', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key');
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: key });
    bucket.addToResourcePolicy(iam.PolicyStatement.fromJson(denyStatement({
      action: 's3:PutObject',
      resource: bucket.arnForObjects('*'),
      condition: {
        StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:eu-west-1:111111111111:alias/data' },
        Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
      },
    })));
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(true);
  });

  test.each<[string, (stack: ReturnType<typeof newStack>) => void]>([
    ['an s3.Bucket with a kms.Key', (stack) => new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key') })],
    ['an s3.Bucket with a key ARN', (stack) => new s3.Bucket(stack, 'Bucket', {
      encryptionKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
    })],
    ['a KMS EncryptedBucket', (stack) => new EncryptedBucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS, verifyEncryption: false })],
    ['an SSE-S3 bucket', (stack) => new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.S3_MANAGED })],
  ])('%s complies', (_name, make) => {
    const stack = newStack();
    make(stack);
    expect(flags(stack, rule, 'Stack/Bucket/Resource')).toBe(false);
  });
});
