import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BucketEncryptionPolicy } from './bucket-encryption-policy';
import { EncryptionCheck } from './encryption-check';
import { CustomerProvidedKeys, EncryptionHeaders, resolveEncryptionSettings, usesCustomerKey } from './encryption-options';
import { S3EncryptionKey } from './s3-encryption-key';

/**
 * Properties of an `EncryptedBucket`: every `s3.BucketProps` property, with secure defaults,
 * and the encryption enforcement this library adds.
 *
 * Defaults that differ from `s3.Bucket` (each written explicitly into the template):
 * `encryption` S3_MANAGED (KMS when `encryptionKey` is set), `bucketKeyEnabled` true for
 * SSE-KMS, `enforceSSL` true, `minimumTLSVersion` 1.2, `blockPublicAccess` BLOCK_ALL,
 * `objectOwnership` BUCKET_OWNER_ENFORCED, `versioned` true, `removalPolicy` RETAIN, and
 * `blockedEncryptionTypes` derived from `customerProvidedKeys`.
 */
export interface EncryptedBucketProps extends s3.BucketProps {
  /**
   * What the bucket does with SSE-C (customer-provided keys). `BLOCK` writes
   * `BlockedEncryptionTypes: [SSE-C]` and a bucket policy deny; `ALLOW` and `REQUIRE` write
   * `BlockedEncryptionTypes: [NONE]` (see `CustomerProvidedKeys.REQUIRE` for its multipart
   * caveat).
   *
   * Cannot be `REQUIRE` together with `encryptionHeaders: REQUIRE`. If you also set
   * `blockedEncryptionTypes`, it must agree with this property.
   *
   * @default CustomerProvidedKeys.BLOCK
   */
  readonly customerProvidedKeys?: CustomerProvidedKeys;

  /**
   * How the bucket policy treats the `x-amz-server-side-encryption*` headers of uploads.
   *
   * Cannot be `REQUIRE` together with `customerProvidedKeys: REQUIRE`.
   *
   * @default EncryptionHeaders.DENY_MISMATCH
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * Whether to prove the bucket's encryption against S3 at deploy time with an
   * `EncryptionCheck` (child `EncryptionCheck`) whose expectations are this bucket's own
   * settings. The check writes and deletes small probe objects under
   * `.cdk-s3-encryption-check/`, which a lifecycle rule also expires after a day.
   *
   * @default true
   */
  readonly verifyEncryption?: boolean;
}

/**
 * An `s3.Bucket` whose encryption at rest is explicit and enforced, and whose policy refuses
 * plain HTTP, old TLS, mismatched encryption headers and (by default) SSE-C.
 *
 * A drop-in replacement for `s3.Bucket`: every property, method and grant still works, and
 * grants on a KMS bucket include the key. With `encryption: KMS` or `DSSE` and no
 * `encryptionKey`, it creates an `S3EncryptionKey` as its child `Key`.
 *
 * Invalid combinations throw at synth with the property, the value and the fix; risky but
 * legal ones (TLS 1.3 only, the AWS managed key, SSE-C allowed, versioning off, public access
 * not fully blocked) add warnings that can be acknowledged with
 * `Annotations.of(bucket).acknowledgeWarning(id, reason)`.
 */
export class EncryptedBucket extends s3.Bucket {
  /** The bucket being constructed right now: the last child added to `scope`. */
  private static underConstruction(scope: Construct): EncryptedBucket {
    const children = scope.node.children;
    const newest = children[children.length - 1];
    if (!(newest instanceof EncryptedBucket)) {
      throw new Error(`EncryptedBucket could not find itself under ${scope.node.path} while creating its encryption key; pass encryptionKey explicitly (for example an S3EncryptionKey).`);
    }
    return newest;
  }

  /** The bucket's default server-side encryption. */
  public readonly encryption: s3.BucketEncryption;
  /** What the bucket does with SSE-C uploads. */
  public readonly customerProvidedKeys: CustomerProvidedKeys;
  /** How the bucket policy treats upload encryption headers. */
  public readonly encryptionHeaders: EncryptionHeaders;
  /** The lowest TLS version the bucket policy accepts. */
  public readonly minimumTLSVersion: number;
  /**
   * The deploy-time check of this bucket, whose attributes (observed SSE-C behaviour, algorithm,
   * key, report) a stack can output or assert on.
   *
   * @default - none when `verifyEncryption` is false
   */
  public readonly encryptionCheck?: EncryptionCheck;
  /**
   * Whether S3 Bucket Keys are enabled.
   *
   * @default - not set for SSE-S3
   */
  public readonly bucketKeyEnabled?: boolean;

