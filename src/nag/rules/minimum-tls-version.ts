import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { SEVERAL_POLICIES_NOTE, hasDeny } from '../analysis/bucket-statements';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement, conditionValues } from '../analysis/statements';

const KEY = 's3:tlsversion';
const OPERATORS: Record<string, (version: number, value: number) => boolean> = {
  NumericLessThan: (version, value) => version < value,
  NumericLessThanIfExists: (version, value) => version < value,
  NumericLessThanEquals: (version, value) => version <= value,
  NumericLessThanEqualsIfExists: (version, value) => version <= value,
};
/** The TLS versions a client can negotiate; S3 endpoints accept 1.2 and 1.3. */
const TLS_VERSIONS = [1.0, 1.1, 1.2, 1.3];

/**
 * Whether the statement's `s3:TlsVersion` condition denies TLS 1.0 and 1.1 but not TLS 1.3
 * (denying 1.3 as well would lock every client out).
 */
function deniesOutdatedTls(statement: NormalizedStatement): boolean | undefined {
  const denied = new Set<number>();
  for (const [operator, compare] of Object.entries(OPERATORS)) {
    const values = conditionValues(statement, operator, KEY);
    if (values === null) {
      continue;
    }
    if (values === undefined) {
      return undefined;
    }
    for (const raw of values) {
      const value = Number(raw);
      if (Number.isNaN(value)) {
        return undefined;
      }
      TLS_VERSIONS.filter((version) => compare(version, value)).forEach((version) => denied.add(version));
    }
  }
  return denied.has(1.0) && denied.has(1.1) && !denied.has(1.3);
}

/** A bucket policy Deny on `s3:TlsVersion` requires TLS 1.2 or higher for every request. */
export const MinimumTlsVersion: S3EncryptionRule = {
  id: 'MinimumTlsVersion',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket policy does not deny requests below TLS 1.2 (a Deny for every principal on "s3:*", bucket and objects, NumericLessThan s3:TlsVersion 1.2 or 1.3).',
  explanation: 'TLS 1.0 and 1.1 have known weaknesses and are no longer accepted by PCI DSS and most security baselines; aws:SecureTransport alone still accepts them. ' +
    'A minimum above 1.3 (for example 1.4) denies every request and makes the bucket unusable, and is reported too. ' +
    SEVERAL_POLICIES_NOTE +
    'Fix: use EncryptedBucket, set `minimumTLSVersion: 1.2` on s3.Bucket, or apply `EnforceEncryption` (statement Sid DenyOutdatedTls).',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => hasDeny(node, {
      action: 's3:*',
      bucket: true,
      objects: true,
      allowedConditions: Object.keys(OPERATORS).map((operator) => `${operator}/${KEY}`),
      conditions: deniesOutdatedTls,
    }));
  },
};
