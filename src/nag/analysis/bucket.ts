import { CfnResource } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { UnresolvableValue } from './bucket-errors';
import { findInApp, flatten, isObject, logicalIdOf, memoized, referenceTarget, refersTo, resolveIn } from './intrinsics';
import { NormalizedStatement, normalizeStatements } from './statements';

/** The `x-amz-server-side-encryption` values S3 accepts as a bucket default. */
export const SERVER_SIDE_ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'];
/** The KMS algorithms: DSSE-KMS is KMS with a second layer. */
export const KMS_ALGORITHMS = ['aws:kms', 'aws:kms:dsse'];


/** What the template says about a bucket's default encryption (first rule, as S3 uses one). */
export interface DefaultEncryption {
  /** `undefined` when the template declares no default encryption. */
  readonly algorithm?: string;
  /** The `KMSMasterKeyID` as written (unresolved), if any. */
  readonly kmsMasterKeyId?: unknown;
  readonly bucketKeyEnabled?: unknown;
  /** `undefined` when not declared. */
  readonly blockedEncryptionTypes?: string[];
}

/**
 * Reads `BucketEncryption` of a bucket. Throws `UnresolvableValue` when a part a rule needs is
 * an intrinsic that cannot be evaluated at synth time.
 */
export function defaultEncryptionOf(bucket: s3.CfnBucket): DefaultEncryption {
  return memoized('defaultEncryptionOf', bucket, readDefaultEncryption);
}

function readDefaultEncryption(bucket: s3.CfnBucket): DefaultEncryption {
  if (bucket.bucketEncryption === undefined) {
    return {};
  }
  const encryption = resolveIn(bucket, bucket.bucketEncryption);
  const rules = isObject(encryption) ? encryption.serverSideEncryptionConfiguration : undefined;
  if (!Array.isArray(rules)) {
    throw new UnresolvableValue('BucketEncryption.ServerSideEncryptionConfiguration');
  }
  const rule = rules.find((r) => isObject(r) && r.serverSideEncryptionByDefault !== undefined) ?? rules[0];
  if (rule === undefined) {
    return {};
  }
  if (!isObject(rule)) {
    throw new UnresolvableValue('ServerSideEncryptionConfiguration[0]');
  }
  const byDefault = rule.serverSideEncryptionByDefault;
  let algorithm: string | undefined;
  if (byDefault !== undefined) {
    if (!isObject(byDefault) || typeof byDefault.sseAlgorithm !== 'string') {
      throw new UnresolvableValue('ServerSideEncryptionByDefault.SSEAlgorithm');
    }
    algorithm = byDefault.sseAlgorithm;
  }
  let blockedEncryptionTypes: string[] | undefined;
  if (rule.blockedEncryptionTypes !== undefined) {
    const types = isObject(rule.blockedEncryptionTypes) ? rule.blockedEncryptionTypes.encryptionType : undefined;
    const list = Array.isArray(types) ? types : types === undefined ? [] : [types];
    if (!list.every((t) => typeof t === 'string')) {
      throw new UnresolvableValue('BlockedEncryptionTypes.EncryptionType');
    }
    blockedEncryptionTypes = list;
  }
  // The unresolved property keeps the CDK reference to the key, which resolving would lose.
  const raw = bucket.bucketEncryption as any;
  const rawRules = isObject(raw) ? raw.serverSideEncryptionConfiguration : undefined;
  const rawRule = Array.isArray(rawRules) ? rawRules[rules.indexOf(rule)] : undefined;
  const rawKeyId = isObject(rawRule) && isObject(rawRule.serverSideEncryptionByDefault)
    ? rawRule.serverSideEncryptionByDefault.kmsMasterKeyId
    : undefined;
  return {
    algorithm,
    kmsMasterKeyId: rawKeyId ?? (isObject(byDefault) ? byDefault.kmsMasterKeyId : undefined),
    bucketKeyEnabled: rule.bucketKeyEnabled,
    blockedEncryptionTypes,
  };
}