  constructor(scope: Construct, id: string, props: EncryptedBucketProps = {}) {
    const { settings, warnings } = resolveEncryptionSettings(props);

    const bucketProps: s3.BucketProps = {
      ...props,
      encryption: settings.encryption,
      encryptionKey: settings.encryptionKey,
      bucketKeyEnabled: settings.bucketKeyEnabled,
      blockedEncryptionTypes: settings.blockedEncryptionTypes,
      // The TLS statements come from BucketEncryptionPolicy (stable Sids, one source of truth),
      // so s3.Bucket must not add its own copies.
      enforceSSL: false,
      minimumTLSVersion: undefined,
      versioned: props.versioned ?? true,
      blockPublicAccess: props.blockPublicAccess ?? s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: props.objectOwnership ?? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };

    if (usesCustomerKey(settings.encryption) && !settings.encryptionKey) {
      // The managed key belongs under the bucket (`<bucket>/Key`, where s3.Bucket puts its own
      // auto-created key), but `this` does not exist before super(). s3.Bucket reads
      // `encryptionKey` only after the bucket has joined the construct tree, so the key is
      // created on that first read, as a child of the bucket.
      let key: kms.IKey | undefined;
      Object.defineProperty(bucketProps, 'encryptionKey', {
        enumerable: true,
        get: () => {
          key ??= new S3EncryptionKey(EncryptedBucket.underConstruction(scope), 'Key');
          return key;
        },
      });
    }

    super(scope, id, bucketProps);

    this.encryption = settings.encryption;
    this.customerProvidedKeys = settings.customerProvidedKeys;
    this.encryptionHeaders = settings.encryptionHeaders;
    this.minimumTLSVersion = settings.minimumTLSVersion;
    this.bucketKeyEnabled = settings.bucketKeyEnabled;

    const policySids: string[] = [];
    for (const statement of BucketEncryptionPolicy.statements(this, {
      encryption: settings.encryption,
      encryptionKey: this.encryptionKey,
      customerProvidedKeys: settings.customerProvidedKeys,
      encryptionHeaders: settings.encryptionHeaders,
      minimumTLSVersion: settings.minimumTLSVersion,
    })) {
      this.addToResourcePolicy(statement);
      policySids.push(statement.sid!);
    }

    if (props.verifyEncryption ?? true) {
      // Backstop for probes the check could not delete (a timeout, a failed DeleteObjects).
      this.addLifecycleRule({
        id: 'ExpireEncryptionCheckProbes',
        prefix: EncryptionCheck.PROBE_PREFIX,
        expiration: Duration.days(1),
        noncurrentVersionExpiration: Duration.days(1),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      });
      this.addLifecycleRule({ id: 'RemoveEncryptionCheckDeleteMarkers', prefix: EncryptionCheck.PROBE_PREFIX, expiredObjectDeleteMarker: true });
      // The check grants its handler the probe prefix in this bucket's policy (and key policy),
      // so the shared handler role does not grow with the number of buckets.
      this.encryptionCheck = new EncryptionCheck(this, 'EncryptionCheck', {
        bucket: this,
        encryption: this.encryption,
        encryptionKey: this.encryptionKey,
        bucketKeyEnabled: this.bucketKeyEnabled,
        customerProvidedKeys: this.customerProvidedKeys,
        encryptionHeaders: this.encryptionHeaders,
        expectedPolicySids: policySids,
      });
    }

    for (const warning of warnings) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }
    if (props.versioned === false) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:versioningOff',
        'versioned: false removes the documented defence against SSE-C ransomware, which overwrites objects with copies encrypted under an attacker\'s key. Keep versioning on unless the data can be recreated.');
    }
    const bpa = props.blockPublicAccess;
    if (bpa && !(bpa.blockPublicAcls && bpa.blockPublicPolicy && bpa.ignorePublicAcls && bpa.restrictPublicBuckets)) {
      Annotations.of(this).addWarningV2('cdk-s3-encryption:publicAccessNotBlocked',
        'blockPublicAccess does not block all public access; encryption at rest does not protect data that is readable by anyone. Use BlockPublicAccess.BLOCK_ALL unless the bucket is meant to be public.');
    }
  }
}
