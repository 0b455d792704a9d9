import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { bucketPoliciesOf, policiesOfImportedBucket } from '../analysis/bucket';
import { S3EncryptionRule, verdict } from '../analysis/rule';

/**
 * At most one `AWS::S3::BucketPolicy` targets the bucket, anywhere in the app. Reported on the
 * bucket, or on each policy when the bucket is not defined in the app.
 */
export const SingleBucketPolicy: S3EncryptionRule = {
  id: 'SingleBucketPolicy',
  level: NagMessageLevel.ERROR,
  info: 'More than one AWS::S3::BucketPolicy in the app targets this S3 bucket.',
  explanation: 'S3 keeps exactly one bucket policy per bucket: each AWS::S3::BucketPolicy replaces the whole policy, so whichever deploys last wins and the statements of the others silently disappear ' +
    '(a second policy with one unrelated Allow removes every Deny of the first: TLS-only, minimum TLS, SSE-C, encryption headers). Which one wins depends on deployment order and can change on any update. ' +
    'The policy-based rules of this pack count a Deny only if every policy of the bucket has it. ' +
    'Fix: keep one policy per bucket: add statements through the L2 bucket (`bucket.addToResourcePolicy`) or to the one existing s3.BucketPolicy, and remove the other AWS::S3::BucketPolicy resources. ' +
    'EnforceEncryption refuses to merge into a bucket with several policies for the same reason.',
  check: (node: CfnResource) => {
    if (s3.CfnBucket.isCfnBucket(node)) {
      return verdict(() => bucketPoliciesOf(node).length <= 1);
    }
    if (s3.CfnBucketPolicy.isCfnBucketPolicy(node)) {
      // A bucket that is not in the app (imported by name): reported on each of its policies.
      return verdict(() => {
        const policies = policiesOfImportedBucket(node);
        return policies === undefined ? undefined : policies.length <= 1;
      });
    }
    return NagRuleCompliance.NOT_APPLICABLE;
  },
};
