import { CfnResource, IResolvable, IResolveContext, Stack, Token } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * A reference to a resource (`Ref`, or `Fn::GetAtt` of `attribute`), optionally followed by a
 * literal suffix, as a token. Resolved in the resource's own stack it renders the reference
 * itself; resolved anywhere else it stands for `fallback`, the L2's own token, so that cross-stack
 * and cross-environment references are made by aws-cdk-lib as usual.
 *
 * Why not the L2's token everywhere: for each reference, in every resolution pass of every synth
 * (three, plus the tree metadata), aws-cdk-lib works the logical ID out again (an MD5 of the
 * construct path), splits a string such as `<bucket ARN>/*` into fragments and joins them with
 * `Fn::Join`, and records the reference as a possible cross-stack one. For the library's own
 * statements and check entries that was the largest part of what an EncryptedBucket costs at
 * synth (docs/performance.md). A same-stack reference needs none of it.
 */
class LocalReference implements IResolvable {
  public readonly creationStack: string[] = [];
  private fallbackToken?: string;

  constructor(
    private readonly resource: CfnResource,
    private readonly attribute: string | undefined,
    private readonly fallback: () => string,
    private readonly suffix: string,
  ) {
    watchLogicalId(resource);
  }

  public resolve(context: IResolveContext): unknown {
    if (Stack.of(context.scope) !== this.resource.stack) {
      this.fallbackToken ??= this.fallback();
      return this.fallbackToken;
    }
    const logicalId = logicalIdOf(this.resource, context);
    const reference = this.attribute === undefined ? { Ref: logicalId } : { 'Fn::GetAtt': [logicalId, this.attribute] };
    return this.suffix ? { 'Fn::Join': ['', [reference, this.suffix]] } : reference;
  }

  public toString(): string {
    return Token.asString(this);
  }
}

/**
 * A resource's logical ID, worked out once per resource and again only after it may have changed.
 * It changes only through the resource's `overrideLogicalId` and its stack's `renameLogicalId`
 * (both may come after a first resolution: a test, an aspect); `watchLogicalId` makes each call of
 * either count as a new generation of the stack's logical IDs.
 */
const LOGICAL_IDS = new WeakMap<CfnResource, { readonly generation: number; readonly logicalId: unknown }>();
const GENERATIONS = new WeakMap<Stack, number>();
const WATCHED = new WeakSet<object>();

function logicalIdOf(resource: CfnResource, context: IResolveContext): unknown {
  const generation = GENERATIONS.get(resource.stack) ?? 0;
  let cached = LOGICAL_IDS.get(resource);
  if (cached?.generation !== generation) {
    cached = { generation, logicalId: context.resolve(resource.logicalId) };
    LOGICAL_IDS.set(resource, cached);
  }
  return cached.logicalId;
}

function watchLogicalId(resource: CfnResource): void {
  const stack = resource.stack;
  for (const [target, method] of [[resource, 'overrideLogicalId'], [stack, 'renameLogicalId']] as const) {
    if (WATCHED.has(target)) {
      continue;
    }
    WATCHED.add(target);
    const original = (target as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
    // Both are public methods of every aws-cdk-lib v2 CfnElement and Stack; the instance's own
    // property shadows the class's method for every caller, jsii languages included.
    Object.defineProperty(target, method, {
      value: (...args: unknown[]) => {
        GENERATIONS.set(stack, (GENERATIONS.get(stack) ?? 0) + 1);
        return original.apply(target, args);
      },
      configurable: true,
      writable: true,
    });
  }
}

/** A bucket's own references, as tokens that render like `bucketArn`, `arnForObjects('*')` and `bucketName`. */
export interface LocalBucketReferences {
  readonly bucketArn: string;
  readonly objectsArn: string;
  readonly bucketName: string;
}

const BUCKET_REFERENCES = new WeakMap<s3.IBucket, LocalBucketReferences>();
const KEY_ARNS = new WeakMap<kms.IKey, string>();

/**
 * The references of a bucket defined in this app (its default child is the `CfnBucket`), made
 * once per bucket so that every statement shares them and the check's fingerprint knows them as
 * the bucket's own; undefined for an imported bucket, whose tokens are not references.
 */
export function localBucketReferences(bucket: s3.IBucket): LocalBucketReferences | undefined {
  const cfn = bucket.node.defaultChild;
  if (!(cfn instanceof s3.CfnBucket)) {
    return undefined;
  }
  let references = BUCKET_REFERENCES.get(bucket);
  if (!references) {
    references = {
      bucketArn: new LocalReference(cfn, 'Arn', () => bucket.bucketArn, '').toString(),
      objectsArn: new LocalReference(cfn, 'Arn', () => bucket.arnForObjects('*'), '/*').toString(),
      bucketName: new LocalReference(cfn, undefined, () => bucket.bucketName, '').toString(),
    };
    BUCKET_REFERENCES.set(bucket, references);
  }
  return references;
}

/** The ARN of a key defined in this app, rendered like `keyArn`; undefined for an imported key. */
export function localKeyArn(key: kms.IKey): string | undefined {
  const cfn = key.node.defaultChild;
  if (!(cfn instanceof kms.CfnKey)) {
    return undefined;
  }
  let arn = KEY_ARNS.get(key);
  if (arn === undefined) {
    arn = new LocalReference(cfn, 'Arn', () => key.keyArn, '').toString();
    KEY_ARNS.set(key, arn);
  }
  return arn;
}
