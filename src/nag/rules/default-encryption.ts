import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { SERVER_SIDE_ALGORITHMS, defaultEncryptionOf } from '../analysis/bucket';
import { S3EncryptionRule, verdict } from '../analysis/rule';

/** The bucket declares its default encryption: SSE-S3, SSE-KMS or DSSE-KMS. */
export const DefaultEncryption: S3EncryptionRule = {
  id: 'DefaultEncryption',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket does not declare its default encryption (BucketEncryption with SSEAlgorithm AES256, aws:kms or aws:kms:dsse).',
  explanation: 'S3 encrypts new objects with SSE-S3 anyway, but only a declared default is auditable, survives a review of the template and is what compliance rules read. ' +
    'Fix: use EncryptedBucket, set `encryption` on s3.Bucket, or apply `EnforceEncryption` to the bucket.',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const { algorithm } = defaultEncryptionOf(node);
      return algorithm !== undefined && SERVER_SIDE_ALGORITHMS.includes(algorithm);
    });
  },
};
