import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { NagMessageLevel, NagRuleCompliance } from 'cdk-nag';
import { bucketsEncryptedWith } from '../analysis/bucket';
import { resolveIn } from '../analysis/intrinsics';
import { S3EncryptionRule, verdict } from '../analysis/rule';
import { NormalizedStatement, allOf, anyOf, conditionValues, coversAction, normalizeStatements } from '../analysis/statements';

/** The KMS actions that encrypt or decrypt data: the ones kms:ViaService must confine to S3. */
const CRYPTOGRAPHIC_ACTIONS = [
  'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
];
/** The action that creates grants (also granted by `kms:Create*`, `kms:*`): a grant gives key use that kms:ViaService does not bind. */
const GRANT_ACTION = 'kms:CreateGrant';
const VIA_SERVICE = 'kms:viaservice';
const GRANT_IS_FOR_AWS_RESOURCE = 'kms:grantisforawsresource';
/** Condition keys that confine a statement for every principal to known accounts. */
const ACCOUNT_KEYS = ['kms:calleraccount', 'aws:principalaccount', 'aws:principalorgid'];
const OPERATORS = ['StringEquals', 'StringLike', 'StringEqualsIgnoreCase', 'ForAnyValue:StringEquals', 'ForAnyValue:StringLike'];

/**
 * The values of `key` under the first positive string operator that has it: `null` when none
 * has it, `undefined` when unreadable.
 */
function positiveValues(statement: NormalizedStatement, key: string): string[] | null | undefined {
  for (const operator of OPERATORS) {
    const values = conditionValues(statement, operator, key);
    if (values === undefined || (values !== null && values.length > 0)) {
      return values;
    }
  }
  return null;
}

/** A condition `kms:ViaService` = `s3.<region>.amazonaws.com` (possibly built from AWS::Region / AWS::URLSuffix, or a glob). */
function viaS3(statement: NormalizedStatement): boolean | undefined {
  const values = positiveValues(statement, VIA_SERVICE);
  return values === null ? false : values === undefined ? undefined : values.every((v) => v.toLowerCase().startsWith('s3.'));
}

/** A condition `Bool kms:GrantIsForAWSResource true`: grants only for AWS services acting for the caller. */
function grantForAwsResource(statement: NormalizedStatement): boolean | undefined {
  const values = conditionValues(statement, 'Bool', GRANT_IS_FOR_AWS_RESOURCE);
  return values === null ? false : values === undefined ? undefined : values.length > 0 && values.every((v) => v.toLowerCase() === 'true');
}

/** A condition that names the accounts (or organization) of the caller, without wildcards. */
function confinedToAccounts(statement: NormalizedStatement): boolean | undefined {
  return anyOf(ACCOUNT_KEYS, (key) => {
    const values = positiveValues(statement, key);
    return values === null ? false : values === undefined ? undefined : values.every((v) => !/[*?]/.test(v));
  });
}

/**
 * What an action set requires: compliant when it is not granted or the condition holds;
 * `undefined` when either cannot be read and the other does not settle it.
 */
function required(granted: boolean | undefined, condition: () => boolean | undefined): boolean | undefined {
  if (granted === false) {
    return true;
  }
  const holds = condition();
  if (holds === true) {
    return true;
  }
  return granted === undefined || holds === undefined ? undefined : false;
}

/**
 * Whether an Allow statement limits what it grants: cryptographic use only through S3
 * (kms:ViaService), grants only for AWS resources (kms:GrantIsForAWSResource), and, for every
 * principal, only to named accounts (kms:CallerAccount, aws:PrincipalAccount or aws:PrincipalOrgID).
 */
function restrictedToS3(statement: NormalizedStatement): boolean | undefined {
  if (statement.effect !== 'Allow') {
    return true;
  }
  const crypto = anyOf(CRYPTOGRAPHIC_ACTIONS, (action) => coversAction(statement, action));
  const grants = coversAction(statement, GRANT_ACTION);
  const anyone = statement.everyPrincipal || statement.notPrincipal;
  return allOf([
    required(crypto, () => viaS3(statement)),
    required(grants, () => grantForAwsResource(statement)),
    anyone ? required(anyOf([crypto, grants], (granted) => granted), () => confinedToAccounts(statement)) : true,
  ]);
}

/** The key policy of a bucket's KMS key allows cryptographic use only through S3 (kms:ViaService). */
export const KmsKeyViaService: S3EncryptionRule = {
  id: 'KmsKeyViaService',
  level: NagMessageLevel.ERROR,
  info: 'The KMS key encrypts an S3 bucket but its key policy allows cryptographic actions (Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*) without a kms:ViaService condition limiting them to s3.<region>.amazonaws.com, ' +
    'allows kms:CreateGrant (also through kms:Create* or kms:*) without Bool kms:GrantIsForAWSResource true, or allows either to every principal ("*") without a kms:CallerAccount, aws:PrincipalAccount or aws:PrincipalOrgID condition.',
  explanation: 'A principal that can read the encrypted objects (or obtains data keys) could otherwise use the key directly, outside S3, for example to decrypt exported ciphertext or encrypt other data; ' +
    'kms:ViaService ties every use of the key to a request S3 makes on someone\'s behalf, under the bucket policy. The default CDK key policy ("kms:*" for the account) has no such condition. ' +
    'Grants escape that condition: whoever may call kms:CreateGrant can give any principal Decrypt outside S3, so allow it only for AWS resources (Bool kms:GrantIsForAWSResource true) or not at all (administrators need kms:CreateAlias, not kms:Create*). ' +
    'kms:ViaService alone does not say whose S3: with Principal "*", any AWS account could use the key through its own buckets; name the accounts with kms:CallerAccount (or aws:PrincipalAccount, aws:PrincipalOrgID). ' +
    'Fix: use an S3EncryptionKey (its key policy is restricted this way), or add these conditions to every Allow statement that grants these actions. Keys not defined in the app are not checked.',
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
