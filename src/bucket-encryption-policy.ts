import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CustomerProvidedKeys, EncryptionHeaders, resolveEncryptionSettings, sseAlgorithmOf, usesCustomerKey } from './encryption-options';
import { validationError } from './errors';
import { localBucketReferences } from './local-reference';

/**
 * What the bucket policy statements of `BucketEncryptionPolicy` enforce.
 */
export interface BucketEncryptionPolicyOptions {
  /**
   * The bucket's default encryption; uploads that name another algorithm are denied while
   * `encryptionHeaders` is enforced.
   *
   * @default - `KMS` if `encryptionKey` is set, `S3_MANAGED` otherwise
   */
  readonly encryption?: s3.BucketEncryption;

  /**
   * The customer managed key of a `KMS` or `DSSE` bucket; uploads whose key-id header names
   * another key are denied while `encryptionHeaders` is enforced.
   *
   * Required for `KMS` and `DSSE`, not allowed otherwise.
   *
   * @default - no key (SSE-S3, or the AWS managed key `aws/s3`)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What the bucket does with SSE-C (customer-provided keys).
   *
   * @default CustomerProvidedKeys.BLOCK
   */
  readonly customerProvidedKeys?: CustomerProvidedKeys;

  /**
   * How the `x-amz-server-side-encryption*` headers of uploads are enforced.
   *
   * @default EncryptionHeaders.DENY_MISMATCH
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * The lowest TLS version a request may use: 1.2 or 1.3.
   *
   * @default 1.2
   */
  readonly minimumTLSVersion?: number;
}

/**
 * The bucket policy statements that enforce encryption in transit and at rest: the single
 * source of truth used by `EncryptedBucket`, the retrofit mixin and the deploy-time check.
 *
 * Every statement is a `Deny` with principal `*` and a stable `Sid`, so it holds for every
 * principal whatever identity policies grant, and reviewers (and tools) can find it by name.
 *
 * Use it for a bucket you do not create with this library:
 *
 * ```ts
 * for (const statement of BucketEncryptionPolicy.statements(bucket, { encryption: s3.BucketEncryption.S3_MANAGED })) {
 *   bucket.addToResourcePolicy(statement);
 * }
 * ```
 */
export class BucketEncryptionPolicy {
  /** Denies every request over plain HTTP (`aws:SecureTransport` false), on the bucket and its objects. */
  public static readonly SID_DENY_INSECURE_TRANSPORT = 'DenyInsecureTransport';
  /** Denies every request below the minimum TLS version (`s3:TlsVersion`). */
  public static readonly SID_DENY_OUTDATED_TLS = 'DenyOutdatedTls';
  /** Denies uploads whose `x-amz-server-side-encryption` header names another algorithm. */
  public static readonly SID_DENY_MISMATCHED_ENCRYPTION = 'DenyMismatchedEncryptionHeader';
  /** Denies uploads whose `x-amz-server-side-encryption-aws-kms-key-id` header names another key. */
  public static readonly SID_DENY_FOREIGN_KMS_KEY = 'DenyForeignKmsKey';
  /** Denies uploads without an `x-amz-server-side-encryption` header (`EncryptionHeaders.REQUIRE`). */
  public static readonly SID_DENY_MISSING_ENCRYPTION = 'DenyMissingEncryptionHeader';
  /** Denies SSE-C uploads (`CustomerProvidedKeys.BLOCK`). */
  public static readonly SID_DENY_SSE_C = 'DenySseCUploads';
  /** Denies uploads without SSE-C (`CustomerProvidedKeys.REQUIRE`). */
  public static readonly SID_DENY_MISSING_SSE_C = 'DenyUploadsWithoutSseC';

  /** Every Sid this library may write, in the order it writes them. */
  public static readonly ALL_SIDS: string[] = [
    BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT,
    BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS,
    BucketEncryptionPolicy.SID_DENY_SSE_C,
    BucketEncryptionPolicy.SID_DENY_MISSING_SSE_C,
    BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION,
    BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY,
    BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION,
  ];