/**
 * The bucket policies of `bucket` anywhere in its app: a `CfnBucketPolicy` whose `Bucket`
 * references the bucket (also across stacks) or names it literally.
 */
export function bucketPoliciesOf(bucket: s3.CfnBucket): s3.CfnBucketPolicy[] {
  return memoized('bucketPoliciesOf', bucket, findBucketPolicies);
}

function findBucketPolicies(bucket: s3.CfnBucket): s3.CfnBucketPolicy[] {
  const { byTarget, others } = memoized('policiesByBucket', bucket.node.root, indexBucketPolicies);
  const name = resolveIn(bucket, bucket.bucketName);
  return [
    ...byTarget.get(bucket) ?? [],
    ...others.filter((policy) => refersTo(policy, policy.bucket, bucket) || (typeof name === 'string' && resolveIn(policy, policy.bucket) === name)),
  ];
}

/** Bucket policies by the construct their `Bucket` references; the rest (literal names, hand-written intrinsics) apart. */
function indexBucketPolicies(root: IConstruct): { byTarget: Map<IConstruct, s3.CfnBucketPolicy[]>; others: s3.CfnBucketPolicy[] } {
  const byTarget = new Map<IConstruct, s3.CfnBucketPolicy[]>();
  const others: s3.CfnBucketPolicy[] = [];
  for (const policy of findInApp(root, 'CfnBucketPolicy', s3.CfnBucketPolicy.isCfnBucketPolicy)) {
    const target = referenceTarget(policy.bucket);
    if (target) {
      byTarget.set(target, [...byTarget.get(target) ?? [], policy]);
    } else {
      others.push(policy);
    }
  }
  return { byTarget, others };
}

/**
 * For a bucket policy whose bucket is not defined in the app (an imported bucket, named
 * literally): every bucket policy of the app that names the same bucket, itself included.
 * `undefined` when the policy targets a bucket of the app (the bucket's own rules see it) or a
 * bucket that cannot be named at synth time.
 */
export function policiesOfImportedBucket(policy: s3.CfnBucketPolicy): s3.CfnBucketPolicy[] | undefined {
  if (referenceTarget(policy.bucket) !== undefined) {
    return undefined;
  }
  const name = resolveIn(policy, policy.bucket);
  if (typeof name !== 'string') {
    return undefined;
  }
  const { bucketNames, policiesByName } = memoized('policiesByLiteralName', policy.node.root, indexLiteralNames);
  return bucketNames.has(name) ? undefined : policiesByName.get(name);
}

/** The literal names of the app's buckets, and the bucket policies that name their bucket literally. */
function indexLiteralNames(root: IConstruct): { bucketNames: Set<string>; policiesByName: Map<string, s3.CfnBucketPolicy[]> } {
  const bucketNames = new Set<string>();
  for (const bucket of findInApp(root, 'CfnBucket', s3.CfnBucket.isCfnBucket)) {
    const name = resolveIn(bucket, bucket.bucketName);
    if (typeof name === 'string') {
      bucketNames.add(name);
    }
  }
  const policiesByName = new Map<string, s3.CfnBucketPolicy[]>();
  for (const policy of findInApp(root, 'CfnBucketPolicy', s3.CfnBucketPolicy.isCfnBucketPolicy)) {
    const name = referenceTarget(policy.bucket) === undefined ? resolveIn(policy, policy.bucket) : undefined;
    if (typeof name === 'string') {
      policiesByName.set(name, [...policiesByName.get(name) ?? [], policy]);
    }
  }
  return { bucketNames, policiesByName };
}

/**
 * The statements of each bucket policy of `bucket`, one list per `AWS::S3::BucketPolicy`,
 * resolved as the bucket's stack sees it (so a policy in another stack shows the bucket as
 * `Fn::GetAtt`, not `Fn::ImportValue`); `undefined` for a policy whose document cannot be read.
 *
 * The lists are kept apart on purpose: S3 keeps one policy per bucket, so with several
 * `AWS::S3::BucketPolicy` resources the one deployed last replaces the others. A statement a
 * rule needs only counts if every one of them has it.
 */
