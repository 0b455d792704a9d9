import * as s3 from 'aws-cdk-lib/aws-s3';
import { bucketArnPattern, bucketIdentity, bucketPolicyStatements, normalizeResource } from './bucket';
import { NormalizedStatement, allOf, anyOf, conditionKeys, coversAction, coversResource } from './statements';

/** Said by every rule that reads the bucket policy: with several policies for one bucket, S3 keeps the one deployed last. */
export const SEVERAL_POLICIES_NOTE = 'When several AWS::S3::BucketPolicy resources target the bucket, S3 keeps only the one deployed last, so the statement counts only if each of them has it (see S3Encryption-SingleBucketPolicy). ';

/** What a Deny statement of a bucket policy must cover for a rule to count it. */
export interface DenyShape {
  /** An action the statement must cover: `s3:*` for every action, `s3:PutObject` for uploads. */
  readonly action: string;
  /** Whether the statement must cover the bucket ARN itself (bucket-level requests). */
  readonly bucket: boolean;
  /** Whether it must cover every object (`<bucket ARN>/*`). */
  readonly objects: boolean;
  /** Condition `operator/key` pairs (keys lower-case) the statement may have; any other narrows it. */
  readonly allowedConditions: string[];
  /** The condition check proper. */
  readonly conditions: (statement: NormalizedStatement) => boolean | undefined;
}

/**
 * Whether the bucket policy of `bucket` has a Deny for every principal of the given shape.
 * `undefined` when no statement matches but one could not be read.
 *
 * When several `AWS::S3::BucketPolicy` resources target the bucket, S3 keeps only the one
 * deployed last, so the Deny must be in each of them; a bucket without any policy has none.
 */
export function hasDeny(bucket: s3.CfnBucket, shape: DenyShape): boolean | undefined {
  const identity = bucketIdentity(bucket);
  const arns = bucketArnPattern(identity);
  const normalize = (r: string) => normalizeResource(r, identity);
  const policies = bucketPolicyStatements(bucket);
  if (policies.length === 0) {
    return false;
  }
  // An unreadable policy leaves the answer open, unless a readable one settles it as false.
  return allOf(policies.map((statements) => statements && anyOf(statements, (statement) => {
    if (statement.effect !== 'Deny' || !statement.everyPrincipal) {
      return false;
    }
    if (!conditionKeys(statement).every((k) => shape.allowedConditions.includes(k))) {
      return false;
    }
    return allOf([
      coversAction(statement, shape.action),
      shape.bucket ? coversResource(statement, arns.bucket, normalize) : true,
      shape.objects ? coversResource(statement, arns.objects, normalize) : true,
      shape.conditions(statement),
    ]);
  })));
}
