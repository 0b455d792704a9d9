import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3EncryptionKey } from '../../../src';
import { RULES, flags, newStack } from '../helpers';

const rule = RULES.KMS_KEY_VIA_SERVICE;

describe('S3Encryption-KmsKeyViaService', () => {
  test('an S3EncryptionKey complies', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new S3EncryptionKey(stack, 'Key') });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(false);
  });

  test('the default CDK key policy (kms:* for the account) is flagged', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'Bucket', { encryption: s3.BucketEncryption.KMS });
    expect(flags(stack, rule, 'Stack/Bucket/Key/Resource')).toBe(true);
  });

  test('a key policy with a crypto grant restricted to another service is flagged', () => {
    const stack = newStack();
    const policy = new iam.PolicyDocument({
      statements: [new iam.PolicyStatement({
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': 'sqs.eu-west-1.amazonaws.com' } },
      })],
    });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key', { policy, enableKeyRotation: true }) });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(true);
  });

  test('an administrative statement without crypto actions needs no condition', () => {
    const stack = newStack();
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ principals: [new iam.AccountRootPrincipal()], actions: ['kms:Describe*', 'kms:Put*', 'kms:Enable*'], resources: ['*'] }),
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:*crypt*', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } },
        }),
      ],
    });
    new s3.Bucket(stack, 'Bucket', { encryptionKey: new kms.Key(stack, 'Key', { policy, enableKeyRotation: true }) });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(false);
  });

  test('an L1 key without a key policy (CloudFormation\'s default) is flagged', () => {
    const stack = newStack();
    const key = new kms.CfnKey(stack, 'Raw', { enableKeyRotation: true });
    new s3.CfnBucket(stack, 'Bucket', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms:dsse', kmsMasterKeyId: key.attrArn } }] },
    });
    expect(flags(stack, rule, 'Stack/Raw')).toBe(true);
  });
});
