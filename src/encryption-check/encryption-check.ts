import { CustomResource, Duration, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { EncryptionCheckProvider } from './check-provider';
import { ATTRIBUTE_NAMES, CheckProperties, PROBE_PREFIX, RESOURCE_TYPE } from './types';
import { CustomerProvidedKeys, EncryptionHeaders, sseAlgorithmOf, usesCustomerKey } from '../encryption-options';

/** What an `EncryptionCheck` does when S3 does not behave as declared. */
export enum ViolationAction {
  /** The deployment fails, with a message that names the bucket, the probe and what S3 answered. */
  FAIL = 'FAIL',
  /**
   * The deployment succeeds; violations are in the `report` attribute and the handler's log.
   * For adopting the library on existing buckets.
   */
  WARN = 'WARN',
}

/**
 * Properties of an `EncryptionCheck`. Every expectation is optional except the SSE-C one: what
 * is not declared is observed and reported, not enforced.
 */
export interface EncryptionCheckProps {
  /** The bucket to probe: one of this stack, of another stack, or imported. */
  readonly bucket: s3.IBucket;

  /**
   * How S3 must treat SSE-C uploads: `BLOCK` expects a 403, `ALLOW` expects the upload to be
   * accepted, unreadable without the key and readable with it, `REQUIRE` additionally expects
   * uploads without SSE-C to be refused.
   *
   * @default CustomerProvidedKeys.BLOCK
   */
  readonly customerProvidedKeys?: CustomerProvidedKeys;

  /**
   * The default encryption an upload without encryption headers must get.
   *
   * @default - not checked; the observed algorithm is reported
   */
  readonly encryption?: s3.BucketEncryption;

  /**
   * The KMS key an upload without encryption headers must be encrypted with. Requires
   * `encryption` `KMS` or `DSSE`. The handler is also allowed to use this key through S3 (or
   * the bucket's own `encryptionKey` when this is not set).
   *
   * @default - not checked; the observed key is reported
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Whether uploads must get S3 Bucket Keys.
   *
   * @default - not checked; the observed setting is reported
   */
  readonly bucketKeyEnabled?: boolean;

  /**
   * How the bucket must treat encryption headers: `DENY_MISMATCH` and `REQUIRE` expect a 403
   * for an upload naming another algorithm (and, for KMS, another key); `REQUIRE` also expects
   * a 403 for an upload without headers. `NOT_ENFORCED` checks neither.
   *
   * @default - not checked; the observed behaviour is reported
   */
  readonly encryptionHeaders?: EncryptionHeaders;

  /**
   * Sids the bucket policy must contain (for example `BucketEncryptionPolicy.ALL_SIDS` or a
   * subset of it).
   *
   * @default - not checked
   */
  readonly expectedPolicySids?: string[];

  /**
   * What happens when S3 does not behave as declared.
   *
   * @default ViolationAction.FAIL
   */
  readonly onViolation?: ViolationAction;
}

/**
 * A deploy-time check that asks S3 itself whether a bucket's encryption behaves as declared:
 * it uploads small probe objects (SSE-C with a random in-memory key, without headers, with
 * mismatched headers) under the reserved prefix `.cdk-s3-encryption-check/`, reads the
 * encryption configuration and bucket policy back, deletes every probe object and version, and
 * fails the deployment (or warns) on any difference.
 *
 * Every check in a stack shares one handler function and one Provider framework. For a bucket
 * of the same stack, the handler's access is granted in the bucket's own policy (and its key's
 * policy); for an imported bucket, in the handler role's identity policy.
 */
export class EncryptionCheck extends Construct {
  /** The key prefix every probe object is written under; nothing outside it is ever written. */
  public static readonly PROBE_PREFIX: string = PROBE_PREFIX;

  /** Observed SSE-C behaviour: `BLOCKED`, `ALLOWED`, `REQUIRED` or `UNVERIFIED`. */
  public readonly observedSseC: string;
  /** Algorithm S3 applied to an upload without headers (`AES256`, `aws:kms`, `aws:kms:dsse`), empty when unknown. */
  public readonly observedAlgorithm: string;
  /** KMS key ARN S3 applied to an upload without headers, empty for SSE-S3 or when unknown. */
  public readonly observedKmsKeyArn: string;
  /** Whether S3 Bucket Keys were applied: `true`, `false` or `UNVERIFIED`. */
  public readonly observedBucketKeyEnabled: string;
  /** Whether an upload with a mismatched algorithm or foreign KMS key was refused: `true`, `false` or `UNVERIFIED`. */
  public readonly mismatchedHeaderRefused: string;
  /** Whether an upload without encryption headers was refused: `true`, `false` or `UNVERIFIED`. */
  public readonly absentHeaderRefused: string;
  /** Number of violations found (non-zero only with `ViolationAction.WARN`). */
  public readonly violationCount: string;
  /** The whole report as JSON: configuration read back, every probe and S3's answer, violations, cleanup. */
  public readonly report: string;

  private readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: EncryptionCheckProps) {
    super(scope, id);

    const encryption = props.encryption;
    if (props.encryptionKey && (encryption === undefined || !usesCustomerKey(encryption))) {
      throw new Error(`encryptionKey is set but encryption is ${encryption ?? 'not set'}; set encryption to KMS or DSSE to check the key, or remove encryptionKey.`);
    }
    if (props.customerProvidedKeys === CustomerProvidedKeys.REQUIRE && props.encryptionHeaders === EncryptionHeaders.REQUIRE) {
      throw new Error('customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE: no upload could succeed on such a bucket. Use encryptionHeaders DENY_MISMATCH or NOT_ENFORCED.');
    }

    const provider = EncryptionCheckProvider.of(this);
    const dependables = provider.grantProbes(props.bucket, props.encryptionKey ?? props.bucket.encryptionKey);

    const sseC = props.customerProvidedKeys ?? CustomerProvidedKeys.BLOCK;
    const properties: CheckProperties = {
      BucketName: props.bucket.bucketName,
      ExpectSseC: sseC === CustomerProvidedKeys.BLOCK ? 'BLOCKED' : sseC === CustomerProvidedKeys.ALLOW ? 'ALLOWED' : 'REQUIRED',
      ExpectAlgorithm: encryption !== undefined ? sseAlgorithmOf(encryption) : undefined,
      ExpectKmsKeyArn: props.encryptionKey?.keyArn,
      ExpectBucketKey: props.bucketKeyEnabled === undefined ? undefined : String(props.bucketKeyEnabled),
      ExpectHeaders: props.encryptionHeaders,
      ExpectPolicySids: props.expectedPolicySids && props.expectedPolicySids.length > 0 ? [...props.expectedPolicySids] : undefined,
      OnViolation: props.onViolation ?? ViolationAction.FAIL,
    };
    if (props.bucketKeyEnabled !== undefined && Token.isUnresolved(props.bucketKeyEnabled)) {
      throw new Error('bucketKeyEnabled must be a literal boolean.');
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: properties as unknown as Record<string, unknown>,
      // A check that hangs must fail the deployment within minutes, not CloudFormation's hour.
      serviceTimeout: Duration.minutes(5),
    });
    for (const dependable of dependables) {
      this.resource.node.addDependency(dependable);
    }

    this.observedSseC = this.resource.getAttString(ATTRIBUTE_NAMES.SseC);
    this.observedAlgorithm = this.resource.getAttString(ATTRIBUTE_NAMES.DefaultAlgorithm);
    this.observedKmsKeyArn = this.resource.getAttString(ATTRIBUTE_NAMES.KmsKeyArn);
    this.observedBucketKeyEnabled = this.resource.getAttString(ATTRIBUTE_NAMES.BucketKeyEnabled);
    this.mismatchedHeaderRefused = this.resource.getAttString(ATTRIBUTE_NAMES.MismatchedHeaderRefused);
    this.absentHeaderRefused = this.resource.getAttString(ATTRIBUTE_NAMES.AbsentHeaderRefused);
    this.violationCount = this.resource.getAttString(ATTRIBUTE_NAMES.Violations);
    this.report = this.resource.getAttString(ATTRIBUTE_NAMES.Report);
  }
}
