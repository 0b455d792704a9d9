import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { KMS_ALGORITHMS, bucketPolicyStatements, defaultEncryptionOf, flattenedKeyId } from '../analysis/bucket';
import { referenceTarget } from '../analysis/intrinsics';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { anyOf } from '../analysis/statements';

const KEY_ID = 's3:x-amz-server-side-encryption-aws-kms-key-id';

/** A flattened key reference that names an alias: `alias/<name>` or `arn:<partition>:kms:<region>:<account>:alias/<name>`. */
function namesAlias(flattened: string): boolean {
  return /^alias\//.test(flattened) || /^arn:.*:kms:.*:alias\//.test(flattened);
}

/** Whether a `KMSMasterKeyID` (unresolved) names an alias: a literal alias or a reference to an `AWS::KMS::Alias`. */
function keyIdNamesAlias(bucket: s3.CfnBucket, keyId: unknown): boolean | undefined {
  if (kms.CfnAlias.isCfnAlias(referenceTarget(keyId))) {
    return true;
  }
  const flattened = flattenedKeyId(bucket, keyId);
  return flattened === undefined ? undefined : namesAlias(flattened);
}

/** The bucket's KMS key is named by its key ARN, not by an alias, in BucketEncryption and in the bucket policy. */
export const KmsKeyNotAlias: S3EncryptionRule = {
  id: 'KmsKeyNotAlias',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket names its KMS key by an alias (alias/<name>, an alias ARN, or a reference to an AWS::KMS::Alias) in KMSMasterKeyID or in the bucket policy\'s s3:x-amz-server-side-encryption-aws-kms-key-id condition.',
  explanation: 'S3 records the key ARN with each object and compares the key-id condition of a bucket policy with the key ARN the request resolves to, so a statement that names an alias never matches: ' +
    'a Deny of "any other key" then refuses every upload that names the key, and an Allow never applies. An alias can also be repointed to another key without any change to the bucket. ' +
    'Fix: name the key by its ARN (arn:aws:kms:<region>:<account>:key/<key-id>): pass the kms.Key construct, kms.Key.fromKeyArn with the key ARN, or kms.Key.fromLookup({ aliasName }) to resolve an alias at synth.',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const { algorithm, kmsMasterKeyId } = defaultEncryptionOf(node);
      const inEncryption = algorithm !== undefined && KMS_ALGORITHMS.includes(algorithm) && kmsMasterKeyId !== undefined
        ? keyIdNamesAlias(node, kmsMasterKeyId)
        : false;
      const inPolicy = anyOf(bucketPolicyStatements(node), (statements) => statements === undefined ? undefined : anyOf(statements, (statement) =>
        anyOf(Object.values(statement.conditions), (block) => {
          const values = block[KEY_ID];
          return values === undefined ? (KEY_ID in block ? undefined : false) : values.some(namesAlias);
        })));
      const namesAnAlias = anyOf([inEncryption, inPolicy], (v) => v);
      return namesAnAlias === undefined ? undefined : !namesAnAlias;
    });
  },
};
