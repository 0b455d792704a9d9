import { Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import type { BucketEncryptionPolicyOptions } from './bucket-encryption-policy';
import { validationError } from './errors';

/**
 * What a bucket does with SSE-C: server-side encryption with a key the client sends on every
 * request (`x-amz-server-side-encryption-customer-*` headers).
 *
 * SSE-C has been used in ransomware attacks: leaked credentials re-encrypted a victim's objects
 * with attacker-held keys. Block it unless a workload really needs it.
 */
export enum CustomerProvidedKeys {
  /**
   * Refuse SSE-C uploads: the bucket setting `BlockedEncryptionTypes: [SSE-C]` and, as defence
   * in depth, a bucket policy statement that denies `s3:PutObject` requests carrying the SSE-C
   * algorithm header. Objects already encrypted with SSE-C stay readable.
   */
  BLOCK = 'BLOCK',
  /**
   * Accept SSE-C uploads next to the bucket's default encryption. Writes
   * `BlockedEncryptionTypes: [NONE]` explicitly, because new buckets block SSE-C by default
   * since April 2026 (in every region but Middle East (Bahrain) and Middle East (UAE)).
   *
   * Adds a warning; acknowledge the decision once with
   * `S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, reason)`, which
   * silences the warning and the S3Encryption-SseCBlocked rule.
   */
  ALLOW = 'ALLOW',
  /**
   * Accept only SSE-C uploads: writes `BlockedEncryptionTypes: [NONE]` and denies
   * `s3:PutObject` requests without the SSE-C algorithm header.
   *
   * Caveat: S3 authorizes `CompleteMultipartUpload` (and `UploadPart`) as `s3:PutObject`, and
   * `CompleteMultipartUpload` carries no SSE-C header, so multipart uploads cannot complete on
   * such a bucket. Use single-request uploads (up to 5 GB), or `ALLOW`.
   */
  REQUIRE = 'REQUIRE',
}

/**
 * Whether uploads may choose their own server-side encryption through the
 * `x-amz-server-side-encryption` and `x-amz-server-side-encryption-aws-kms-key-id` headers.
 */
export enum EncryptionHeaders {
  /**
   * Deny uploads whose `x-amz-server-side-encryption` header is present and names another
   * algorithm than the bucket's, and, for SSE-KMS and DSSE-KMS, uploads whose key-id header is
   * present and names another key (with the AWS managed key `aws/s3`, any key-id header).
   * Uploads that send no header get the bucket default, so the AWS CLI, SDK multipart uploads
   * and AWS log delivery keep working.
   */
  DENY_MISMATCH = 'DENY_MISMATCH',
  /**
   * Everything `DENY_MISMATCH` denies, and uploads without an `x-amz-server-side-encryption`
   * header (SSE-C uploads excepted where SSE-C is allowed).
   *
   * What breaks: every client that relies on the bucket default, including AWS service log
   * delivery (S3 server access logs, ALB/CloudFront logs), `aws s3 cp` without `--sse`, and
   * every multipart upload, because `UploadPart` and `CompleteMultipartUpload` are authorized as
   * `s3:PutObject` and carry no encryption header.
   */
  REQUIRE = 'REQUIRE',
  /**
   * No statement about encryption headers: uploads may name any algorithm and any key.
   */
  NOT_ENFORCED = 'NOT_ENFORCED',
}

/** The `x-amz-server-side-encryption` value S3 uses for each default encryption. */
export function sseAlgorithmOf(encryption: s3.BucketEncryption): string {
  switch (encryption) {
    case s3.BucketEncryption.S3_MANAGED:
      return 'AES256';
    case s3.BucketEncryption.KMS:
    case s3.BucketEncryption.KMS_MANAGED:
      return 'aws:kms';
    case s3.BucketEncryption.DSSE:
    case s3.BucketEncryption.DSSE_MANAGED:
      return 'aws:kms:dsse';
    default:
      throw new Error(`encryption: ${encryption} has no server-side encryption algorithm; use S3_MANAGED, KMS, KMS_MANAGED, DSSE or DSSE_MANAGED.`);
  }
}

/** Whether the encryption uses a customer managed KMS key (as opposed to SSE-S3 or `aws/s3`). */
export function usesCustomerKey(encryption: s3.BucketEncryption): boolean {
  return encryption === s3.BucketEncryption.KMS || encryption === s3.BucketEncryption.DSSE;
}

/**
 * `minimumTLSVersion` as a number. From JavaScript (and from JSON config) the value can arrive as
 * a string: a numeric string such as '1.2' is read as its number, anything else is refused
 * with a message that says a number is expected, instead of the puzzling "1.2 is not supported".
 */
function tlsVersionNumber(value: unknown, fail: (code: string, message: string) => Error): number {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) {
    return Number(value);
  }
  throw fail('MinimumTlsVersionNotANumber', `minimumTLSVersion: ${JSON.stringify(value)} is not a number: pass the number 1.2 (the default) or 1.3, for example minimumTLSVersion: 1.2.`);
}

