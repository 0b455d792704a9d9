import { CfnResource, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { KMS_ALGORITHMS, SERVER_SIDE_ALGORITHMS, defaultEncryptionOf, flattenedKeyId } from '../analysis/bucket';
import { SEVERAL_POLICIES_NOTE, hasDeny } from '../analysis/bucket-statements';
import { findInApp, globMatches, logicalIdOf } from '../analysis/intrinsics';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement, allOf, conditionValues } from '../analysis/statements';

const SSE = 's3:x-amz-server-side-encryption';
const KEY_ID = 's3:x-amz-server-side-encryption-aws-kms-key-id';
const NEGATED = ['StringNotEquals', 'StringNotEqualsIfExists', 'StringNotLike', 'StringNotLikeIfExists'];
const allowedFor = (key: string) => [...NEGATED, 'Null'].map((operator) => `${operator}/${key}`);

/**
 * The negated string condition on `key` and what it lets through. A `Null` condition on the same
 * key may only be `false` (deny only when the header is present); `Null: true` would deny only
 * requests *without* the header, which is a different statement.
 */
function negatedValues(statement: NormalizedStatement, key: string): { values: string[] | null; like: boolean } | undefined {
  const nulls = conditionValues(statement, 'Null', key);
  if (nulls === undefined) {
    return undefined;
  }
  if (nulls !== null && !nulls.every((v) => v.toLowerCase() === 'false')) {
    return { values: null, like: false };
  }
  for (const operator of NEGATED) {
    const values = conditionValues(statement, operator, key);
    if (values === undefined) {
      return undefined;
    }
    if (values !== null) {
      return { values, like: operator.startsWith('StringNotLike') };
    }
  }
  // A lone `Null: false` denies every request that sends the header, mismatched ones included.
  return nulls === null ? { values: null, like: false } : { values: [], like: false };
}

/** Denies every `x-amz-server-side-encryption` value other than the bucket's algorithm. */
function deniesMismatchedAlgorithm(algorithm: string) {
  return (statement: NormalizedStatement): boolean | undefined => {
    const negated = negatedValues(statement, SSE);
    if (negated === undefined || negated.values === null) {
      return negated === undefined ? undefined : false;
    }
    const { values, like } = negated;
    const letThrough = SERVER_SIDE_ALGORITHMS.filter((a) => values.some((v) => (like ? globMatches(v, a) : v === a)));
    return letThrough.every((a) => a === algorithm);
  };
}

/** How a key-id condition value compares with the bucket's key. */
type KeyComparison = 'same' | 'different' | 'unknown';

/** A value that is only a reference to a resource (`<Id>` or `<Id.Attr>`), not a pseudo parameter. */
const REFERENCE = /^<([^<>.:]+)(?:\.[^<>]+)?>$/;

/**
 * Compares a key-id condition value with the bucket's key, both flattened. Two literals compare
 * as strings; two references to different `AWS::KMS::Key` resources of the bucket's stack are
 * different keys. A literal ARN against a reference, an alias, an import or the same key in
 * another form cannot be compared at synth time.
 */
function compareKeys(bucket: s3.CfnBucket, value: string, keyId: string): KeyComparison {
  if (value === keyId) {
    return 'same';
  }
  if (!value.includes('<') && !keyId.includes('<')) {
    return 'different';
  }
  const a = REFERENCE.exec(value)?.[1];
  const b = REFERENCE.exec(keyId)?.[1];
  if (a === undefined || b === undefined || a === b) {
    return 'unknown';
  }
  return isKeyOfStack(bucket, a) && isKeyOfStack(bucket, b) ? 'different' : 'unknown';
}

/** Whether `logicalId` is an `AWS::KMS::Key` of the bucket's stack. */
function isKeyOfStack(bucket: s3.CfnBucket, logicalId: string): boolean {
  const stack = Stack.of(bucket);
  return findInApp(bucket, 'CfnKey', kms.CfnKey.isCfnKey).some((key) => Stack.of(key) === stack && logicalIdOf(key) === logicalId);
}

/** Denies every `x-amz-server-side-encryption-aws-kms-key-id` other than the bucket's key. */
function deniesForeignKey(bucket: s3.CfnBucket, keyId: string | undefined) {
  return (statement: NormalizedStatement): boolean | undefined => {
    const negated = negatedValues(statement, KEY_ID);
    if (negated === undefined || negated.values === null) {
      return negated === undefined ? undefined : false;
    }
    if (negated.values.length === 0) {
      return true;
    }
    if (keyId === undefined) {
      // The AWS managed key aws/s3 has no ARN at synth time; any named key is someone else's.
      return false;
    }
    // Every value the condition lets through must be the bucket's key; a glob lets through others.
    const comparisons = negated.values.map((v) => (negated.like && /[*?]/.test(v) ? 'different' : compareKeys(bucket, v, keyId)));
    if (comparisons.includes('different')) {
      return false;
    }
    return comparisons.every((c) => c === 'same') ? true : undefined;
  };
}

/** Uploads whose encryption headers name another algorithm (or, for KMS, another key) are denied. */
export const EncryptionHeaders: S3EncryptionRule = {
  id: 'EncryptionHeaders',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket policy does not deny uploads whose x-amz-server-side-encryption header names another algorithm than the bucket default (and, for SSE-KMS and DSSE-KMS, uploads whose key-id header names another key).',
  explanation: 'A client can override the bucket default per object: with SSE-S3 on a KMS bucket, or with a key the bucket owner does not control, objects escape the key policy and its audit trail. ' +
    'Deny s3:PutObject for every principal with StringNotEquals on the header and Null false on the same key in one condition block; a lone StringNotEquals also denies uploads that send no header, which breaks the AWS CLI, multipart uploads and AWS log delivery. ' +
    SEVERAL_POLICIES_NOTE +
    'Fix: use EncryptedBucket or apply `EnforceEncryption` (statement Sids DenyMismatchedEncryptionHeader and DenyForeignKmsKey).',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const encryption = defaultEncryptionOf(node);
      // Without a declared default, S3 applies SSE-S3 (AES256) to every new object.
      const algorithm = encryption.algorithm ?? 'AES256';
      if (!SERVER_SIDE_ALGORITHMS.includes(algorithm)) {
        return false;
      }
      const shape = { action: 's3:PutObject', bucket: false, objects: true };
      const checks = [hasDeny(node, { ...shape, allowedConditions: allowedFor(SSE), conditions: deniesMismatchedAlgorithm(algorithm) })];
      if (KMS_ALGORITHMS.includes(algorithm)) {
        const keyId = flattenedKeyId(node, encryption.kmsMasterKeyId);
        checks.push(hasDeny(node, { ...shape, allowedConditions: allowedFor(KEY_ID), conditions: deniesForeignKey(node, keyId) }));
      }
      return allOf(checks);
    });
  },
};
