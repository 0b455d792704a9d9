import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { bucketsEncryptedWith } from '../analysis/bucket';
import { S3EncryptionRule, verdict } from '../analysis/rule';

/** The KMS key of an SSE-KMS or DSSE-KMS bucket, when defined in the app, rotates automatically. */
export const KmsKeyRotation: S3EncryptionRule = {
  id: 'KmsKeyRotation',
  level: NagMessageLevel.ERROR,
  info: 'The KMS key is the default encryption key of an S3 bucket (SSE-KMS or DSSE-KMS) but automatic key rotation is not enabled.',
  explanation: 'Rotation limits how much data one key version protects and is required by most baselines (PCI DSS 3.6.4, NIST SC-12). Rotation keeps old key material, so existing objects stay readable. ' +
    'Fix: set `enableKeyRotation: true`, or use an S3EncryptionKey (rotation always on). Keys not defined in the app are not checked.',
  check: (node: CfnResource) => {
    if (!kms.CfnKey.isCfnKey(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      if (bucketsEncryptedWith(node).length === 0) {
        return undefined;
      }
      const rotation = node.stack.resolve(node.enableKeyRotation);
      if (rotation !== undefined && typeof rotation !== 'boolean' && rotation !== 'true' && rotation !== 'false') {
        return undefined;
      }
      return rotation === true || rotation === 'true';
    });
  },
};
