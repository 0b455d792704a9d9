import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { bucketsEncryptedWith } from '../analysis/bucket';
import { resolveIn } from '../analysis/intrinsics';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement, allOf, conditionValues, coversAction, normalizeStatements } from '../analysis/statements';

/** The KMS actions that encrypt or decrypt data: the ones kms:ViaService must confine to S3. */
const CRYPTOGRAPHIC_ACTIONS = [
  'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
];
const VIA_SERVICE = 'kms:viaservice';
const OPERATORS = ['StringEquals', 'StringLike', 'StringEqualsIgnoreCase', 'ForAnyValue:StringEquals', 'ForAnyValue:StringLike'];

/** Whether an Allow statement that grants cryptographic use limits it to S3 through kms:ViaService. */
function restrictedToS3(statement: NormalizedStatement): boolean | undefined {
  const grantsCrypto = CRYPTOGRAPHIC_ACTIONS.map((action) => coversAction(statement, action));
  if (statement.effect !== 'Allow' || grantsCrypto.every((g) => g === false)) {
    return true;
  }
  for (const operator of OPERATORS) {
    const values = conditionValues(statement, operator, VIA_SERVICE);
    if (values === undefined) {
      return undefined;
    }
    if (values !== null && values.length > 0) {
      // `s3.<region>.amazonaws.com`, possibly built from AWS::Region / AWS::URLSuffix or a glob.
      return values.every((v) => v.toLowerCase().startsWith('s3.'));
    }
  }
  return false;
}

/** The key policy of a bucket's KMS key allows cryptographic use only through S3 (kms:ViaService). */
export const KmsKeyViaService: S3EncryptionRule = {
  id: 'KmsKeyViaService',
  level: NagMessageLevel.ERROR,
  info: 'The KMS key encrypts an S3 bucket but its key policy allows cryptographic actions (Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*) without a kms:ViaService condition limiting them to s3.<region>.amazonaws.com.',
  explanation: 'A principal that can read the encrypted objects (or obtains data keys) could otherwise use the key directly, outside S3, for example to decrypt exported ciphertext or encrypt other data; ' +
    'kms:ViaService ties every use of the key to a request S3 makes on someone\'s behalf, under the bucket policy. The default CDK key policy ("kms:*" for the account) has no such condition. ' +
    'Fix: use an S3EncryptionKey (its key policy is restricted this way), or add the condition to every Allow statement that grants cryptographic actions. Keys not defined in the app are not checked.',
  check: (node: CfnResource) => {
    if (!kms.CfnKey.isCfnKey(node)) {
      return NagRuleCompliance.NOT_APPLICABLE;
    }
    return verdict(() => {
      if (bucketsEncryptedWith(node).length === 0) {
        return undefined;
      }
      if (node.keyPolicy === undefined) {
        // CloudFormation then applies the default key policy: the account root may do kms:*.
        return false;
      }
      return allOf(normalizeStatements(resolveIn(node, node.keyPolicy)).map(restrictedToS3));
    });
  },
};