/**
 * The alias an `encryptionKey` stands for, or undefined for a key. Catches every form that
 * can be recognised at synth: a `kms.Alias`, `Alias.fromAliasName` and `Alias.fromAliasAttributes`
 * (all `IAlias`, which carry `aliasName`), and `Key.fromKeyArn` given an alias ARN
 * (`arn:...:alias/<name>`) or an `alias/<name>` string. A token ARN (a parameter) cannot be told.
 */
export function aliasNamedBy(key: kms.IKey): string | undefined {
  const aliasName = (key as Partial<kms.IAlias>).aliasName;
  if (typeof aliasName === 'string') {
    return Token.isUnresolved(aliasName) ? key.node.path : aliasName;
  }
  const arn = key.keyArn;
  if (typeof arn === 'string' && !Token.isUnresolved(arn) && isAliasReference(arn)) {
    return arn;
  }
  return undefined;
}

/** Whether a literal KMS key reference names an alias (`alias/<name>` or `arn:...:alias/<name>`). */
export function isAliasReference(value: string): boolean {
  return /^alias\//.test(value) || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(value);
}

/** Minimum TLS versions a bucket policy may require: S3 endpoints negotiate 1.2 and 1.3. */
export const SUPPORTED_MINIMUM_TLS_VERSIONS: readonly number[] = [1.2, 1.3];

/**
 * The encryption settings the library's constructs and mixin share, before defaults: the
 * policy options plus the bucket-only settings.
 */
export interface EncryptionSettingsInput extends BucketEncryptionPolicyOptions {
  readonly bucketKeyEnabled?: boolean;
  readonly enforceSSL?: boolean;
  readonly blockedEncryptionTypes?: s3.BlockedEncryptionType[];
}

/** The same settings with every default applied and every contradiction rejected. */
export interface EncryptionSettings {
  readonly encryption: s3.BucketEncryption;
  readonly encryptionKey?: kms.IKey;
  /** Undefined where S3 has no such setting for the algorithm (SSE-S3 leaves it unset). */
  readonly bucketKeyEnabled?: boolean;
  readonly customerProvidedKeys: CustomerProvidedKeys;
  readonly encryptionHeaders: EncryptionHeaders;
  readonly minimumTLSVersion: number;
  readonly blockedEncryptionTypes: s3.BlockedEncryptionType[];
}

/** A risky but legal choice: an id the user can acknowledge, and what to tell them. */
export interface EncryptionWarning {
  readonly id: string;
  readonly message: string;
}

const WARNING_PREFIX = 'cdk-s3-encryption';

