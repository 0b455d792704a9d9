import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3EncryptionKey } from '../../../src';
import { RULES, flags, newStack } from '../helpers';

const rule = RULES.KMS_KEY_ROTATION;

describe('S3Encryption-KmsKeyRotation', () => {
  test('the key of an SSE-KMS bucket without rotation is flagged; with rotation it complies', () => {
    const stack = newStack();
    const still = new kms.Key(stack, 'Still');
    const rotating = new kms.Key(stack, 'Rotating', { enableKeyRotation: true });
    new s3.Bucket(stack, 'A', { encryptionKey: still });
    new s3.Bucket(stack, 'B', { encryption: s3.BucketEncryption.DSSE, encryptionKey: rotating });
    expect(flags(stack, rule, 'Stack/Still/Resource')).toBe(true);
    expect(flags(stack, rule, 'Stack/Rotating/Resource')).toBe(false);
  });

  test('an S3EncryptionKey complies', () => {
    const stack = newStack();
    new s3.Bucket(stack, 'A', { encryptionKey: new S3EncryptionKey(stack, 'Key') });
    expect(flags(stack, rule, 'Stack/Key/Resource')).toBe(false);
  });

  test('a key no bucket uses is not this pack\'s business', () => {
    const stack = newStack();
    new kms.Key(stack, 'Unrelated');
    expect(flags(stack, rule, 'Stack/Unrelated/Resource')).toBe(false);
  });

  test('a key in another stack, and a key used through an alias, are found', () => {
    const stack = newStack('Keys');
    const data = new Stack(stack.node.root, 'Data', { env: stack.env });
    const shared = new kms.Key(stack, 'Shared');
    new s3.Bucket(data, 'Bucket', { encryptionKey: shared });
    const aliased = new kms.CfnKey(stack, 'Aliased', { keyPolicy: {} });
    const alias = new kms.CfnAlias(stack, 'Alias', { aliasName: 'alias/data', targetKeyId: aliased.attrKeyId });
    new s3.CfnBucket(stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: alias.ref } }] },
    });
    expect(flags(stack, rule, 'Keys/Shared/Resource')).toBe(true);
    expect(flags(stack, rule, 'Keys/Aliased')).toBe(true);
  });
});
