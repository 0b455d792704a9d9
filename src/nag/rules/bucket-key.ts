import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { defaultEncryptionOf } from '../analysis/bucket';
import { S3EncryptionRule, verdict } from '../analysis/rule';

/** An SSE-KMS bucket enables S3 Bucket Keys. */
export const BucketKey: S3EncryptionRule = {
  id: 'BucketKey',
  level: NagMessageLevel.WARN,
  info: 'The SSE-KMS bucket does not enable S3 Bucket Keys (BucketKeyEnabled true).',
  explanation: 'Without Bucket Keys every object operation calls KMS: up to 99 % more KMS requests, cost, and throttling risk under load (KMS request quotas are per account and region). ' +
    'With them, the KMS encryption context aws:s3:arn is the bucket ARN rather than the object ARN; adjust key policy conditions that pin object ARNs. ' +
    'DSSE-KMS does not support Bucket Keys and is not checked. Fix: set `bucketKeyEnabled: true` (EncryptedBucket and EnforceEncryption do by default for SSE-KMS).',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const encryption = defaultEncryptionOf(node);
      if (encryption.algorithm !== 'aws:kms') {
        return undefined;
      }
      const enabled = node.stack.resolve(encryption.bucketKeyEnabled);
      if (typeof enabled !== 'boolean' && enabled !== undefined && enabled !== 'true' && enabled !== 'false') {
        return undefined;
      }
      return enabled === true || enabled === 'true';
    });
  },
};
