import { Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { StackEncryptionCheck } from './stack-check';
import { EncryptionCheckStackSettings } from './stack-settings';
import { ATTRIBUTE_NAMES, CheckAttributes, CheckProperties, PROBE_PREFIX } from './types';
import { CustomerProvidedKeys, EncryptionHeaders, sseAlgorithmOf, usesCustomerKey } from '../encryption-options';
import { validationError } from '../errors';
import { localBucketReferences } from '../local-reference';

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
 * Every check in a stack is one entry of the stack's single `Custom::S3EncryptionCheck`,
 * served by one Lambda function that checks the buckets concurrently and answers
 * CloudFormation itself: one execution per stack per deployment, whatever the number of
 * buckets. Each bucket keeps its own expectations and verdict; a failure names every failing
 * bucket. On Update only buckets whose expectations, encryption configuration or bucket policy
 * changed in the template are probed again.
 *
 * For a bucket of the same stack, the handler's access comes from three constant statements in
 * its role's own policy, limited to buckets of the stack's account: objects only under the probe
 * prefix, the listing of that prefix, and three configuration reads (the handler could probe
 * under that prefix in any bucket of the account, never outside it). Bucket policies get no
 * statement. A same-stack key allows the handler in its own policy, to `aws:userid`
 * `<handler role id>:<function name>`, never to a role principal. An imported or other-stack
 * bucket or key is granted exactly, in managed policies on the handler role.
 *
 * The attributes are returned only when read: CloudFormation limits a custom resource's
 * response to 4 KB, so the construct records which attributes a template references and
 * refuses at synth a set that could exceed it. Every bucket's full report is in the handler's
 * log.
 */
export class EncryptionCheck extends Construct {
  /** The key prefix every probe object is written under; nothing outside it is ever written. */
  public static readonly PROBE_PREFIX: string = PROBE_PREFIX;

  /**
   * Sets how the stack's one check handler runs: in a VPC, and with its log group encrypted by a
   * KMS key (AWS Control Tower's CT.LAMBDA.PR.3 and CT.CLOUDWATCH.PR.3). Call it right after
   * creating the stack, before any `EncryptionCheck`, `EncryptedBucket`, `EnforceEncryption` or
   * `ContinuousEncryptionCheck` in it: those create the handler. Calling it again with the same
   * settings does nothing; with different settings, or after the handler exists, it throws.
   *
   * @param scope the stack, or any construct in it
   * @param settings the handler's VPC and log group key
   */
  public static configureStack(scope: Construct, settings: EncryptionCheckStackSettings): void {
    StackEncryptionCheck.configure(scope, settings);
  }

  /**
   * This bucket's key in the stack's check: its attributes are `<key>.<Attribute>` of the
   * stack's `Custom::S3EncryptionCheck`, and its probes are written under a prefix derived from
   * it. A hash of this construct's path: stable across deployments.
   */
  public readonly checkKey: string;

  private readonly stackCheck: StackEncryptionCheck;

  constructor(scope: Construct, id: string, props: EncryptionCheckProps) {
    super(scope, id);

    const encryption = props.encryption;
    if (props.encryptionKey && (encryption === undefined || !usesCustomerKey(encryption))) {
      throw validationError(this, 'CheckKeyWithoutKms', `encryptionKey is set but encryption is ${encryption ?? 'not set'}; set encryption to KMS or DSSE to check the key, or remove encryptionKey.`);
    }
    if (props.customerProvidedKeys === CustomerProvidedKeys.REQUIRE && props.encryptionHeaders === EncryptionHeaders.REQUIRE) {
      throw validationError(this, 'CheckUnsatisfiable', 'customerProvidedKeys: REQUIRE cannot be combined with encryptionHeaders: REQUIRE: no upload could succeed on such a bucket. Use encryptionHeaders DENY_MISMATCH or NOT_ENFORCED.');
    }
    if (props.bucketKeyEnabled !== undefined && Token.isUnresolved(props.bucketKeyEnabled)) {
      throw validationError(this, 'CheckBucketKeyToken', 'bucketKeyEnabled must be a literal boolean.');
    }

    this.stackCheck = StackEncryptionCheck.of(this);
    const key = props.encryptionKey ?? props.bucket.encryptionKey;
    this.stackCheck.grantProbes(props.bucket, key);

    const sseC = props.customerProvidedKeys ?? CustomerProvidedKeys.BLOCK;
    const properties: CheckProperties = {
      // The bucket's own reference in its cheap form (see local-reference.ts).
      BucketName: localBucketReferences(props.bucket)?.bucketName ?? props.bucket.bucketName,
      ExpectSseC: sseC === CustomerProvidedKeys.BLOCK ? 'BLOCKED' : sseC === CustomerProvidedKeys.ALLOW ? 'ALLOWED' : 'REQUIRED',
      ExpectAlgorithm: encryption !== undefined ? sseAlgorithmOf(encryption) : undefined,
      ExpectKmsKeyArn: props.encryptionKey?.keyArn,
      ExpectBucketKey: props.bucketKeyEnabled === undefined ? undefined : String(props.bucketKeyEnabled),
      ExpectHeaders: props.encryptionHeaders,
      ExpectPolicySids: props.expectedPolicySids && props.expectedPolicySids.length > 0 ? [...props.expectedPolicySids] : undefined,
      OnViolation: props.onViolation ?? ViolationAction.FAIL,
    };
    const bucket = props.bucket;
    // What the template says the bucket is checked against: a change re-runs this bucket's check.
    this.checkKey = this.stackCheck.register(this, properties, () => ({
      encryption: renderedEncryption(bucket),
      // The statements as written, without the document's post-processing (merging, sorting),
      // which only reshapes them: as telling for a change, and half the synth time.
      policy: bucket.policy?.document.toJSON(),
    }), bucket, key);
  }

  /** Observed SSE-C behaviour: `BLOCKED`, `ALLOWED`, `REQUIRED` or `UNVERIFIED`. */
  public get observedSseC(): string {
    return this.attribute(ATTRIBUTE_NAMES.SseC);
  }

  /** Algorithm S3 applied to an upload without headers (`AES256`, `aws:kms`, `aws:kms:dsse`), empty when unknown. */
  public get observedAlgorithm(): string {
    return this.attribute(ATTRIBUTE_NAMES.DefaultAlgorithm);
  }

  /** KMS key ARN S3 applied to an upload without headers, empty for SSE-S3 or when unknown. */
  public get observedKmsKeyArn(): string {
    return this.attribute(ATTRIBUTE_NAMES.KmsKeyArn);
  }

  /** Whether S3 Bucket Keys were applied: `true`, `false` or `UNVERIFIED`. */
  public get observedBucketKeyEnabled(): string {
    return this.attribute(ATTRIBUTE_NAMES.BucketKeyEnabled);
  }

  /** Whether an upload with a mismatched algorithm or foreign KMS key was refused: `true`, `false` or `UNVERIFIED`. */
  public get mismatchedHeaderRefused(): string {
    return this.attribute(ATTRIBUTE_NAMES.MismatchedHeaderRefused);
  }

  /** Whether an upload without encryption headers was refused: `true`, `false` or `UNVERIFIED`. */
  public get absentHeaderRefused(): string {
    return this.attribute(ATTRIBUTE_NAMES.AbsentHeaderRefused);
  }

  /** Number of violations found (non-zero only with `ViolationAction.WARN`). */
  public get violationCount(): string {
    return this.attribute(ATTRIBUTE_NAMES.Violations);
  }

  /**
   * The report as compact JSON (at most 1,000 characters: violations first, detail dropped to
   * fit). The full report is in the check handler's log.
   */
  public get report(): string {
    return this.attribute(ATTRIBUTE_NAMES.Report);
  }

  private attribute(name: keyof CheckAttributes): string {
    return this.stackCheck.attribute(this, this.checkKey, name);
  }
}

/**
 * What decides the bucket's `BucketEncryption` in the template: the L1 property and the
 * resource's overrides (escape hatches change what S3 does as much as the L2 does); undefined
 * for imported buckets. Cheaper than rendering the whole resource, which is paid once per
 * bucket at every synth.
 */
function renderedEncryption(bucket: s3.IBucket): unknown {
  const cfn = bucket.node.defaultChild;
  if (!(cfn instanceof s3.CfnBucket)) {
    return undefined;
  }
  // `rawOverrides` is where `addOverride`/`addPropertyOverride` keep their values. It is
  // internal, so if a future aws-cdk-lib moves it, fall back to rendering the whole resource.
  const overrides = (cfn as unknown as { rawOverrides?: unknown }).rawOverrides;
  if (overrides === null || typeof overrides !== 'object') {
    return renderedResource(cfn);
  }
  return { bucketEncryption: cfn.bucketEncryption, overrides: markDeletions(overrides) };
}

/**
 * `value` with every `undefined` (a deletion override) replaced by a marker (resolving drops
 * undefined values, and a deletion must change the fingerprint like any other override), and
 * object keys in a fixed order.
 */
function markDeletions(value: unknown): unknown {
  if (value === undefined) {
    return '<deleted by an override>';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return value;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    // A token (a Lazy, an intrinsic): the fingerprint resolves it.
    return value;
  }
  // Keys sorted: the order in which overrides were added changes nothing in the template.
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, markDeletions((value as Record<string, unknown>)[key])]));
}

/** The bucket's `BucketEncryption` as the template will have it, from the whole rendered resource. */
function renderedResource(cfn: s3.CfnBucket): unknown {
  // `_toCloudFormation()` is how aws-cdk-lib renders a resource with its overrides; it is
  // internal, so fall back to the L1 property if a future version renames it.
  const render = (cfn as unknown as { _toCloudFormation?: () => unknown })._toCloudFormation;
  if (typeof render !== 'function') {
    return cfn.bucketEncryption;
  }
  // The rendered resource is itself a token (overrides are merged when it resolves).
  const rendered = Stack.of(cfn).resolve(render.call(cfn)) as { Resources?: Record<string, { Properties?: { BucketEncryption?: unknown } }> };
  return Object.values(rendered.Resources ?? {})[0]?.Properties?.BucketEncryption;
}
