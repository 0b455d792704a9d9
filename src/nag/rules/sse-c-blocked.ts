import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { defaultEncryptionOf } from '../analysis/bucket';
import { SEVERAL_POLICIES_NOTE, hasDeny } from '../analysis/bucket-statements';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement, anyOf, conditionValues } from '../analysis/statements';

const KEY = 's3:x-amz-server-side-encryption-customer-algorithm';

/** The canonical SSE-C deny: the SSE-C algorithm header is present (or names AES256, its only value). */
function deniesSseCHeader(statement: NormalizedStatement): boolean | undefined {
  return anyOf<[string, (v: string) => boolean]>([
    ['Null', (v) => v.toLowerCase() === 'false'],
    ['StringEquals', (v) => v === 'AES256'],
    ['StringEqualsIgnoreCase', (v) => v.toLowerCase() === 'aes256'],
    ['StringLike', (v) => v === '*' || v === 'AES256'],
  ], ([operator, test]) => {
    const values = conditionValues(statement, operator, KEY);
    if (values === null) {
      return false;
    }
    return values === undefined ? undefined : values.some(test);
  });
}

/** SSE-C uploads are blocked by the bucket setting or by a bucket policy Deny. */
export const SseCBlocked: S3EncryptionRule = {
  id: 'SseCBlocked',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket accepts SSE-C uploads: its BlockedEncryptionTypes is NONE or does not list SSE-C, and no bucket policy statement denies s3:PutObject requests that carry the SSE-C algorithm header.',
  explanation: 'SSE-C (customer-provided keys) has been used in ransomware attacks: leaked credentials re-encrypted objects with keys S3 never stores, then deleted the originals. ' +
    'New buckets block SSE-C by default only since April 2026, not in Middle East (Bahrain) me-south-1 and Middle East (UAE) me-central-1, and only if the template leaves it unset; an explicit NONE re-allows it. ' +
    SEVERAL_POLICIES_NOTE +
    'Fix: use EncryptedBucket (customerProvidedKeys BLOCK, the default), set `blockedEncryptionTypes: [s3.BlockedEncryptionType.SSE_C]`, or apply `EnforceEncryption`. ' +
    'If a workload really needs SSE-C, acknowledge this rule on that bucket with the workload named in the reason (S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, reason), which also silences EncryptedBucket\'s SSE-C warning and keeps the reason in cdk.out/validation-report.json), and keep versioning on.',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      const { blockedEncryptionTypes } = defaultEncryptionOf(node);
      if (blockedEncryptionTypes?.includes('SSE-C')) {
        return true;
      }
      return hasDeny(node, {
        action: 's3:PutObject',
        bucket: false,
        objects: true,
        allowedConditions: ['Null', 'StringEquals', 'StringEqualsIgnoreCase', 'StringLike'].map((operator) => `${operator}/${KEY}`),
        conditions: deniesSseCHeader,
      });
    });
  },
};
