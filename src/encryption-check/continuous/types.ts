/**
 * The contract between `ContinuousEncryptionCheck` (which writes the input of its EventBridge
 * rules' targets) and the stack check's handler (which reads it for a scheduled or
 * change-triggered run). Both sides import this file.
 */
import { CheckEntry } from '../types';

/** Marks an invocation as a continuous run; a CloudFormation event never has this field. */
export const CONTINUOUS_MARKER = 'CdkS3EncryptionContinuousCheck';
/** The version of the input shape; the handler refuses any other. */
export const CONTINUOUS_INPUT_VERSION = '1';

/** What started a run. */
export type Trigger = 'SCHEDULE' | 'CONFIGURATION_CHANGE';

/**
 * The input EventBridge passes to the handler. The expectations travel in the target input
 * (EventBridge allows 8,192 characters per target input), so the run needs no other store and
 * proves the buckets against exactly what the template declared.
 */
export interface ContinuousCheckInput {
  readonly [CONTINUOUS_MARKER]: typeof CONTINUOUS_INPUT_VERSION;
  readonly Trigger: Trigger;
  /** The stack's name: the metrics' `StackName` dimension and the probe prefix's seed. */
  readonly StackName: string;
  /** The buckets this target covers (a stack's buckets are spread over up to five targets). */
  readonly Buckets: CheckEntry[];
  /** CONFIGURATION_CHANGE only: `detail.requestParameters.bucketName` of the CloudTrail event. */
  readonly ChangedBucket?: string;
  /** CONFIGURATION_CHANGE only: `detail.eventName` of the CloudTrail event. */
  readonly EventName?: string;
}

/** Where the metrics go (documented in docs/continuous-verification.md). */
export const METRIC_NAMESPACE = 'CdkS3Encryption/EncryptionCheck';
/** Metric names, per bucket (dimensions StackName, Bucket) and per run (dimension StackName). */
export const METRIC_NAMES = {
  /** Expectations S3 did not meet. */
  violations: 'Violations',
  /** Expectations the run could not verify (for example an answer that proves nothing). */
  unverified: 'Unverified',
  /** 1 when a bucket's check could not complete (a fault, the deadline, no access): nothing was proven. */
  incomplete: 'Incomplete',
} as const;

/** The EventBridge event each run puts on the default bus. */
export const REPORT_EVENT = {
  source: 'cdk-s3-encryption.encryption-check',
  detailType: 'S3 Encryption Check Report',
} as const;

/** The CloudTrail management events (`detail.eventName`) that re-run a bucket's check. */
export const CONFIGURATION_EVENTS = [
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'PutBucketVersioning',
  'PutBucketOwnershipControls',
  'DeleteBucketOwnershipControls',
  'PutObjectLockConfiguration',
  'PutBucketPublicAccessBlock',
  'DeleteBucketPublicAccessBlock',
] as const;