  /**
   * The statements for `bucket` under `options`, validated the same way `EncryptedBucket`
   * validates its props (a contradiction throws).
   */
  public static statements(bucket: s3.IBucket, options: BucketEncryptionPolicyOptions = {}): iam.PolicyStatement[] {
    const { settings } = resolveEncryptionSettings(options, bucket);
    if (usesCustomerKey(settings.encryption) && !settings.encryptionKey) {
      throw validationError(bucket, 'EncryptionKeyRequired', `encryptionKey is required with encryption ${settings.encryption}: the statements must name the bucket's key. Pass the key, or use KMS_MANAGED/DSSE_MANAGED for the AWS managed key aws/s3.`);
    }

    // A bucket of this app is named by references that are cheap at synth (see local-reference.ts).
    const local = localBucketReferences(bucket);
    const objects = [local?.objectsArn ?? bucket.arnForObjects('*')];
    const bucketAndObjects = [local?.bucketArn ?? bucket.bucketArn, ...objects];
    const deny = (sid: string, actions: string[], resources: string[], conditions: Record<string, Record<string, unknown>>) =>
      new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions, resources, conditions });

    const statements = [
      deny(BucketEncryptionPolicy.SID_DENY_INSECURE_TRANSPORT, ['s3:*'], bucketAndObjects, {
        Bool: { 'aws:SecureTransport': 'false' },
      }),
      deny(BucketEncryptionPolicy.SID_DENY_OUTDATED_TLS, ['s3:*'], bucketAndObjects, {
        NumericLessThan: { 's3:TlsVersion': settings.minimumTLSVersion },
      }),
    ];

    // S3 authorizes PutObject, CopyObject, PostObject and every multipart step as s3:PutObject,
    // so one action covers every way an object is written.
    const sseC = 's3:x-amz-server-side-encryption-customer-algorithm';
    const sse = 's3:x-amz-server-side-encryption';
    const keyId = 's3:x-amz-server-side-encryption-aws-kms-key-id';

    if (settings.customerProvidedKeys === CustomerProvidedKeys.BLOCK) {
      // Null false = "the header is present": a request with the SSE-C algorithm header.
      statements.push(deny(BucketEncryptionPolicy.SID_DENY_SSE_C, ['s3:PutObject'], objects, { Null: { [sseC]: 'false' } }));
    } else if (settings.customerProvidedKeys === CustomerProvidedKeys.REQUIRE) {
      statements.push(deny(BucketEncryptionPolicy.SID_DENY_MISSING_SSE_C, ['s3:PutObject'], objects, { Null: { [sseC]: 'true' } }));
    }

    if (settings.encryptionHeaders !== EncryptionHeaders.NOT_ENFORCED) {
      // A lone StringNotEquals is also true when the header is absent, which would deny every
      // client that relies on the bucket default. The Null condition in the same block limits
      // the deny to requests that do send the header.
      statements.push(deny(BucketEncryptionPolicy.SID_DENY_MISMATCHED_ENCRYPTION, ['s3:PutObject'], objects, {
        StringNotEquals: { [sse]: sseAlgorithmOf(settings.encryption) },
        Null: { [sse]: 'false' },
      }));
      if (settings.encryptionKey) {
        statements.push(deny(BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY, ['s3:PutObject'], objects, {
          StringNotEquals: { [keyId]: settings.encryptionKey.keyArn },
          Null: { [keyId]: 'false' },
        }));
      } else if (settings.encryption === s3.BucketEncryption.KMS_MANAGED || settings.encryption === s3.BucketEncryption.DSSE_MANAGED) {
        // The ARN of aws/s3 is not known at synth time; a client of such a bucket has no reason
        // to name a key, and naming one would encrypt with a key the bucket owner may not control.
        statements.push(deny(BucketEncryptionPolicy.SID_DENY_FOREIGN_KMS_KEY, ['s3:PutObject'], objects, { Null: { [keyId]: 'false' } }));
      }
    }

    if (settings.encryptionHeaders === EncryptionHeaders.REQUIRE) {
      // An SSE-C upload carries no x-amz-server-side-encryption header; where SSE-C is allowed
      // it must not be denied for that, so both headers have to be absent.
      const absent: Record<string, string> = { [sse]: 'true' };
      if (settings.customerProvidedKeys === CustomerProvidedKeys.ALLOW) {
        absent[sseC] = 'true';
      }
      statements.push(deny(BucketEncryptionPolicy.SID_DENY_MISSING_ENCRYPTION, ['s3:PutObject'], objects, { Null: absent }));
    }

    return statements;
  }

  private constructor() {}
}