export function bucketPolicyStatements(bucket: s3.CfnBucket): Array<NormalizedStatement[] | undefined> {
  return memoized('bucketPolicyStatements', bucket, readBucketPolicyStatements);
}

function readBucketPolicyStatements(bucket: s3.CfnBucket): Array<NormalizedStatement[] | undefined> {
  return bucketPoliciesOf(bucket).map((policy) => {
    try {
      return normalizeStatements(resolveIn(bucket, policy.policyDocument));
    } catch (e) {
      if (e instanceof UnresolvableValue) {
        return undefined;
      }
      throw e;
    }
  });
}

/**
 * How a bucket appears in a flattened resource string: its ARN as `Fn::GetAtt`, as a built
 * ARN around its `Ref`, or around its literal name. `normalizeResource` rewrites each to
 * `arn:aws:s3:::<LogicalId>` so that one glob comparison covers them all.
 */
export interface BucketIdentity {
  readonly logicalId: string;
  readonly name?: string;
}

export function bucketIdentity(bucket: s3.CfnBucket): BucketIdentity {
  return memoized('bucketIdentity', bucket, readBucketIdentity);
}

function readBucketIdentity(bucket: s3.CfnBucket): BucketIdentity {
  const name = resolveIn(bucket, bucket.bucketName);
  return { logicalId: logicalIdOf(bucket), name: typeof name === 'string' ? name : undefined };
}

export function normalizeResource(resource: string, bucket: BucketIdentity): string {
  let normalized = resource
    .split(`<${bucket.logicalId}.Arn>`).join(`arn:aws:s3:::<${bucket.logicalId}>`)
    .replace(/^arn:(<AWS::Partition>|aws[a-z-]*):s3:::/, 'arn:aws:s3:::');
  if (bucket.name) {
    const prefix = `arn:aws:s3:::${bucket.name}`;
    if (normalized === prefix || normalized.startsWith(`${prefix}/`)) {
      normalized = `arn:aws:s3:::<${bucket.logicalId}>${normalized.slice(prefix.length)}`;
    }
  }
  return normalized;
}

/** The canonical forms `normalizeResource` produces for the bucket and for all its objects. */
export function bucketArnPattern(bucket: BucketIdentity): { bucket: string; objects: string } {
  const arn = `arn:aws:s3:::<${bucket.logicalId}>`;
  return { bucket: arn, objects: `${arn}/*` };
}

/** The buckets of the app whose default encryption uses `key` (directly or through an alias). */
export function bucketsEncryptedWith(key: kms.CfnKey): s3.CfnBucket[] {
  return memoized('bucketsEncryptedWith', key, findBucketsEncryptedWith);
}

function findBucketsEncryptedWith(key: kms.CfnKey): s3.CfnBucket[] {
  const aliases = findInApp(key, 'CfnAlias', kms.CfnAlias.isCfnAlias).filter((alias) => refersTo(alias, alias.targetKeyId, key));
  return findInApp(key, 'CfnBucket', s3.CfnBucket.isCfnBucket).filter((bucket) => {
    let encryption: DefaultEncryption;
    try {
      encryption = defaultEncryptionOf(bucket);
    } catch (e) {
      if (e instanceof UnresolvableValue) {
        return false;
      }
      throw e;
    }
    if (!encryption.algorithm || !KMS_ALGORITHMS.includes(encryption.algorithm) || encryption.kmsMasterKeyId === undefined) {
      return false;
    }
    const keyId = encryption.kmsMasterKeyId;
    return refersTo(bucket, keyId, key) || aliases.some((alias: CfnResource) => refersTo(bucket, keyId, alias));
  });
}

/** The bucket's `KMSMasterKeyID` flattened, for comparison with policy condition values. */
export function flattenedKeyId(bucket: s3.CfnBucket, keyId: unknown): string | undefined {
  return keyId === undefined ? undefined : flatten(resolveIn(bucket, keyId));
}
