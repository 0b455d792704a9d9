import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { KMS_ALGORITHMS, defaultEncryptionOf } from '../analysis/bucket';
import { hasDeny } from '../analysis/bucket-statements';
import { findInApp, isObject, referenceTarget, resolveIn } from '../analysis/intrinsics';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement } from '../analysis/statements';

/** The headers a log delivery request does not send. */
const ENCRYPTION_KEYS = [
  's3:x-amz-server-side-encryption',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
  's3:x-amz-server-side-encryption-customer-algorithm',
];
const OPERATORS = ['Null', 'StringNotEquals', 'StringNotEqualsIfExists', 'StringNotLike', 'StringNotLikeIfExists', 'StringEquals', 'StringLike', 'StringEqualsIfExists', 'StringLikeIfExists'];

/**
 * Whether the statement's conditions all hold for an upload without any encryption header (how
 * S3 delivers server access logs): `Null: true` and negated operators hold on a missing key,
 * positive operators do not, `...IfExists` always does.
 */
function holdsWithoutHeaders(statement: NormalizedStatement): boolean | undefined {
  for (const [operator, block] of Object.entries(statement.conditions)) {
    for (const values of Object.values(block)) {
      if (values === undefined) {
        return undefined;
      }
      if (operator === 'Null') {
        if (!values.every((v) => v.toLowerCase() === 'true')) {
          return false;
        }
      } else if (!(operator.startsWith('StringNot') || operator.endsWith('IfExists'))) {
        return false;
      }
    }
  }
  return true;
}

/** The bucket a bucket's LoggingConfiguration delivers to: itself when no destination is named. */
function logTargetOf(bucket: s3.CfnBucket): s3.CfnBucket | undefined | null {
  const logging = resolveIn(bucket, bucket.loggingConfiguration);
  if (!isObject(logging)) {
    return null;
  }
  const declared = bucket.loggingConfiguration;
  const raw = isObject(declared) ? (declared as s3.CfnBucket.LoggingConfigurationProperty).destinationBucketName : undefined;
  if (raw === undefined && logging.destinationBucketName === undefined) {
    return bucket;
  }
  const referenced = referenceTarget(raw);
  if (referenced !== undefined) {
    return s3.CfnBucket.isCfnBucket(referenced) ? referenced : undefined;
  }
  const name = logging.destinationBucketName;
  if (typeof name !== 'string') {
    return undefined;
  }
  // A bucket of the app with that literal name, if any; otherwise the target is not in the app.
  return findInApp(bucket, 'CfnBucket', s3.CfnBucket.isCfnBucket).find((b) => resolveIn(b, b.bucketName) === name) ?? null;
}

/** A bucket's server access logs go to a bucket that can receive them: SSE-S3, and no policy that requires the encryption header. */
export const ServerAccessLogTarget: S3EncryptionRule = {
  id: 'ServerAccessLogTarget',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket delivers server access logs to a bucket that cannot receive them: the target\'s default encryption is SSE-KMS or DSSE-KMS, or its bucket policy denies uploads without an x-amz-server-side-encryption header.',
  explanation: 'S3 server access log delivery supports only SSE-S3 (AES256) as the default encryption of the destination bucket and sends no encryption header, so such a target never receives a log and nothing reports it. ' +
    'Fix: log to a bucket with default encryption SSE-S3 whose policy does not require the encryption header (an EncryptedBucket with the default encryption and encryptionHeaders DENY_MISMATCH).',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node) || node.loggingConfiguration === undefined) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const target = logTargetOf(node);
      if (target === null || target === undefined) {
        return undefined;
      }
      const { algorithm } = defaultEncryptionOf(target);
      if (algorithm !== undefined && KMS_ALGORITHMS.includes(algorithm)) {
        return false;
      }
      const refuses = hasDeny(target, {
        action: 's3:PutObject',
        bucket: false,
        objects: true,
        allowedConditions: OPERATORS.flatMap((operator) => ENCRYPTION_KEYS.map((key) => `${operator}/${key}`)),
        conditions: holdsWithoutHeaders,
      });
      return refuses === undefined ? undefined : !refuses;
    });
  },
};
