import { CfnResource } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { SEVERAL_POLICIES_NOTE, hasDeny } from '../analysis/bucket-statements';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { anyOf, conditionValues } from '../analysis/statements';

const KEY = 'aws:securetransport';

/** A bucket policy Deny for `aws:SecureTransport` false covers the bucket and its objects. */
export const TlsOnly: S3EncryptionRule = {
  id: 'TlsOnly',
  level: NagMessageLevel.ERROR,
  info: 'The S3 bucket policy has no statement that denies every principal all S3 actions on the bucket and its objects when aws:SecureTransport is false.',
  explanation: 'Without it, requests over plain HTTP are accepted and object data and request contents travel unencrypted. ' +
    'The statement must be a Deny, principal "*", action "s3:*", resources the bucket ARN and "<bucket ARN>/*", and no other condition that would narrow it. ' +
    SEVERAL_POLICIES_NOTE +
    'Fix: use EncryptedBucket, set `enforceSSL: true` on s3.Bucket, or apply `EnforceEncryption` (statement Sid DenyInsecureTransport).',
  check: (node: CfnResource) => {
    if (!s3.CfnBucket.isCfnBucket(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => hasDeny(node, {
      action: 's3:*',
      bucket: true,
      objects: true,
      allowedConditions: [`Bool/${KEY}`, `BoolIfExists/${KEY}`],
      conditions: (statement) => anyOf(['Bool', 'BoolIfExists'], (operator) => {
        const values = conditionValues(statement, operator, KEY);
        if (values === null) {
          return false;
        }
        return values === undefined ? undefined : values.length > 0 && values.every((v) => v.toLowerCase() === 'false');
      }),
    }));
  },
};