/**
 * The id of the warning for a bucket that accepts SSE-C: the same id that acknowledges the
 * S3Encryption-SseCBlocked rule with an audit trail (`S3EncryptionChecks.acknowledgementId`),
 * so that one decision takes one acknowledgement, `S3EncryptionChecks.acknowledge(bucket,
 * S3EncryptionChecks.SSE_C_BLOCKED, reason)`, which silences both and leaves the reason in
 * cdk.out/validation-report.json.
 */
export const SSE_C_ACKNOWLEDGEMENT_ID = 'S3Encryption::S3Encryption-SseCBlocked';

/**
 * Applies the library's defaults and rejects contradictions, with an error that names the
 * property, the value, what is allowed and how to fix it. Shared by `EncryptedBucket` and the
 * retrofit mixin so that both accept exactly the same input.
 *
 * `keyWillBeCreated` says that a missing `encryptionKey` for KMS/DSSE is not an error because
 * the caller creates an `S3EncryptionKey`.
 */
export function resolveEncryptionSettings(input: EncryptionSettingsInput, scope?: IConstruct): {
  settings: EncryptionSettings;
  warnings: EncryptionWarning[];
} {
  // With a scope (a bucket, or the construct a statement is made for) the error names its path,
  // as aws-cdk-lib's own validation errors do; the mixin validates its options before it meets
  // a construct, and then a plain Error is all there can be.
  const fail = (code: string, message: string): Error => (scope ? validationError(scope, code, message) : new Error(message));
  const warnings: EncryptionWarning[] = [];
  const encryption = input.encryption ?? (input.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED);

  if (encryption === s3.BucketEncryption.UNENCRYPTED) {
    throw fail('UnencryptedNotAllowed', 'encryption: UNENCRYPTED is not allowed: S3 encrypts every object anyway and this library makes the default explicit. Use S3_MANAGED (SSE-S3), KMS (SSE-KMS) or DSSE (DSSE-KMS), or omit `encryption` for S3_MANAGED.');
  }
  const alias = input.encryptionKey ? aliasNamedBy(input.encryptionKey) : undefined;
  if (alias !== undefined) {
    throw fail('EncryptionKeyIsAlias', `encryptionKey is a KMS alias (${alias}), not a key: S3 writes the key's ARN into each object's metadata and the bucket policy compares the key-id header with the key ARN, so an alias never matches and every upload that names the key is refused. ` +
      'Pass the key itself: the kms.Key or S3EncryptionKey construct, kms.Key.fromKeyArn(scope, id, \'arn:aws:kms:<region>:<account>:key/<key-id>\') with the key ARN (not an alias ARN), ' +
      'or kms.Key.fromLookup(scope, id, { aliasName }) in a stack with an explicit account and region, which resolves the alias to its key ARN at synth.');
  }
  if (input.encryptionKey && !usesCustomerKey(encryption)) {
    throw fail('EncryptionKeyWithoutCustomerKeyEncryption', `encryptionKey is set but encryption is ${encryption}, which does not use a customer managed key. Set encryption to KMS or DSSE to use the key, or remove encryptionKey.`);
  }
  if (encryption === s3.BucketEncryption.DSSE || encryption === s3.BucketEncryption.DSSE_MANAGED) {
    if (input.bucketKeyEnabled === true) {
      throw fail('BucketKeyWithDsse', `bucketKeyEnabled: true is not supported with encryption ${encryption}: S3 Bucket Keys do not work with DSSE-KMS. Remove bucketKeyEnabled, or use encryption KMS.`);
    }
  }
  if (encryption === s3.BucketEncryption.KMS_MANAGED || encryption === s3.BucketEncryption.DSSE_MANAGED) {
    warnings.push({
      id: `${WARNING_PREFIX}:awsManagedKey`,
      message: `encryption ${encryption} uses the AWS managed key aws/s3, whose key policy cannot be managed or restricted and which cannot be shared across accounts. Prefer encryption ${encryption === s3.BucketEncryption.KMS_MANAGED ? 'KMS' : 'DSSE'}, which creates an S3EncryptionKey scoped to S3.`,
    });
  }

  if (input.enforceSSL === false) {
    throw fail('EnforceSslDisabled', 'enforceSSL: false is not allowed: the bucket policy must deny requests over plain HTTP. Remove enforceSSL (it defaults to true).');
  }

  const minimumTLSVersion = tlsVersionNumber(input.minimumTLSVersion ?? 1.2, fail);
  if (!Token.isUnresolved(minimumTLSVersion)) {
    if (!SUPPORTED_MINIMUM_TLS_VERSIONS.includes(minimumTLSVersion)) {
      throw fail('UnsupportedMinimumTlsVersion', `minimumTLSVersion: ${minimumTLSVersion} is not supported: use 1.2 (the default) or 1.3. Lower versions are insecure and S3 negotiates no higher one.`);
    }
    if (minimumTLSVersion === 1.3) {
      warnings.push({
        id: `${WARNING_PREFIX}:tls13`,
        message: 'minimumTLSVersion: 1.3 locks out clients that reach S3 through PrivateLink for S3 (interface VPC endpoints) or Multi-Region Access Points, which do not support TLS 1.3. Use 1.2 if any client does.',
      });
    }
  }

  const customerProvidedKeys = input.customerProvidedKeys ?? CustomerProvidedKeys.BLOCK;
  const encryptionHeaders = input.encryptionHeaders ?? EncryptionHeaders.DENY_MISMATCH;
  if (customerProvidedKeys === CustomerProvidedKeys.REQUIRE && encryptionHeaders === EncryptionHeaders.REQUIRE) {
    throw fail('SseCRequiredWithHeadersRequired', 'customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE: an SSE-C upload carries no x-amz-server-side-encryption header, so no upload could succeed. Use encryptionHeaders DENY_MISMATCH or NOT_ENFORCED.');
  }

  const expectedBlocked = customerProvidedKeys === CustomerProvidedKeys.BLOCK ? s3.BlockedEncryptionType.SSE_C : s3.BlockedEncryptionType.NONE;
  if (input.blockedEncryptionTypes !== undefined) {
    const names = input.blockedEncryptionTypes.map((t) => t.name);
    if (names.length !== 1 || names[0] !== expectedBlocked.name) {
      throw fail('BlockedEncryptionTypesContradiction', `blockedEncryptionTypes: [${names.join(', ')}] contradicts customerProvidedKeys: ${customerProvidedKeys}, which writes [${expectedBlocked.name}]. Remove blockedEncryptionTypes and set customerProvidedKeys instead.`);
    }
  }
  if (customerProvidedKeys !== CustomerProvidedKeys.BLOCK) {
    warnings.push({
      id: SSE_C_ACKNOWLEDGEMENT_ID,
      message: `customerProvidedKeys: ${customerProvidedKeys} lets clients encrypt objects with keys S3 does not keep (SSE-C), which ransomware has used to re-encrypt data. Keep versioning on and monitor CloudTrail for SSE-C requests. ` +
        'If the workload needs SSE-C, acknowledge once: S3EncryptionChecks.acknowledge(bucket, S3EncryptionChecks.SSE_C_BLOCKED, reason) silences this warning and the S3Encryption-SseCBlocked rule, and keeps the reason in cdk.out/validation-report.json.',
    });
  }

  let bucketKeyEnabled = input.bucketKeyEnabled;
  if (encryption === s3.BucketEncryption.KMS || encryption === s3.BucketEncryption.KMS_MANAGED) {
    // Bucket Keys cut KMS request cost by up to 99 %; on unless the user turns them off.
    bucketKeyEnabled = bucketKeyEnabled ?? true;
  }

  return {
    settings: {
      encryption,
      encryptionKey: input.encryptionKey,
      bucketKeyEnabled,
      customerProvidedKeys,
      encryptionHeaders,
      minimumTLSVersion,
      blockedEncryptionTypes: [expectedBlocked],
    },
    warnings,
  };
}
