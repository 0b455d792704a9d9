/**
 * The contract between the `EncryptionCheck` construct and its Lambda handler: the custom
 * resource properties the construct writes and the attributes the handler returns. Both sides
 * import this file, so a change to the contract is type-checked on both.
 *
 * CloudFormation passes every custom resource property as a string (booleans and numbers
 * included), so every field here is a string or a list of strings.
 */

/** The key prefix every probe object is written under. */
export const PROBE_PREFIX = '.cdk-s3-encryption-check/';

/** What the check expects of SSE-C uploads, and what it observed. */
export type SseCBehaviour = 'BLOCKED' | 'ALLOWED' | 'REQUIRED';

/** What the check expects of upload encryption headers. */
export type HeaderEnforcement = 'DENY_MISMATCH' | 'REQUIRE' | 'NOT_ENFORCED';

/** What happens when S3 does not behave as declared. */
export type ViolationAction = 'FAIL' | 'WARN';

/** The resource properties of the `Custom::S3EncryptionCheck` resource. */
export interface CheckProperties {
  /** Name of the bucket to probe. */
  readonly BucketName: string;
  /** How SSE-C uploads must be treated. */
  readonly ExpectSseC: SseCBehaviour;
  /** The `x-amz-server-side-encryption` value uploads without headers must get; absent: not checked. */
  readonly ExpectAlgorithm?: string;
  /** ARN of the KMS key uploads without headers must get; absent: not checked. */
  readonly ExpectKmsKeyArn?: string;
  /** `'true'` or `'false'`; absent: not checked. */
  readonly ExpectBucketKey?: string;
  /** How mismatched and absent encryption headers must be treated; absent: not checked. */
  readonly ExpectHeaders?: HeaderEnforcement;
  /** Sids the bucket policy must contain; absent or empty: not checked. */
  readonly ExpectPolicySids?: string[];
  /** `FAIL` or `WARN`. */
  readonly OnViolation: ViolationAction;
}

/** What a probe or a read-back observed, as reported in the attributes. */
export type Observation = 'true' | 'false' | 'UNVERIFIED';

/** The attributes the handler returns (`Fn::GetAtt` names). */
export interface CheckAttributes {
  /** `BLOCKED`, `ALLOWED`, `REQUIRED` or `UNVERIFIED`. */
  readonly SseC: SseCBehaviour | 'UNVERIFIED';
  /** The algorithm S3 applied to an upload without SSE headers (or the configured default when no upload could be made); empty when unknown. */
  readonly DefaultAlgorithm: string;
  /** The KMS key ARN S3 applied; empty for SSE-S3 or when unknown. */
  readonly KmsKeyArn: string;
  /** Whether S3 Bucket Keys were applied. */
  readonly BucketKeyEnabled: Observation;
  /** Whether an upload with a mismatched algorithm (or a foreign KMS key) was refused. */
  readonly MismatchedHeaderRefused: Observation;
  /** Whether an upload without encryption headers was refused. */
  readonly AbsentHeaderRefused: Observation;
  /** Number of violations found (a decimal string). */
  readonly Violations: string;
  /** The whole report as compact JSON (at most about 3 KB). */
  readonly Report: string;
}

/** The attribute names, for `Fn::GetAtt`. */
export const ATTRIBUTE_NAMES: { readonly [K in keyof CheckAttributes]: K } = {
  SseC: 'SseC',
  DefaultAlgorithm: 'DefaultAlgorithm',
  KmsKeyArn: 'KmsKeyArn',
  BucketKeyEnabled: 'BucketKeyEnabled',
  MismatchedHeaderRefused: 'MismatchedHeaderRefused',
  AbsentHeaderRefused: 'AbsentHeaderRefused',
  Violations: 'Violations',
  Report: 'Report',
};

/** The custom resource type name. */
export const RESOURCE_TYPE = 'Custom::S3EncryptionCheck';

/**
 * One bucket of the stack's check: its expectations (`CheckProperties`), a key that identifies
 * it across deployments, and a fingerprint of what it was checked against.
 */
export interface CheckEntry extends CheckProperties {
  /**
   * Stable per bucket (a hash of the `EncryptionCheck` construct path): names its attributes
   * (`<Key>.<Attribute>`) and its probe prefix, so adding or removing a bucket shifts no other.
   */
  readonly Key: string;
  /**
   * Hash of the bucket's expectations, its template encryption configuration and its template
   * bucket policy. On Update, an entry whose fingerprint and expectations are unchanged is not
   * probed again.
   */
  readonly Fingerprint: string;
}

/** The expectation fields of an entry: what `Defaults` may state once for every bucket. */
export const EXPECTATION_FIELDS = [
  'ExpectSseC', 'ExpectAlgorithm', 'ExpectKmsKeyArn', 'ExpectBucketKey', 'ExpectHeaders', 'ExpectPolicySids', 'OnViolation',
] as const;
export type ExpectationField = typeof EXPECTATION_FIELDS[number];

/**
 * The resource properties of the stack's one `Custom::S3EncryptionCheck` as the template
 * carries them. An expectation every bucket states, and most buckets state alike, is written
 * once in `Defaults`; a bucket entry states only what differs. A bucket's expectations are
 * `{ ...Defaults, ...entry }`: an entry cannot unset a default, so a field goes into `Defaults`
 * only when every bucket states it. This keeps a bucket's entry to its key, its bucket and its
 * fingerprint in the common case (about 150 template bytes instead of 420).
 */
export interface RenderedStackCheckProperties {
  /** Expectations shared by the buckets; absent when there is nothing to share. */
  readonly Defaults?: { readonly [K in ExpectationField]?: CheckProperties[K] };
  /** Every bucket the stack checks, one entry each, without the fields equal to `Defaults`. */
  readonly Buckets: Partial<CheckEntry>[];
  readonly Attributes?: string[];
}

/** The resource properties of the stack's one `Custom::S3EncryptionCheck`, as the handler reads them (`Defaults` applied). */
export interface StackCheckProperties {
  /** Every bucket the stack checks, one entry each, with its full expectations. */
  readonly Buckets: CheckEntry[];
  /**
   * The per-bucket attributes (`<Key>.<Attribute>`) the template references: only these are
   * returned, since CloudFormation limits a custom resource's response to 4 KB. Absent: none.
   */
  readonly Attributes?: string[];
}

/** The `Fn::GetAtt` name of one bucket's attribute. */
export function attributeName(key: string, attribute: keyof CheckAttributes): string {
  return `${key}.${attribute}`;
}

/**
 * The longest value each attribute can have, as returned in the response. The construct sums
 * these for the referenced attributes at synth and refuses a template that could overflow the
 * response; the handler cuts `Report` to its limit.
 */
export const ATTRIBUTE_MAX_LENGTH: { readonly [K in keyof CheckAttributes]: number } = {
  SseC: 10,
  DefaultAlgorithm: 12,
  // arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/<36> is 88; mrk- keys and room to spare.
  KmsKeyArn: 120,
  BucketKeyEnabled: 10,
  MismatchedHeaderRefused: 10,
  AbsentHeaderRefused: 10,
  Violations: 4,
  Report: 1_000,
};

/**
 * CloudFormation accepts at most 4,096 bytes of response body. What the response holds besides
 * the attributes (status, reason, stack id, request id, logical and physical id) gets the rest.
 */
export const RESPONSE_LIMIT = 4_096;
export const ATTRIBUTES_BUDGET = 2_800;
/** JSON overhead per attribute: quotes, colon, comma. */
export const ATTRIBUTE_OVERHEAD = 6;
